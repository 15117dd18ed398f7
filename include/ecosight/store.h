/*
 * ecosight/store.h: the catalog and the embedding cache, one SQLite database
 * (WAL mode) in the models directory.
 *
 * It remembers three things between runs:
 *   - recordings: every original seen (path relative to the data directory,
 *     class, size, SHA-256 of the file, duration, first/last seen, where it
 *     came from: local, S3 or an API upload, a bad flag with the reason), and
 *     which content the last successful training used, so "what is new or
 *     changed since the last run" is a query on content hashes;
 *   - runs: each retrain with its status and stage timings;
 *   - embeddings: feature vectors keyed by (SHA-256 of the decoded original,
 *     augmentation name, seed, YAMNet model SHA-256, front-end parameters).
 *
 * The schema is versioned with PRAGMA user_version and migrated on open.
 * Every write is a SQLite transaction, so a process killed at any moment
 * leaves the database as it was before or after a transaction, never half.
 *
 * Threads: one es_store may be shared by threads (calls are serialised on its
 * connection); several processes may open the same file (WAL, busy timeout).
 *
 *     es_store *s;
 *     if (es_store_open_dir("models", &s, &err) != ES_OK) ...;
 *     es_store_cache_get(s, key, "original", 42, yamnet_sha, params, vec, 1024, &hit, &err);
 *     es_store_close(s);
 */
#ifndef ECOSIGHT_STORE_H
#define ECOSIGHT_STORE_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The database's file name inside a models directory. */
#define ES_STORE_FILENAME "ecosight.db"
/* The schema version this build writes (PRAGMA user_version). */
#define ES_STORE_SCHEMA_VERSION 2
/* How long a writer waits for another process's lock before ES_ERR_BUSY. */
#define ES_STORE_BUSY_TIMEOUT_MS 15000

typedef struct es_store es_store;

/* Open (creating and migrating as needed) the database at `path`. A database
 * written by a newer ecosight (user_version above ours) is refused. */
es_status es_store_open(const char *path, es_store **out, es_error *err);
/* The same for MODELS_DIR/ecosight.db; creates the directory. */
es_status es_store_open_dir(const char *models_dir, es_store **out, es_error *err);
void es_store_close(es_store *s);
const char *es_store_path(const es_store *s);
int es_store_schema_version(const es_store *s);
/* PRAGMA quick_check: ES_OK when the file is sound. */
es_status es_store_check(es_store *s, es_error *err);

/* Group writes into one transaction (much faster for bulk updates, and all or
 * nothing). The calling thread holds the store from begin to commit/rollback;
 * other threads' calls wait. Not nestable. */
es_status es_store_begin(es_store *s, es_error *err);
es_status es_store_commit(es_store *s, es_error *err);
void es_store_rollback(es_store *s);

/* ------------------------------------------------------------------------ */
/* Recordings                                                               */
typedef enum es_rec_source {
    ES_SOURCE_LOCAL = 0,
    ES_SOURCE_S3 = 1,
    ES_SOURCE_API = 2
} es_rec_source;
const char *es_rec_source_name(es_rec_source s);   /* "local", "s3", "api" */

#define ES_STORE_PATH_MAX 1024
#define ES_STORE_CLASS_MAX 128
#define ES_STORE_REASON_MAX 256

typedef struct es_recording {
    char path[ES_STORE_PATH_MAX];        /* relative to the data dir: "class/file.wav" */
    char class_name[ES_STORE_CLASS_MAX];
    int64_t size;                        /* bytes */
    int64_t mtime_ns;                    /* file modification time (change shortcut) */
    char sha256[ES_SHA256_HEX_LEN];      /* of the file's bytes */
    double duration_s;                   /* < 0: unknown */
    es_rec_source source;
    /* Filled by reads only: */
    double first_seen, last_seen;        /* unix seconds */
    int present;                         /* seen by the latest scan */
    int bad;
    char bad_reason[ES_STORE_REASON_MAX];
    char trained_sha256[ES_SHA256_HEX_LEN]; /* content the last good run used; "" never */
} es_recording;

/* Insert or update one recording by path, seen at time `now`: size, mtime,
 * hash, duration and class are replaced, first_seen is kept, present is set.
 * New content (another sha256) clears the bad flag: it gets another chance.
 * An existing recording keeps its source unless it was "local" (an upload or
 * a download names the origin more precisely). */
es_status es_store_upsert_recording(es_store *s, const es_recording *r, double now,
                                    es_error *err);
/* Convenience for the server's /upload (source "api", seen now). */
es_status es_store_record_recording(es_store *s, const char *path, const char *class_name,
                                    int64_t size, const char *sha256_hex, double duration_s,
                                    es_rec_source source, es_error *err);
/* ES_ERR_NOT_FOUND when the path is not in the catalog. */
es_status es_store_get_recording(es_store *s, const char *path, es_recording *out,
                                 es_error *err);
/* Flag a recording as undecodable (or otherwise unusable) with a reason. */
es_status es_store_mark_bad(es_store *s, const char *path, const char *reason, es_error *err);
/* After a scan that started at `scan_start`: every recording not seen since
 * is marked absent. *absent (may be NULL) receives how many are absent now. */
