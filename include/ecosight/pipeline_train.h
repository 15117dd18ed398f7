/*
 * ecosight/pipeline_train.h: the local training pipeline and the model
 * versions it produces.
 *
 *   es_train_run     DATA_DIR (one folder per class) -> MODELS_DIR/<UTC stamp>/
 *                    (scan, grouped stratified split, in-memory augmentation,
 *                    YAMNet mean embeddings, standardisation, the dense head,
 *                    test metrics, artifacts, `latest` swapped atomically,
 *                    retraining_log.json appended).
 *   es_model_*       one saved version opened read-only for prediction; share
 *                    it between threads (the server does).
 *   es_timeline_*    window-by-window predictions over long recordings with
 *                    constant memory, merged into events.
 *
 * Version directory layout (docs/TRAINING.md has every field):
 *   head.esh                   the head's weights + standardisation (binary,
 *                              magic "ESHEAD", see classifier.h)
 *   class_names.json           ["clips", "dog_bark", ...] (sorted folder names)
 *   model_metadata.json        the seed's keys + hyperparameters, thresholds
 *   performance_metrics.json   test metrics (the seed's keys + extras)
 *   training_history.json      per epoch: loss, val_loss, accuracy, val_accuracy, lr
 *   split.json                 every original and its split
 */
#ifndef ECOSIGHT_PIPELINE_TRAIN_H
#define ECOSIGHT_PIPELINE_TRAIN_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* YAMNet handle (ecosight/yamnet.h). */
typedef struct es_yamnet es_yamnet;

#define ES_EMBED_DIM 1024

/* ------------------------------------------------------------------------ */
/* Saved models.                                                             */
typedef struct es_model es_model; /* read-only after open: share between threads */

/* dir: a version directory, MODELS_DIR/latest, or MODELS_DIR itself (its latest). */
es_status es_model_open(const char *dir, es_model **out, es_error *err);
void es_model_free(es_model *m);
size_t es_model_num_classes(const es_model *m);
const char *es_model_class_name(const es_model *m, size_t i);
/* Index of a class by name, -1 when unknown. */
int es_model_class_index(const es_model *m, const char *name);
const char *es_model_version(const es_model *m);  /* the version directory's name */
const char *es_model_dir(const es_model *m);      /* resolved version directory */
double es_model_max_seconds(const es_model *m);   /* seconds of audio the features use (4) */
/* Per-class decision threshold chosen on validation (probability of that class). */
float es_model_threshold(const es_model *m, size_t i);
/* The head on one embedding (standardisation applied inside): probs[num_classes]. */
es_status es_model_predict_embedding(const es_model *m, const float emb[ES_EMBED_DIM],
                                     float *probs, es_error *err);
/* Whole prediction of a 16 kHz mono waveform: first max_seconds -> YAMNet mean -> head.
 * threads: YAMNet's internal parallelism (0 = all cores, 1 = caller's thread). */
es_status es_model_predict_wave(const es_model *m, const es_yamnet *y, const float *wave,
                                size_t n, int threads, float *probs, es_error *err);
/* Decode a file (any format audio.h takes), first max_seconds at 16 kHz, predict. */
es_status es_model_predict_file(const es_model *m, const es_yamnet *y, const char *path,
                                int threads, float *probs, es_error *err);

/* ------------------------------------------------------------------------ */
/* Timeline: windows over a long recording, streamed (constant memory).      */
typedef struct es_timeline_opts {
    double window_s;   /* default 4 */
    double hop_s;      /* default 1 */
    int threads;       /* YAMNet threads per window (0 = all cores) */
    /* A window counts as a detection of its top class only when that class's
     * probability reaches min_confidence (default 0: every window). */
    double min_confidence;
    /* Windows per batched YAMNet call (0 = ES_TIMELINE_DEFAULT_BATCH). Memory
     * is one span of window + batch x hop samples whatever the file's length. */
    int batch;
} es_timeline_opts;
#define ES_TIMELINE_DEFAULT_BATCH 16
#define ES_TIMELINE_MAX_BATCH 256
es_timeline_opts es_timeline_default_opts(void);

typedef struct es_timeline_window {
    double start_s, end_s;
    int cls;          /* argmax class */
    float confidence; /* its probability */
    const float *probs; /* num_classes probabilities (valid during the callback) */
} es_timeline_window;

typedef struct es_timeline_event {
    int cls;
    double start_s, end_s;
    int windows;
    float max_confidence;
    float mean_confidence;
} es_timeline_event;

typedef struct es_timeline_result {
    es_timeline_event *events;
    size_t count, cap;
    size_t windows;     /* windows scored */
    double duration_s;  /* audio seen */
} es_timeline_result;

/* Called once per window in time order; return non-zero to stop (ES_ERR_CANCELLED). */
typedef int (*es_timeline_window_fn)(void *ud, const es_timeline_window *w);

/* Stream a file through the model. Memory is bounded by one window whatever
 * the file's length. Consecutive detections of one class merge into events.
 * A recording shorter than one window gives one (padded) window. */
es_status es_timeline_file(const es_model *m, const es_yamnet *y, const char *path,
                           const es_timeline_opts *opts, es_timeline_window_fn on_window,
                           void *ud, es_timeline_result *res, es_error *err);
es_status es_timeline_memory(const es_model *m, const es_yamnet *y, const void *data,
                             size_t len, const char *name, const es_timeline_opts *opts,
                             es_timeline_window_fn on_window, void *ud,
                             es_timeline_result *res, es_error *err);
void es_timeline_result_clear(es_timeline_result *res);

