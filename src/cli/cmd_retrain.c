/*
 * cmd_retrain.c: `ecosight retrain`: the seed's retrain_model.py as one
 * command a team can run every night (see docs/RETRAINING_PIPELINE.md).
 * Exit codes: 0 trained, or nothing to do; 1 failure (another retrain holding
 * the lock included); 2 usage.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void retrain_usage(FILE *out)
{
    fprintf(out,
            "usage: ecosight retrain [--data DIR] [--models DIR] [--bucket B] [options]\n"
            "\n"
            "Download the original recordings from S3 (s3://BUCKET/extracted_audio/, when\n"
            "S3_BUCKET or --bucket and AWS credentials are set), retrain when enough of them\n"
            "are new or changed, publish the model to s3://BUCKET/models/<version>/ and then\n"
            "models/latest, and log the run in retraining_log.json.\n"
            "\n"
            "  --data DIR             local copy of the recordings (default extracted_audio)\n"
            "  --models DIR           models directory (default models)\n"
            "  --bucket B             S3 bucket (default $S3_BUCKET)\n"
            "  --prefix P             data prefix in the bucket (default extracted_audio/)\n"
            "  --no-s3                use the local data only\n"
            "  --min-new-samples N    retrain when >= N recordings are new or changed (100)\n"
            "  --force                retrain whatever changed\n"
            "  --no-cache             do not use the embedding cache\n"
            "  --threads N            threads (0 = all cores)\n"
            "  --json                 print the result as JSON\n"
            "Training options (as 'ecosight train'):\n"
            "  --yamnet PATH  --seed N  --per-file K|auto  --split A,B,C  --group-pattern RE\n"
            "  --max-seconds S  --epochs N  --batch-size N  --learning-rate X  --patience N\n"
            "  --class-weights balanced|none  --max-files-per-class N\n");
}

enum {
    O_DATA = 1000, O_MODELS, O_BUCKET, O_PREFIX, O_NOS3, O_MINNEW, O_FORCE, O_NOCACHE,
    O_THREADS, O_JSON, O_YAMNET, O_SEED, O_PERFILE, O_SPLIT, O_GROUP, O_MAXSEC, O_EPOCHS,
    O_BATCH, O_LR, O_PATIENCE, O_CW, O_MAXFILES
};

/* Ctrl-C asks the run to stop at its next check instead of killing it. */
static volatile int g_cancel;
static void on_sigint(int sig)
{
    (void)sig;
    g_cancel = 1;
}

static int parse_split(const char *s, double out[3])
{
    char *end;
    for (int i = 0; i < 3; i++) {
        out[i] = strtod(s, &end);
        if (end == s || out[i] < 0 || out[i] > 1)
            return -1;
        s = end;
        if (i < 2) {
            if (*s != ',')
                return -1;
            s++;
        }
    }
    double t = out[0] + out[1] + out[2];
    return *s == 0 && t > 0.999 && t < 1.001 ? 0 : -1;
}

