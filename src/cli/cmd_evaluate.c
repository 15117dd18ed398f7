/*
 * cmd_evaluate.c: `ecosight evaluate MODEL DATA_DIR [--json]`: score a saved
 * model on every original of a labelled folder and print the metrics
 * (--json: the performance_metrics.json shape, with accuracy and macro_f1).
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void eval_usage(FILE *out)
{
    fprintf(out, "usage: ecosight evaluate MODEL DATA_DIR [--json] [--yamnet PATH] [--threads N]\n"
                 "\n"
                 "MODEL is a version directory, MODELS_DIR/latest or MODELS_DIR. DATA_DIR holds one\n"
                 "folder per class (names as the model's classes). Every file is scored as\n"
                 "`predict` scores it; prints accuracy, loss, per-class precision/recall/F1/support,\n"
                 "macro F1, the confusion matrix, ROC-AUC and average precision, and precision/\n"
                 "recall of alerts at the model's per-class validation thresholds.\n"
                 "\n"
                 "  --json          the performance_metrics.json shape plus accuracy and macro_f1\n"
                 "  --yamnet PATH   YAMNet model file\n"
                 "  --threads N     worker threads (0 = all cores)\n");
}

int es_cmd_evaluate(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"yamnet", required_argument, NULL, 'y'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, threads = 0, c;
    const char *ypath = NULL;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'y': ypath = optarg; break;
        case 't':
            if (es_cli_parse_threads(optarg, &threads) != 0)
                return es_cli_usage_error(cli, "evaluate", "bad --threads '%s'", optarg);
            break;
        case 'h': eval_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "evaluate", "bad option");
        }
    }
    if (argc - optind != 2)
        return es_cli_usage_error(cli, "evaluate", "expected MODEL and DATA_DIR");
    es_error err;
    es_error_clear(&err);
    es_model *m = NULL;
    es_yamnet *y = NULL;
    char *yp = NULL;
    es_eval_result r = {0};
    es_metrics met = {0};
    int rc = ES_EXIT_FAIL;
    if (es_model_open(argv[optind], &m, &err) != ES_OK ||
        es_yamnet_find(ypath, &yp, &err) != ES_OK || es_yamnet_open(yp, &y, &err) != ES_OK ||
        es_evaluate_dir(m, y, argv[optind + 1], threads, cli->log, &r, &err) != ES_OK ||
        es_metrics_compute(r.probs, r.labels, r.n, r.num_classes, &met, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        goto done;
    }
    for (size_t i = 0; i < r.bad_files.count; i++)
        es_cli_error(cli, "skipped %s", r.bad_files.items[i]);
    size_t K = es_model_num_classes(m);
    const char **names = malloc(K * sizeof *names);
    if (!names)
        goto done;
    for (size_t k = 0; k < K; k++)
        names[k] = es_model_class_name(m, k);
    if (json) {
        char *txt = es_metrics_json_text(&met, names);
        cJSON *o = txt ? cJSON_Parse(txt) : NULL;
        free(txt);
        if (o) {
            cJSON_AddStringToObject(o, "model_version", es_model_version(m));
            cJSON_AddStringToObject(o, "data_dir", argv[optind + 1]);
            cJSON *tmo = cJSON_AddObjectToObject(o, "threshold_metrics");
            for (size_t k = 0; k < K; k++) {
                double p, rc2;
                es_threshold_metrics(r.probs, r.labels, r.n, K, k, es_model_threshold(m, k), &p,
                                     &rc2);
                cJSON *co = cJSON_AddObjectToObject(tmo, names[k]);
                cJSON_AddNumberToObject(co, "threshold", es_model_threshold(m, k));
                cJSON_AddNumberToObject(co, "precision", p);
                cJSON_AddNumberToObject(co, "recall", rc2);
            }
            cJSON *bad = cJSON_AddArrayToObject(o, "bad_files");
            for (size_t i = 0; i < r.bad_files.count; i++)
                cJSON_AddItemToArray(bad, cJSON_CreateString(r.bad_files.items[i]));
            txt = cJSON_Print(o);
            cJSON_Delete(o);
        }
        rc = txt ? es_cli_print_line(txt) : ES_EXIT_FAIL;
        free(txt);
    } else {
        printf("model %s on %s: %zu files\n", es_model_version(m), argv[optind + 1], met.n);
        printf("accuracy %.4f  loss %.4f  macro F1 %.4f\n", met.accuracy, met.loss, met.macro_f1);
        printf("%-16s %9s %9s %9s %8s %8s %8s\n", "class", "precision", "recall", "f1", "support",
               "roc_auc", "avg_prec");
        for (size_t k = 0; k < K; k++)
            printf("%-16s %9.4f %9.4f %9.4f %8lld %8.4f %8.4f\n", names[k], met.precision[k],
                   met.recall[k], met.f1[k], (long long)met.support[k], met.roc_auc[k],
                   met.avg_precision[k]);
        printf("confusion matrix (rows: true, columns: predicted)\n");
        for (size_t i = 0; i < K; i++) {
            printf("%-16s", names[i]);
            for (size_t j = 0; j < K; j++)
                printf(" %6lld", (long long)met.confusion[i * K + j]);
            printf("\n");
        }
        printf("at the model's validation thresholds (alert when p >= t):\n");
        for (size_t k = 0; k < K; k++) {
            double p, rc2;
            es_threshold_metrics(r.probs, r.labels, r.n, K, k, es_model_threshold(m, k), &p, &rc2);
            printf("%-16s t=%.4f  precision %.4f  recall %.4f\n", names[k],
                   (double)es_model_threshold(m, k), p, rc2);
        }
        rc = fflush(stdout) == 0 ? ES_EXIT_OK : ES_EXIT_FAIL;
    }
    free(names);
done:
    es_metrics_clear(&met);
    es_eval_result_clear(&r);
    es_yamnet_free(y);
    free(yp);
    es_model_free(m);
    return rc;
}
