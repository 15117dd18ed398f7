/*
 * jobs.c: the background retrain behind POST /retrain and its progress for
 * GET /retrain/status. One retrain at a time (a second request answers
 * "in_progress"); it runs on its own thread so no request waits for it, and
 * when it publishes a new version the server swaps it in through the holder.
 * SIGTERM cancels it (the cancel flag) and joins the thread.
 */
#include "internal.h"

#include "ecosight/pipeline_retrain.h"

#include <stdlib.h>
#include <string.h>

void es_srv_job_init(es_srv_job *j)
{
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->mu, NULL);
    snprintf(j->state, sizeof j->state, "idle");
}

void es_srv_job_destroy(es_srv_job *j)
{
    pthread_mutex_destroy(&j->mu);
}

static void iso_or_null(cJSON *o, const char *key, double t)
{
    if (t <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char ts[32];
    es_utc_iso8601(t, ts);
    cJSON_AddStringToObject(o, key, ts);
}

cJSON *es_srv_job_status(es_srv_job *j)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    pthread_mutex_lock(&j->mu);
    cJSON_AddStringToObject(o, "state", j->state);
    cJSON_AddBoolToObject(o, "running", j->running);
    cJSON_AddStringToObject(o, "stage", j->stage);
    cJSON_AddNumberToObject(o, "progress", j->progress);
    cJSON_AddStringToObject(o, "message", j->message);
    iso_or_null(o, "started_at", j->started_at);
    iso_or_null(o, "finished_at", j->finished_at);
    if (j->last_error[0])
        cJSON_AddStringToObject(o, "last_error", j->last_error);
    else
        cJSON_AddNullToObject(o, "last_error");
    cJSON_AddStringToObject(o, "trigger_reason", j->trigger_reason);
    if (j->new_version[0])
        cJSON_AddStringToObject(o, "new_version", j->new_version);
    else
        cJSON_AddNullToObject(o, "new_version");
    pthread_mutex_unlock(&j->mu);
    return o;
}

/* ------------------------------------------------------------------------ */
/* The retrain thread                                                        */

static void job_progress(void *ud, const char *stage, double fraction, const char *message)
{
    es_srv_job *j = ud;
    pthread_mutex_lock(&j->mu);
    if (stage)
        snprintf(j->stage, sizeof j->stage, "%s", stage);
    if (fraction >= 0)
        j->progress = fraction;
    if (message)
        snprintf(j->message, sizeof j->message, "%s", message);
    pthread_mutex_unlock(&j->mu);
}

static void job_finish(es_srv_job *j, const char *state, const char *message, const char *error,
                       const char *version)
{
    pthread_mutex_lock(&j->mu);
    snprintf(j->state, sizeof j->state, "%s", state);
    if (message)
        snprintf(j->message, sizeof j->message, "%s", message);
    snprintf(j->last_error, sizeof j->last_error, "%s", error ? error : "");
    if (version)
        snprintf(j->new_version, sizeof j->new_version, "%s", version);
    j->finished_at = es_unix_time();
    j->running = 0;
    pthread_mutex_unlock(&j->mu);
}

