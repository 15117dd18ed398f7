/*
 * cmd_upload.c: `ecosight upload DIR [s3://BUCKET/PREFIX]`, and the sync
 * front end it shares with `ecosight download` (cmd_download.c): option
 * parsing, S3 configuration from the environment, progress, the summary
 * (text or --json) and the exit code (1 when any object failed, after the
 * others were done).
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void sync_usage(FILE *out, int download)
{
    if (download)
        fprintf(out,
                "usage: ecosight download [options] [s3://BUCKET/PREFIX] DIR\n"
                "\n"
                "Download every object under the prefix (default s3://$S3_BUCKET/%s, bucket\n"
                "%s) into DIR, keeping the folders: only what is missing or changed,\n"
                "in parallel, resumable, each file complete or absent.\n",
                ES_S3_DEFAULT_PREFIX, ES_S3_DEFAULT_BUCKET);
    else
        fprintf(out,
                "usage: ecosight upload [options] DIR [s3://BUCKET/PREFIX]\n"
                "\n"
                "Upload every audio file under DIR (class folders kept) to the prefix\n"
                "(default s3://$S3_BUCKET/%s, bucket %s). Creates the bucket\n"
                "if missing and blocks public access; skips objects already there with the\n"
                "same content; records each file's SHA-256 as x-amz-meta-sha256.\n",
                ES_S3_DEFAULT_PREFIX, ES_S3_DEFAULT_BUCKET);
    fprintf(out,
            "\n"
            "Options:\n"
            "  -j, --jobs N            parallel transfers (default 4)\n"
            "  -n, --dry-run           show what would be done, change nothing\n"
            "      --json              print the summary as JSON on stdout\n"
            "%s"
            "      --limit-rate RATE   cap each transfer's speed (bytes/s; k, M suffixes)\n"
            "      --endpoint-url URL  S3-compatible endpoint (else AWS_ENDPOINT_URL)\n"
            "\n"
            "Credentials and region come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n"
            "AWS_SESSION_TOKEN, AWS_REGION, AWS_PROFILE and ~/.aws/{credentials,config}.\n"
            "Exit codes: 0 all objects done, 1 any failure, 2 usage error.\n",
            download ? "      --delete            remove local files that are gone from S3\n"
                     : "      --all-files         every file, not only audio files\n");
}

static int parse_rate(const char *s, int64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1024, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        v *= 1024.0 * 1024 * 1024, end++;
    if (*end || v < 1 || v > 1e12)
        return -1;
    *out = (int64_t)v;
    return 0;
}

typedef struct sync_ui {
    es_cli *cli;
    es_progress *bar;
    int download;
    int json;
    int64_t total; /* bytes the bar was told about */
    const char *bucket;
} sync_ui;

static void on_progress(void *ud, const es_s3_sync_progress *p)
{
    sync_ui *u = ud;
    if (p->bytes_total != u->total) { /* known once the walk or listing is done */
        u->total = p->bytes_total;
        es_progress_set_total(u->bar, u->total);
    }
    switch (p->event) {
    case ES_S3_SYNC_BYTES:
        es_progress_add(u->bar, p->bytes);
        return;
    case ES_S3_SYNC_SKIPPED:
        es_progress_add(u->bar, p->bytes); /* already there: counts as done */
        return;
    case ES_S3_SYNC_FAILED:
        es_cli_error(u->cli, "%s: %s", p->key, p->error ? p->error : "failed");
        break;
    case ES_S3_SYNC_PLANNED:
        if (!u->json) {
            if (p->deleting)
                printf("would delete %s\n", p->path);
            else if (u->download)
                printf("would download s3://%s/%s -> %s (%lld bytes)\n", u->bucket, p->key,
                       p->path, (long long)p->bytes);
            else
                printf("would upload %s -> s3://%s/%s (%lld bytes)\n", p->path, u->bucket,
                       p->key, (long long)p->bytes);
        }
        break;
    case ES_S3_SYNC_DELETED:
        es_log_info(u->cli->log, "deleted %s (gone from S3)", p->path);
        break;
    default:
        break;
    }
    if (p->event == ES_S3_SYNC_PLANNED && !p->deleting)
        es_progress_add(u->bar, p->bytes);
}

