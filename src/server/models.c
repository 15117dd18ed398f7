/*
 * models.c: what the models directory holds, for GET /models and
 * GET /training-history: the version directories, which one `latest` points
 * at, which one this server is serving, each version's training curves and
 * the retraining log. Files are read with caps (they are ours, but a broken
 * disk must not take the server down) and passed through as JSON.
 */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ES_SRV_DOC_MAX (8u << 20)

/* Parse a JSON file under dir (NULL when absent or malformed). */
static cJSON *read_json(const char *dir, const char *name)
{
    char *p = es_path_join(dir, name);
    char *text = NULL;
    size_t len = 0;
    cJSON *doc = NULL;
    if (p && es_read_file(p, ES_SRV_DOC_MAX, &text, &len, NULL) == ES_OK)
        doc = cJSON_ParseWithLength(text, len);
    free(text);
    free(p);
    return doc;
}

/* The version `latest` names ("" when none). */
static void latest_version(const char *models_dir, char *out, size_t cap)
{
    out[0] = '\0';
    char *p = es_path_join(models_dir, "latest");
    if (!p)
        return;
    char target[PATH_MAX];
    ssize_t n = readlink(p, target, sizeof target - 1);
    if (n > 0) {
        target[n] = '\0';
        snprintf(out, cap, "%s", es_path_base(target));
    } else if (es_is_file(p)) {
        /* a plain file holding the version name (as S3's models/latest) */
        char *text = NULL;
        size_t len = 0;
        if (es_read_file(p, 256, &text, &len, NULL) == ES_OK) {
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
                text[--len] = '\0';
            snprintf(out, cap, "%s", text);
        }
        free(text);
    }
    free(p);
}

static double number_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

cJSON *es_srv_models_list(es_server *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char latest[256];
    latest_version(s->models_dir, latest, sizeof latest);
    es_ref *r = es_holder_acquire(&s->holder);
    const es_srv_model *live = r ? r->obj : NULL;
    if (live)
        cJSON_AddStringToObject(o, "live", live->version);
    else
        cJSON_AddNullToObject(o, "live");
    if (latest[0])
        cJSON_AddStringToObject(o, "latest", latest);
    else
        cJSON_AddNullToObject(o, "latest");
    cJSON *arr = cJSON_AddArrayToObject(o, "models");
    es_strlist dirs = {0};
    if (es_list_dir(s->models_dir, 2, &dirs, NULL) == ES_OK) {
        es_strlist_sort(&dirs);
        for (size_t i = dirs.count; i-- > 0;) { /* newest first: names are UTC stamps */
            if (strcmp(dirs.items[i], "latest") == 0)
                continue;
            char *vd = es_path_join(s->models_dir, dirs.items[i]);
            char *head = vd ? es_path_join(vd, "head.esh") : NULL;
            if (head && es_is_file(head)) {
                cJSON *m = cJSON_CreateObject();
                cJSON_AddStringToObject(m, "version", dirs.items[i]);
                cJSON_AddBoolToObject(m, "live", live && strcmp(live->version, dirs.items[i]) == 0);
                cJSON_AddBoolToObject(m, "latest", strcmp(latest, dirs.items[i]) == 0);
                cJSON *perf = read_json(vd, "performance_metrics.json");
                cJSON *meta = read_json(vd, "model_metadata.json");
                double acc = number_of(perf, "test_accuracy");
                if (acc < 0)
                    acc = number_of(meta, "test_accuracy");
                if (acc < 0)
                    acc = number_of(perf, "accuracy");
                if (acc >= 0)
                    cJSON_AddNumberToObject(m, "test_accuracy", acc);
                else
                    cJSON_AddNullToObject(m, "test_accuracy");
                const cJSON *date = cJSON_GetObjectItemCaseSensitive(meta, "training_date");
                if (cJSON_IsString(date))
                    cJSON_AddStringToObject(m, "created", date->valuestring);
                else
                    cJSON_AddNullToObject(m, "created");
                cJSON_Delete(perf);
                cJSON_Delete(meta);
                cJSON_AddItemToArray(arr, m);
            }
            free(head);
            free(vd);
        }
    }
    es_strlist_free(&dirs);
    es_ref_release(r);
    return o;
}

cJSON *es_srv_training_history(es_server *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    es_ref *r = es_holder_acquire(&s->holder);
    const es_srv_model *live = r ? r->obj : NULL;
    cJSON *hist = live && live->history_json ? cJSON_Parse(live->history_json) : NULL;
    /* Keras-style {loss: [...], ...} or a list of per-epoch objects. */
    static const char *const keys[] = {"loss", "val_loss", "accuracy", "val_accuracy", "lr"};
    cJSON *th = NULL;
    if (hist) {
        th = cJSON_CreateObject();
        int epochs = 0;
        const cJSON *src = cJSON_IsObject(hist) && cJSON_GetObjectItemCaseSensitive(hist, "epochs") &&
                                   cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(hist, "epochs"))
                               ? cJSON_GetObjectItemCaseSensitive(hist, "epochs")
                               : hist;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            cJSON *arr = cJSON_AddArrayToObject(th, keys[k]);
            if (cJSON_IsArray(src)) {
                const cJSON *e;
                cJSON_ArrayForEach(e, src)
                {
                    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, keys[k]);
                    if (cJSON_IsNumber(v))
                        cJSON_AddItemToArray(arr, cJSON_CreateNumber(v->valuedouble));
                }
            } else {
                const cJSON *a = cJSON_GetObjectItemCaseSensitive(src, keys[k]);
                const cJSON *v;
                if (cJSON_IsArray(a))
                    cJSON_ArrayForEach(v, a) if (cJSON_IsNumber(v))
                        cJSON_AddItemToArray(arr, cJSON_CreateNumber(v->valuedouble));
            }
            if (k == 0)
                epochs = cJSON_GetArraySize(arr);
        }
        cJSON_AddNumberToObject(th, "epochs", epochs);
        cJSON_Delete(hist);
    }
    cJSON_AddBoolToObject(o, "has_history", th != NULL);
    if (th)
        cJSON_AddItemToObject(o, "training_history", th);
    else
        cJSON_AddNullToObject(o, "training_history");
    cJSON *log = read_json(s->models_dir, "retraining_log.json");
    cJSON *list = NULL;
    if (cJSON_IsArray(log)) {
        list = log;
        log = NULL;
    } else if (log) {
        list = cJSON_DetachItemFromObjectCaseSensitive(log, "retraining_history");
        if (!cJSON_IsArray(list)) {
            cJSON_Delete(list);
            list = NULL;
        }
    }
    cJSON_Delete(log);
    cJSON_AddItemToObject(o, "retraining_log", list ? list : cJSON_CreateArray());
    es_ref_release(r);
    return o;
}