static void print_json(const es_retrain_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "trained", r->trained);
    cJSON_AddStringToObject(o, "reason", r->reason);
    if (r->trained)
        cJSON_AddStringToObject(o, "version", r->version);
    cJSON_AddStringToObject(o, "previous_version", r->previous);
    cJSON_AddBoolToObject(o, "s3_used", r->s3_used);
    cJSON_AddBoolToObject(o, "s3_fallback", r->s3_fallback);
    cJSON_AddBoolToObject(o, "published_to_s3", r->published_s3);
    cJSON_AddNumberToObject(o, "downloaded", (double)r->downloaded);
    cJSON_AddNumberToObject(o, "download_skipped", (double)r->download_skipped);
    cJSON_AddNumberToObject(o, "new", (double)r->pending.added);
    cJSON_AddNumberToObject(o, "changed", (double)r->pending.changed);
    cJSON_AddNumberToObject(o, "removed", (double)r->pending.removed);
    cJSON_AddNumberToObject(o, "recordings", (double)r->pending.present);
    cJSON_AddNumberToObject(o, "hashed", (double)r->scan.hashed);
    cJSON_AddNumberToObject(o, "cache_hits", (double)r->cache_hits);
    cJSON_AddNumberToObject(o, "cache_misses", (double)r->cache_misses);
    if (r->test_accuracy >= 0)
        cJSON_AddNumberToObject(o, "test_accuracy", r->test_accuracy);
    if (r->test_macro_f1 >= 0)
        cJSON_AddNumberToObject(o, "test_macro_f1", r->test_macro_f1);
    cJSON *t = cJSON_AddObjectToObject(o, "stage_seconds");
    cJSON_AddNumberToObject(t, "download", r->t_download);
    cJSON_AddNumberToObject(t, "scan", r->t_scan);
    cJSON_AddNumberToObject(t, "features", r->t_features);
    cJSON_AddNumberToObject(t, "train", r->t_train);
    cJSON_AddNumberToObject(t, "evaluate", r->t_evaluate);
    cJSON_AddNumberToObject(t, "save", r->t_save);
    cJSON_AddNumberToObject(t, "publish", r->t_publish);
    cJSON_AddNumberToObject(t, "total", r->t_total);
    cJSON *bad = cJSON_AddArrayToObject(o, "bad_recordings");
    for (size_t i = 0; i < r->bad_files.count; i++)
        cJSON_AddItemToArray(bad, cJSON_CreateString(r->bad_files.items[i]));
    char *s = cJSON_Print(o);
    if (s)
        es_cli_print_line(s);
    free(s);
    cJSON_Delete(o);
}