static void human_bytes(int64_t b, char *out, size_t n)
{
    if (b >= 1024 * 1024)
        snprintf(out, n, "%.1f MiB", (double)b / (1024.0 * 1024.0));
    else if (b >= 1024)
        snprintf(out, n, "%.1f KiB", (double)b / 1024.0);
    else
        snprintf(out, n, "%lld B", (long long)b);
}

static int print_summary(const es_s3_sync_summary *s, int download, int dry_run, int json,
                         const char *bucket, const char *prefix, const char *dir,
                         const char *fatal)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return ES_EXIT_FAIL;
        cJSON_AddStringToObject(o, "command", download ? "download" : "upload");
        cJSON_AddStringToObject(o, "bucket", bucket);
        cJSON_AddStringToObject(o, "prefix", prefix);
        cJSON_AddStringToObject(o, "dir", dir);
        cJSON_AddBoolToObject(o, "dry_run", dry_run);
        cJSON_AddNumberToObject(o, "files", (double)s->files);
        cJSON_AddNumberToObject(o, "bytes", (double)s->bytes);
        cJSON_AddNumberToObject(o, "skipped", (double)s->skipped);
        cJSON_AddNumberToObject(o, "skipped_bytes", (double)s->skipped_bytes);
        cJSON_AddNumberToObject(o, "failed", (double)s->failed);
        if (download)
            cJSON_AddNumberToObject(o, "deleted", (double)s->deleted);
        cJSON_AddNumberToObject(o, "seconds", s->seconds);
        cJSON *errs = cJSON_AddArrayToObject(o, "errors");
        for (size_t i = 0; errs && i < s->errors.count; i++)
            cJSON_AddItemToArray(errs, cJSON_CreateString(s->errors.items[i]));
        if (fatal)
            cJSON_AddStringToObject(o, "error", fatal);
        char *txt = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!txt)
            return ES_EXIT_FAIL;
        int rc = es_cli_print_line(txt);
        free(txt);
        return rc;
    }
    char b[32], sb[32];
    human_bytes(s->bytes, b, sizeof b);
    human_bytes(s->skipped_bytes, sb, sizeof sb);
    printf("%s%s: %lld files (%s), skipped %lld (%s), failed %lld%s", dry_run ? "dry run: " : "",
           download ? "downloaded" : "uploaded", (long long)s->files, b, (long long)s->skipped, sb,
           (long long)s->failed, "");
    if (download && (s->deleted || dry_run))
        printf(", deleted %lld", (long long)s->deleted);
    printf(" in %.1f s\n", s->seconds);
    return fflush(stdout) == 0 ? ES_EXIT_OK : ES_EXIT_FAIL;
}

