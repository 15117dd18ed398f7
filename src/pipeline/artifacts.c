/*
 * artifacts.c: the files of a model version and of a models directory: JSON
 * documents written atomically, the metrics document (the seed's keys plus
 * ours), the `latest` symlink swapped by rename, and retraining_log.json.
 */
#include "pipeline_internal.h"

#include "ecosight/augment.h"
#include "ecosight/yamnet.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cJSON *es_json_num(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

void es_feature_params_for(double max_seconds, int aug_version, char *out, size_t cap)
{
    /* Everything an embedding depends on besides the audio key, the
     * augmentation name, the seed and the YAMNet file: the front end (sample
     * rate, STFT, mel, patches), the audio cut, the pooling, and the version
     * of the augmentation code that produced the samples. */
    snprintf(out, cap, "%s;max_s=%.3f;mean;aug=v%d", ES_YAMNET_FRONTEND_PARAMS, max_seconds,
             aug_version);
}

void es_feature_params(double max_seconds, char *out, size_t cap)
{
    es_feature_params_for(max_seconds, ES_AUG_VERSION, out, cap);
}

es_status es_json_write(const char *path, const cJSON *doc, es_error *err)
{
    char *s = cJSON_Print(doc);
    if (!s)
        return es_error_set(err, ES_ERR_NOMEM, "%s: cannot serialise JSON", path);
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    t[n] = '\n';
    t[n + 1] = 0;
    es_status rc = es_write_file_atomic(path, t, n + 1, err);
    free(t);
    return rc;
}

es_status es_json_read(const char *path, cJSON **out, es_error *err)
{
    char *s;
    size_t n;
    es_status rc = es_read_file(path, ES_JSON_MAX, &s, &n, err);
    if (rc != ES_OK)
        return rc;
    cJSON *d = cJSON_ParseWithLength(s, n);
    free(s);
    if (!d)
        return es_error_set(err, ES_ERR_FORMAT, "%s: not valid JSON", path);
    *out = d;
    return ES_OK;
}

static cJSON *dlist(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, es_json_num(v[i]));
    return a;
}

cJSON *es_metrics_to_cjson(const es_metrics *m, const char *const *names)
{
    size_t K = m->num_classes;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddItemToObject(o, "precision", dlist(m->precision, K));
    cJSON_AddItemToObject(o, "recall", dlist(m->recall, K));
    cJSON_AddItemToObject(o, "f1_score", dlist(m->f1, K));
    cJSON *cm = cJSON_AddArrayToObject(o, "confusion_matrix");
    for (size_t i = 0; i < K; i++) {
        cJSON *row = cJSON_CreateArray();
        for (size_t j = 0; j < K; j++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)m->confusion[i * K + j]));
        cJSON_AddItemToArray(cm, row);
    }
    cJSON *pc = cJSON_AddObjectToObject(o, "per_class_metrics");
    cJSON *auc = cJSON_CreateObject(), *ap = cJSON_CreateObject();
    for (size_t k = 0; k < K; k++) {
        cJSON *c = cJSON_AddObjectToObject(pc, names[k]);
        cJSON_AddItemToObject(c, "precision", es_json_num(m->precision[k]));
        cJSON_AddItemToObject(c, "recall", es_json_num(m->recall[k]));
        cJSON_AddItemToObject(c, "f1_score", es_json_num(m->f1[k]));
        cJSON_AddNumberToObject(c, "support", (double)m->support[k]);
        cJSON_AddItemToObject(c, "roc_auc", es_json_num(m->roc_auc[k]));
        cJSON_AddItemToObject(c, "average_precision", es_json_num(m->avg_precision[k]));
        cJSON_AddItemToObject(auc, names[k], es_json_num(m->roc_auc[k]));
        cJSON_AddItemToObject(ap, names[k], es_json_num(m->avg_precision[k]));
    }
    cJSON_AddItemToObject(o, "accuracy", es_json_num(m->accuracy));
    cJSON_AddItemToObject(o, "loss", es_json_num(m->loss));
    cJSON_AddItemToObject(o, "macro_f1", es_json_num(m->macro_f1));
    cJSON_AddItemToObject(o, "roc_auc", auc);
    cJSON_AddItemToObject(o, "average_precision", ap);
    cJSON_AddNumberToObject(o, "samples", (double)m->n);
    cJSON *cls = cJSON_AddArrayToObject(o, "classes");
    for (size_t k = 0; k < K; k++)
        cJSON_AddItemToArray(cls, cJSON_CreateString(names[k]));
    return o;
}

