/*
 * model.c: loading a model version for serving (es_srv_model) and the
 * prediction endpoint. A version is opened whole (head, class names,
 * metadata, metrics, history) before it is swapped in, so a request never
 * sees half of one; YAMNet is opened once and shared by every version.
 */
#include "internal.h"

#include "ecosight/audio.h"
#include "ecosight/pipeline_retrain.h"
#include "ecosight/pipeline_train.h"
#include "ecosight/yamnet.h"

#include <stdlib.h>
#include <string.h>

#define ES_SRV_DOC_MAX (8u << 20)

static void model_free(void *p)
{
    es_srv_model *m = p;
    if (!m)
        return;
    es_model_free(m->model);
    free(m->version);
    free(m->dir);
    free(m->training_date);
    for (size_t i = 0; i < m->nclasses; i++)
        free(m->classes ? m->classes[i] : NULL);
    free(m->classes);
    free(m->metrics_json);
    free(m->history_json);
    cJSON_Delete(m->thresholds);
    cJSON_Delete(m->threshold_metrics);
    cJSON_Delete(m->split_classes);
    cJSON_Delete(m->aug_per_file);
    free(m);
}

static char *read_doc(const char *dir, const char *name, cJSON **keep);

/* A copy of doc[key] when it is an object, else NULL. */
static cJSON *dup_object(const cJSON *doc, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    return cJSON_IsObject(v) ? cJSON_Duplicate(v, 1) : NULL;
}

/* split.json per class: {train, val, test, training_examples}, counting the
 * originals each split used (files with an error were skipped by training)
 * and the examples train + val gave after augmentation (each original plus
 * its augmentations). NULL without a readable split.json. */