static void *job_thread(void *arg)
{
    es_server *s = arg;
    es_srv_job *j = &s->job;
    es_retrain_config c = es_retrain_default_config();
    c.data_dir = s->data_dir;
    c.models_dir = s->models_dir;
    pthread_mutex_lock(&j->mu);
    c.min_new = j->min_new_samples;
    pthread_mutex_unlock(&j->mu);
    /* Leave cores for predictions: by default training takes half the machine. */
    int cores = es_cpu_count();
    c.threads = s->cfg.retrain_threads > 0 ? s->cfg.retrain_threads : (cores > 1 ? cores / 2 : 1);
    c.train.threads = c.threads;
    if (s->cfg.retrain_epochs > 0)
        c.train.epochs = s->cfg.retrain_epochs;
    if (s->cfg.retrain_per_file >= -1)
        c.train.per_file = s->cfg.retrain_per_file;
    if (s->cfg.retrain_max_files > 0)
        c.train.max_files_per_class = s->cfg.retrain_max_files;
    c.train.yamnet = s->yamnet;
    c.train.yamnet_path = s->yamnet_path;
    c.progress = job_progress;
    c.progress_ud = j;
    c.cancel = &j->cancel;
    c.log = NULL; /* progress goes to /retrain/status, not to the server's log */
    es_retrain_result res;
    memset(&res, 0, sizeof res);
    es_error err;
    es_error_clear(&err);
    double t0 = es_monotonic_s();
    es_status rc = es_retrain_run(&c, &res, &err);
    atomic_fetch_add(&s->data_gen, 1u); /* the run scanned and may have marked the catalog */
    if (rc == ES_OK && res.trained) {
        /* Open the new version whole, then swap it in: requests in flight
         * keep the old one until they finish. */
        char *vdir = es_path_join(s->models_dir, res.version);
        es_ref *r = NULL;
        rc = vdir ? es_srv_model_open(vdir, &r, &err) : es_error_set(&err, ES_ERR_NOMEM, "out of memory");
        free(vdir);
        if (rc == ES_OK) {
            es_holder_swap(&s->holder, r);
            char msg[256];
            snprintf(msg, sizeof msg, "new version %s (test accuracy %.3f) live after %.1f s",
                     res.version, res.test_accuracy, es_monotonic_s() - t0);
            es_log_info(s->log, "retrain: %s", msg);
            job_finish(j, "completed", msg, NULL, res.version);
        } else {
            es_log_error(s->log, "retrain: version %s trained but cannot be served: %s",
                         res.version, es_error_text(&err));
            job_finish(j, "failed", "the new version could not be loaded", es_error_text(&err),
                       res.version);
        }
    } else if (rc == ES_OK) {
        job_finish(j, "skipped", res.reason, NULL, NULL);
    } else if (rc == ES_ERR_CANCELLED) {
        es_log_info(s->log, "retrain cancelled: %s", es_error_text(&err));
        job_finish(j, "cancelled", "stopped by shutdown", es_error_text(&err), NULL);
    } else {
        es_log_error(s->log, "retrain failed: %s", es_error_text(&err));
        job_finish(j, "failed", "retraining failed", es_error_text(&err), NULL);
    }
    es_retrain_result_clear(&res);
    return NULL;
}

int es_srv_job_start(es_server *s, const char *reason, long min_new_samples, es_error *err)
{
    es_srv_job *j = &s->job;
    if (!s->yamnet) {
        es_error_set(err, ES_ERR_CONFIG, "no YAMNet model is loaded (see --yamnet)");
        return -1;
    }
    if (atomic_load(&s->stopping)) {
        es_error_set(err, ES_ERR_BUSY, "the server is shutting down");
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    if (j->running) {
        pthread_mutex_unlock(&j->mu);
        return 0;
    }
    if (j->has_thread) {
        pthread_join(j->thread, NULL); /* the previous run has ended */
        j->has_thread = 0;
    }
    snprintf(j->state, sizeof j->state, "running");
    snprintf(j->stage, sizeof j->stage, "starting");
    snprintf(j->trigger_reason, sizeof j->trigger_reason, "%s", reason);
    j->message[0] = j->last_error[0] = j->new_version[0] = '\0';
    j->progress = 0;
    j->min_new_samples = min_new_samples;
    j->started_at = es_unix_time();
    j->finished_at = 0;
    j->cancel = 0;
    j->running = 1;
    int e = pthread_create(&j->thread, NULL, job_thread, s);
    if (e != 0) {
        j->running = 0;
        snprintf(j->state, sizeof j->state, "failed");
        pthread_mutex_unlock(&j->mu);
        es_error_set(err, ES_ERR_NOMEM, "cannot start the retrain thread: %s", strerror(e));
        return -1;
    }
    j->has_thread = 1;
    pthread_mutex_unlock(&j->mu);
    return 1;
}

void es_srv_shutdown_jobs(es_server *s)
{
    es_srv_job *j = &s->job;
    pthread_mutex_lock(&j->mu);
    int join = j->has_thread;
    j->cancel = 1;
    j->has_thread = 0;
    pthread_mutex_unlock(&j->mu);
    if (join)
        pthread_join(j->thread, NULL);
}
