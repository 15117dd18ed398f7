/*
 * model.c: a saved model version opened for prediction: the head (with its
 * standardisation), the class names and the metadata that matters at
 * prediction time (seconds of audio the features use, decision thresholds).
 * Read-only after open, so the server shares one between threads.
 */
#include "pipeline_internal.h"

#include "ecosight/audio.h"
#include "ecosight/classifier.h"
#include "ecosight/yamnet.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct es_model {
    es_head *head;
    size_t num_classes;
    char **classes;
    float *thresholds;
    char *version;
    char *dir;
    double max_seconds;
};

void es_model_free(es_model *m)
{
    if (!m)
        return;
    es_head_free(m->head);
    if (m->classes)
        for (size_t i = 0; i < m->num_classes; i++)
            free(m->classes[i]);
    free(m->classes);
    free(m->thresholds);
    free(m->version);
    free(m->dir);
    free(m);
}

/* A version directory holds head.esh; a models directory holds latest/. */
static es_status resolve_dir(const char *dir, char **out, es_error *err)
{
    char *head = es_path_join(dir, ES_MODEL_HEAD_FILE);
    if (!head)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    int is_version = es_is_file(head);
    free(head);
    char *target = NULL;
    if (is_version) {
        target = strdup(dir);
    } else {
        target = es_path_join(dir, "latest");
        if (target && !es_is_dir(target)) {
            free(target);
            return es_error_set(err, ES_ERR_NOT_FOUND,
                                "%s: not a model version (no %s) and no latest version in it",
                                dir, ES_MODEL_HEAD_FILE);
        }
    }
    if (!target)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    char *real = realpath(target, NULL);
    free(target);
    if (!real)
        return es_error_set(err, ES_ERR_NOT_FOUND, "%s: cannot resolve the model directory", dir);
    *out = real;
    return ES_OK;
}

es_status es_model_open(const char *dir, es_model **out, es_error *err)
{
    es_model *m = calloc(1, sizeof *m);
    if (!m)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    cJSON *names = NULL, *meta = NULL;
    char *p = NULL;
    es_status rc = resolve_dir(dir, &m->dir, err);
    if (rc != ES_OK)
        goto fail;
    m->version = strdup(es_path_base(m->dir));
    p = es_path_join(m->dir, ES_MODEL_HEAD_FILE);
    if (!m->version || !p) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = es_head_load(p, &m->head, err)) != ES_OK)
        goto fail;
    free(p);
    p = es_path_join(m->dir, "class_names.json");
    if (!p || (rc = es_json_read(p, &names, err)) != ES_OK)
        goto fail;
    const es_head_config *hc = es_head_get_config(m->head);
    if (!cJSON_IsArray(names) || cJSON_GetArraySize(names) != hc->num_classes ||
        hc->input_dim != ES_EMBED_DIM || !es_head_has_norm(m->head)) {
        rc = es_error_set(err, ES_ERR_MODEL,
                          "%s: class_names.json does not match the head (%d classes, input %d)",
                          m->dir, hc->num_classes, hc->input_dim);
        goto fail;
    }
    m->num_classes = (size_t)hc->num_classes;
    m->classes = calloc(m->num_classes, sizeof *m->classes);
    m->thresholds = calloc(m->num_classes, sizeof *m->thresholds);
    if (!m->classes || !m->thresholds) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->num_classes; i++) {
        const cJSON *it = cJSON_GetArrayItem(names, (int)i);
        if (!cJSON_IsString(it) || !(m->classes[i] = strdup(it->valuestring))) {
            rc = es_error_set(err, ES_ERR_MODEL, "%s: class_names.json item %zu is not a string",
                              m->dir, i);
            goto fail;
        }
        m->thresholds[i] = 0.5f;
    }
    free(p);
    p = es_path_join(m->dir, "model_metadata.json");
    if (!p || (rc = es_json_read(p, &meta, err)) != ES_OK)
        goto fail;
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(meta, "max_seconds");
    m->max_seconds = cJSON_IsNumber(ms) && ms->valuedouble > 0 ? ms->valuedouble : 4.0;
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(meta, "decision_thresholds");
    for (size_t i = 0; i < m->num_classes && cJSON_IsObject(th); i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(th, m->classes[i]);
        if (cJSON_IsNumber(t))
            m->thresholds[i] = (float)t->valuedouble;
    }
    free(p);
    cJSON_Delete(names);
    cJSON_Delete(meta);
    *out = m;
    return ES_OK;
fail:
    free(p);
    cJSON_Delete(names);
    cJSON_Delete(meta);
    es_model_free(m);
    return rc;
}

size_t es_model_num_classes(const es_model *m) { return m->num_classes; }
const char *es_model_class_name(const es_model *m, size_t i)
{
    return i < m->num_classes ? m->classes[i] : NULL;
}
int es_model_class_index(const es_model *m, const char *name)
{
    for (size_t i = 0; i < m->num_classes; i++)
        if (strcmp(m->classes[i], name) == 0)
            return (int)i;
    return -1;
}
const char *es_model_version(const es_model *m) { return m->version; }
const char *es_model_dir(const es_model *m) { return m->dir; }
double es_model_max_seconds(const es_model *m) { return m->max_seconds; }
float es_model_threshold(const es_model *m, size_t i)
{
    return i < m->num_classes ? m->thresholds[i] : 1.0f;
}

es_status es_model_predict_embedding(const es_model *m, const float emb[ES_EMBED_DIM],
                                     float *probs, es_error *err)
{
    return es_head_predict(m->head, emb, 1, probs, err);
}

es_status es_model_predict_wave(const es_model *m, const es_yamnet *y, const float *wave,
                                size_t n, int threads, float *probs, es_error *err)
{
    size_t cap = (size_t)(m->max_seconds * ES_YAMNET_SAMPLE_RATE);
    if (n > cap)
        n = cap;
    float emb[ES_EMBED_DIM];
    es_status rc = es_yamnet_embed_mean(y, wave, n, threads, emb, err);
    if (rc != ES_OK)
        return rc;
    return es_model_predict_embedding(m, emb, probs, err);
}

es_status es_model_predict_file(const es_model *m, const es_yamnet *y, const char *path,
                                int threads, float *probs, es_error *err)
{
    es_audio a = {0};
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = ES_YAMNET_SAMPLE_RATE;
    o.max_seconds = m->max_seconds;
    es_status rc = es_audio_load_file(path, &o, &a, err);
    if (rc != ES_OK)
        return rc;
    rc = es_model_predict_wave(m, y, a.samples, (size_t)a.frames, threads, probs, err);
    if (rc != ES_OK)
        es_error_prefix(err, "%s", path);
    es_audio_clear(&a);
    return rc;
}
