/*
 * net.c: YAMNet's network and the whole waveform -> embeddings/scores path.
 *
 * Work is cut into chunks of YAM_CHUNK consecutive patches. A chunk is the
 * unit of batching (the pointwise GEMMs see M = patches x positions rows)
 * and of parallelism (es_parallel_for hands chunks to threads; each thread
 * owns one workspace). The chunk size does not depend on the thread count
 * and every output row is computed with the same arithmetic whatever its
 * neighbours, so results are bit-identical for any `threads`. Each chunk
 * computes its own log-mel frames straight from the waveform, so memory
 * stays bounded for long recordings and the front end runs in parallel too.
 */
#include "yamnet_internal.h"
#include "frontend.h"

#include "ecosight/nn_conv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define YAM_CHUNK 8
/* Largest activation of one patch: layer 2's pointwise output, 48x32x64. */
#define YAM_ACT_FLOATS (48 * 32 * 64)
#define YAM_CHUNK_FRAMES ((YAM_CHUNK - 1) * ES_YAMNET_PATCH_HOP + ES_YAMNET_PATCH_FRAMES)

typedef struct yam_ws {
    float *a, *b;     /* ping-pong activations [YAM_CHUNK * YAM_ACT_FLOATS] */
    float *frames;    /* log-mel of one chunk [YAM_CHUNK_FRAMES, 64] */
    float *patches;   /* [YAM_CHUNK, 96, 64] */
    float *emb;       /* [YAM_CHUNK, 1024] */
} yam_ws;

static void ws_free(yam_ws *w)
{
    if (!w)
        return;
    es_yam_aligned_free(w->a);
    es_yam_aligned_free(w->b);
    es_yam_aligned_free(w->frames);
    es_yam_aligned_free(w->patches);
    es_yam_aligned_free(w->emb);
    memset(w, 0, sizeof *w);
}

static es_status ws_init(yam_ws *w, es_error *err)
{
    memset(w, 0, sizeof *w);
    w->a = es_yam_aligned_alloc(sizeof(float) * YAM_CHUNK * YAM_ACT_FLOATS);
    w->b = es_yam_aligned_alloc(sizeof(float) * YAM_CHUNK * YAM_ACT_FLOATS);
    w->frames = es_yam_aligned_alloc(sizeof(float) * YAM_CHUNK_FRAMES * ES_YAMNET_MEL_BANDS);
    w->patches = es_yam_aligned_alloc(sizeof(float) * YAM_CHUNK * ES_YAMNET_PATCH_FLOATS);
    w->emb = es_yam_aligned_alloc(sizeof(float) * YAM_CHUNK * ES_YAMNET_EMBED_DIM);
    if (!w->a || !w->b || !w->frames || !w->patches || !w->emb) {
        ws_free(w);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for a YAMNet workspace");
    }
    return ES_OK;
}

/* The network on np <= YAM_CHUNK patches: embeddings [np, 1024]. */
static void net_forward(const es_yamnet *m, yam_ws *w, const float *patches, int np, float *emb)
{
    float *a = w->a, *b = w->b;
    es_conv2d_forward(a, patches, m->conv1_w, m->conv1_b, np, ES_YAMNET_PATCH_FRAMES,
                      ES_YAMNET_MEL_BANDS, 1, YAM_CONV1_OUT, 3, 3, 2, 1);
    for (int l = 0; l < YAM_LAYERS; l++) {
        const yam_layer *L = &m->layers[l];
        es_conv_depthwise3x3_forward(b, a, L->dw_w, L->dw_b, np, L->h_in, L->w_in, L->cin,
                                     L->stride, 1);
        int64_t rows = (int64_t)np * L->h_out * L->w_out;
        es_conv_pointwise_forward(a, b, L->pw_packed, L->pw_b, rows, L->cin, L->cout, 1);
    }
    const int pos = 3 * 2;
    for (int p = 0; p < np; p++) {
        const float *x = a + (size_t)p * pos * ES_YAMNET_EMBED_DIM;
        float *e = emb + (size_t)p * ES_YAMNET_EMBED_DIM;
        for (int c = 0; c < ES_YAMNET_EMBED_DIM; c++) {
            float s = 0.0f;
            for (int q = 0; q < pos; q++)
                s += x[q * ES_YAMNET_EMBED_DIM + c];
            e[c] = s / (float)pos;
        }
    }
}

