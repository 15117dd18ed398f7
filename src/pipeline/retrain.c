/*
 * retrain.c: `ecosight retrain` end to end: lock, S3 sync, catalog scan,
 * trigger, training (the same es_train_run as `ecosight train`, with the
 * SQLite embedding cache), publishing, the log.
 *
 * Crash safety comes from ordering, not from cleanup code (a kill -9 runs no
 * cleanup): the lock is a flock the kernel drops; catalog writes are SQLite
 * transactions; the training writes a new version directory and leaves
 * `latest` alone (set_latest = 0); the bucket gets the version's files, then
 * models/latest; only then does the local latest move, and the catalog's
 * "trained" baseline and the run's success are committed together last. A run
 * killed anywhere before that leaves both latest pointers on the previous
 * model, and the next run finds the same pending recordings and every
 * embedding already cached.
 */
#include "ecosight/pipeline_retrain.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

es_retrain_config es_retrain_default_config(void)
{
    es_retrain_config c;
    memset(&c, 0, sizeof c);
    c.data_dir = "extracted_audio";
    c.models_dir = "models";
    c.data_prefix = ES_S3_DEFAULT_PREFIX;
    c.min_new = ES_RETRAIN_DEFAULT_MIN_NEW;
    c.use_cache = 1;
    c.train = es_train_default_config();
    return c;
}

void es_retrain_result_clear(es_retrain_result *r)
{
    if (!r)
        return;
    es_strlist_free(&r->bad_files);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------ */
/* Per-run state shared with the callbacks.                                 */
typedef struct run_state {
    const es_retrain_config *cfg;
    es_store *store;
    int64_t run_id;
    char stage[32];         /* last stage reported (trainer stages too) */
    const char *kill_at;    /* "stage" or "stage@fraction" */
    int stop;               /* SIGSTOP instead of SIGKILL (the lock tests) */
    pthread_mutex_t mu;     /* stage changes come from the training's worker threads */
    es_strlist in_s3;       /* "class/file" of every object the sync saw in the bucket */
} run_state;

/* Fault injection for the crash tests: die like kill -9 would, at a chosen
 * stage (and optionally a fraction of it): $ES_RETRAIN_KILL_AT=features@0.5.
 * $ES_RETRAIN_STOP_AT stops the process there instead (SIGSTOP), holding the
 * lock, so a test can start a second retrain deterministically. */
static void maybe_die(const run_state *rs, const char *stage, double fraction)
{
    if (!rs->kill_at || !*rs->kill_at)
        return;
    const char *at = strchr(rs->kill_at, '@');
    size_t sl = at ? (size_t)(at - rs->kill_at) : strlen(rs->kill_at);
    if (strlen(stage) != sl || strncmp(stage, rs->kill_at, sl) != 0)
        return;
    double want = at ? atof(at + 1) : 0.0;
    if (fraction + 1e-9 >= want) {
        fflush(NULL);
        raise(rs->stop ? SIGSTOP : SIGKILL);
    }
}

static void enter_stage(run_state *rs, const char *stage, const char *message)
{
    pthread_mutex_lock(&rs->mu);
    if (strcmp(rs->stage, stage) != 0) {
        snprintf(rs->stage, sizeof rs->stage, "%s", stage);
        if (rs->run_id > 0) {
            es_error e;
            if (es_store_run_stage(rs->store, rs->run_id, stage, &e) != ES_OK)
                es_log_warn(rs->cfg->log, "%s", es_error_text(&e));
        }
        es_log_debug(rs->cfg->log, "retrain: stage %s", stage);
    }
    pthread_mutex_unlock(&rs->mu);
    if (rs->cfg->progress)
        rs->cfg->progress(rs->cfg->progress_ud, stage, 0.0, message);
    maybe_die(rs, stage, 0.0);
}

static void train_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    run_state *rs = ud;
    double f = total > 0 ? (double)done / (double)total : -1.0;
    pthread_mutex_lock(&rs->mu);
    int changed = strcmp(rs->stage, stage) != 0;
    pthread_mutex_unlock(&rs->mu);
    if (changed)
        enter_stage(rs, stage, NULL);
    if (rs->cfg->progress)
        rs->cfg->progress(rs->cfg->progress_ud, stage, f, NULL);
    if (f >= 0)
        maybe_die(rs, stage, f);
}

