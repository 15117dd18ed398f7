/*
 * status.c: the catalog's per-class summary that GET /status carries as
 * `data` (recordings per class, flagged ones, new since the last training).
 * /status is polled (the dashboard every 2 s, load tests far more), so the
 * summary is cached for a short while; an upload invalidates it at once.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ES_SRV_DATA_TTL_S 2.0

typedef struct {
    cJSON *classes;
} walk;

static cJSON *class_obj(cJSON *classes, const char *name)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(classes, name);
    if (!o) {
        o = cJSON_AddObjectToObject(classes, name);
        cJSON_AddNumberToObject(o, "originals", 0);
        cJSON_AddNumberToObject(o, "bad", 0);
        cJSON_AddNumberToObject(o, "new_since_training", 0);
    }
    return o;
}

static void bump(cJSON *o, const char *key)
{
    cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
    cJSON_SetNumberValue(n, n->valuedouble + 1);
}

/* Present recordings only (absent ones are history): good ones count as
 * originals, flagged ones as bad; a good one whose content the last
 * successful training did not use is new (added or changed), as the
 * retrain's es_store_pending_counts defines it. */
static int on_recording(void *ud, const es_recording *r)
{
    walk *w = ud;
    if (!r->present)
        return 0;
    cJSON *o = class_obj(w->classes, r->class_name);
    if (r->bad) {
        bump(o, "bad");
        return 0;
    }
    bump(o, "originals");
    if (strcmp(r->trained_sha256, r->sha256) != 0)
        bump(o, "new_since_training");
    return 0;
}

static cJSON *summary_from_store(es_server *s)
{
    walk w = {cJSON_CreateObject()};
    es_error err;
    es_error_clear(&err);
    if (es_store_foreach_recording(s->store, on_recording, &w, &err) != ES_OK) {
        es_log_warn(s->log, "status: cannot read the catalog: %s", es_error_text(&err));
        cJSON_Delete(w.classes);
        return NULL;
    }
    return w.classes;
}

cJSON *es_srv_catalog_summary(es_server *s)
{
    if (!s->store)
        return NULL;
    unsigned gen = atomic_load(&s->data_gen);
    double now = es_monotonic_s();
    pthread_mutex_lock(&s->data_mu);
    if (!s->data_cache || s->data_cache_gen != gen || now - s->data_cache_t > ES_SRV_DATA_TTL_S) {
        cJSON *fresh = summary_from_store(s);
        if (fresh) {
            cJSON_Delete(s->data_cache);
            s->data_cache = fresh;
            s->data_cache_t = now;
            s->data_cache_gen = gen;
        }
    }
    cJSON *out = s->data_cache ? cJSON_Duplicate(s->data_cache, 1) : NULL;
    pthread_mutex_unlock(&s->data_mu);
    return out;
}
