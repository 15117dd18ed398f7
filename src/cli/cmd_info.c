/*
 * cmd_info.c: `ecosight info [--json] FILE...`: what each audio file is.
 * Unreadable files are reported with their path and reason; the others are
 * still listed, and the exit code is then 1.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void info_usage(FILE *out)
{
    fprintf(out, "usage: ecosight info [--json] FILE...\n"
                 "\n"
                 "Print format, channels, sample rate, frames and duration of audio files\n"
                 "(WAV, FLAC, OGG/Vorbis, MP3).\n"
                 "\n"
                 "  --json    one JSON array with an object per file: path, format, channels,\n"
                 "            sample_rate, frames, duration_s (or path and error)\n");
}

int es_cmd_info(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': info_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "info", "bad option");
        }
    }
    if (optind >= argc)
        return es_cli_usage_error(cli, "info", "no input files");

    int failed = 0, nfiles = argc - optind;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (json && !arr) {
        es_cli_error(cli, "out of memory");
        return ES_EXIT_FAIL;
    }
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        es_audio_info info;
        es_error err;
        es_error_clear(&err);
        double t0 = es_monotonic_s();
        es_status rc = es_audio_probe_file(path, &info, &err);
        es_log_debug(cli->log, "probed %s in %.1f ms: %s", path, 1e3 * (es_monotonic_s() - t0),
                     rc == ES_OK ? "ok" : es_strerror(rc));
        if (rc != ES_OK) {
            failed++;
            /* the message already starts with the path */
            es_cli_error(cli, "%s", es_error_text(&err));
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "path", path);
                cJSON_AddStringToObject(o, "error", es_error_text(&err));
                cJSON_AddItemToArray(arr, o);
            }
            continue;
        }
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "path", path);
            cJSON_AddStringToObject(o, "format", info.format);
            /* beyond the documented keys: the sample encoding, which scripts need
             * to check e.g. that augment wrote 16-bit PCM */
            cJSON_AddStringToObject(o, "subtype", info.subtype);
            cJSON_AddNumberToObject(o, "channels", info.channels);
            cJSON_AddNumberToObject(o, "sample_rate", info.sample_rate);
            cJSON_AddNumberToObject(o, "frames", (double)info.frames);
            cJSON_AddNumberToObject(o, "duration_s", info.duration_s);
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("%s: %s (%s), %d ch, %d Hz, %lld frames, %.3f s\n", path, info.format,
                   info.subtype, info.channels, info.sample_rate, (long long)info.frames,
                   info.duration_s);
        }
    }
    int rc = ES_EXIT_OK;
    if (json) {
        char *s = cJSON_Print(arr);
        rc = s ? es_cli_print_line(s) : ES_EXIT_FAIL;
        free(s);
        cJSON_Delete(arr);
    } else if (fflush(stdout) != 0) {
        rc = ES_EXIT_FAIL;
    }
    if (rc != ES_EXIT_OK)
        es_cli_error(cli, "cannot write to standard output");
    if (failed)
        es_log_info(cli->log, "%d of %d file%s could not be read", failed, nfiles,
                    nfiles == 1 ? "" : "s");
    return failed ? ES_EXIT_FAIL : rc;
}