static void classify(const es_yamnet *m, const float *emb, int np, float *scores)
{
    es_conv_pointwise_forward(scores, emb, m->fc_packed, m->fc_b, np, ES_YAMNET_EMBED_DIM,
                              ES_YAMNET_NUM_CLASSES, 0);
    for (size_t i = 0; i < (size_t)np * ES_YAMNET_NUM_CLASSES; i++)
        scores[i] = 1.0f / (1.0f + expf(-scores[i]));
}

/* ---- workspaces for a parallel run ---- */

typedef struct yam_pool {
    int threads;
    yam_ws *ws;
} yam_pool;

static int effective_threads(int threads, int64_t items)
{
    if (threads <= 0)
        threads = es_cpu_count();
    if (threads > items)
        threads = (int)(items > 0 ? items : 1);
    return threads < 1 ? 1 : threads;
}

static void pool_free(yam_pool *p)
{
    if (!p->ws)
        return;
    for (int t = 0; t < p->threads; t++)
        ws_free(&p->ws[t]);
    free(p->ws);
    p->ws = NULL;
}

static es_status pool_init(yam_pool *p, int threads, es_error *err)
{
    p->threads = threads;
    p->ws = calloc((size_t)threads, sizeof *p->ws);
    if (!p->ws)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    for (int t = 0; t < threads; t++) {
        es_status rc = ws_init(&p->ws[t], err);
        if (rc) {
            pool_free(p);
            return rc;
        }
    }
    return ES_OK;
}

/* Run fn over items on the pool: inline when one thread (never spawns). */
static es_status pool_run(yam_pool *p, int64_t items, es_parallel_fn fn, void *ctx, es_error *err)
{
    if (p->threads == 1) {
        for (int64_t i = 0; i < items; i++) {
            es_status rc = fn(ctx, i, 0, err);
            if (rc)
                return rc;
        }
        return ES_OK;
    }
    return es_parallel_for(p->threads, items, fn, ctx, err);
}

/* ---- patches given by the caller ---- */

typedef struct run_patches_ctx {
    const es_yamnet *m;
    yam_pool *pool;
    const float *patches;
    size_t count;
    float *emb, *scores;
} run_patches_ctx;

static es_status run_patches_item(void *vctx, int64_t i, int t, es_error *err)
{
    (void)err;
    run_patches_ctx *c = vctx;
    yam_ws *w = &c->pool->ws[t];
    size_t p0 = (size_t)i * YAM_CHUNK;
    int np = c->count - p0 < YAM_CHUNK ? (int)(c->count - p0) : YAM_CHUNK;
    float *emb = c->emb ? c->emb + p0 * ES_YAMNET_EMBED_DIM : w->emb;
    net_forward(c->m, w, c->patches + p0 * ES_YAMNET_PATCH_FLOATS, np, emb);
    if (c->scores)
        classify(c->m, emb, np, c->scores + p0 * ES_YAMNET_NUM_CLASSES);
    return ES_OK;
}

es_status es_yamnet_run_patches(const es_yamnet *m, const float *patches, size_t count,
                                int threads, float *embeddings, float *scores, es_error *err)
{
    if (!m || (!patches && count))
        return es_error_set(err, ES_ERR_INVALID, "es_yamnet_run_patches: NULL argument");
    if (count == 0)
        return ES_OK;
    int64_t items = (int64_t)((count + YAM_CHUNK - 1) / YAM_CHUNK);
    yam_pool pool;
    es_status rc = pool_init(&pool, effective_threads(threads, items), err);
    if (rc)
        return rc;
    run_patches_ctx c = {m, &pool, patches, count, embeddings, scores};
    rc = pool_run(&pool, items, run_patches_item, &c, err);
    pool_free(&pool);
    return rc;
}