int es_cmd_retrain(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, O_DATA},
        {"models", required_argument, NULL, O_MODELS},
        {"bucket", required_argument, NULL, O_BUCKET},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"no-s3", no_argument, NULL, O_NOS3},
        {"min-new-samples", required_argument, NULL, O_MINNEW},
        {"force", no_argument, NULL, O_FORCE},
        {"no-cache", no_argument, NULL, O_NOCACHE},
        {"threads", required_argument, NULL, O_THREADS},
        {"json", no_argument, NULL, O_JSON},
        {"yamnet", required_argument, NULL, O_YAMNET},
        {"seed", required_argument, NULL, O_SEED},
        {"per-file", required_argument, NULL, O_PERFILE},
        {"split", required_argument, NULL, O_SPLIT},
        {"group-pattern", required_argument, NULL, O_GROUP},
        {"max-seconds", required_argument, NULL, O_MAXSEC},
        {"epochs", required_argument, NULL, O_EPOCHS},
        {"batch-size", required_argument, NULL, O_BATCH},
        {"learning-rate", required_argument, NULL, O_LR},
        {"patience", required_argument, NULL, O_PATIENCE},
        {"class-weights", required_argument, NULL, O_CW},
        {"max-files-per-class", required_argument, NULL, O_MAXFILES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    es_retrain_config cfg = es_retrain_default_config();
    cfg.log = cli->log;
    int json = 0, c;
    long v;
    double d;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: cfg.data_dir = optarg; break;
        case O_MODELS: cfg.models_dir = optarg; break;
        case O_BUCKET: cfg.bucket = optarg; break;
        case O_PREFIX: cfg.data_prefix = optarg; break;
        case O_NOS3: cfg.s3_mode = ES_RETRAIN_S3_OFF; break;
        case O_MINNEW:
            if (es_cli_parse_int(optarg, 0, 100000000, &v) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --min-new-samples '%s'", optarg);
            cfg.min_new = v;
            break;
        case O_FORCE: cfg.force = 1; break;
        case O_NOCACHE: cfg.use_cache = 0; break;
        case O_THREADS:
            if (es_cli_parse_threads(optarg, &cfg.threads) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --threads '%s'", optarg);
            break;
        case O_JSON: json = 1; break;
        case O_YAMNET: cfg.train.yamnet_path = optarg; break;
        case O_SEED:
            if (es_cli_parse_int(optarg, 0, 0x7fffffffL, &v) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --seed '%s'", optarg);
            cfg.train.seed = (uint64_t)v;
            break;
        case O_PERFILE:
            if (strcmp(optarg, "auto") == 0)
                cfg.train.per_file = -1;
            else if (es_cli_parse_int(optarg, 0, 11, &v) == 0)
                cfg.train.per_file = (int)v;
            else
                return es_cli_usage_error(cli, "retrain", "bad --per-file '%s' (0..11 or auto)",
                                          optarg);
            break;
        case O_SPLIT:
            if (parse_split(optarg, cfg.train.split) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --split '%s' (e.g. 0.7,0.15,0.15)",
                                          optarg);
            break;
        case O_GROUP: cfg.train.group_pattern = optarg; break;
        case O_MAXSEC:
            if (es_cli_parse_double(optarg, 0.5, 600, &d) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --max-seconds '%s'", optarg);
            cfg.train.max_seconds = d;
            break;
        case O_EPOCHS:
            if (es_cli_parse_int(optarg, 1, 100000, &v) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --epochs '%s'", optarg);
            cfg.train.epochs = (int)v;
            break;
        case O_BATCH:
            if (es_cli_parse_int(optarg, 1, 65536, &v) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --batch-size '%s'", optarg);
            cfg.train.batch_size = (int)v;
            break;
        case O_LR:
            if (es_cli_parse_double(optarg, 1e-9, 10, &d) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --learning-rate '%s'", optarg);
            cfg.train.learning_rate = d;
            break;
        case O_PATIENCE:
            if (es_cli_parse_int(optarg, 1, 100000, &v) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --patience '%s'", optarg);
            cfg.train.patience = (int)v;
            break;
        case O_CW:
            if (strcmp(optarg, "balanced") == 0)
                cfg.train.class_weights_balanced = 1;
            else if (strcmp(optarg, "none") == 0)
                cfg.train.class_weights_balanced = 0;
            else
                return es_cli_usage_error(cli, "retrain", "bad --class-weights '%s'", optarg);
            break;
        case O_MAXFILES:
            if (es_cli_parse_int(optarg, 0, 100000000, &v) != 0)
                return es_cli_usage_error(cli, "retrain", "bad --max-files-per-class '%s'",
                                          optarg);
            cfg.train.max_files_per_class = (int)v;
            break;
        case 'h': retrain_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "retrain", "bad option");
        }
    }
    if (optind < argc)
        return es_cli_usage_error(cli, "retrain", "unexpected argument '%s'", argv[optind]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cfg.cancel = &g_cancel;

    es_retrain_result res;
    es_error err;
    es_error_clear(&err);
    es_status rc = es_retrain_run(&cfg, &res, &err);
    if (rc != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        es_retrain_result_clear(&res);
        return ES_EXIT_FAIL;
    }
    if (json) {
        print_json(&res);
    } else if (!res.trained) {
        printf("%s\n", res.reason);
    } else {
        printf("retrained: %s (%s)\n", res.version, res.reason);
        if (res.test_accuracy >= 0)
            printf("test accuracy %.4f", res.test_accuracy);
        if (res.test_macro_f1 >= 0)
            printf(", macro F1 %.4f", res.test_macro_f1);
        printf("\nembeddings: %lld from the cache, %lld computed\n", (long long)res.cache_hits,
               (long long)res.cache_misses);
        printf("stages (s): download %.1f, scan %.1f, features %.1f, train %.1f, evaluate %.1f, "
               "save %.1f, publish %.1f, total %.1f\n",
               res.t_download, res.t_scan, res.t_features, res.t_train, res.t_evaluate,
               res.t_save, res.t_publish, res.t_total);
        printf("published: %s%s\n", res.published_s3 ? "S3 and " : "", "local latest");
        if (res.bad_files.count)
            printf("%zu bad recordings skipped (see 'ecosight status')\n", res.bad_files.count);
    }
    es_retrain_result_clear(&res);
    return fflush(stdout) == 0 ? ES_EXIT_OK : ES_EXIT_FAIL;
}
