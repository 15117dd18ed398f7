/*
 * cmd_models.c: `ecosight models list|pull|rollback`: the model versions in
 * a models directory and, when S3 is configured, in s3://BUCKET/models/.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void models_usage(FILE *out)
{
    fprintf(out,
            "usage: ecosight models list [--json]\n"
            "       ecosight models pull [VERSION] [--set-latest]\n"
            "       ecosight models rollback VERSION\n"
            "options: --models DIR (default models), --bucket B (default $S3_BUCKET), --no-s3\n"
            "\n"
            "list      versions here and in s3://BUCKET/models/, and which one each 'latest' names\n"
            "pull      download a version (default: the bucket's latest) into the models dir\n"
            "rollback  point latest (local, and the bucket's when S3 is configured) at VERSION\n");
}

static int do_list(es_cli *cli, const char *models, const es_models_remote *remote, int json)
{
    es_model_list l;
    es_error err;
    if (es_models_list(models, remote, &l, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        return ES_EXIT_FAIL;
    }
    int rc = ES_EXIT_OK;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "models_dir", models);
        if (l.latest_local[0])
            cJSON_AddStringToObject(o, "latest", l.latest_local);
        else
            cJSON_AddNullToObject(o, "latest");
        if (l.remote_listed) {
            cJSON_AddStringToObject(o, "bucket", remote->bucket);
            if (l.latest_remote[0])
                cJSON_AddStringToObject(o, "latest_s3", l.latest_remote);
            else
                cJSON_AddNullToObject(o, "latest_s3");
        }
        cJSON *a = cJSON_AddArrayToObject(o, "versions");
        for (size_t i = 0; i < l.count; i++) {
            const es_version_info *v = &l.items[i];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "version", v->name);
            cJSON_AddBoolToObject(x, "local", v->local);
            if (l.remote_listed)
                cJSON_AddBoolToObject(x, "s3", v->remote);
            cJSON_AddBoolToObject(x, "latest", v->latest_local);
            if (l.remote_listed)
                cJSON_AddBoolToObject(x, "latest_s3", v->latest_remote);
            if (v->test_accuracy >= 0)
                cJSON_AddNumberToObject(x, "test_accuracy", v->test_accuracy);
            if (v->local)
                cJSON_AddNumberToObject(x, "bytes", (double)v->bytes);
            cJSON_AddItemToArray(a, x);
        }
        char *s = cJSON_Print(o);
        rc = s ? es_cli_print_line(s) : ES_EXIT_FAIL;
        free(s);
        cJSON_Delete(o);
    } else {
        if (!l.count)
            printf("no model versions in %s%s\n", models, l.remote_listed ? " or the bucket" : "");
        for (size_t i = 0; i < l.count; i++) {
            const es_version_info *v = &l.items[i];
            printf("%-24s %-5s", v->name, v->local ? "local" : "");
            if (l.remote_listed)
                printf(" %-2s", v->remote ? "s3" : "");
            if (v->test_accuracy >= 0)
                printf("  acc %.4f", v->test_accuracy);
            if (v->latest_local)
                printf("  <- latest");
            if (v->latest_remote)
                printf("  <- s3 latest");
            printf("\n");
        }
        rc = fflush(stdout) == 0 ? ES_EXIT_OK : ES_EXIT_FAIL;
    }
    es_model_list_clear(&l);
    return rc;
}

int es_cmd_models(es_cli *cli, int argc, char **argv)
{
    enum { O_MODELS = 1000, O_BUCKET, O_NOS3, O_JSON, O_SETLATEST };
    static const struct option opts[] = {{"models", required_argument, NULL, O_MODELS},
                                         {"bucket", required_argument, NULL, O_BUCKET},
                                         {"no-s3", no_argument, NULL, O_NOS3},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"set-latest", no_argument, NULL, O_SETLATEST},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *models = "models", *bucket = NULL;
    int json = 0, no_s3 = 0, set_latest = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_MODELS: models = optarg; break;
        case O_BUCKET: bucket = optarg; break;
        case O_NOS3: no_s3 = 1; break;
        case O_JSON: json = 1; break;
        case O_SETLATEST: set_latest = 1; break;
        case 'h': models_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "models", "bad option");
        }
    }
    if (optind >= argc)
        return es_cli_usage_error(cli, "models", "missing subcommand (list, pull, rollback)");
    const char *sub = argv[optind++];
    const char *version = optind < argc ? argv[optind++] : NULL;
    if (optind < argc)
        return es_cli_usage_error(cli, "models", "unexpected argument '%s'", argv[optind]);

    es_error err;
    es_s3_client *s3 = NULL;
    const char *b = NULL;
    char why[256] = "";
    if (!no_s3 && es_retrain_s3_open(bucket, cli->log, &s3, &b, why, sizeof why, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        return ES_EXIT_FAIL;
    }
    es_models_remote remote = {.s3 = s3, .bucket = b, .prefix = NULL};
    int rc = ES_EXIT_OK;
    if (strcmp(sub, "list") == 0) {
        if (version)
            rc = es_cli_usage_error(cli, "models", "list takes no version");
        else
            rc = do_list(cli, models, s3 ? &remote : NULL, json);
    } else if (strcmp(sub, "pull") == 0) {
        char name[ES_VERSION_NAME_MAX];
        if (!s3) {
            es_cli_error(cli, "models pull needs S3 (%s)", why[0] ? why : "--no-s3");
            rc = ES_EXIT_FAIL;
        } else if (es_models_pull(models, &remote, version, set_latest, name, &err) != ES_OK) {
            es_cli_error(cli, "%s", es_error_text(&err));
            rc = ES_EXIT_FAIL;
        } else {
            printf("pulled %s into %s/%s%s\n", name, models, name,
                   set_latest ? " (now latest)" : "");
        }
    } else if (strcmp(sub, "rollback") == 0) {
        if (!version) {
            rc = es_cli_usage_error(cli, "models", "rollback needs a VERSION");
        } else if (es_models_rollback(models, s3 ? &remote : NULL, version, &err) != ES_OK) {
            es_cli_error(cli, "%s", es_error_text(&err));
            rc = ES_EXIT_FAIL;
        } else {
            printf("latest is now %s (%s%s)\n", version, models, s3 ? " and S3" : "");
        }
    } else {
        rc = es_cli_usage_error(cli, "models", "unknown subcommand '%s'", sub);
    }
    es_s3_client_free(s3);
    return rc;
}