/* ---- waveforms ---- */

/* Log-mel frames and patches of chunk [p0, p0+np) of a waveform. */
static void chunk_patches(const es_yamnet *m, yam_ws *w, const float *wave, size_t n, size_t p0,
                          int np)
{
    size_t f0 = p0 * ES_YAMNET_PATCH_HOP;
    size_t nf = (size_t)(np - 1) * ES_YAMNET_PATCH_HOP + ES_YAMNET_PATCH_FRAMES;
    yam_frontend_frames(m->fe, wave, n, f0, nf, w->frames);
    es_yamnet_patches_from_logmel(w->frames, nf, w->patches, (size_t)np);
}

typedef struct wave_job {
    const float *wave;
    size_t n;
    size_t patches;
    int64_t first_item; /* index of its first chunk in the flattened item list */
} wave_job;

typedef struct waves_ctx {
    const es_yamnet *m;
    yam_pool *pool;
    wave_job *jobs;
    size_t njobs;
    /* per-patch outputs (analyze) or per-chunk sums (mean) */
    float *emb, *scores;
    double *chunk_sums;   /* [items, 1024] */
} waves_ctx;

static size_t find_job(const waves_ctx *c, int64_t item)
{
    size_t lo = 0, hi = c->njobs; /* last job with first_item <= item */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (c->jobs[mid].first_item <= item)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static es_status waves_item(void *vctx, int64_t item, int t, es_error *err)
{
    (void)err;
    waves_ctx *c = vctx;
    yam_ws *w = &c->pool->ws[t];
    const wave_job *j = &c->jobs[find_job(c, item)];
    size_t p0 = (size_t)(item - j->first_item) * YAM_CHUNK;
    int np = j->patches - p0 < YAM_CHUNK ? (int)(j->patches - p0) : YAM_CHUNK;
    chunk_patches(c->m, w, j->wave, j->n, p0, np);
    float *emb = c->emb ? c->emb + p0 * ES_YAMNET_EMBED_DIM : w->emb;
    net_forward(c->m, w, w->patches, np, emb);
    if (c->scores)
        classify(c->m, emb, np, c->scores + p0 * ES_YAMNET_NUM_CLASSES);
    if (c->chunk_sums) {
        double *s = c->chunk_sums + (size_t)item * ES_YAMNET_EMBED_DIM;
        for (int d = 0; d < ES_YAMNET_EMBED_DIM; d++) {
            double acc = 0.0;
            for (int p = 0; p < np; p++)
                acc += emb[(size_t)p * ES_YAMNET_EMBED_DIM + d];
            s[d] = acc;
        }
    }
    return ES_OK;
}

es_status es_yamnet_embed_mean_batch(const es_yamnet *m, const float *const *waves,
                                     const size_t *lens, size_t count, int threads, float *out,
                                     es_error *err)
{
    if (!m || (count && (!waves || !lens || !out)))
        return es_error_set(err, ES_ERR_INVALID, "es_yamnet_embed_mean_batch: NULL argument");
    if (count == 0)
        return ES_OK;
    wave_job *jobs = calloc(count, sizeof *jobs);
    if (!jobs)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    int64_t items = 0;
    for (size_t i = 0; i < count; i++) {
        if (lens[i] == 0 || !waves[i]) {
            free(jobs);
            return es_error_set(err, ES_ERR_EMPTY, "waveform %zu of %zu holds no samples", i,
                                count);
        }
        jobs[i].wave = waves[i];
        jobs[i].n = lens[i];
        jobs[i].patches = es_yamnet_num_patches(lens[i]);
        jobs[i].first_item = items;
        items += (int64_t)((jobs[i].patches + YAM_CHUNK - 1) / YAM_CHUNK);
    }
    double *sums = malloc(sizeof(double) * (size_t)items * ES_YAMNET_EMBED_DIM);
    yam_pool pool = {0};
    es_status rc = ES_OK;
    if (!sums)
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory for %lld chunk sums",
                          (long long)items);
    if (rc == ES_OK)
        rc = pool_init(&pool, effective_threads(threads, items), err);
    if (rc == ES_OK) {
        waves_ctx c = {m, &pool, jobs, count, NULL, NULL, sums};
        rc = pool_run(&pool, items, waves_item, &c, err);
    }
    if (rc == ES_OK) {
        for (size_t i = 0; i < count; i++) {
            int64_t nchunks = (int64_t)((jobs[i].patches + YAM_CHUNK - 1) / YAM_CHUNK);
            for (int d = 0; d < ES_YAMNET_EMBED_DIM; d++) {
                double acc = 0.0;
                for (int64_t k = 0; k < nchunks; k++)
                    acc += sums[(size_t)(jobs[i].first_item + k) * ES_YAMNET_EMBED_DIM + d];
                out[i * ES_YAMNET_EMBED_DIM + d] = (float)(acc / (double)jobs[i].patches);
            }
        }
    }
    pool_free(&pool);
    free(sums);
    free(jobs);
    return rc;
}