int es_cli_s3_sync(es_cli *cli, int argc, char **argv, int download)
{
    const char *name = download ? "download" : "upload";
    enum { OPT_JSON = 1000, OPT_DELETE, OPT_ALL, OPT_RATE, OPT_ENDPOINT };
    static const struct option opts[] = {
        {"jobs", required_argument, NULL, 'j'},   {"dry-run", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, OPT_JSON},    {"delete", no_argument, NULL, OPT_DELETE},
        {"all-files", no_argument, NULL, OPT_ALL}, {"limit-rate", required_argument, NULL, OPT_RATE},
        {"endpoint-url", required_argument, NULL, OPT_ENDPOINT},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    es_s3_sync_opts so = es_s3_sync_default_opts();
    int json = 0, c;
    int64_t rate = 0;
    const char *endpoint = NULL;
    while ((c = getopt_long(argc, argv, "j:nh", opts, NULL)) != -1) {
        long v;
        switch (c) {
        case 'j':
            if (es_cli_parse_int(optarg, 1, 64, &v) != 0)
                return es_cli_usage_error(cli, name, "--jobs takes 1..64, not '%s'", optarg);
            so.jobs = (int)v;
            break;
        case 'n': so.dry_run = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_DELETE:
            if (!download)
                return es_cli_usage_error(cli, name, "--delete is a download option");
            so.delete_extra = 1;
            break;
        case OPT_ALL:
            if (download)
                return es_cli_usage_error(cli, name, "--all-files is an upload option");
            so.all_files = 1;
            break;
        case OPT_RATE:
            if (parse_rate(optarg, &rate) != 0)
                return es_cli_usage_error(cli, name, "bad --limit-rate '%s'", optarg);
            break;
        case OPT_ENDPOINT: endpoint = optarg; break;
        case 'h': sync_usage(stdout, download); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, name, "bad option");
        }
    }
    int nargs = argc - optind;
    const char *dir = NULL, *url = NULL;
    if (download) {
        if (nargs == 1 && strncmp(argv[optind], "s3://", 5) != 0) {
            dir = argv[optind];
        } else if (nargs == 2) {
            url = argv[optind];
            dir = argv[optind + 1];
        } else {
            return es_cli_usage_error(cli, name, "expected [s3://BUCKET/PREFIX] DIR");
        }
    } else {
        if (nargs == 1 || nargs == 2) {
            dir = argv[optind];
            url = nargs == 2 ? argv[optind + 1] : NULL;
        } else {
            return es_cli_usage_error(cli, name, "expected DIR [s3://BUCKET/PREFIX]");
        }
    }
    if (url && strncmp(url, "s3://", 5) != 0)
        return es_cli_usage_error(cli, name, "'%s' is not an s3://BUCKET/PREFIX URL", url);

    es_error err;
    es_error_clear(&err);
    es_s3_config cfg;
    if (es_s3_config_from_env(&cfg, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        return ES_EXIT_FAIL;
    }
    if (endpoint) {
        char *e = strdup(endpoint);
        if (!e) {
            es_s3_config_clear(&cfg);
            es_cli_error(cli, "out of memory");
            return ES_EXIT_FAIL;
        }
        free(cfg.endpoint);
        cfg.endpoint = e;
        cfg.path_style = 1;
    }
    cfg.max_bytes_per_s = rate;
    char *bucket = NULL, *prefix = NULL;
    if (url) {
        if (es_s3_parse_url(url, &bucket, &prefix, &err) != ES_OK) {
            es_s3_config_clear(&cfg);
            return es_cli_usage_error(cli, name, "%s", es_error_text(&err));
        }
    } else {
        bucket = strdup(cfg.bucket);
        prefix = strdup(ES_S3_DEFAULT_PREFIX);
        if (!bucket || !prefix) {
            free(bucket);
            free(prefix);
            es_s3_config_clear(&cfg);
            es_cli_error(cli, "out of memory");
            return ES_EXIT_FAIL;
        }
    }
    es_s3_client *client = NULL;
    es_status rc = es_s3_client_new(&cfg, cli->log, &client, &err);
    es_s3_config_clear(&cfg);
    if (rc != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        free(bucket);
        free(prefix);
        return ES_EXIT_FAIL;
    }
    if (!es_s3_client_config(client)->access_key)
        es_log_warn(cli->log, "no AWS credentials found: sending anonymous requests");

    sync_ui ui = {.cli = cli, .download = download, .json = json, .total = -1, .bucket = bucket};
    ui.bar = es_progress_new(cli->log, name, -1, "B");
    so.progress = on_progress;
    so.progress_ud = &ui;
    so.progress_bytes = 1;
    es_s3_sync_summary sum;
    if (download)
        rc = es_s3_download_prefix(client, bucket, prefix, dir, &so, &sum, &err);
    else
        rc = es_s3_upload_dir(client, dir, bucket, prefix, &so, &sum, &err);
    es_progress_done(ui.bar);
    /* per-object failures were printed as they happened; a failure of the
     * whole operation (listing, bucket, directory) is printed here */
    int whole = rc != ES_OK && sum.failed == 0;
    if (whole)
        es_cli_error(cli, "%s", es_error_text(&err));
    int prc = print_summary(&sum, download, so.dry_run, json, bucket, prefix, dir,
                            whole ? es_error_text(&err) : NULL);
    if (rc != ES_OK && !whole)
        es_cli_error(cli, "%lld object%s failed", (long long)sum.failed,
                     sum.failed == 1 ? "" : "s");
    es_s3_sync_summary_clear(&sum);
    es_s3_client_free(client);
    free(bucket);
    free(prefix);
    return rc != ES_OK ? ES_EXIT_FAIL : prc;
}

int es_cmd_upload(es_cli *cli, int argc, char **argv)
{
    return es_cli_s3_sync(cli, argc, argv, 0);
}
