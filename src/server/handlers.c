/*
 * handlers.c: the JSON endpoints of the API (paths, methods and field names
 * as the original FastAPI service had them; see docs/API.md). Each handler
 * runs once its request's body has fully arrived, on a worker thread, and
 * answers through es_srv_json / es_srv_error.
 */
#include "internal.h"

#include "ecosight/audio.h"
#include "ecosight/pipeline_retrain.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

void es_srv_sanitize_filename(const char *in, char *out, size_t cap)
{
    const char *base = in ? in : "";
    /* the last component, whichever separator the client's OS uses */
    for (const char *p = base; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    size_t n = 0, max = cap - 1 < 100 ? cap - 1 : 100;
    for (const char *p = base; *p && n < max; p++) {
        unsigned char c = (unsigned char)*p;
        if (n == 0 && c == '.')
            continue; /* no hidden files, no "..": leading dots dropped */
        out[n++] = (isalnum(c) || c == '.' || c == '-' || c == '_') && c < 0x80 ? (char)c : '_';
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "upload");
}

int es_srv_valid_class_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(islower(c) || isdigit(c) || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int es_srv_status_for(es_status code)
{
    switch (code) {
    case ES_ERR_TOO_LARGE: return 413;
    case ES_ERR_NOMEM: return 503;
    default: return 400; /* undecodable, empty, unsupported: the client's bytes */
    }
}

static void add_timestamp(cJSON *o)
{
    char ts[32];
    es_utc_iso8601(es_unix_time(), ts);
    cJSON_AddStringToObject(o, "timestamp", ts);
}

/* ------------------------------------------------------------------------ */
/* GET /, /health, /status                                                  */

static enum MHD_Result h_root(es_req *q, struct MHD_Connection *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", "EcoSight Anti-Poaching Sound Classification API");
    cJSON_AddStringToObject(o, "service", "ecosight");
    cJSON_AddStringToObject(o, "version", es_version());
    cJSON_AddStringToObject(o, "status", "running");
    cJSON *e = cJSON_AddObjectToObject(o, "endpoints");
    cJSON_AddStringToObject(e, "health", "GET /health");
    cJSON_AddStringToObject(e, "status", "GET /status");
    cJSON_AddStringToObject(e, "predict", "POST /predict");
    cJSON_AddStringToObject(e, "upload", "POST /upload");
    cJSON_AddStringToObject(e, "retrain", "POST /retrain");
    cJSON_AddStringToObject(e, "retrain_status", "GET /retrain/status");
    cJSON_AddStringToObject(e, "metrics", "GET /metrics");
    cJSON_AddStringToObject(e, "training_history", "GET /training-history");
    cJSON_AddStringToObject(e, "models", "GET /models");
    cJSON_AddStringToObject(e, "prometheus", "GET /metrics/prometheus");
    cJSON_AddStringToObject(e, "openapi", "GET /openapi.json");
    cJSON_AddStringToObject(e, "docs", "docs/API.md");
    return es_srv_json(q, c, 200, o);
}

static enum MHD_Result h_health(es_req *q, struct MHD_Connection *c)
{
    es_ref *r = es_holder_acquire(&q->srv->holder);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "healthy");
    add_timestamp(o);
    cJSON_AddBoolToObject(o, "model_loaded", r != NULL);
    es_ref_release(r);
    return es_srv_json(q, c, 200, o);
}

/* {classes: {name: {originals, bad, new_since_training, train, val, test,
 * training_examples}}, augmentations_per_file: {name: k}, catalog: bool}:
 * the catalog's present recordings, and what the live version's training
 * split and augmented of them (split.json, model_metadata.json). Every class
 * of the model and of the catalog appears; a count nobody knows is absent. */
static cJSON *data_summary(es_server *s, const es_srv_model *m)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *cat = es_srv_catalog_summary(s);
    cJSON_AddBoolToObject(d, "catalog", cat != NULL);
    cJSON *classes = cat ? cat : cJSON_CreateObject();
    for (size_t i = 0; i < m->nclasses; i++)
        if (!cJSON_GetObjectItemCaseSensitive(classes, m->classes[i]))
            cJSON_AddObjectToObject(classes, m->classes[i]);
    cJSON *e;
    cJSON_ArrayForEach(e, m->split_classes) {
        cJSON *o = cJSON_GetObjectItemCaseSensitive(classes, e->string);
        if (!o)
            o = cJSON_AddObjectToObject(classes, e->string);
        const cJSON *v;
        cJSON_ArrayForEach(v, e) cJSON_AddItemToObject(o, v->string, cJSON_Duplicate(v, 1));
    }
    cJSON_AddItemToObject(d, "classes", classes);
    cJSON_AddItemToObject(d, "augmentations_per_file",
                          m->aug_per_file ? cJSON_Duplicate(m->aug_per_file, 1) : cJSON_CreateObject());
    return d;
}

