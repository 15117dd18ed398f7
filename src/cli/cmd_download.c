/*
 * cmd_download.c: `ecosight download [s3://BUCKET/PREFIX] DIR`: the seed's
 * download_extracted_audio, incremental, parallel, resumable and atomic per
 * file; --delete removes local files gone from S3. The option parsing,
 * progress and summary are shared with upload (es_cli_s3_sync in
 * cmd_upload.c).
 */
#include "cli.h"

int es_cmd_download(es_cli *cli, int argc, char **argv)
{
    return es_cli_s3_sync(cli, argc, argv, 1);
}
