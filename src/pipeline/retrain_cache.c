/*
 * retrain_cache.c: the bridge between the training pipeline's feature-cache
 * hook (pipeline_train.h) and the SQLite embedding cache (store.h). The
 * training calls it from worker threads; the store serialises them.
 */
#include "ecosight/pipeline_retrain.h"

static void note_error(es_store_feature_cache *c, const es_error *err, const char *what)
{
    if (__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED) == 0)
        es_log_warn(c->log, "embedding cache %s failed (further failures are only counted): %s",
                    what, es_error_text(err));
}

static int cache_get(void *ud, const uint8_t audio_key[32], const char *aug, uint64_t seed,
                     const char *model_sha256, const char *params, float *out, size_t dim)
{
    es_store_feature_cache *c = ud;
    es_error err;
    int hit = 0;
    if (es_store_cache_get(c->store, audio_key, aug, seed, model_sha256, params, out, dim, &hit,
                           &err) != ES_OK) {
        note_error(c, &err, "lookup");
        return 0;
    }
    return hit;
}

static void cache_put(void *ud, const uint8_t audio_key[32], const char *aug, uint64_t seed,
                      const char *model_sha256, const char *params, const float *vec, size_t dim)
{
    es_store_feature_cache *c = ud;
    es_error err;
    if (es_store_cache_put(c->store, audio_key, aug, seed, model_sha256, params, vec, dim,
                           &err) != ES_OK)
        note_error(c, &err, "write");
}

es_feature_cache es_retrain_feature_cache(es_store_feature_cache *ctx)
{
    es_feature_cache fc = {.ud = ctx, .get = cache_get, .put = cache_put};
    return fc;
}