es_status es_store_mark_unseen_absent(es_store *s, double scan_start, int64_t *absent,
                                      es_error *err);
/* After a successful training run: the present, good recordings' current
 * content becomes the trained baseline; absent ones leave it. */
es_status es_store_mark_trained(es_store *s, es_error *err);
/* Call fn for each recording in path order; fn returns non-zero to stop. */
typedef int (*es_recording_fn)(void *ud, const es_recording *r);
es_status es_store_foreach_recording(es_store *s, es_recording_fn fn, void *ud, es_error *err);

/* What changed since the last successful run (by content hash). */
typedef struct es_store_pending {
    int64_t added;      /* present, good, never trained */
    int64_t changed;    /* present, good, trained with other content */
    int64_t removed;    /* trained, no longer present */
    int64_t bad;        /* present and flagged bad */
    int64_t present;    /* present recordings (good and bad) */
} es_store_pending;
es_status es_store_pending_counts(es_store *s, es_store_pending *out, es_error *err);

/* Present, good recordings per class, in class-name order. */
typedef struct es_class_count {
    char name[ES_STORE_CLASS_MAX];
    int64_t count;
    int64_t bad;
} es_class_count;
/* *out is malloc'd (free()), *n entries. */
es_status es_store_class_counts(es_store *s, es_class_count **out, size_t *n, es_error *err);

/* ------------------------------------------------------------------------ */
/* Runs                                                                     */
#define ES_RUN_STATUS_MAX 16
#define ES_RUN_VERSION_MAX 64

typedef struct es_run_info {
    int64_t id;
    double started, finished;            /* finished 0 while running */
    char status[ES_RUN_STATUS_MAX];      /* running|succeeded|failed|skipped|cancelled|interrupted */
    char version[ES_RUN_VERSION_MAX];    /* "" unless a model was published */
    char trigger[128];                   /* why it ran: "first run", "force", "105 new/changed" */
    char stage[32];                      /* last stage entered */
    char error[ES_STORE_REASON_MAX];
    int64_t added, changed;              /* pending counts when it started */
    int64_t pid;                         /* the process that ran it */
    int64_t cache_hits, cache_misses;
    double test_accuracy;                /* < 0 unknown */
    char *stages_json;                   /* {"download": s, ...} or NULL; free via clear */
} es_run_info;
void es_run_info_clear(es_run_info *r);

/* Record the start of a run (status running, pid of this process). */
es_status es_store_run_begin(es_store *s, const char *trigger, int64_t added, int64_t changed,
                             int64_t *run_id, es_error *err);
/* Note the stage a running run has entered (shown by `status`). */
es_status es_store_run_stage(es_store *s, int64_t run_id, const char *stage, es_error *err);
/* Finish a run. version/stages_json/error may be NULL. */
es_status es_store_run_finish(es_store *s, int64_t run_id, const char *status,
                              const char *version, const char *stages_json, const char *error,
                              int64_t cache_hits, int64_t cache_misses, double test_accuracy,
                              es_error *err);
/* Runs left "running" by a killed process become "interrupted". Call it only
 * while holding the models directory's retrain lock. */
es_status es_store_mark_interrupted(es_store *s, int64_t *n, es_error *err);
/* The most recent run (status NULL) or the most recent with that status.
 * ES_ERR_NOT_FOUND when there is none. */
es_status es_store_last_run(es_store *s, const char *status, es_run_info *out, es_error *err);
/* Sum of cache hits and misses over all finished runs. */
es_status es_store_run_cache_totals(es_store *s, int64_t *hits, int64_t *misses, es_error *err);

/* ------------------------------------------------------------------------ */
/* Embedding cache                                                          */
#define ES_STORE_MAX_DIM 65536

/* Look up one vector. *hit = 1 and out[dim] filled, or *hit = 0. A stored
 * entry of another dimension or a damaged blob counts as a miss (and is
 * removed so it is recomputed). */
es_status es_store_cache_get(es_store *s, const uint8_t audio_key[32], const char *aug,
                             uint64_t seed, const char *model_sha256, const char *params,
                             float *out, size_t dim, int *hit, es_error *err);
/* Store (or replace) one vector. */
es_status es_store_cache_put(es_store *s, const uint8_t audio_key[32], const char *aug,
                             uint64_t seed, const char *model_sha256, const char *params,
                             const float *vec, size_t dim, es_error *err);

typedef struct es_cache_stats {
    int64_t hits, misses, puts;   /* on this handle since open or the last reset */
    int64_t entries, bytes;       /* in the database (bytes of vectors) */
} es_cache_stats;
es_status es_store_cache_stats(es_store *s, es_cache_stats *out, es_error *err);
void es_store_cache_reset_counters(es_store *s);
/* Drop entries computed with another model or front end (they can never hit
 * again). *removed may be NULL. */
es_status es_store_cache_prune(es_store *s, const char *keep_model_sha256,
                               const char *keep_params, int64_t *removed, es_error *err);

#ifdef __cplusplus
}
#endif
#endif