static enum MHD_Result h_status(es_req *q, struct MHD_Connection *c)
{
    es_server *s = q->srv;
    es_ref *r = es_holder_acquire(&s->holder);
    if (!r)
        return es_srv_error(q, c, 503, "no model is loaded (train one, or POST /retrain)");
    const es_srv_model *m = r->obj;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "running");
    cJSON_AddNumberToObject(o, "uptime", es_unix_time() - s->started);
    cJSON_AddNumberToObject(o, "total_predictions", (double)es_metrics_predictions(&s->metrics));
    cJSON_AddBoolToObject(o, "model_loaded", 1);
    cJSON_AddStringToObject(o, "model_name", m->version);
    cJSON_AddStringToObject(o, "training_date", m->training_date ? m->training_date : "");
    if (m->test_accuracy >= 0)
        cJSON_AddNumberToObject(o, "test_accuracy", m->test_accuracy);
    else
        cJSON_AddNullToObject(o, "test_accuracy");
    cJSON_AddNumberToObject(o, "num_classes", (double)m->nclasses);
    cJSON *cl = cJSON_AddArrayToObject(o, "classes");
    for (size_t i = 0; i < m->nclasses; i++)
        cJSON_AddItemToArray(cl, cJSON_CreateString(m->classes[i]));
    /* What the dashboard needs beyond the original's fields: the decision
     * thresholds and the recall they were chosen for (model_metadata.json),
     * the recall measured at them on the test split (performance_metrics.json)
     * and the recordings per class (catalog + the version's split.json). */
    cJSON_AddItemToObject(o, "decision_thresholds",
                          m->thresholds ? cJSON_Duplicate(m->thresholds, 1) : cJSON_CreateNull());
    if (m->gun_shot_min_recall >= 0)
        cJSON_AddNumberToObject(o, "gun_shot_min_recall", m->gun_shot_min_recall);
    else
        cJSON_AddNullToObject(o, "gun_shot_min_recall");
    cJSON_AddItemToObject(o, "threshold_metrics", m->threshold_metrics
                                                      ? cJSON_Duplicate(m->threshold_metrics, 1)
                                                      : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "data", data_summary(s, m));
    es_ref_release(r);
    return es_srv_json(q, c, 200, o);
}

/* ------------------------------------------------------------------------ */
/* GET /metrics, /training-history, /models                                 */

static enum MHD_Result h_metrics(es_req *q, struct MHD_Connection *c)
{
    es_ref *r = es_holder_acquire(&q->srv->holder);
    if (!r)
        return es_srv_error(q, c, 503, "no model is loaded");
    const es_srv_model *m = r->obj;
    enum MHD_Result ok;
    if (!m->metrics_json)
        ok = es_srv_error(q, c, 404, "model %s has no performance_metrics.json", m->version);
    else
        ok = es_srv_raw(q, c, 200, "application/json", m->metrics_json, strlen(m->metrics_json), 0);
    es_ref_release(r);
    return ok;
}

static enum MHD_Result h_prometheus(es_req *q, struct MHD_Connection *c)
{
    es_server *s = q->srv;
    es_ref *r = es_holder_acquire(&s->holder);
    char extra[512];
    snprintf(extra, sizeof extra,
             "# HELP ecosight_model_loaded 1 when a model is being served.\n"
             "# TYPE ecosight_model_loaded gauge\n"
             "ecosight_model_loaded %d\n",
             r != NULL);
    es_ref_release(r);
    es_buf b;
    es_buf_init(&b, 4u << 20);
    es_error err;
    enum MHD_Result ok;
    if (es_metrics_render(&s->metrics, extra, &b, &err) != ES_OK)
        ok = es_srv_error(q, c, 503, "%s", es_error_text(&err));
    else
        ok = es_srv_raw(q, c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, 0);
    es_buf_free(&b);
    return ok;
}

