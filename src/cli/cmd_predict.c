/*
 * cmd_predict.c: `ecosight predict MODEL FILE... [--json] [--timeline]`:
 * per file the predicted class, its confidence and every class probability
 * (the seed API's fields); with --timeline, window-by-window predictions over
 * long recordings (streamed, constant memory) merged into events.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void predict_usage(FILE *out)
{
    fprintf(out,
        "usage: ecosight predict MODEL FILE... [--json] [--timeline] [options]\n"
        "\n"
        "MODEL is a version directory, MODELS_DIR/latest or MODELS_DIR.\n"
        "\n"
        "  --json              one JSON array: per file predicted_class, confidence,\n"
        "                      all_probabilities, above_threshold (classes whose probability\n"
        "                      reaches the model's validation threshold)\n"
        "  --timeline          window-by-window predictions over the whole recording and the\n"
        "                      events (consecutive windows of one class merged)\n"
        "  --window S          timeline window in seconds (4)\n"
        "  --hop S             timeline hop in seconds (1)\n"
        "  --min-confidence X  a window joins an event only at this confidence (0)\n"
        "  --yamnet PATH       YAMNet model file\n"
        "  --threads N         YAMNet threads (0 = all cores)\n");
}

typedef struct tl_ctx {
    const es_model *m;
    cJSON *windows;     /* JSON mode */
    int text;
} tl_ctx;

static int on_window(void *ud, const es_timeline_window *w)
{
    tl_ctx *c = ud;
    const char *name = es_model_class_name(c->m, (size_t)w->cls);
    if (c->windows) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "start", w->start_s);
        cJSON_AddNumberToObject(o, "end", w->end_s);
        cJSON_AddStringToObject(o, "predicted_class", name);
        cJSON_AddNumberToObject(o, "confidence", w->confidence);
        cJSON_AddItemToArray(c->windows, o);
    } else if (c->text) {
        printf("  %8.2f-%8.2f s  %-16s %.3f\n", w->start_s, w->end_s, name, w->confidence);
    }
    return 0;
}