static void sync_progress(void *ud, const es_s3_sync_progress *p)
{
    run_state *rs = ud;
    /* Serialised by the sync: remember which local files the bucket holds. */
    if ((p->event == ES_S3_SYNC_TRANSFERRED || p->event == ES_S3_SYNC_SKIPPED) && p->path) {
        size_t dl = strlen(rs->cfg->data_dir);
        const char *rel = p->path;
        if (strncmp(rel, rs->cfg->data_dir, dl) == 0 && rel[dl] == '/')
            rel += dl + 1;
        if (es_strlist_push(&rs->in_s3, rel, NULL) != ES_OK)
            es_log_warn(rs->cfg->log, "out of memory noting %s as an S3 object", rel);
    }
    double f = p->files_total > 0 ? (double)p->files_done / (double)p->files_total : -1.0;
    if (rs->cfg->progress)
        rs->cfg->progress(rs->cfg->progress_ud, "download", f, p->key);
    if (f >= 0)
        maybe_die(rs, "download", f);
}

static int cancelled(const es_retrain_config *c)
{
    return c->cancel && *c->cancel;
}

/* ------------------------------------------------------------------------ */
/* S3 setup: configured = a bucket (--bucket or S3_BUCKET) and credentials.  */
es_status es_retrain_s3_open(const char *bucket, const es_log *log, es_s3_client **out,
                             const char **bucket_out, char *why, size_t whylen, es_error *err)
{
    *out = NULL;
    *bucket_out = NULL;
    why[0] = 0;
    const char *b = bucket && *bucket ? bucket : getenv("S3_BUCKET");
    if (!b || !*b) {
        snprintf(why, whylen, "no bucket: set S3_BUCKET or --bucket");
        return ES_OK;
    }
    es_s3_config sc;
    es_status rc = es_s3_config_from_env(&sc, err);
    if (rc != ES_OK)
        return es_error_prefix(err, "reading the S3 configuration: ");
    if (!sc.access_key || !*sc.access_key) {
        snprintf(why, whylen, "bucket %s is set but there are no AWS credentials", b);
        es_s3_config_clear(&sc);
        return ES_OK;
    }
    rc = es_s3_client_new(&sc, log, out, err);
    es_s3_config_clear(&sc);
    if (rc == ES_OK)
        *bucket_out = b;
    return rc;
}

static es_status s3_setup(const es_retrain_config *cfg, es_s3_client **out, const char **bucket,
                          char *why, size_t whylen, es_error *err)
{
    if (cfg->s3_mode == ES_RETRAIN_S3_OFF) {
        *out = NULL;
        *bucket = NULL;
        snprintf(why, whylen, "--no-s3");
        return ES_OK;
    }
    return es_retrain_s3_open(cfg->bucket, cfg->log, out, bucket, why, whylen, err);
}

static int is_unreachable(es_status rc)
{
    return rc == ES_ERR_NETWORK || rc == ES_ERR_TIMEOUT;
}

/* ------------------------------------------------------------------------ */
/* The log record: merged into the training's own record for this version
 * (so one run is one entry), appended when there is none.                  */
static cJSON *stage_json(const es_retrain_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "download", r->t_download);
    cJSON_AddNumberToObject(o, "scan", r->t_scan);
    cJSON_AddNumberToObject(o, "features", r->t_features);
    cJSON_AddNumberToObject(o, "train", r->t_train);
    cJSON_AddNumberToObject(o, "evaluate", r->t_evaluate);
    cJSON_AddNumberToObject(o, "save", r->t_save);
    cJSON_AddNumberToObject(o, "publish", r->t_publish);
    cJSON_AddNumberToObject(o, "total", r->t_total);
    return o;
}