static enum MHD_Result h_openapi(es_req *q, struct MHD_Connection *c)
{
    return es_srv_raw(q, c, 200, "application/json", es_openapi_json, strlen(es_openapi_json), 1);
}

/* ------------------------------------------------------------------------ */
/* POST /upload                                                             */

static const char *ext_for_format(const char *format)
{
    if (strcasecmp(format, "WAV") == 0) return ".wav";
    if (strcasecmp(format, "FLAC") == 0) return ".flac";
    if (strcasecmp(format, "OGG") == 0) return ".ogg";
    if (strcasecmp(format, "MP3") == 0) return ".mp3";
    return ".audio";
}

/* Is `name` a class we accept uploads for: one the live model knows, or a
 * directory that already exists under the data directory. */
static int class_known(es_server *s, const char *name)
{
    int known = 0;
    es_ref *r = es_holder_acquire(&s->holder);
    if (r) {
        const es_srv_model *m = r->obj;
        for (size_t i = 0; i < m->nclasses && !known; i++)
            known = strcmp(m->classes[i], name) == 0;
        es_ref_release(r);
    }
    if (!known) {
        char *d = es_path_join(s->data_dir, name);
        known = d && es_is_dir(d);
        free(d);
    }
    return known;
}

static enum MHD_Result h_upload(es_req *q, struct MHD_Connection *c)
{
    es_server *s = q->srv;
    if (!q->have_file)
        return es_srv_error(q, c, 422, "missing the multipart field 'file'");
    if (!q->have_class)
        return es_srv_error(q, c, 422, "missing the multipart field 'class_name'");
    const char *cls = q->class_name.data ? q->class_name.data : "";
    if (!es_srv_valid_class_name(cls))
        return es_srv_error(q, c, 422,
                            "invalid class_name: use 1-64 of a-z, 0-9, '_' and '-'");
    if (!class_known(s, cls))
        return es_srv_error(q, c, 422, "unknown class '%s'", cls);
    if (q->file.len == 0)
        return es_srv_error(q, c, 400, "the uploaded file is empty");

    /* Validate by decoding all of it, streamed at the source rate: a small
     * compressed upload can hold hours of audio, and validation must not
     * cost memory in proportion (a fixed 64 KiB block per request). */
    es_error err;
    char safe[128];
    es_srv_sanitize_filename(q->filename, safe, sizeof safe);
    es_audio_stream *st = NULL;
    es_status rc = es_audio_stream_open_memory(q->file.data, q->file.len, safe, 0, &st, &err);
    int64_t frames = 0;
    int rate = 0;
    if (rc == ES_OK) {
        rate = es_audio_stream_rate(st);
        float block[16384];
        for (;;) {
            int64_t got = 0;
            rc = es_audio_stream_read(st, block, (int64_t)(sizeof block / sizeof block[0]), &got,
                                      &err);
            if (rc != ES_OK || got == 0)
                break;
            frames += got;
        }
        es_audio_stream_close(st);
    }
    if (rc == ES_OK && frames == 0)
        rc = es_error_set(&err, ES_ERR_EMPTY, "the file holds no audio samples");
    double duration = rc == ES_OK && rate > 0 ? (double)frames / rate : 0;
    if (rc != ES_OK)
        return es_srv_error(q, c, es_srv_status_for(rc), "not a decodable audio file: %s",
                            es_error_text(&err));
    es_audio_info info;
    if (!es_audio_is_supported_name(safe) &&
        es_audio_probe_memory(q->file.data, q->file.len, safe, &info, &err) == ES_OK) {
        size_t n = strlen(safe);
        snprintf(safe + (n > 90 ? 90 : n), sizeof safe - (n > 90 ? 90 : n), "%s",
                 ext_for_format(info.format));
    }

