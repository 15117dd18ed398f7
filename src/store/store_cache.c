/*
 * store_cache.c: the embedding cache. A YAMNet embedding costs tens of
 * milliseconds; a cached one costs a B-tree lookup. The key names everything
 * the vector depends on: the decoded original's SHA-256, the augmentation, the
 * seed, the YAMNet model file's SHA-256 and the front-end parameters (sample
 * rate, seconds, ...), so a changed model or setting can never return a stale
 * vector. Vectors are stored as little-endian float32 blobs.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the embedding cache stores little-endian float32; add byte swapping for this host"
#endif

static es_status prep_once(es_store *s, sqlite3_stmt **st, const char *sql, es_error *err)
{
    if (*st) {
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
        return ES_OK;
    }
    return es_store_prepare(s, sql, st, err);
}

static void bind_key(sqlite3_stmt *st, const uint8_t key[32], const char *aug, uint64_t seed,
                     const char *model_sha256, const char *params)
{
    sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, aug, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)seed); /* two's complement keeps all 64 bits */
    sqlite3_bind_text(st, 4, model_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, params, -1, SQLITE_STATIC);
}

static es_status check_args(const uint8_t *key, const char *aug, const char *model_sha256,
                            const char *params, size_t dim, es_error *err)
{
    if (!key || !aug || !model_sha256 || !params || dim == 0 || dim > ES_STORE_MAX_DIM)
        return es_error_set(err, ES_ERR_INVALID,
                            "embedding cache: key, augmentation, model hash, parameters and "
                            "a dimension in 1..%d are required",
                            ES_STORE_MAX_DIM);
    return ES_OK;
}

es_status es_store_cache_get(es_store *s, const uint8_t audio_key[32], const char *aug,
                             uint64_t seed, const char *model_sha256, const char *params,
                             float *out, size_t dim, int *hit, es_error *err)
{
    *hit = 0;
    es_status rc = check_args(audio_key, aug, model_sha256, params, dim, err);
    if (rc != ES_OK)
        return rc;
    es_store_lock(s);
    rc = prep_once(s, &s->cache_get,
                   "SELECT dim, vec FROM embeddings WHERE audio_key = ?1 AND aug = ?2"
                   " AND seed = ?3 AND model_sha256 = ?4 AND params = ?5",
                   err);
    if (rc != ES_OK)
        goto out;
    bind_key(s->cache_get, audio_key, aug, seed, model_sha256, params);
    int r = sqlite3_step(s->cache_get);
    if (r == SQLITE_ROW) {
        int64_t d = sqlite3_column_int64(s->cache_get, 0);
        const void *blob = sqlite3_column_blob(s->cache_get, 1);
        int bytes = sqlite3_column_bytes(s->cache_get, 1);
        if (d == (int64_t)dim && blob && (size_t)bytes == dim * sizeof(float)) {
            memcpy(out, blob, dim * sizeof(float));
            *hit = 1;
        } else {
            /* Another dimension under the same key, or a short blob: useless,
             * drop it so the caller's put replaces it. */
            sqlite3_reset(s->cache_get);
            rc = prep_once(s, &s->cache_del,
                           "DELETE FROM embeddings WHERE audio_key = ?1 AND aug = ?2"
                           " AND seed = ?3 AND model_sha256 = ?4 AND params = ?5",
                           err);
            if (rc == ES_OK) {
                bind_key(s->cache_del, audio_key, aug, seed, model_sha256, params);
                int d2 = sqlite3_step(s->cache_del);
                if (d2 != SQLITE_DONE)
                    rc = es_store_db_error(s, d2, err, "cannot drop a damaged cache entry");
                sqlite3_reset(s->cache_del);
            }
        }
    } else if (r != SQLITE_DONE) {
        rc = es_store_db_error(s, r, err, "embedding cache lookup failed");
    }
    sqlite3_reset(s->cache_get);
    if (rc == ES_OK) {
        if (*hit)
            s->hits++;
        else
            s->misses++;
    }
out:
    es_store_unlock(s);
    return rc;
}

es_status es_store_cache_put(es_store *s, const uint8_t audio_key[32], const char *aug,
                             uint64_t seed, const char *model_sha256, const char *params,
                             const float *vec, size_t dim, es_error *err)
{
    es_status rc = check_args(audio_key, aug, model_sha256, params, dim, err);
    if (rc != ES_OK)
        return rc;
    if (!vec)
        return es_error_set(err, ES_ERR_INVALID, "embedding cache: no vector to store");
    es_store_lock(s);
    rc = prep_once(s, &s->cache_put,
                   "INSERT OR REPLACE INTO embeddings(audio_key, aug, seed, model_sha256,"
                   " params, dim, vec, created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                   err);
    if (rc == ES_OK) {
        bind_key(s->cache_put, audio_key, aug, seed, model_sha256, params);
        sqlite3_bind_int64(s->cache_put, 6, (int64_t)dim);
        sqlite3_bind_blob(s->cache_put, 7, vec, (int)(dim * sizeof(float)), SQLITE_STATIC);
        sqlite3_bind_double(s->cache_put, 8, es_unix_time());
        int r = sqlite3_step(s->cache_put);
        if (r != SQLITE_DONE)
            rc = es_store_db_error(s, r, err, "cannot store an embedding");
        else
            s->puts++;
        sqlite3_reset(s->cache_put);
        sqlite3_clear_bindings(s->cache_put);
    }
    es_store_unlock(s);
    return rc;
}

es_status es_store_cache_stats(es_store *s, es_cache_stats *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    es_store_lock(s);
    out->hits = s->hits;
    out->misses = s->misses;
    out->puts = s->puts;
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s, "SELECT count(*), coalesce(sum(length(vec)), 0) FROM embeddings", &st, err);
    if (rc == ES_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            out->entries = sqlite3_column_int64(st, 0);
            out->bytes = sqlite3_column_int64(st, 1);
        } else {
            rc = es_store_db_error(s, r, err, "cannot count cache entries");
        }
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}

void es_store_cache_reset_counters(es_store *s)
{
    es_store_lock(s);
    s->hits = s->misses = s->puts = 0;
    es_store_unlock(s);
}

es_status es_store_cache_prune(es_store *s, const char *keep_model_sha256,
                               const char *keep_params, int64_t *removed, es_error *err)
{
    es_store_lock(s);
    sqlite3_stmt *st;
    es_status rc = es_store_prepare(
        s, "DELETE FROM embeddings WHERE model_sha256 <> ?1 OR params <> ?2", &st, err);
    if (rc == ES_OK) {
        sqlite3_bind_text(st, 1, keep_model_sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, keep_params, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r != SQLITE_DONE)
            rc = es_store_db_error(s, r, err, "cannot prune the embedding cache");
        else if (removed)
            *removed = sqlite3_changes(s->db);
        sqlite3_finalize(st);
    }
    es_store_unlock(s);
    return rc;
}