es_status es_yamnet_embed_mean(const es_yamnet *m, const float *wave, size_t n, int threads,
                               float out[ES_YAMNET_EMBED_DIM], es_error *err)
{
    const float *waves[1] = {wave};
    size_t lens[1] = {n};
    return es_yamnet_embed_mean_batch(m, waves, lens, 1, threads, out, err);
}

void es_yamnet_result_clear(es_yamnet_result *res)
{
    if (!res)
        return;
    free(res->logmel);
    free(res->embeddings);
    free(res->scores);
    memset(res, 0, sizeof *res);
}

es_status es_yamnet_analyze(const es_yamnet *m, const float *wave, size_t n, int threads,
                            int want_logmel, int want_embeddings, int want_scores,
                            es_yamnet_result *res, es_error *err)
{
    memset(res, 0, sizeof *res);
    if (!m || (!wave && n))
        return es_error_set(err, ES_ERR_INVALID, "es_yamnet_analyze: NULL argument");
    if (n == 0)
        return es_error_set(err, ES_ERR_EMPTY, "the waveform holds no samples");
    res->frames = es_yamnet_num_frames(n);
    res->patches = es_yamnet_num_patches(n);
    es_status rc = ES_OK;
    if (want_logmel) {
        res->logmel = malloc(sizeof(float) * res->frames * ES_YAMNET_MEL_BANDS);
        if (!res->logmel) {
            es_yamnet_result_clear(res);
            return es_error_set(err, ES_ERR_NOMEM, "out of memory for the log-mel spectrogram");
        }
        yam_frontend_frames(m->fe, wave, n, 0, res->frames, res->logmel);
    }
    if (!want_embeddings && !want_scores)
        return ES_OK;
    /* Per-patch embeddings are needed for the scores even when not returned. */
    res->embeddings = malloc(sizeof(float) * res->patches * ES_YAMNET_EMBED_DIM);
    if (want_scores)
        res->scores = malloc(sizeof(float) * res->patches * ES_YAMNET_NUM_CLASSES);
    if (!res->embeddings || (want_scores && !res->scores)) {
        es_yamnet_result_clear(res);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for %zu patches", res->patches);
    }
    wave_job job = {wave, n, res->patches, 0};
    int64_t items = (int64_t)((res->patches + YAM_CHUNK - 1) / YAM_CHUNK);
    yam_pool pool = {0};
    rc = pool_init(&pool, effective_threads(threads, items), err);
    if (rc == ES_OK) {
        waves_ctx c = {m, &pool, &job, 1, res->embeddings, res->scores, NULL};
        rc = pool_run(&pool, items, waves_item, &c, err);
    }
    pool_free(&pool);
    if (rc) {
        es_yamnet_result_clear(res);
        return rc;
    }
    if (!want_embeddings) {
        free(res->embeddings);
        res->embeddings = NULL;
    }
    return ES_OK;
}