    char *dir = es_path_join(s->data_dir, cls);
    if (!dir || es_mkdirs(dir, &err) != ES_OK) {
        free(dir);
        es_log_error(s->log, "upload: %s", es_error_text(&err));
        return es_srv_error(q, c, 503, "cannot store the upload: %s", es_error_text(&err));
    }
    char ts[32];
    es_utc_compact(es_unix_time(), ts);
    char name[256], *path = NULL;
    pthread_mutex_lock(&s->upload_mu);
    for (int k = 0; k < 1000; k++) {
        if (k == 0)
            snprintf(name, sizeof name, "%s_%s", ts, safe);
        else
            snprintf(name, sizeof name, "%s_%d_%s", ts, k, safe);
        free(path);
        path = es_path_join(dir, name);
        if (!path || !es_is_file(path))
            break;
    }
    rc = path ? es_write_file_atomic(path, q->file.data, q->file.len, &err)
              : es_error_set(&err, ES_ERR_NOMEM, "out of memory");
    pthread_mutex_unlock(&s->upload_mu);
    free(dir);
    if (rc != ES_OK) {
        free(path);
        es_log_error(s->log, "upload: %s", es_error_text(&err));
        return es_srv_error(q, c, 503, "cannot store the upload: %s", es_error_text(&err));
    }
    es_log_info(s->log, "upload: stored %s (%zu bytes, %.2f s)", path, q->file.len, duration);
    /* The catalog names it relative to the data directory, source "api". */
    int cataloged = 0;
    if (s->store) {
        uint8_t sha[ES_SHA256_LEN];
        char hex[ES_SHA256_HEX_LEN], rel[512];
        es_sha256(q->file.data, q->file.len, sha);
        es_hex(sha, sizeof sha, hex);
        snprintf(rel, sizeof rel, "%s/%s", cls, name);
        if (es_store_record_recording(s->store, rel, cls, (int64_t)q->file.len, hex, duration,
                                      ES_SOURCE_API, &err) == ES_OK) {
            cataloged = 1;
            atomic_fetch_add(&s->data_gen, 1u); /* /status's data summary is stale */
        }
        else
            es_log_warn(s->log, "upload: %s stored but not cataloged: %s", path, es_error_text(&err));
    }

    /* A copy in the bucket, where retraining and other servers look. */
    int s3_uploaded = 0;
    if (s->s3) {
        char key[1024];
        snprintf(key, sizeof key, "%s%s/%s", ES_S3_DEFAULT_PREFIX, cls, name);
        es_error_clear(&err);
        if (es_s3_put_file(s->s3, s->s3_bucket, key, path, NULL, NULL, NULL, NULL, NULL, &err) ==
            ES_OK)
            s3_uploaded = 1;
        else
            es_log_warn(s->log, "upload: %s stored locally, not in S3: %s", path,
                        es_error_text(&err));
    }

    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "success", 1);
    cJSON_AddStringToObject(out, "message", "File uploaded successfully");
    cJSON_AddStringToObject(out, "file_path", path);
    cJSON_AddStringToObject(out, "class", cls);
    cJSON_AddNumberToObject(out, "duration", duration);
    cJSON_AddNumberToObject(out, "size_bytes", (double)q->file.len);
    cJSON_AddBoolToObject(out, "s3_uploaded", s3_uploaded);
    cJSON_AddBoolToObject(out, "cataloged", cataloged);
    add_timestamp(out);
    free(path);
    return es_srv_json(q, c, 200, out);
}

/* ------------------------------------------------------------------------ */
/* POST /retrain, GET /retrain/status, /models, /training-history            */

static enum MHD_Result h_retrain(es_req *q, struct MHD_Connection *c)
{
    const char *reason = "api";
    long min_new = ES_RETRAIN_DEFAULT_MIN_NEW;
    cJSON *doc = NULL;
    if (q->json.len > 0) {
        doc = cJSON_ParseWithLength(q->json.data, q->json.len);
        if (!doc || !cJSON_IsObject(doc)) {
            cJSON_Delete(doc);
            return es_srv_error(q, c, 422, "the body must be a JSON object "
                                           "{\"trigger_reason\": str, \"min_new_samples\": int}");
        }
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, "trigger_reason");
        if (r && !cJSON_IsNull(r)) {
            if (!cJSON_IsString(r) || strlen(r->valuestring) > 200) {
                cJSON_Delete(doc);
                return es_srv_error(q, c, 422, "trigger_reason must be a string of at most 200 bytes");
            }
            reason = r->valuestring;
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "min_new_samples");
        if (m && !cJSON_IsNull(m)) {
            if (!cJSON_IsNumber(m) || m->valuedouble < 0 || m->valuedouble > 1e9 ||
                m->valuedouble != (double)(long)m->valuedouble) {
                cJSON_Delete(doc);
                return es_srv_error(q, c, 422, "min_new_samples must be a non-negative integer");
            }
            min_new = (long)m->valuedouble;
        }
    }
    es_error err;
    es_error_clear(&err);
    int started = es_srv_job_start(q->srv, reason, min_new, &err);
    cJSON_Delete(doc);
    if (started < 0)
        return es_srv_error(q, c, 503, "cannot start retraining: %s", es_error_text(&err));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", started == 1);
    cJSON_AddStringToObject(o, "message", started == 1 ? "Retraining started in the background"
                                                       : "A retraining is already in progress");
    cJSON_AddStringToObject(o, "status", started == 1 ? "running" : "in_progress");
    add_timestamp(o);
    return es_srv_json(q, c, 200, o);
}