static cJSON *split_counts(const char *dir)
{
    cJSON *sj = NULL;
    free(read_doc(dir, "split.json", &sj));
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(sj, "files");
    if (!cJSON_IsArray(files)) {
        cJSON_Delete(sj);
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(f, "class");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(f, "split");
        if (!cJSON_IsString(cls) || !cJSON_IsString(sp) ||
            cJSON_GetObjectItemCaseSensitive(f, "error"))
            continue;
        const char *split = sp->valuestring;
        if (strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test"))
            continue;
        cJSON *o = cJSON_GetObjectItemCaseSensitive(out, cls->valuestring);
        if (!o) {
            o = cJSON_AddObjectToObject(out, cls->valuestring);
            cJSON_AddNumberToObject(o, "train", 0);
            cJSON_AddNumberToObject(o, "val", 0);
            cJSON_AddNumberToObject(o, "test", 0);
            cJSON_AddNumberToObject(o, "training_examples", 0);
        }
        cJSON *n = cJSON_GetObjectItemCaseSensitive(o, split);
        cJSON_SetNumberValue(n, n->valuedouble + 1);
        if (strcmp(split, "test")) {
            const cJSON *ag = cJSON_GetObjectItemCaseSensitive(f, "augmentations");
            cJSON *te = cJSON_GetObjectItemCaseSensitive(o, "training_examples");
            cJSON_SetNumberValue(te, te->valuedouble + 1 + (cJSON_IsArray(ag) ? cJSON_GetArraySize(ag) : 0));
        }
    }
    cJSON_Delete(sj);
    return out;
}

/* A JSON file of the version directory, re-serialised compactly (NULL when
 * absent or not JSON: the endpoints then say so). */
static char *read_doc(const char *dir, const char *name, cJSON **keep)
{
    char *p = es_path_join(dir, name), *text = NULL, *out = NULL;
    size_t len = 0;
    if (p && es_read_file(p, ES_SRV_DOC_MAX, &text, &len, NULL) == ES_OK) {
        cJSON *doc = cJSON_ParseWithLength(text, len);
        if (doc)
            out = cJSON_PrintUnformatted(doc);
        if (keep)
            *keep = doc;
        else
            cJSON_Delete(doc);
    }
    free(text);
    free(p);
    return out;
}

es_status es_srv_model_open(const char *dir, es_ref **out, es_error *err)
{
    es_srv_model *m = calloc(1, sizeof *m);
    if (!m)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    es_model *em = NULL;
    es_status rc = es_model_open(dir, &em, err);
    if (rc != ES_OK) {
        free(m);
        return rc;
    }
    m->model = em;
    m->version = strdup(es_model_version(em));
    m->dir = strdup(es_model_dir(em));
    m->nclasses = es_model_num_classes(em);
    m->classes = calloc(m->nclasses ? m->nclasses : 1, sizeof *m->classes);
    m->test_accuracy = -1;
    if (!m->version || !m->dir || !m->classes) {
        model_free(m);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < m->nclasses; i++)
        if (!(m->classes[i] = strdup(es_model_class_name(em, i)))) {
            model_free(m);
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        }
    cJSON *meta = NULL, *perf = NULL;
    free(read_doc(m->dir, "model_metadata.json", &meta));
    m->metrics_json = read_doc(m->dir, "performance_metrics.json", &perf);
    m->history_json = read_doc(m->dir, "training_history.json", NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, "training_date");
    m->training_date = strdup(cJSON_IsString(v) ? v->valuestring : "");
    v = cJSON_GetObjectItemCaseSensitive(meta, "test_accuracy");
    if (!cJSON_IsNumber(v))
        v = cJSON_GetObjectItemCaseSensitive(perf, "test_accuracy");
    if (!cJSON_IsNumber(v))
        v = cJSON_GetObjectItemCaseSensitive(perf, "accuracy");
    if (cJSON_IsNumber(v))
        m->test_accuracy = v->valuedouble;
    m->gun_shot_min_recall = -1;
    v = cJSON_GetObjectItemCaseSensitive(meta, "gun_shot_min_recall");
    if (cJSON_IsNumber(v))
        m->gun_shot_min_recall = v->valuedouble;
    m->thresholds = dup_object(meta, "decision_thresholds");
    m->threshold_metrics = dup_object(perf, "threshold_metrics");
    m->aug_per_file =
        dup_object(cJSON_GetObjectItemCaseSensitive(meta, "training_config"), "augmentations_per_file");
    m->split_classes = split_counts(m->dir);
    cJSON_Delete(meta);
    cJSON_Delete(perf);
    es_ref *r = es_ref_new(m, model_free);
    if (!r) {
        model_free(m);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    *out = r;
    return ES_OK;
}

void es_srv_load_initial(es_server *s)
{
    es_error err;
    es_error_clear(&err);
    if (es_store_open_dir(s->models_dir, &s->store, &err) != ES_OK) {
        s->store = NULL;
        es_log_warn(s->log, "uploads will not be cataloged: %s", es_error_text(&err));
    }
    /* S3, when configured: uploads are copied there, and an empty models
     * directory is filled from the bucket's models/latest. */
    char why[256] = "";
    es_error_clear(&err);
    if (es_retrain_s3_open(NULL, s->log, &s->s3, &s->s3_bucket, why, sizeof why, &err) != ES_OK) {
        es_log_warn(s->log, "S3 is misconfigured, not used: %s", es_error_text(&err));
        s->s3 = NULL;
    } else if (!s->s3) {
        es_log_info(s->log, "S3 not used: %s", why);
    }

    char *path = NULL;
    es_yamnet *y = NULL;
    es_error_clear(&err);
    if (es_yamnet_find(s->yamnet_path, &path, &err) != ES_OK ||
        es_yamnet_open(path, &y, &err) != ES_OK) {
        es_log_error(s->log, "no YAMNet model, predictions and retraining are off: %s",
                     es_error_text(&err));
        free(path);
        return;
    }
    free(path);
    s->yamnet = y;
    es_ref *r = NULL;
    es_status rc = es_srv_model_open(s->models_dir, &r, &err);
    if (rc != ES_OK && s->s3) {
        /* Nothing here: pull the published latest from the bucket. */
        es_models_remote rm = {s->s3, s->s3_bucket, NULL};
        char name[ES_VERSION_NAME_MAX];
        es_error perr;
        es_error_clear(&perr);
        if (es_models_pull(s->models_dir, &rm, NULL, 1, name, &perr) == ES_OK) {
            es_log_info(s->log, "pulled model %s from s3://%s/%slatest", name, s->s3_bucket,
                        ES_RETRAIN_MODELS_PREFIX);
            rc = es_srv_model_open(s->models_dir, &r, &err);
        } else {
            es_log_warn(s->log, "no model in S3 either: %s", es_error_text(&perr));
        }
    }
    if (rc != ES_OK) {
        es_log_warn(s->log, "no model served yet (%s); /status answers 503 until one is trained",
                    es_error_text(&err));
        return;
    }
    es_log_info(s->log, "serving model %s", ((es_srv_model *)r->obj)->version);
    es_holder_swap(&s->holder, r);
}

void es_srv_close_resources(es_server *s)
{
    es_store_close(s->store);
    s->store = NULL;
    es_s3_client_free(s->s3);
    s->s3 = NULL;
    es_yamnet_free(s->yamnet);
    s->yamnet = NULL;
}

/* ------------------------------------------------------------------------ */
/* POST /predict                                                            */

static int add_window_event(void *ud, const es_timeline_window *w)
{
    (void)ud;
    (void)w;
    return 0;
}

enum MHD_Result es_srv_predict(es_req *q, struct MHD_Connection *c)
{
    es_server *s = q->srv;
    double t0 = es_monotonic_s();
    if (!q->have_file)
        return es_srv_error(q, c, 422, "missing the multipart field 'file'");
    if (q->file.len == 0)
        return es_srv_error(q, c, 400, "the uploaded file is empty");
    es_ref *r = es_holder_acquire(&s->holder);
    if (!r || !s->yamnet) {
        es_ref_release(r);
        return es_srv_error(q, c, 503, "no model is loaded");
    }
    const es_srv_model *m = r->obj;
    const es_model *em = m->model;
    const es_yamnet *y = s->yamnet;
    char safe[128];
    es_srv_sanitize_filename(q->filename, safe, sizeof safe);
    es_error err;
    es_error_clear(&err);
    enum MHD_Result ok;

    /* decode: the first max_seconds at 16 kHz mono, as `ecosight predict` */
    es_audio a = {0};
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = ES_YAMNET_SAMPLE_RATE;
    o.max_seconds = es_model_max_seconds(em);
    double t = es_monotonic_s();
    es_status rc = es_audio_load_memory(q->file.data, q->file.len, safe, &o, &a, &err);
    if (rc == ES_OK && a.frames == 0)
        rc = es_error_set(&err, ES_ERR_EMPTY, "the file holds no audio samples");
    es_metrics_stage(&s->metrics, ES_STAGE_DECODE, es_monotonic_s() - t);
    if (rc != ES_OK) {
        es_ref_release(r);
        return es_srv_error(q, c, es_srv_status_for(rc), "not a decodable audio file: %s",
                            es_error_text(&err));
    }
    float emb[ES_YAMNET_EMBED_DIM];
    float *probs = calloc(m->nclasses, sizeof *probs);
    t = es_monotonic_s();
    rc = probs ? es_yamnet_embed_mean(y, a.samples, (size_t)a.frames, 1, emb, &err)
               : es_error_set(&err, ES_ERR_NOMEM, "out of memory");
    es_metrics_stage(&s->metrics, ES_STAGE_YAMNET, es_monotonic_s() - t);
    es_audio_clear(&a);
    if (rc == ES_OK) {
        t = es_monotonic_s();
        rc = es_model_predict_embedding(em, emb, probs, &err);
        es_metrics_stage(&s->metrics, ES_STAGE_HEAD, es_monotonic_s() - t);
    }
    if (rc != ES_OK) {
        free(probs);
        es_ref_release(r);
        es_log_error(s->log, "predict: %s", es_error_text(&err));
        return es_srv_error(q, c, 503, "prediction failed: %s", es_error_text(&err));
    }
    size_t best = 0;
    for (size_t i = 1; i < m->nclasses; i++)
        if (probs[i] > probs[best])
            best = i;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddBoolToObject(out, "success", 1);
    cJSON_AddStringToObject(out, "predicted_class", m->classes[best]);
    cJSON_AddNumberToObject(out, "confidence", probs[best]);
    cJSON *all = cJSON_AddObjectToObject(out, "all_probabilities");
    for (size_t i = 0; i < m->nclasses; i++)
        cJSON_AddNumberToObject(all, m->classes[i], probs[i]);
    free(probs);

    const char *tl = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "timeline");
    if (tl && (strcmp(tl, "1") == 0 || strcmp(tl, "true") == 0)) {
        es_timeline_opts to = es_timeline_default_opts();
        to.threads = 1;
        es_timeline_result tr;
        memset(&tr, 0, sizeof tr);
        rc = es_timeline_memory(em, y, q->file.data, q->file.len, safe, &to, add_window_event,
                                NULL, &tr, &err);
        if (rc != ES_OK) {
            es_timeline_result_clear(&tr);
            cJSON_Delete(out);
            es_ref_release(r);
            return es_srv_error(q, c, es_srv_status_for(rc), "timeline: %s", es_error_text(&err));
        }
        cJSON *ev = cJSON_AddArrayToObject(out, "timeline");
        for (size_t i = 0; i < tr.count; i++) {
            const es_timeline_event *e = &tr.events[i];
            cJSON *je = cJSON_CreateObject();
            cJSON_AddStringToObject(je, "class", e->cls >= 0 && (size_t)e->cls < m->nclasses
                                                     ? m->classes[e->cls] : "?");
            cJSON_AddNumberToObject(je, "start", e->start_s);
            cJSON_AddNumberToObject(je, "end", e->end_s);
            cJSON_AddNumberToObject(je, "windows", e->windows);
            cJSON_AddNumberToObject(je, "confidence", e->max_confidence);
            cJSON_AddNumberToObject(je, "mean_confidence", e->mean_confidence);
            cJSON_AddItemToArray(ev, je);
        }
        cJSON_AddNumberToObject(out, "timeline_windows", (double)tr.windows);
        cJSON_AddNumberToObject(out, "duration", tr.duration_s);
        es_timeline_result_clear(&tr);
    }
    cJSON_AddNumberToObject(out, "processing_time", es_monotonic_s() - t0);
    char ts[32];
    es_utc_iso8601(es_unix_time(), ts);
    cJSON_AddStringToObject(out, "timestamp", ts);
    cJSON_AddStringToObject(out, "model_version", m->version);
    es_ref_release(r);
    es_metrics_prediction(&s->metrics);
    ok = es_srv_json(q, c, 200, out);
    return ok;
}