int es_cmd_predict(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},          {"timeline", no_argument, NULL, 'T'},
        {"window", required_argument, NULL, 'w'},  {"hop", required_argument, NULL, 'p'},
        {"min-confidence", required_argument, NULL, 'c'},
        {"yamnet", required_argument, NULL, 'y'},  {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int json = 0, timeline = 0, threads = 0, c;
    const char *ypath = NULL;
    es_timeline_opts to = es_timeline_default_opts();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'T': timeline = 1; break;
        case 'w':
            if (es_cli_parse_double(optarg, 0.5, 60, &to.window_s))
                return es_cli_usage_error(cli, "predict", "bad --window '%s'", optarg);
            break;
        case 'p':
            if (es_cli_parse_double(optarg, 0.1, 60, &to.hop_s))
                return es_cli_usage_error(cli, "predict", "bad --hop '%s'", optarg);
            break;
        case 'c':
            if (es_cli_parse_double(optarg, 0, 1, &to.min_confidence))
                return es_cli_usage_error(cli, "predict", "bad --min-confidence '%s'", optarg);
            break;
        case 'y': ypath = optarg; break;
        case 't':
            if (es_cli_parse_threads(optarg, &threads) != 0)
                return es_cli_usage_error(cli, "predict", "bad --threads '%s'", optarg);
            break;
        case 'h': predict_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "predict", "bad option");
        }
    }
    if (argc - optind < 2)
        return es_cli_usage_error(cli, "predict", "expected MODEL and at least one FILE");
    if (to.hop_s > to.window_s)
        return es_cli_usage_error(cli, "predict", "--hop must not exceed --window");
    to.threads = threads;
    es_error err;
    es_error_clear(&err);
    es_model *m = NULL;
    es_yamnet *y = NULL;
    char *yp = NULL;
    if (es_model_open(argv[optind], &m, &err) != ES_OK ||
        es_yamnet_find(ypath, &yp, &err) != ES_OK || es_yamnet_open(yp, &y, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        free(yp);
        es_yamnet_free(y);
        es_model_free(m);
        return ES_EXIT_FAIL;
    }
    size_t K = es_model_num_classes(m);
    float *probs = malloc(K * sizeof(float));
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    int failed = 0;
    for (int i = optind + 1; i < argc && probs; i++) {
        const char *path = argv[i];
        cJSON *o = json ? cJSON_CreateObject() : NULL;
        if (o) {
            cJSON_AddStringToObject(o, "file", path);
            cJSON_AddItemToArray(arr, o);
        }
        if (es_model_predict_file(m, y, path, threads, probs, &err) != ES_OK) {
            es_cli_error(cli, "%s", es_error_text(&err));
            if (o)
                cJSON_AddStringToObject(o, "error", es_error_text(&err));
            failed = 1;
            continue;
        }
        size_t best = 0;
        for (size_t k = 1; k < K; k++)
            if (probs[k] > probs[best])
                best = k;
        if (o) {
            cJSON_AddStringToObject(o, "predicted_class", es_model_class_name(m, best));
            cJSON_AddNumberToObject(o, "confidence", probs[best]);
            cJSON *ap = cJSON_AddObjectToObject(o, "all_probabilities");
            cJSON *above = cJSON_AddArrayToObject(o, "above_threshold");
            for (size_t k = 0; k < K; k++) {
                cJSON_AddNumberToObject(ap, es_model_class_name(m, k), probs[k]);
                if (probs[k] >= es_model_threshold(m, k))
                    cJSON_AddItemToArray(above, cJSON_CreateString(es_model_class_name(m, k)));
            }
            cJSON_AddStringToObject(o, "model_version", es_model_version(m));
        } else {
            printf("%s: %s (%.3f)", path, es_model_class_name(m, best), probs[best]);
            for (size_t k = 0; k < K; k++)
                printf("%s%s %.3f", k ? ", " : "  [", es_model_class_name(m, k), probs[k]);
            printf("]\n");
        }
        if (timeline) {
            tl_ctx tc = {m, o ? cJSON_CreateArray() : NULL, !o};
            es_timeline_result tr;
            if (!o)
                printf("  timeline (%.1f s windows, %.1f s hop):\n", to.window_s, to.hop_s);
            if (es_timeline_file(m, y, path, &to, on_window, &tc, &tr, &err) != ES_OK) {
                es_cli_error(cli, "%s: timeline: %s", path, es_error_text(&err));
                cJSON_Delete(tc.windows);
                failed = 1;
                continue;
            }
            cJSON *ev = o ? cJSON_CreateArray() : NULL;
            for (size_t e = 0; e < tr.count; e++) {
                const es_timeline_event *E = &tr.events[e];
                const char *name = es_model_class_name(m, (size_t)E->cls);
                if (ev) {
                    cJSON *eo = cJSON_CreateObject();
                    cJSON_AddStringToObject(eo, "class", name);
                    cJSON_AddNumberToObject(eo, "start", E->start_s);
                    cJSON_AddNumberToObject(eo, "end", E->end_s);
                    cJSON_AddNumberToObject(eo, "windows", E->windows);
                    cJSON_AddNumberToObject(eo, "max_confidence", E->max_confidence);
                    cJSON_AddNumberToObject(eo, "mean_confidence", E->mean_confidence);
                    cJSON_AddItemToArray(ev, eo);
                } else {
                    printf("  event %-16s %8.2f-%8.2f s  (%d windows, max %.3f)\n", name,
                           E->start_s, E->end_s, E->windows, E->max_confidence);
                }
            }
            if (o) {
                cJSON *t = cJSON_AddObjectToObject(o, "timeline");
                cJSON_AddNumberToObject(t, "window", to.window_s);
                cJSON_AddNumberToObject(t, "hop", to.hop_s);
                cJSON_AddNumberToObject(t, "duration", tr.duration_s);
                cJSON_AddItemToObject(t, "windows", tc.windows);
                cJSON_AddItemToObject(t, "events", ev);
            }
            es_timeline_result_clear(&tr);
        }
    }
    int rc = failed || !probs ? ES_EXIT_FAIL : ES_EXIT_OK;
    if (json) {
        char *txt = cJSON_Print(arr);
        if (!txt || es_cli_print_line(txt) != ES_EXIT_OK)
            rc = ES_EXIT_FAIL;
        free(txt);
        cJSON_Delete(arr);
    } else if (fflush(stdout) != 0) {
        rc = ES_EXIT_FAIL;
    }
    free(probs);
    free(yp);
    es_yamnet_free(y);
    es_model_free(m);
    return rc;
}
