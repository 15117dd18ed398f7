/*
 * ecosight/pipeline_retrain.h: `ecosight retrain` as a library call, the
 * model versions it publishes, and the lock that keeps two retrains off one
 * models directory.
 *
 * The flow (es_retrain_run):
 *   lock MODELS_DIR → S3 sync of extracted_audio/ into DATA_DIR (or the local
 *   copy when S3 is not configured or unreachable) → catalog scan (content
 *   hashes) → trigger (>= min_new added/changed originals since the last
 *   successful run; the first run always trains; force) → es_train_run with
 *   the SQLite embedding cache → publish s3://BUCKET/models/<version>/, then
 *   s3://BUCKET/models/latest, then MODELS_DIR/latest → retraining_log.json
 *   (local and S3) with stage timings.
 * A process killed at any point leaves `latest` (local and S3) on the previous
 * good model and the catalog and cache consistent; the next run resumes and
 * reuses every embedding already computed.
 *
 *     es_retrain_config c = es_retrain_default_config();
 *     c.data_dir = "extracted_audio"; c.models_dir = "models";
 *     es_retrain_result r;
 *     if (es_retrain_run(&c, &r, &err) == ES_OK && r.trained) printf("%s\n", r.version);
 *     es_retrain_result_clear(&r);
 */
#ifndef ECOSIGHT_PIPELINE_RETRAIN_H
#define ECOSIGHT_PIPELINE_RETRAIN_H

#include "ecosight/core.h"
#include "ecosight/pipeline_train.h"
#include "ecosight/s3.h"
#include "ecosight/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The seed's MIN_NEW_SAMPLES. */
#define ES_RETRAIN_DEFAULT_MIN_NEW 100
/* Where models live in the bucket: <prefix><version>/... and <prefix>latest. */
#define ES_RETRAIN_MODELS_PREFIX "models/"
#define ES_RETRAIN_LOCK_FILE ".retrain.lock"
#define ES_RETRAIN_LOG_FILE "retraining_log.json"
/* The seed's message when no bucket is configured. */
#define ES_RETRAIN_NO_S3_MSG "S3 not configured, using local training data"

/* ------------------------------------------------------------------------ */
/* The lock: flock(2) on MODELS_DIR/.retrain.lock, held for a whole run. The
 * kernel drops it when the process dies, so a kill -9 never leaves a stale
 * lock. A second holder (another process, or another thread of this one) gets
 * ES_ERR_BUSY with the holder's pid and start time in the message. */
typedef struct es_models_lock es_models_lock;
es_status es_models_lock_acquire(const char *models_dir, es_models_lock **out, es_error *err);
void es_models_lock_release(es_models_lock *l);

/* ------------------------------------------------------------------------ */
/* Versions. A version is a directory MODELS_DIR/<name>/ holding
 * model_metadata.json; `latest` is a symlink to one. Remotely it is
 * s3://BUCKET/models/<name>/ and the object models/latest holds the name. */
#define ES_VERSION_NAME_MAX 64

typedef struct es_models_remote {
    es_s3_client *s3;        /* NULL: local only */
    const char *bucket;
    const char *prefix;      /* NULL: ES_RETRAIN_MODELS_PREFIX */
} es_models_remote;

typedef struct es_version_info {
    char name[ES_VERSION_NAME_MAX];
    int local, remote;               /* present here / in the bucket */
    int latest_local, latest_remote; /* named by the latest pointer there */
    double test_accuracy;            /* from the local metadata; < 0 unknown */
    int64_t bytes;                   /* local size of the version directory */
} es_version_info;

typedef struct es_model_list {
    es_version_info *items;         /* sorted by name (= by time) */
    size_t count;
    char latest_local[ES_VERSION_NAME_MAX];  /* "" when none */
    char latest_remote[ES_VERSION_NAME_MAX]; /* "" when none or not asked */
    int remote_listed;               /* 1 when the bucket was listed */
} es_model_list;
void es_model_list_clear(es_model_list *l);

/* The version MODELS_DIR/latest names (ES_ERR_NOT_FOUND when none). */
es_status es_models_latest_local(const char *models_dir, char name[ES_VERSION_NAME_MAX],
                                 es_error *err);
/* Local versions, and remote ones when remote->s3 is set. */
es_status es_models_list(const char *models_dir, const es_models_remote *remote,
                         es_model_list *out, es_error *err);
/* Download s3://BUCKET/models/<version>/ into MODELS_DIR/<version>/ (through
 * a temporary directory renamed into place, so a version directory is always
 * whole). version NULL: the one models/latest names. set_latest: also point
 * MODELS_DIR/latest at it. out_name (may be NULL) receives the name. */
es_status es_models_pull(const char *models_dir, const es_models_remote *remote,
                         const char *version, int set_latest,
                         char out_name[ES_VERSION_NAME_MAX], es_error *err);
/* Point latest at an existing version: locally (pulling it first when only
 * the bucket has it) and, with a remote, models/latest in the bucket too.
 * Takes the retrain lock so it cannot interleave with a retrain. */
es_status es_models_rollback(const char *models_dir, const es_models_remote *remote,
                             const char *version, es_error *err);
/* Upload MODELS_DIR/<version>/ to the bucket, then (only when all of it is
 * there) write models/latest = version. */
es_status es_models_publish(const char *models_dir, const es_models_remote *remote,
                            const char *version, int set_latest, es_error *err);
/* Is this a safe version name (letters, digits, '.', '_', '-'; not "latest")? */
int es_models_valid_name(const char *name);

