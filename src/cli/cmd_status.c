/*
 * cmd_status.c: `ecosight status [--models DIR] [--data DIR] [--json]`: what
 * the catalog knows: classes and counts, what is new since the last
 * successful run, the embedding cache's size and hit rate, the current model
 * and its metrics, the last run. With --data, the folder is rescanned first
 * (hashing only new or touched files).
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void status_usage(FILE *out)
{
    fprintf(out,
            "usage: ecosight status [--models DIR] [--data DIR] [--json]\n"
            "\n"
            "Show the training catalog of a models directory: recordings per class, new or\n"
            "changed since the last successful retrain, embedding cache size and hit rate,\n"
            "the current model version and its test metrics, and the last run.\n"
            "\n"
            "  --models DIR   models directory (default: models)\n"
            "  --data DIR     rescan this data folder first (one folder per class)\n"
            "  --json         one JSON object\n");
}

/* Metrics of the model `latest` points at (test_accuracy, macro F1). */
static void model_metrics(const char *models_dir, const char *version, double *acc, double *f1)
{
    *acc = *f1 = -1;
    char rel[256];
    const char *files[2] = {"model_metadata.json", "performance_metrics.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(rel, sizeof rel, "%s/%s", version, files[i]);
        char *p = es_path_join(models_dir, rel), *txt = NULL;
        size_t len;
        if (p && es_read_file(p, 16 << 20, &txt, &len, NULL) == ES_OK) {
            cJSON *j = cJSON_Parse(txt);
            cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "test_accuracy");
            if (cJSON_IsNumber(a))
                *acc = a->valuedouble;
            cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "macro_f1");
            if (cJSON_IsNumber(f))
                *f1 = f->valuedouble;
            cJSON_Delete(j);
        }
        free(txt);
        free(p);
    }
}