/* ------------------------------------------------------------------------ */
/* Feature cache the training pipeline consults (the retrain owner backs it
 * with SQLite). key = (SHA-256 of the decoded original at 16 kHz, augmentation
 * name or "original", seed, YAMNet SHA-256, front-end params string).
 * The pipeline passes seed 0 for "original" (its embedding does not depend on
 * the seed). get returns 1 = hit (out filled), 0 = miss. Called from worker threads:
 * the implementation must be thread-safe. */
typedef struct es_feature_cache {
    void *ud;
    int (*get)(void *ud, const uint8_t audio_key[32], const char *aug, uint64_t seed,
               const char *model_sha256, const char *params, float *out, size_t dim);
    void (*put)(void *ud, const uint8_t audio_key[32], const char *aug, uint64_t seed,
                const char *model_sha256, const char *params, const float *vec, size_t dim);
} es_feature_cache;

/* ------------------------------------------------------------------------ */
/* Training.                                                                 */

/* Progress of a run: stage ("scan", "split", "features", "train", "evaluate",
 * "save"), items done and total (total 0 when unknown). Called from the
 * training thread or a worker; keep it cheap and thread-safe. */
typedef void (*es_train_progress_fn)(void *ud, const char *stage, int64_t done, int64_t total);

typedef struct es_train_config {
    const char *data_dir;       /* one folder per class */
    const char *models_dir;     /* versions go into MODELS_DIR/<UTC stamp>/ */
    const char *yamnet_path;    /* used when `yamnet` is NULL (es_yamnet_find order) */
    const es_yamnet *yamnet;    /* an open model (not freed), or NULL */
    uint64_t seed;              /* default 42 */
    int per_file;               /* augmentations per train/val original; -1 = auto by class size */
    double split[3];            /* train/val/test fractions, default 0.70/0.15/0.15 */
    const char *group_pattern;  /* POSIX ERE; first capture group = group key; NULL = per file */
    double max_seconds;         /* default 4 */
    int threads;                /* 0 = all cores */
    int max_files_per_class;    /* 0 = all (tests use a subset) */
    /* hyperparameters (Keras defaults as the seed) */
    int epochs;                 /* 100 */
    int batch_size;             /* 64 */
    double learning_rate;       /* 1e-3 */
    double beta1, beta2, adam_eps; /* 0.9, 0.999, 1e-7 */
    double bn_momentum, bn_eps; /* 0.99, 1e-3 */
    int hidden[8];              /* 512, 256, 128, 64 */
    double dropout[8];          /* 0.5, 0.4, 0.3, 0.2 */
    int num_hidden;             /* 4 */
    int patience;               /* early stopping on val loss: 15 (restores best weights) */
    int lr_patience;            /* halve lr after 7 epochs without improvement */
    double lr_factor;           /* 0.5 */
    double min_lr;              /* 1e-7 */
    int class_weights_balanced; /* --class-weights balanced */
    double gun_shot_min_recall; /* 0.95: threshold for "gun_shot" chosen on validation */
    const es_feature_cache *cache; /* optional */
    es_train_progress_fn progress; void *progress_ud;
    const volatile int *cancel; /* non-zero: stop at the next check (ES_ERR_CANCELLED) */
    const es_log *log;          /* progress bars and the summary (NULL: silent) */
    const char *version_name;   /* NULL: UTC timestamp (tests may force one) */
    int set_latest;             /* 1 (default): point MODELS_DIR/latest at the new version */
    /* A JSON object whose members are added to this run's retraining_log.json
     * record (e.g. {"trigger_reason": "...", "source": "s3"}); NULL = none. */
    const char *log_extra_json;
} es_train_config;

/* Defaults as listed above (data_dir/models_dir left NULL). */
es_train_config es_train_default_config(void);

typedef struct es_train_result {
    char *version;            /* "20261204T213000Z" */
    char *version_dir;        /* MODELS_DIR/<version> */
    size_t num_classes;
    size_t n_train, n_val, n_test;           /* originals per split */
    size_t n_train_samples, n_val_samples;   /* after augmentation */
    int epochs_run;
    int best_epoch;           /* 1-based */
    double test_accuracy, test_loss, test_macro_f1;
    double seconds_scan, seconds_features, seconds_train, seconds_evaluate, seconds_save,
        seconds_total;
    size_t cache_hits, cache_misses;
    int64_t model_bytes;      /* size of head.esh */
    es_strlist bad_files;     /* "path: reason" for files skipped */
} es_train_result;

es_status es_train_run(const es_train_config *cfg, es_train_result *res, es_error *err);
void es_train_result_clear(es_train_result *res);

/* ------------------------------------------------------------------------ */
/* Evaluation of a saved model on a labelled folder (originals only).        */
typedef struct es_eval_result {
    size_t n;            /* files scored */
    size_t num_classes;
    float *probs;        /* (n, num_classes) */
    int *labels;         /* (n) model class index of the folder */
    es_strlist files;    /* class/name of each scored file */
    es_strlist bad_files;/* "path: reason" for files that could not be decoded */
} es_eval_result;

/* Every supported audio file under DATA_DIR/<class>/ for the model's classes
 * (a folder whose name is not a model class is an error). Parallel over
 * files (threads, 0 = all cores); undecodable files are listed, not fatal. */
es_status es_evaluate_dir(const es_model *m, const es_yamnet *y, const char *data_dir,
                          int threads, const es_log *log, es_eval_result *res, es_error *err);
void es_eval_result_clear(es_eval_result *res);

/* Atomically point MODELS_DIR/latest at a version (relative symlink swapped by rename). */
es_status es_models_set_latest(const char *models_dir, const char *version, es_error *err);
/* Append one record (a JSON object text) to MODELS_DIR/retraining_log.json's
 * "retraining_history" list (atomic rewrite). */
es_status es_models_append_log(const char *models_dir, const char *record_json, es_error *err);

#ifdef __cplusplus
}
#endif
#endif