/* ------------------------------------------------------------------------ */
/* Catalog scan and the trigger (usable on their own: `ecosight status`).   */
typedef struct es_scan_summary {
    int64_t files;        /* audio files found */
    int64_t hashed;       /* hashed now (new, or size/mtime changed) */
    int64_t bad;          /* flagged bad by this scan (header unreadable) */
    int64_t absent;       /* catalog entries no longer on disk */
    double seconds;
} es_scan_summary;

/* Walk DATA_DIR/<class>/<audio file>, record each in the catalog (hashing
 * only files whose size or mtime changed), probe new content's header for the
 * duration (a failure flags it bad with the reason), mark vanished files
 * absent. New recordings get `source`. All catalog writes of one scan are one
 * transaction. threads: 0 = all cores. */
es_status es_retrain_scan(es_store *st, const char *data_dir, es_rec_source source, int threads,
                          const es_log *log, es_scan_summary *out, es_error *err);
/* The same after an S3 sync: a new recording whose path ("class/file") is in
 * `in_s3` (sorted, es_strlist_sort) gets source s3, any other new one local. */
es_status es_retrain_scan_synced(es_store *st, const char *data_dir, const es_strlist *in_s3,
                                 int threads, const es_log *log, es_scan_summary *out,
                                 es_error *err);

typedef struct es_retrain_decision {
    int train;            /* 1: a run should train */
    int first_run;        /* no successful run yet */
    es_store_pending pending;
    char reason[256];     /* human sentence: why (not) */
} es_retrain_decision;
es_status es_retrain_decide(es_store *st, int64_t min_new, int force, es_retrain_decision *out,
                            es_error *err);

/* S3 as retrain sees it: configured = a bucket (`bucket`, else $S3_BUCKET)
 * and credentials (AWS_* variables or a profile). When configured, *out is a
 * client and *bucket_out the bucket; when not, *out is NULL and `why` says
 * what is missing. Errors only for a broken configuration. */
es_status es_retrain_s3_open(const char *bucket, const es_log *log, es_s3_client **out,
                             const char **bucket_out, char *why, size_t whylen, es_error *err);

/* ------------------------------------------------------------------------ */
/* The whole run.                                                            */

/* Stages reported to progress, in order: "lock", "download", "scan",
 * "trigger", then the training's own ("scan", "split", "features", "train",
 * "evaluate", "save", "done"), "publish", "log". fraction in [0,1] within the
 * stage (or -1); message may be NULL. Called from worker threads (download
 * and features), possibly at once: keep it cheap and thread-safe. */
typedef void (*es_retrain_progress_fn)(void *ud, const char *stage, double fraction,
                                       const char *message);

typedef enum es_retrain_s3_mode {
    ES_RETRAIN_S3_AUTO = 0,  /* use S3 when S3_BUCKET/--bucket and credentials are set */
    ES_RETRAIN_S3_OFF = 1    /* local data only (--no-s3) */
} es_retrain_s3_mode;

typedef struct es_retrain_config {
    const char *data_dir;       /* local copy of extracted_audio/ (default "extracted_audio") */
    const char *models_dir;     /* default "models" */
    const char *bucket;         /* NULL: $S3_BUCKET */
    const char *data_prefix;    /* default ES_S3_DEFAULT_PREFIX ("extracted_audio/") */
    es_retrain_s3_mode s3_mode;
    int64_t min_new;            /* ES_RETRAIN_DEFAULT_MIN_NEW */
    int force;                  /* train whatever the trigger says */
    int threads;                /* 0 = all cores (scan, download jobs, training) */
    int use_cache;              /* 1 (default): the SQLite embedding cache */
    /* Training exactly as `ecosight train` (data_dir/models_dir/cache/progress/
     * cancel/log/set_latest are filled by the retrain). */
    es_train_config train;
    es_retrain_progress_fn progress;
    void *progress_ud;
    const volatile int *cancel; /* non-zero: stop at the next check (ES_ERR_CANCELLED) */
    const es_log *log;
    /* Test hook: stop the process with SIGKILL on entering this stage name
     * (also read from $ES_RETRAIN_KILL_AT). NULL: never. */
    const char *kill_at;
} es_retrain_config;

es_retrain_config es_retrain_default_config(void);

typedef struct es_retrain_result {
    int trained;                  /* 0: the trigger said nothing to do */
    int s3_used;                  /* data came from S3 this run */
    int s3_fallback;              /* S3 configured but unreachable: used the local copy */
    int published_s3;             /* version and latest written to the bucket */
    char version[ES_VERSION_NAME_MAX];
    char previous[ES_VERSION_NAME_MAX]; /* latest before this run ("" none) */
    char reason[256];             /* the trigger's sentence */
    es_store_pending pending;     /* what the trigger saw */
    es_scan_summary scan;
    int64_t downloaded, download_skipped, download_failed;
    int64_t cache_hits, cache_misses; /* embeddings reused / computed */
    double test_accuracy, test_macro_f1;
    /* seconds per stage */
    double t_download, t_scan, t_features, t_train, t_evaluate, t_save, t_publish, t_total;
    es_strlist bad_files;         /* "path: reason" */
    int64_t run_id;
} es_retrain_result;
void es_retrain_result_clear(es_retrain_result *r);

es_status es_retrain_run(const es_retrain_config *cfg, es_retrain_result *res, es_error *err);

/* The es_feature_cache that es_train_run consults, backed by a store. The
 * context must outlive the training run; lookups and writes that fail are
 * counted in `errors` (a failed lookup is a miss, a failed write only costs
 * a recomputation next time) and the first one is logged as a warning. */
typedef struct es_store_feature_cache {
    es_store *store;
    const es_log *log;
    int64_t errors;
} es_store_feature_cache;
es_feature_cache es_retrain_feature_cache(es_store_feature_cache *ctx);

#ifdef __cplusplus
}
#endif
#endif