int es_cmd_status(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"models", required_argument, NULL, 'm'},
                                         {"data", required_argument, NULL, 'd'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *models = "models", *data = NULL;
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': models = optarg; break;
        case 'd': data = optarg; break;
        case 'j': json = 1; break;
        case 'h': status_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "status", "bad option");
        }
    }
    if (optind < argc)
        return es_cli_usage_error(cli, "status", "unexpected argument '%s'", argv[optind]);

    es_error err;
    es_store *st = NULL;
    es_class_count *cc = NULL;
    size_t ncc = 0;
    es_run_info last = {0}, good = {0};
    int have_last = 0, have_good = 0;
    cJSON *o = NULL;
    int rc = ES_EXIT_FAIL;
    if (es_store_open_dir(models, &st, &err) != ES_OK)
        goto fail;
    if (data) {
        es_scan_summary sum;
        if (es_retrain_scan(st, data, ES_SOURCE_LOCAL, 0, json ? NULL : cli->log, &sum, &err) !=
            ES_OK)
            goto fail;
    }
    es_store_pending p;
    es_cache_stats cs;
    int64_t th = 0, tm = 0;
    if (es_store_class_counts(st, &cc, &ncc, &err) != ES_OK ||
        es_store_pending_counts(st, &p, &err) != ES_OK ||
        es_store_cache_stats(st, &cs, &err) != ES_OK ||
        es_store_run_cache_totals(st, &th, &tm, &err) != ES_OK)
        goto fail;
    es_status r1 = es_store_last_run(st, NULL, &last, &err);
    if (r1 != ES_OK && r1 != ES_ERR_NOT_FOUND)
        goto fail;
    have_last = r1 == ES_OK;
    es_status r2 = es_store_last_run(st, "succeeded", &good, &err);
    if (r2 != ES_OK && r2 != ES_ERR_NOT_FOUND)
        goto fail;
    have_good = r2 == ES_OK;
    char latest[ES_VERSION_NAME_MAX];
    es_error le;
    if (es_models_latest_local(models, latest, &le) != ES_OK)
        latest[0] = 0;
    double acc = -1, f1 = -1;
    if (latest[0])
        model_metrics(models, latest, &acc, &f1);
    /* A run left "running" by a process that no longer exists was killed;
     * the next retrain will mark it so, say it now. (Same host: the catalog
     * lives in the models directory next to the lock.) */
    if (have_last && strcmp(last.status, "running") == 0 && last.pid > 0 &&
        kill((pid_t)last.pid, 0) != 0 && errno == ESRCH)
        snprintf(last.status, sizeof last.status, "interrupted");
    double last_rate = have_good && good.cache_hits + good.cache_misses > 0
                           ? (double)good.cache_hits / (double)(good.cache_hits + good.cache_misses)
                           : -1;
    double all_rate = th + tm > 0 ? (double)th / (double)(th + tm) : -1;

    if (json) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "models_dir", models);
        cJSON_AddStringToObject(o, "catalog", es_store_path(st));
        cJSON *cls = cJSON_AddObjectToObject(o, "classes");
        int64_t total = 0;
        for (size_t i = 0; i < ncc; i++) {
            cJSON *x = cJSON_AddObjectToObject(cls, cc[i].name);
            cJSON_AddNumberToObject(x, "recordings", (double)cc[i].count);
            cJSON_AddNumberToObject(x, "bad", (double)cc[i].bad);
            total += cc[i].count;
        }
        cJSON_AddNumberToObject(o, "recordings", (double)total);
        cJSON *s = cJSON_AddObjectToObject(o, "since_last_run");
        cJSON_AddNumberToObject(s, "new", (double)p.added);
        cJSON_AddNumberToObject(s, "changed", (double)p.changed);
        cJSON_AddNumberToObject(s, "removed", (double)p.removed);
        cJSON_AddNumberToObject(s, "bad", (double)p.bad);
        cJSON *cj = cJSON_AddObjectToObject(o, "cache");
        cJSON_AddNumberToObject(cj, "entries", (double)cs.entries);
        cJSON_AddNumberToObject(cj, "bytes", (double)cs.bytes);
        cJSON_AddNumberToObject(cj, "total_hits", (double)th);
        cJSON_AddNumberToObject(cj, "total_misses", (double)tm);
        if (all_rate >= 0)
            cJSON_AddNumberToObject(cj, "hit_rate", all_rate);
        else
            cJSON_AddNullToObject(cj, "hit_rate");
        if (last_rate >= 0)
            cJSON_AddNumberToObject(cj, "last_run_hit_rate", last_rate);
        else
            cJSON_AddNullToObject(cj, "last_run_hit_rate");
        cJSON *m = cJSON_AddObjectToObject(o, "model");
        if (latest[0])
            cJSON_AddStringToObject(m, "version", latest);
        else
            cJSON_AddNullToObject(m, "version");
        if (acc >= 0)
            cJSON_AddNumberToObject(m, "test_accuracy", acc);
        if (f1 >= 0)
            cJSON_AddNumberToObject(m, "macro_f1", f1);
        if (have_last) {
            cJSON *l = cJSON_AddObjectToObject(o, "last_run");
            char ts[32];
            cJSON_AddNumberToObject(l, "id", (double)last.id);
            cJSON_AddStringToObject(l, "status", last.status);
            es_utc_iso8601(last.started, ts);
            cJSON_AddStringToObject(l, "started", ts);
            cJSON_AddStringToObject(l, "stage", last.stage);
            cJSON_AddStringToObject(l, "trigger", last.trigger);
            if (last.version[0])
                cJSON_AddStringToObject(l, "version", last.version);
            if (last.error[0])
                cJSON_AddStringToObject(l, "error", last.error);
            if (last.stages_json)
                cJSON_AddItemToObject(l, "stage_seconds", cJSON_Parse(last.stages_json));
        } else {
            cJSON_AddNullToObject(o, "last_run");
        }
        char *txt = cJSON_Print(o);
        rc = txt ? es_cli_print_line(txt) : ES_EXIT_FAIL;
        free(txt);
    } else {
        printf("models: %s (catalog %s)\n", models, es_store_path(st));
        if (latest[0]) {
            printf("model: %s", latest);
            if (acc >= 0)
                printf(", test accuracy %.4f", acc);
            if (f1 >= 0)
                printf(", macro F1 %.4f", f1);
            printf("\n");
        } else {
            printf("model: none yet\n");
        }
        printf("classes:\n");
        int64_t total = 0;
        for (size_t i = 0; i < ncc; i++) {
            printf("  %-16s %6lld", cc[i].name, (long long)cc[i].count);
            if (cc[i].bad)
                printf("  (%lld bad)", (long long)cc[i].bad);
            printf("\n");
            total += cc[i].count;
        }
        if (!ncc)
            printf("  (none scanned yet: run 'ecosight retrain' or 'status --data DIR')\n");
        printf("  %-16s %6lld\n", "total", (long long)total);
        printf("since the last successful run%s%s%s: %lld new, %lld changed, %lld removed\n",
               have_good ? " (" : "", have_good ? good.version : "", have_good ? ")" : "",
               (long long)p.added, (long long)p.changed, (long long)p.removed);
        printf("cache: %lld embeddings (%.1f MB)", (long long)cs.entries,
               (double)cs.bytes / 1e6);
        if (last_rate >= 0)
            printf("; last run reused %lld, computed %lld (hit rate %.1f%%)",
                   (long long)good.cache_hits, (long long)good.cache_misses, 100 * last_rate);
        if (all_rate >= 0)
            printf("; all runs %.1f%%", 100 * all_rate);
        printf("\n");
        if (have_last) {
            char ts[32];
            es_utc_iso8601(last.started, ts);
            printf("last run: #%lld %s at %s", (long long)last.id, last.status, ts);
            if (strcmp(last.status, "running") == 0 || strcmp(last.status, "interrupted") == 0)
                printf(" (stage %s)", last.stage);
            if (last.version[0])
                printf(", version %s", last.version);
            if (last.error[0])
                printf(": %s", last.error);
            printf("\n");
        }
        rc = fflush(stdout) == 0 ? ES_EXIT_OK : ES_EXIT_FAIL;
    }
    goto out;
fail:
    es_cli_error(cli, "%s", es_error_text(&err));
out:
    cJSON_Delete(o);
    free(cc);
    if (have_last)
        es_run_info_clear(&last);
    if (have_good)
        es_run_info_clear(&good);
    es_store_close(st);
    return rc;
}
