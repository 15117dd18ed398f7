/*
 * cmd_train.c: `ecosight train DATA_DIR --out MODELS_DIR [options]`: train a
 * new model version from a folder of labelled recordings (one folder per
 * class) and point MODELS_DIR/latest at it. Every hyperparameter is a flag.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void train_usage(FILE *out)
{
    fprintf(out,
        "usage: ecosight train DATA_DIR --out MODELS_DIR [options]\n"
        "\n"
        "Train the classifier head on YAMNet embeddings of DATA_DIR/<class>/* and save a new\n"
        "version MODELS_DIR/<UTC timestamp>/, then point MODELS_DIR/latest at it.\n"
        "\n"
        "Data:\n"
        "  --out DIR               models directory (required)\n"
        "  --split A,B,C           train,val,test fractions of the originals (0.7,0.15,0.15)\n"
        "  --group-pattern REGEX   POSIX ERE on file names; the first capture group is the\n"
        "                          group key (e.g. '^([0-9]+)-' for UrbanSound8K)\n"
        "  --per-file N|auto       augmentations per train/val original (5; auto: by class size)\n"
        "  --seed N                seed of split, augmentation, init, shuffles (42)\n"
        "  --max-seconds S         seconds of audio the features use (4)\n"
        "  --max-files-per-class N use only the first N files of each class (0 = all)\n"
        "  --yamnet PATH           YAMNet model file (else $ECOSIGHT_YAMNET, models/yamnet/, ...)\n"
        "  --threads N             worker threads (0 = all cores)\n"
        "Head and optimiser (Keras defaults, as the seed):\n"
        "  --hidden LIST           hidden layer sizes (512,256,128,64)\n"
        "  --dropout LIST          dropout after each hidden layer (0.5,0.4,0.3,0.2)\n"
        "  --bn-momentum X --bn-eps X          (0.99, 1e-3)\n"
        "  --epochs N (100)  --batch-size N (64)  --lr X (1e-3)\n"
        "  --beta1 X (0.9)  --beta2 X (0.999)  --adam-eps X (1e-7)\n"
        "  --patience N            early stopping on val loss, best weights kept (15)\n"
        "  --lr-patience N         halve the lr after N epochs without improvement (7)\n"
        "  --lr-factor X (0.5)  --min-lr X (1e-7)\n"
        "  --class-weights balanced|none       (none)\n"
        "  --gun-shot-recall X     recall the gun_shot threshold must keep on validation (0.95)\n"
        "Output:\n"
        "  --no-latest             do not move MODELS_DIR/latest\n"
        "  --json                  print the run's result as JSON on stdout\n");
}

static int parse_list(const char *s, double *out, int max, int *n)
{
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        return -1;
    int k = 0;
    for (char *tok = strtok_r(copy, ",/", &save); tok; tok = strtok_r(NULL, ",/", &save)) {
        if (k >= max || es_cli_parse_double(tok, -1e9, 1e9, &out[k]) != 0) {
            free(copy);
            return -1;
        }
        k++;
    }
    free(copy);
    *n = k;
    return k > 0 ? 0 : -1;
}

enum {
    O_OUT = 256, O_SPLIT, O_GROUP, O_PERFILE, O_SEED, O_MAXSEC, O_MAXFILES, O_YAMNET, O_THREADS,
    O_HIDDEN, O_DROPOUT, O_BNMOM, O_BNEPS, O_EPOCHS, O_BATCH, O_LR, O_B1, O_B2, O_AEPS,
    O_PAT, O_LRPAT, O_LRFAC, O_MINLR, O_CW, O_GUNREC, O_NOLATEST, O_JSON
};

int es_cmd_train(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, O_OUT}, {"split", required_argument, NULL, O_SPLIT},
        {"group-pattern", required_argument, NULL, O_GROUP},
        {"per-file", required_argument, NULL, O_PERFILE}, {"seed", required_argument, NULL, O_SEED},
        {"max-seconds", required_argument, NULL, O_MAXSEC},
        {"max-files-per-class", required_argument, NULL, O_MAXFILES},
        {"yamnet", required_argument, NULL, O_YAMNET}, {"threads", required_argument, NULL, O_THREADS},
        {"hidden", required_argument, NULL, O_HIDDEN}, {"dropout", required_argument, NULL, O_DROPOUT},
        {"bn-momentum", required_argument, NULL, O_BNMOM}, {"bn-eps", required_argument, NULL, O_BNEPS},
        {"epochs", required_argument, NULL, O_EPOCHS}, {"batch-size", required_argument, NULL, O_BATCH},
        {"lr", required_argument, NULL, O_LR}, {"beta1", required_argument, NULL, O_B1},
        {"beta2", required_argument, NULL, O_B2}, {"adam-eps", required_argument, NULL, O_AEPS},
        {"patience", required_argument, NULL, O_PAT}, {"lr-patience", required_argument, NULL, O_LRPAT},
        {"lr-factor", required_argument, NULL, O_LRFAC}, {"min-lr", required_argument, NULL, O_MINLR},
        {"class-weights", required_argument, NULL, O_CW},
        {"gun-shot-recall", required_argument, NULL, O_GUNREC},
        {"no-latest", no_argument, NULL, O_NOLATEST}, {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    es_train_config cfg = es_train_default_config();
    int json = 0, c, n;
    long v;
    double d, list[ES_HEAD_MAX_HIDDEN];
#define BAD(what) return es_cli_usage_error(cli, "train", "bad value for --%s: '%s'", what, optarg)
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_OUT: cfg.models_dir = optarg; break;
        case O_SPLIT:
            if (parse_list(optarg, list, 3, &n) != 0 || n != 3)
                BAD("split");
            for (int i = 0; i < 3; i++)
                cfg.split[i] = list[i];
            break;
        case O_GROUP: cfg.group_pattern = optarg; break;
        case O_PERFILE:
            if (strcmp(optarg, "auto") == 0)
                cfg.per_file = -1;
            else if (es_cli_parse_int(optarg, 0, 11, &v) == 0)
                cfg.per_file = (int)v;
            else
                BAD("per-file");
            break;
        case O_SEED: {
            char *end;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (!*optarg || *end)
                BAD("seed");
            cfg.seed = s;
            break;
        }
        case O_MAXSEC:
            if (es_cli_parse_double(optarg, 0.1, 600, &cfg.max_seconds) != 0)
                BAD("max-seconds");
            break;
        case O_MAXFILES:
            if (es_cli_parse_int(optarg, 0, 1000000000, &v) != 0)
                BAD("max-files-per-class");
            cfg.max_files_per_class = (int)v;
            break;
        case O_YAMNET: cfg.yamnet_path = optarg; break;
        case O_THREADS:
            if (es_cli_parse_threads(optarg, &cfg.threads) != 0)
                BAD("threads");
            break;
        case O_HIDDEN:
            if (parse_list(optarg, list, ES_HEAD_MAX_HIDDEN, &n) != 0)
                BAD("hidden");
            cfg.num_hidden = n;
            for (int i = 0; i < n; i++) {
                if (list[i] < 1 || list[i] > 65536)
                    BAD("hidden");
                cfg.hidden[i] = (int)list[i];
            }
            break;
        case O_DROPOUT:
            if (parse_list(optarg, list, ES_HEAD_MAX_HIDDEN, &n) != 0)
                BAD("dropout");
            for (int i = 0; i < n; i++) {
                if (list[i] < 0 || list[i] >= 1)
                    BAD("dropout");
                cfg.dropout[i] = list[i];
            }
            break;
        case O_BNMOM: if (es_cli_parse_double(optarg, 0, 1, &cfg.bn_momentum)) BAD("bn-momentum"); break;
        case O_BNEPS: if (es_cli_parse_double(optarg, 1e-12, 1, &cfg.bn_eps)) BAD("bn-eps"); break;
        case O_EPOCHS:
            if (es_cli_parse_int(optarg, 1, 100000, &v)) BAD("epochs");
            cfg.epochs = (int)v;
            break;
        case O_BATCH:
            if (es_cli_parse_int(optarg, 1, 65536, &v)) BAD("batch-size");
            cfg.batch_size = (int)v;
            break;
        case O_LR: if (es_cli_parse_double(optarg, 1e-12, 10, &cfg.learning_rate)) BAD("lr"); break;
        case O_B1: if (es_cli_parse_double(optarg, 0, 0.999999, &cfg.beta1)) BAD("beta1"); break;
        case O_B2: if (es_cli_parse_double(optarg, 0, 0.999999999, &cfg.beta2)) BAD("beta2"); break;
        case O_AEPS: if (es_cli_parse_double(optarg, 1e-12, 1, &cfg.adam_eps)) BAD("adam-eps"); break;
        case O_PAT:
            if (es_cli_parse_int(optarg, 0, 100000, &v)) BAD("patience");
            cfg.patience = (int)v;
            break;
        case O_LRPAT:
            if (es_cli_parse_int(optarg, 0, 100000, &v)) BAD("lr-patience");
            cfg.lr_patience = (int)v;
            break;
        case O_LRFAC: if (es_cli_parse_double(optarg, 1e-6, 1, &cfg.lr_factor)) BAD("lr-factor"); break;
        case O_MINLR: if (es_cli_parse_double(optarg, 0, 10, &cfg.min_lr)) BAD("min-lr"); break;
        case O_CW:
            if (strcmp(optarg, "balanced") == 0)
                cfg.class_weights_balanced = 1;
            else if (strcmp(optarg, "none") == 0)
                cfg.class_weights_balanced = 0;
            else
                BAD("class-weights");
            break;
        case O_GUNREC:
            if (es_cli_parse_double(optarg, 0, 1, &d)) BAD("gun-shot-recall");
            cfg.gun_shot_min_recall = d;
            break;
        case O_NOLATEST: cfg.set_latest = 0; break;
        case O_JSON: json = 1; break;
        case 'h': train_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "train", "bad option");
        }
    }
#undef BAD
    if (optind != argc - 1)
        return es_cli_usage_error(cli, "train", "expected exactly one DATA_DIR");
    if (!cfg.models_dir)
        return es_cli_usage_error(cli, "train", "--out MODELS_DIR is required");
    cfg.data_dir = argv[optind];
    cfg.log = cli->log;
    es_train_result res;
    es_error err;
    es_error_clear(&err);
    es_status rc = es_train_run(&cfg, &res, &err);
    if (rc != ES_OK) {
        es_cli_error(cli, "training failed: %s", es_error_text(&err));
        es_train_result_clear(&res);
        return ES_EXIT_FAIL;
    }
    int out = ES_EXIT_OK;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "version", res.version);
        cJSON_AddStringToObject(o, "version_dir", res.version_dir);
        cJSON_AddNumberToObject(o, "test_accuracy", res.test_accuracy);
        cJSON_AddNumberToObject(o, "test_loss", res.test_loss);
        cJSON_AddNumberToObject(o, "test_macro_f1", res.test_macro_f1);
        cJSON_AddNumberToObject(o, "epochs_run", res.epochs_run);
        cJSON_AddNumberToObject(o, "best_epoch", res.best_epoch);
        cJSON_AddNumberToObject(o, "train_originals", (double)res.n_train);
        cJSON_AddNumberToObject(o, "val_originals", (double)res.n_val);
        cJSON_AddNumberToObject(o, "test_originals", (double)res.n_test);
        cJSON_AddNumberToObject(o, "train_samples", (double)res.n_train_samples);
        cJSON_AddNumberToObject(o, "val_samples", (double)res.n_val_samples);
        cJSON_AddNumberToObject(o, "model_bytes", (double)res.model_bytes);
        cJSON_AddNumberToObject(o, "cache_hits", (double)res.cache_hits);
        cJSON_AddNumberToObject(o, "cache_misses", (double)res.cache_misses);
        cJSON *sec = cJSON_AddObjectToObject(o, "seconds");
        cJSON_AddNumberToObject(sec, "scan_split", res.seconds_scan);
        cJSON_AddNumberToObject(sec, "features", res.seconds_features);
        cJSON_AddNumberToObject(sec, "train", res.seconds_train);
        cJSON_AddNumberToObject(sec, "evaluate", res.seconds_evaluate);
        cJSON_AddNumberToObject(sec, "save", res.seconds_save);
        cJSON_AddNumberToObject(sec, "total", res.seconds_total);
        cJSON *bad = cJSON_AddArrayToObject(o, "bad_files");
        for (size_t i = 0; i < res.bad_files.count; i++)
            cJSON_AddItemToArray(bad, cJSON_CreateString(res.bad_files.items[i]));
        char *txt = cJSON_Print(o);
        cJSON_Delete(o);
        out = txt ? es_cli_print_line(txt) : ES_EXIT_FAIL;
        free(txt);
    } else {
        printf("model %s: test accuracy %.4f (%s)\n", res.version, res.test_accuracy,
               res.version_dir);
        fflush(stdout);
    }
    es_train_result_clear(&res);
    return out;
}
