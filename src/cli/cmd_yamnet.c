/*
 * cmd_yamnet.c: `ecosight yamnet [options] FILE`: run YAMNet on one audio
 * file (any supported format, resampled to 16 kHz mono) and print the top-K
 * AudioSet classes of the mean scores; optionally dump the raw arrays
 * (little-endian float32, row-major) for comparison with other tools.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void yamnet_usage(FILE *out)
{
    fprintf(out,
            "usage: ecosight yamnet [--top K] [--json] [--threads N] [--yamnet PATH]\n"
            "                       [--classes CSV] [--logmel F] [--embeddings F] [--scores F] FILE\n"
            "\n"
            "Decode FILE, resample to 16 kHz mono, run YAMNet and print the top-K AudioSet\n"
            "classes of the scores averaged over all 0.96 s patches (hop 0.48 s).\n"
            "\n"
            "  --top K          how many classes to print (default 5, 1..521)\n"
            "  --json           one JSON object: file, duration_s, patches, frames,\n"
            "                   model_sha256, top (list of {index, name, score})\n"
            "  --threads N      threads to use (default 0 = all cores)\n"
            "  --yamnet PATH    the model (default: $ECOSIGHT_YAMNET, models/yamnet/,\n"
            "                   $ECOSIGHT_SHARED/models)\n"
            "  --classes CSV    the class map (default: yamnet_class_map.csv beside the model)\n"
            "  --logmel F       write the log-mel spectrogram [frames, 64] as float32\n"
            "  --embeddings F   write the per-patch embeddings [patches, 1024] as float32\n"
            "  --scores F       write the per-patch scores [patches, 521] as float32\n");
}

static int write_f32(es_cli *cli, const char *path, const float *data, size_t count)
{
    es_error err;
    if (es_write_file_atomic(path, data, count * sizeof(float), &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        return -1;
    }
    return 0;
}

typedef struct ranked {
    int index;
    float score;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index - y->index;
}

int es_cmd_yamnet(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"top", required_argument, NULL, 'k'},     {"json", no_argument, NULL, 'j'},
        {"threads", required_argument, NULL, 't'}, {"yamnet", required_argument, NULL, 'm'},
        {"classes", required_argument, NULL, 'c'}, {"logmel", required_argument, NULL, 'l'},
        {"embeddings", required_argument, NULL, 'e'}, {"scores", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    long topk = 5;
    int json = 0, threads = 0, c;
    const char *model_arg = NULL, *classes_arg = NULL, *logmel_out = NULL, *emb_out = NULL,
               *scores_out = NULL;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (es_cli_parse_int(optarg, 1, ES_YAMNET_NUM_CLASSES, &topk) != 0)
                return es_cli_usage_error(cli, "yamnet", "--top wants 1..%d, got '%s'",
                                          ES_YAMNET_NUM_CLASSES, optarg);
            break;
        case 'j': json = 1; break;
        case 't':
            if (es_cli_parse_threads(optarg, &threads) != 0)
                return es_cli_usage_error(cli, "yamnet", "bad --threads '%s'", optarg);
            break;
        case 'm': model_arg = optarg; break;
        case 'c': classes_arg = optarg; break;
        case 'l': logmel_out = optarg; break;
        case 'e': emb_out = optarg; break;
        case 's': scores_out = optarg; break;
        case 'h': yamnet_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "yamnet", "bad option");
        }
    }
    if (optind >= argc)
        return es_cli_usage_error(cli, "yamnet", "no input file");
    if (optind + 1 < argc)
        return es_cli_usage_error(cli, "yamnet", "one input file at a time (got %d)",
                                  argc - optind);
    const char *file = argv[optind];

    int rc = ES_EXIT_FAIL;
    es_error err;
    es_error_clear(&err);
    char *model_path = NULL, *classes_path = NULL;
    es_yamnet *m = NULL;
    es_yamnet_classes classes = {0};
    es_audio audio = {0};
    es_yamnet_result res = {0};
    ranked *rank = NULL;

    if (es_yamnet_find(model_arg, &model_path, &err) != ES_OK ||
        es_yamnet_open(model_path, &m, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        goto done;
    }
    if (classes_arg) {
        classes_path = strdup(classes_arg);
    } else if (es_yamnet_classes_find(model_path, &classes_path, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        goto done;
    }
    if (!classes_path || es_yamnet_classes_load(classes_path, &classes, &err) != ES_OK) {
        es_cli_error(cli, "%s", classes_path ? es_error_text(&err) : "out of memory");
        goto done;
    }
    es_audio_load_opts lo = es_audio_load_default_opts();
    lo.sample_rate = ES_YAMNET_SAMPLE_RATE;
    if (es_audio_load_file(file, &lo, &audio, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        goto done;
    }
    es_log_debug(cli->log, "yamnet: %s: %lld samples at 16 kHz, model %s (%s)", file,
                 (long long)audio.frames, model_path, es_yamnet_sha256(m));
    if (es_yamnet_analyze(m, audio.samples, (size_t)audio.frames, threads, logmel_out != NULL,
                          1, 1, &res, &err) != ES_OK) {
        es_cli_error(cli, "%s: %s", file, es_error_text(&err));
        goto done;
    }
    if ((logmel_out && write_f32(cli, logmel_out, res.logmel, res.frames * ES_YAMNET_MEL_BANDS)) ||
        (emb_out && write_f32(cli, emb_out, res.embeddings, res.patches * ES_YAMNET_EMBED_DIM)) ||
        (scores_out &&
         write_f32(cli, scores_out, res.scores, res.patches * ES_YAMNET_NUM_CLASSES)))
        goto done;

    rank = malloc(sizeof *rank * ES_YAMNET_NUM_CLASSES);
    if (!rank) {
        es_cli_error(cli, "out of memory");
        goto done;
    }
    for (int k = 0; k < ES_YAMNET_NUM_CLASSES; k++) {
        double s = 0;
        for (size_t p = 0; p < res.patches; p++)
            s += res.scores[p * ES_YAMNET_NUM_CLASSES + (size_t)k];
        rank[k].index = k;
        rank[k].score = (float)(s / (double)res.patches);
    }
    qsort(rank, ES_YAMNET_NUM_CLASSES, sizeof *rank, cmp_ranked);
    double duration = (double)audio.frames / ES_YAMNET_SAMPLE_RATE;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *top = cJSON_CreateArray();
        if (!o || !top) {
            cJSON_Delete(o);
            cJSON_Delete(top);
            es_cli_error(cli, "out of memory");
            goto done;
        }
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddNumberToObject(o, "duration_s", duration);
        cJSON_AddNumberToObject(o, "patches", (double)res.patches);
        cJSON_AddNumberToObject(o, "frames", (double)res.frames);
        cJSON_AddStringToObject(o, "model_sha256", es_yamnet_sha256(m));
        for (long k = 0; k < topk; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "index", rank[k].index);
            cJSON_AddStringToObject(e, "name", classes.names[rank[k].index]);
            cJSON_AddNumberToObject(e, "score", rank[k].score);
            cJSON_AddItemToArray(top, e);
        }
        cJSON_AddItemToObject(o, "top", top);
        char *s = cJSON_Print(o);
        cJSON_Delete(o);
        rc = s ? es_cli_print_line(s) : ES_EXIT_FAIL;
        free(s);
        if (rc != ES_EXIT_OK) {
            es_cli_error(cli, "cannot write to standard output");
            goto done;
        }
    } else {
        printf("%s: %.2f s, %zu patches\n", file, duration, res.patches);
        for (long k = 0; k < topk; k++)
            printf("%3ld. %-40s %.4f  (%d)\n", k + 1, classes.names[rank[k].index],
                   (double)rank[k].score, rank[k].index);
        if (fflush(stdout) != 0) {
            es_cli_error(cli, "cannot write to standard output");
            goto done;
        }
    }
    rc = ES_EXIT_OK;
done:
    free(rank);
    es_yamnet_result_clear(&res);
    es_audio_clear(&audio);
    es_yamnet_classes_clear(&classes);
    es_yamnet_free(m);
    free(classes_path);
    free(model_path);
    return rc;
}