static int record_names_version(const cJSON *rec, const char *version)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, rec)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, version) == 0)
            return 1;
    }
    return 0;
}

static es_status write_log(const char *models_dir, const es_retrain_result *r,
                           const char *bucket, es_error *err)
{
    cJSON *extra = cJSON_CreateObject();
    char when[32];
    es_utc_iso8601(es_unix_time(), when);
    cJSON_AddStringToObject(extra, "retrain_timestamp", when);
    cJSON_AddStringToObject(extra, "model_version", r->version);
    cJSON_AddStringToObject(extra, "previous_version", r->previous);
    cJSON_AddStringToObject(extra, "trigger", r->reason);
    cJSON_AddNumberToObject(extra, "new_samples", (double)r->pending.added);
    cJSON_AddNumberToObject(extra, "changed_samples", (double)r->pending.changed);
    cJSON_AddNumberToObject(extra, "removed_samples", (double)r->pending.removed);
    cJSON_AddNumberToObject(extra, "total_samples", (double)r->pending.present);
    cJSON_AddStringToObject(extra, "data_source", r->s3_used ? "s3" : "local");
    if (bucket)
        cJSON_AddStringToObject(extra, "bucket", bucket);
    cJSON_AddBoolToObject(extra, "published_to_s3", r->published_s3);
    cJSON_AddNumberToObject(extra, "embeddings_cached", (double)r->cache_hits);
    cJSON_AddNumberToObject(extra, "embeddings_computed", (double)r->cache_misses);
    cJSON_AddItemToObject(extra, "stage_seconds", stage_json(r));
    cJSON *bad = cJSON_AddArrayToObject(extra, "bad_recordings");
    for (size_t i = 0; i < r->bad_files.count; i++)
        cJSON_AddItemToArray(bad, cJSON_CreateString(r->bad_files.items[i]));

    char *path = es_path_join(models_dir, ES_RETRAIN_LOG_FILE);
    char *txt = NULL;
    size_t len;
    es_status rc = ES_OK;
    int merged = 0;
    if (path && es_is_file(path) && es_read_file(path, 64 << 20, &txt, &len, NULL) == ES_OK) {
        cJSON *doc = cJSON_Parse(txt);
        cJSON *hist = cJSON_GetObjectItemCaseSensitive(doc, "retraining_history");
        cJSON *last = cJSON_IsArray(hist) ? cJSON_GetArrayItem(hist, cJSON_GetArraySize(hist) - 1)
                                          : NULL;
        if (cJSON_IsObject(last) && record_names_version(last, r->version)) {
            cJSON *it;
            cJSON_ArrayForEach(it, extra)
            {
                cJSON_DeleteItemFromObjectCaseSensitive(last, it->string);
                cJSON_AddItemToObject(last, it->string, cJSON_Duplicate(it, 1));
            }
            char *out = cJSON_Print(doc);
            rc = out ? es_write_file_atomic(path, out, strlen(out), err)
                     : es_error_set(err, ES_ERR_NOMEM, "out of memory");
            free(out);
            merged = 1;
        }
        cJSON_Delete(doc);
    }
    if (!merged) {
        char *rec = cJSON_PrintUnformatted(extra);
        rc = rec ? es_models_append_log(models_dir, rec, err)
                 : es_error_set(err, ES_ERR_NOMEM, "out of memory");
        free(rec);
    }
    free(txt);
    free(path);
    cJSON_Delete(extra);
    return rc;
}