cJSON *es_threshold_metrics_cjson(const float *probs, const int *labels, size_t n, size_t K,
                                  const float *thr, const char *const *names)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t k = 0; o && k < K; k++) {
        double p, r;
        es_threshold_metrics(probs, labels, n, K, k, thr[k], &p, &r);
        cJSON *c = cJSON_AddObjectToObject(o, names[k]);
        cJSON_AddNumberToObject(c, "threshold", thr[k]);
        cJSON_AddItemToObject(c, "precision", es_json_num(p));
        cJSON_AddItemToObject(c, "recall", es_json_num(r));
    }
    return o;
}

char *es_metrics_json_text(const es_metrics *m, const char *const *class_names)
{
    cJSON *o = es_metrics_to_cjson(m, class_names);
    if (!o)
        return NULL;
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

es_status es_models_set_latest(const char *models_dir, const char *version, es_error *err)
{
    if (!version || !*version || strchr(version, '/') || strcmp(version, ".") == 0 ||
        strcmp(version, "..") == 0)
        return es_error_set(err, ES_ERR_INVALID, "bad version name '%s'", version ? version : "");
    char *vdir = es_path_join(models_dir, version);
    char *latest = es_path_join(models_dir, "latest");
    char tmpname[64];
    /* pid and thread: two threads of one server (retrain, rollback) never
     * share the temporary name. */
    snprintf(tmpname, sizeof tmpname, ".latest.tmp.%ld.%lx", (long)getpid(),
             (unsigned long)pthread_self());
    char *tmp = es_path_join(models_dir, tmpname);
    es_status rc = ES_OK;
    if (!vdir || !latest || !tmp) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!es_is_dir(vdir)) {
        rc = es_error_set(err, ES_ERR_NOT_FOUND, "%s: no such model version", vdir);
        goto done;
    }
    unlink(tmp);
    /* Relative target: the models directory can be moved or mounted elsewhere. */
    if (symlink(version, tmp) != 0) {
        rc = es_error_set(err, ES_ERR_IO, "%s: cannot create symlink: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, latest) != 0) {
        int e = errno;
        unlink(tmp);
        rc = es_error_set(err, ES_ERR_IO, "%s: cannot replace: %s", latest, strerror(e));
        goto done;
    }
    rc = es_fsync_dir(models_dir, err);
done:
    free(vdir);
    free(latest);
    free(tmp);
    return rc;
}

es_status es_models_append_log(const char *models_dir, const char *record_json, es_error *err)
{
    cJSON *rec = cJSON_Parse(record_json);
    if (!rec)
        return es_error_set(err, ES_ERR_INVALID, "retraining log record is not valid JSON");
    char *path = es_path_join(models_dir, "retraining_log.json");
    cJSON *doc = NULL;
    es_status rc = ES_OK;
    if (!path) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (es_is_file(path)) {
        if ((rc = es_json_read(path, &doc, err)) != ES_OK)
            goto done;
    } else {
        doc = cJSON_CreateObject();
    }
    cJSON *hist = cJSON_GetObjectItemCaseSensitive(doc, "retraining_history");
    if (!hist) {
        hist = cJSON_AddArrayToObject(doc, "retraining_history");
    } else if (!cJSON_IsArray(hist)) {
        rc = es_error_set(err, ES_ERR_FORMAT, "%s: retraining_history is not a list", path);
        goto done;
    }
    cJSON_AddItemToArray(hist, rec);
    rec = NULL;
    rc = es_json_write(path, doc, err);
done:
    cJSON_Delete(rec);
    cJSON_Delete(doc);
    free(path);
    return rc;
}