static enum MHD_Result h_doc(es_req *q, struct MHD_Connection *c, cJSON *doc)
{
    if (!doc)
        return es_srv_error(q, c, 503, "out of memory");
    return es_srv_json(q, c, 200, doc);
}

/* ------------------------------------------------------------------------ */
/* POST /models/rollback {"version": "..."}                                  */

static enum MHD_Result h_rollback(es_req *q, struct MHD_Connection *c)
{
    es_server *s = q->srv;
    cJSON *doc = q->json.len ? cJSON_ParseWithLength(q->json.data, q->json.len) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "version");
    if (!cJSON_IsString(v) || !es_models_valid_name(v->valuestring)) {
        cJSON_Delete(doc);
        return es_srv_error(q, c, 422, "the body must be {\"version\": \"<a version name>\"}");
    }
    char version[ES_VERSION_NAME_MAX];
    snprintf(version, sizeof version, "%s", v->valuestring);
    cJSON_Delete(doc);
    es_error err;
    es_error_clear(&err);
    es_models_remote rm = {s->s3, s->s3_bucket, NULL};
    es_status rc = es_models_rollback(s->models_dir, s->s3 ? &rm : NULL, version, &err);
    if (rc == ES_ERR_NOT_FOUND)
        return es_srv_error(q, c, 404, "no model version %s", version);
    if (rc == ES_ERR_BUSY)
        return es_srv_error(q, c, 409, "a retrain holds the models directory: %s", es_error_text(&err));
    if (rc != ES_OK)
        return es_srv_error(q, c, 503, "rollback failed: %s", es_error_text(&err));
    char *dir = es_path_join(s->models_dir, version);
    es_ref *r = NULL;
    rc = dir ? es_srv_model_open(dir, &r, &err) : es_error_set(&err, ES_ERR_NOMEM, "out of memory");
    free(dir);
    if (rc != ES_OK)
        return es_srv_error(q, c, 503, "version %s cannot be served: %s", version, es_error_text(&err));
    es_holder_swap(&s->holder, r);
    es_log_info(s->log, "rollback: serving %s", version);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "success", 1);
    cJSON_AddStringToObject(o, "live", version);
    cJSON_AddStringToObject(o, "message", "model version is live");
    add_timestamp(o);
    return es_srv_json(q, c, 200, o);
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                 */

enum MHD_Result es_srv_handle(es_req *q, struct MHD_Connection *c)
{
    switch (q->route) {
    case ES_ROUTE_ROOT: return h_root(q, c);
    case ES_ROUTE_HEALTH: return h_health(q, c);
    case ES_ROUTE_STATUS: return h_status(q, c);
    case ES_ROUTE_METRICS: return h_metrics(q, c);
    case ES_ROUTE_PROMETHEUS: return h_prometheus(q, c);
    case ES_ROUTE_OPENAPI: return h_openapi(q, c);
    case ES_ROUTE_PREDICT: return es_srv_predict(q, c);
    case ES_ROUTE_UPLOAD: return h_upload(q, c);
    case ES_ROUTE_RETRAIN: return h_retrain(q, c);
    case ES_ROUTE_RETRAIN_STATUS: return h_doc(q, c, es_srv_job_status(&q->srv->job));
    case ES_ROUTE_MODELS: return h_doc(q, c, es_srv_models_list(q->srv));
    case ES_ROUTE_ROLLBACK: return h_rollback(q, c);
    case ES_ROUTE_TRAINING_HISTORY: return h_doc(q, c, es_srv_training_history(q->srv));
    default:
        return es_srv_error(q, c, 503, "%s is not available in this build yet",
                            es_route_name(q->route));
    }
}