static char *stages_string(const es_retrain_result *r)
{
    cJSON *o = stage_json(r);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Bad files the training reported ("path: reason") go into the catalog. */
static void record_bad(es_store *st, const char *data_dir, const es_strlist *bad,
                       const es_log *log)
{
    size_t dl = strlen(data_dir);
    for (size_t i = 0; i < bad->count; i++) {
        const char *line = bad->items[i];
        const char *sep = strstr(line, ": ");
        char path[ES_STORE_PATH_MAX];
        size_t pl = sep ? (size_t)(sep - line) : strlen(line);
        if (pl >= sizeof path)
            continue;
        memcpy(path, line, pl);
        path[pl] = 0;
        const char *rel = path;
        if (strncmp(rel, data_dir, dl) == 0 && rel[dl] == '/')
            rel += dl + 1;
        es_error e;
        es_status rc = es_store_mark_bad(st, rel, sep ? sep + 2 : "unusable", &e);
        if (rc != ES_OK && rc != ES_ERR_NOT_FOUND)
            es_log_warn(log, "%s", es_error_text(&e));
    }
}

/* ------------------------------------------------------------------------ */
es_status es_retrain_run(const es_retrain_config *cfg, es_retrain_result *res, es_error *err)
{
    memset(res, 0, sizeof *res);
    res->test_accuracy = res->test_macro_f1 = -1;
    if (!cfg || !cfg->data_dir || !cfg->models_dir)
        return es_error_set(err, ES_ERR_INVALID, "es_retrain_run: data and models directories "
                                                 "are required");
    const es_log *log = cfg->log;
    double t_start = es_monotonic_s();
    run_state rs = {.cfg = cfg};
    pthread_mutex_init(&rs.mu, NULL);
    rs.kill_at = cfg->kill_at ? cfg->kill_at : getenv("ES_RETRAIN_KILL_AT");
    if (!rs.kill_at || !*rs.kill_at) {
        rs.kill_at = getenv("ES_RETRAIN_STOP_AT");
        rs.stop = 1;
    }
    es_models_lock *lock = NULL;
    es_s3_client *s3 = NULL;
    const char *bucket = NULL;
    es_store_feature_cache fcc = {0};
    es_train_result tr;
    memset(&tr, 0, sizeof tr);
    int have_tr = 0;
    es_status rc;

    enter_stage(&rs, "lock", NULL);
    if ((rc = es_models_lock_acquire(cfg->models_dir, &lock, err)) != ES_OK)
        return rc;
    if ((rc = es_store_open_dir(cfg->models_dir, &rs.store, err)) != ES_OK)
        goto done;
    int64_t stale = 0;
    if ((rc = es_store_mark_interrupted(rs.store, &stale, err)) != ES_OK)
        goto done;
    if (stale > 0)
        es_log_info(log, "an earlier retrain was interrupted; this run resumes with the "
                         "embeddings it already cached");
    es_error e2;
    if (es_models_latest_local(cfg->models_dir, res->previous, &e2) != ES_OK)
        res->previous[0] = 0;

    /* 1. Data: S3 when configured, else the local copy. */
    enter_stage(&rs, "download", NULL);
    double t = es_monotonic_s();
    char why[256];
    if ((rc = s3_setup(cfg, &s3, &bucket, why, sizeof why, err)) != ES_OK)
        goto done;
    if (!s3) {
        es_log_info(log, "%s (%s): %s", ES_RETRAIN_NO_S3_MSG, why, cfg->data_dir);
        if (!cfg->log)
            fprintf(stderr, "%s\n", ES_RETRAIN_NO_S3_MSG);
    } else {
        es_s3_sync_opts o = es_s3_sync_default_opts();
        if (cfg->threads > 0)
            o.jobs = cfg->threads * 2; /* transfers wait on the network, not the CPU */
        o.cancel = cfg->cancel;
        o.progress = sync_progress;
        o.progress_ud = &rs;
        es_s3_sync_summary sum;
        memset(&sum, 0, sizeof sum);
        es_log_info(log, "downloading s3://%s/%s into %s", bucket, cfg->data_prefix,
                    cfg->data_dir);
        rc = es_s3_download_prefix(s3, bucket, cfg->data_prefix, cfg->data_dir, &o, &sum, err);
        res->downloaded = sum.files;
        res->download_skipped = sum.skipped;
        res->download_failed = sum.failed;
        es_s3_sync_summary_clear(&sum);
        if (rc == ES_OK) {
            res->s3_used = 1;
            es_log_info(log, "S3: %lld downloaded, %lld already up to date",
                        (long long)res->downloaded, (long long)res->download_skipped);
        } else if (cancelled(cfg)) {
            rc = es_error_set(err, ES_ERR_CANCELLED, "retrain cancelled during the download");
            goto done;
        } else if (is_unreachable(rc) && es_is_dir(cfg->data_dir)) {
            es_log_warn(log, "S3 is unreachable (%s); falling back to the local copy in %s, and "
                             "the new model will not be published to S3",
                        es_error_text(err), cfg->data_dir);
            res->s3_fallback = 1;
            es_s3_client_free(s3);
            s3 = NULL;
            es_error_clear(err);
        } else {
            es_error_prefix(err, "downloading the training data from s3://%s/%s: ", bucket,
                            cfg->data_prefix);
            if (is_unreachable(rc))
                es_error_prefix(err, "S3 is unreachable and there is no local copy in %s: ",
                                cfg->data_dir);
            goto done;
        }
    }
    res->t_download = es_monotonic_s() - t;
    if (cancelled(cfg)) {
        rc = es_error_set(err, ES_ERR_CANCELLED, "retrain cancelled");
        goto done;
    }

    /* 2. Catalog and trigger. */
    enter_stage(&rs, "scan", NULL);
    if (res->s3_used) {
        es_strlist_sort(&rs.in_s3);
        rc = es_retrain_scan_synced(rs.store, cfg->data_dir, &rs.in_s3, cfg->threads, log,
                                    &res->scan, err);
    } else {
        rc = es_retrain_scan(rs.store, cfg->data_dir, ES_SOURCE_LOCAL, cfg->threads, log,
                             &res->scan, err);
    }
    res->t_scan = res->scan.seconds;
    if (rc != ES_OK)
        goto done;
    enter_stage(&rs, "trigger", NULL);
    es_retrain_decision d;
    if ((rc = es_retrain_decide(rs.store, cfg->min_new, cfg->force, &d, err)) != ES_OK)
        goto done;
    res->pending = d.pending;
    snprintf(res->reason, sizeof res->reason, "%s", d.reason);
    es_log_info(log, "%s", d.reason);
    if (!d.train) {
        res->t_total = es_monotonic_s() - t_start;
        goto done;
    }
    if ((rc = es_store_run_begin(rs.store, d.reason, d.pending.added, d.pending.changed,
                                 &rs.run_id, err)) != ES_OK)
        goto done;
    res->run_id = rs.run_id;

    /* 3. Train, exactly as `ecosight train` does, with the cache. */
    es_train_config tc = cfg->train;
    tc.data_dir = cfg->data_dir;
    tc.models_dir = cfg->models_dir;
    tc.threads = cfg->threads;
    tc.set_latest = 0; /* the pointer moves only after publishing */
    tc.progress = train_progress;
    tc.progress_ud = &rs;
    tc.cancel = cfg->cancel;
    tc.log = log;
    es_feature_cache fc;
    if (cfg->use_cache) {
        fcc.store = rs.store;
        fcc.log = log;
        fc = es_retrain_feature_cache(&fcc);
        tc.cache = &fc;
    } else {
        tc.cache = NULL;
    }
    es_store_cache_reset_counters(rs.store);
    rc = es_train_run(&tc, &tr, err);
    have_tr = 1;
    es_cache_stats cs;
    es_error ce;
    if (es_store_cache_stats(rs.store, &cs, &ce) == ES_OK) {
        res->cache_hits = cs.hits;
        res->cache_misses = cs.misses;
    }
    if (rc != ES_OK) {
        es_error_prefix(err, "training failed: ");
        goto done;
    }
    res->trained = 1;
    snprintf(res->version, sizeof res->version, "%s", tr.version ? tr.version : "");
    res->test_accuracy = tr.test_accuracy;
    res->test_macro_f1 = tr.test_macro_f1;
    res->t_features = tr.seconds_features;
    res->t_train = tr.seconds_train;
    res->t_evaluate = tr.seconds_evaluate;
    res->t_save = tr.seconds_save;
    for (size_t i = 0; i < tr.bad_files.count; i++)
        es_strlist_push(&res->bad_files, tr.bad_files.items[i], NULL);
    record_bad(rs.store, cfg->data_dir, &tr.bad_files, log);
    if (fcc.errors)
        es_log_warn(log, "%lld embedding cache operations failed (the run is still valid)",
                    (long long)fcc.errors);
    if (cancelled(cfg)) {
        rc = es_error_set(err, ES_ERR_CANCELLED, "retrain cancelled before publishing");
        goto done;
    }

    /* 4. Publish: bucket (version, then models/latest), then local latest. */
    enter_stage(&rs, "publish", NULL);
    t = es_monotonic_s();
    if (s3) {
        es_models_remote remote = {.s3 = s3, .bucket = bucket, .prefix = NULL};
        es_log_info(log, "publishing %s to s3://%s/%s%s/", res->version, bucket,
                    ES_RETRAIN_MODELS_PREFIX, res->version);
        if ((rc = es_models_publish(cfg->models_dir, &remote, res->version, 1, err)) != ES_OK)
            goto done;
        res->published_s3 = 1;
    }
    maybe_die(&rs, "publish", 1.0); /* between the bucket's pointer and the local one */
    if ((rc = es_models_set_latest(cfg->models_dir, res->version, err)) != ES_OK)
        goto done;
    res->t_publish = es_monotonic_s() - t;
    res->t_total = es_monotonic_s() - t_start;

    /* 5. The log, locally and next to the models in the bucket. */
    enter_stage(&rs, "log", NULL);
    if ((rc = write_log(cfg->models_dir, res, bucket, err)) != ES_OK)
        goto done;
    if (s3) {
        char *lp = es_path_join(cfg->models_dir, ES_RETRAIN_LOG_FILE);
        char key[256];
        snprintf(key, sizeof key, "%s%s", ES_RETRAIN_MODELS_PREFIX, ES_RETRAIN_LOG_FILE);
        es_error le;
        if (!lp || es_s3_put_file(s3, bucket, key, lp, "application/json", NULL, NULL, NULL,
                                  NULL, &le) != ES_OK)
            es_log_warn(log, "the model is published, but uploading %s failed: %s", key,
                        lp ? es_error_text(&le) : "out of memory");
        free(lp);
    }

    /* 6. Success and the new trained baseline, together. */
    char *stages = stages_string(res);
    rc = es_store_begin(rs.store, err);
    if (rc == ES_OK)
        rc = es_store_mark_trained(rs.store, err);
    if (rc == ES_OK)
        rc = es_store_run_finish(rs.store, rs.run_id, "succeeded", res->version, stages, NULL,
                                 res->cache_hits, res->cache_misses, res->test_accuracy, err);
    if (rc == ES_OK)
        rc = es_store_commit(rs.store, err);
    else
        es_store_rollback(rs.store);
    free(stages);
    if (rc == ES_OK)
        rs.run_id = 0; /* finished */

done:
    if (rs.store && rs.run_id > 0) {
        /* A failed or cancelled run: say so in the catalog. */
        res->t_total = es_monotonic_s() - t_start;
        char *fstages = stages_string(res);
        es_error fe;
        if (es_store_run_finish(rs.store, rs.run_id,
                                rc == ES_ERR_CANCELLED ? "cancelled" : "failed",
                                res->version[0] ? res->version : NULL, fstages,
                                es_error_text(err), res->cache_hits, res->cache_misses,
                                res->test_accuracy, &fe) != ES_OK)
            es_log_warn(log, "%s", es_error_text(&fe));
        free(fstages);
    }
    if (have_tr)
        es_train_result_clear(&tr);
    es_s3_client_free(s3);
    es_store_close(rs.store);
    es_models_lock_release(lock);
    pthread_mutex_destroy(&rs.mu);
    es_strlist_free(&rs.in_s3);
    return rc;
}
