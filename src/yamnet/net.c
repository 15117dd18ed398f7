/*
 * net.c: YAMNet's network and the whole waveform -> embeddings/scores path.
 *
 * Work is cut into chunks of up to YAM_CHUNK consecutive patches. A chunk is
 * the unit of batching (the pointwise GEMMs see M = patches x positions rows)
 * and of parallelism (es_parallel_for hands chunks to threads; each thread
 * owns one workspace). Every output row is computed with the same arithmetic
 * whatever its neighbours, so per-patch results do not depend on the chunk
 * size; means are summed per patch in a fixed order, so they are
 * bit-identical for any `threads`. Chunks compute their own log-mel frames
 * straight from the waveform, so memory stays bounded for long recordings
 * and the front end runs in parallel too. Mean embeddings of many waveforms
 * run in rounds of up to YAM_ROUND patches, chunks crossing file boundaries,
 * so short files batch together.
 *
 * Workspaces: every call needs per-thread buffers (~1 MB for one patch, ~4 MB
 * for a 16-patch chunk) plus the round's embeddings. A caller may hold them
 * in an es_yamnet_ws and pass it to every call (the server's request threads
 * each keep one); it grows to the largest call seen and is reused as is.
 * Without one, each call makes a temporary workspace and frees it.
 */
#include "yamnet_internal.h"
#include "frontend.h"

#include "ecosight/nn_conv.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define YAM_CHUNK 16
#define YAM_ROUND 256
/* Largest activation of one patch: layer 2's pointwise output, 48x32x64. */
#define YAM_ACT_FLOATS (48 * 32 * 64)
/* Largest per-patch activation of the deep stage: layer 7's input, 12x8x256. */
#define YAM_DEEP_FLOATS (12 * 8 * 256)

typedef struct yam_ws {
    float *a, *b;     /* ping-pong activations: one early patch, then the deep chunk */
    float *frames;    /* log-mel of one chunk [(chunk-1)*48+96, 64] */
    float *patches;   /* [YAM_CHUNK, 96, 64] */
    float *emb;       /* [YAM_CHUNK, 1024] */
    float *gemm;      /* GEMM scratch [ES_CONV_PW_SCRATCH_FLOATS] */
    double *fft;      /* front-end FFT buffer [YAM_FFT_BUF] (es_fftd_alloc) */
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
    es_yam_aligned_free(w->gemm);
    es_fftd_free_buf(w->fft);
    memset(w, 0, sizeof *w);
}

/* A workspace for chunks of up to `chunk` patches (sized to the call, so a
 * one-patch call does not touch megabytes it will not use). */
static es_status ws_init(yam_ws *w, size_t chunk, es_error *err)
{
    size_t frames = (chunk - 1) * ES_YAMNET_PATCH_HOP + ES_YAMNET_PATCH_FRAMES;
    memset(w, 0, sizeof *w);
    w->a = es_yam_aligned_alloc(sizeof(float) * (YAM_ACT_FLOATS + chunk * YAM_DEEP_FLOATS));
    w->b = es_yam_aligned_alloc(sizeof(float) * (YAM_ACT_FLOATS + chunk * YAM_DEEP_FLOATS));
    w->frames = es_yam_aligned_alloc(sizeof(float) * frames * ES_YAMNET_MEL_BANDS);
    w->patches = es_yam_aligned_alloc(sizeof(float) * chunk * ES_YAMNET_PATCH_FLOATS);
    w->emb = es_yam_aligned_alloc(sizeof(float) * chunk * ES_YAMNET_EMBED_DIM);
    w->gemm = es_yam_aligned_alloc(sizeof(float) * ES_CONV_PW_SCRATCH_FLOATS);
    w->fft = es_fftd_alloc(YAM_FFT_BUF);
    if (!w->a || !w->b || !w->frames || !w->patches || !w->emb || !w->gemm || !w->fft) {
        ws_free(w);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for a YAMNet workspace");
    }
    return ES_OK;
}

/* Layers [0, YAM_EARLY) run one patch at a time: their activations (up to
 * 384 KB a patch) then stay in L2 and their GEMMs already have M >= 96
 * rows. The deeper layers, whose weights dominate and whose M per patch is
 * 24 or 6, run on the whole chunk at once so each weight is used by more
 * rows per load. */
#define YAM_EARLY 5

/* A pointwise layer on the caller's thread. One patch is never shared between
 * two threads: splitting each layer's output columns (thread start ~18 us, 14
 * layers a patch) and a persistent spinning helper both measured slower than
 * one thread (docs/YAMNET.md); parallelism comes from chunks of patches. */
static void pointwise(yam_ws *w, float *out, const float *in, const float *packed,
                      const float *bias, int64_t M, int K, int N)
{
    es_conv_pointwise_forward(out, in, packed, bias, M, K, N, 1, w->gemm);
}

static void layer_forward(const yam_layer *L, yam_ws *w, float *tmp, float *io, int np)
{
    es_conv_depthwise3x3_forward(tmp, io, L->dw_w, L->dw_b, np, L->h_in, L->w_in, L->cin,
                                 L->stride, 1);
    pointwise(w, io, tmp, L->pw_packed, L->pw_b, (int64_t)np * L->h_out * L->w_out, L->cin,
              L->cout);
}

/* The network on np <= YAM_CHUNK patches: embeddings [np, 1024]. */
static void net_forward(const es_yamnet *m, yam_ws *w, const float *patches, int np, float *emb)
{
    float *a = w->a, *b = w->b;
    float *deep_a = w->a + YAM_ACT_FLOATS, *deep_b = w->b + YAM_ACT_FLOATS;
    const yam_layer *E = &m->layers[YAM_EARLY - 1];
    size_t early_out = (size_t)E->h_out * E->w_out * E->cout;
    for (int p = 0; p < np; p++) {
        es_conv2d_forward(a, patches + (size_t)p * ES_YAMNET_PATCH_FLOATS, m->conv1_w,
                          m->conv1_b, 1, ES_YAMNET_PATCH_FRAMES, ES_YAMNET_MEL_BANDS, 1,
                          YAM_CONV1_OUT, 3, 3, 2, 1);
        for (int l = 0; l + 1 < YAM_EARLY; l++)
            layer_forward(&m->layers[l], w, b, a, 1);
        /* The last early layer writes straight into the patch's deep slot. */
        es_conv_depthwise3x3_forward(b, a, E->dw_w, E->dw_b, 1, E->h_in, E->w_in, E->cin,
                                     E->stride, 1);
        pointwise(w, deep_a + (size_t)p * early_out, b, E->pw_packed, E->pw_b,
                  (int64_t)E->h_out * E->w_out, E->cin, E->cout);
    }
    for (int l = YAM_EARLY; l < YAM_LAYERS; l++)
        layer_forward(&m->layers[l], w, deep_b, deep_a, np);
    /* Global mean over the final 3x2 grid. */
    const int pos = 3 * 2;
    for (int p = 0; p < np; p++) {
        const float *x = deep_a + (size_t)p * pos * ES_YAMNET_EMBED_DIM;
        float *e = emb + (size_t)p * ES_YAMNET_EMBED_DIM;
        for (int c = 0; c < ES_YAMNET_EMBED_DIM; c++) {
            float s = 0.0f;
            for (int q = 0; q < pos; q++)
                s += x[q * ES_YAMNET_EMBED_DIM + c];
            e[c] = s / (float)pos;
        }
    }
}

static void classify(const es_yamnet *m, yam_ws *w, const float *emb, int np, float *scores)
{
    if (m->fc_q)
        es_conv_pw_q8_forward(scores, emb, m->fc_q, m->fc_scale, m->fc_b, np, ES_YAMNET_EMBED_DIM,
                              ES_YAMNET_NUM_CLASSES, 0);
    else
        es_conv_pointwise_forward(scores, emb, m->fc_packed, m->fc_b, np, ES_YAMNET_EMBED_DIM,
                                  ES_YAMNET_NUM_CLASSES, 0, w->gemm);
    for (size_t i = 0; i < (size_t)np * ES_YAMNET_NUM_CLASSES; i++)
        scores[i] = 1.0f / (1.0f + expf(-scores[i]));
}

/* ---- workspaces for a parallel run ---- */

typedef struct yam_pool {
    int threads;     /* this call's threads */
    size_t chunk;    /* this call's workspaces hold chunks of up to this many patches */
    int cap_threads; /* workspaces allocated ... */
    size_t cap_chunk; /* ... and the chunk they are sized for */
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

/* Patches per chunk: at most YAM_CHUNK, fewer when that keeps every thread busy. */
static size_t chunk_size(size_t patches, int threads)
{
    if (threads <= 0)
        threads = es_cpu_count();
    size_t c = (patches + (size_t)threads - 1) / (size_t)threads;
    return c < 1 ? 1 : c > YAM_CHUNK ? YAM_CHUNK : c;
}

static void pool_free(yam_pool *p)
{
    if (p->ws) {
        for (int t = 0; t < p->cap_threads; t++)
            ws_free(&p->ws[t]);
        free(p->ws);
    }
    memset(p, 0, sizeof *p);
}

/* Make the pool ready for `threads` workspaces of `chunk` patches, reusing
 * what it holds when that is big enough. */
static es_status pool_reserve(yam_pool *p, int threads, size_t chunk, es_error *err)
{
    if (!p->ws || threads > p->cap_threads || chunk > p->cap_chunk) {
        int nt = threads > p->cap_threads ? threads : p->cap_threads;
        size_t nc = chunk > p->cap_chunk ? chunk : p->cap_chunk;
        pool_free(p);
        p->ws = calloc((size_t)nt, sizeof *p->ws);
        if (!p->ws)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        p->cap_threads = nt;
        p->cap_chunk = nc;
        for (int t = 0; t < nt; t++) {
            es_status rc = ws_init(&p->ws[t], nc, err);
            if (rc) {
                pool_free(p);
                return rc;
            }
        }
    }
    p->threads = threads;
    p->chunk = chunk;
    return ES_OK;
}

/* ---- the caller-held workspace ---- */

typedef struct wave_job {
    const float *wave;
    size_t n;
    size_t patches;
    size_t first; /* global index of its first patch */
} wave_job;

struct es_yamnet_ws {
    atomic_flag busy; /* set while a call uses it: catches sharing between threads */
    yam_pool pool;
    float *emb;       /* a round's embeddings [emb_cap, 1024] */
    size_t emb_cap;
    double *sum;      /* [1024] */
    wave_job *jobs;
    size_t jobs_cap;
};

static void yws_release(es_yamnet_ws *w)
{
    pool_free(&w->pool);
    es_yam_aligned_free(w->emb);
    free(w->sum);
    free(w->jobs);
    w->emb = NULL;
    w->sum = NULL;
    w->jobs = NULL;
    w->emb_cap = w->jobs_cap = 0;
}

es_status es_yamnet_ws_new(es_yamnet_ws **out, es_error *err)
{
    es_yamnet_ws *w = calloc(1, sizeof *w);
    if (!w)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for a YAMNet workspace");
    atomic_flag_clear(&w->busy);
    *out = w;
    return ES_OK;
}

void es_yamnet_ws_free(es_yamnet_ws *w)
{
    if (!w)
        return;
    yws_release(w);
    free(w);
}

/* The workspace of a call: the caller's (marked busy) or `local` (zeroed). */
static es_status yws_acquire(es_yamnet_ws *ws, es_yamnet_ws *local, es_yamnet_ws **w,
                             es_error *err)
{
    if (!ws) {
        memset(local, 0, sizeof *local);
        *w = local;
        return ES_OK;
    }
    if (atomic_flag_test_and_set(&ws->busy))
        return es_error_set(err, ES_ERR_INVALID,
                            "a YAMNet workspace is in use by another call (one per thread)");
    *w = ws;
    return ES_OK;
}

static void yws_done(es_yamnet_ws *ws, es_yamnet_ws *local)
{
    if (ws)
        atomic_flag_clear(&ws->busy);
    else
        yws_release(local);
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
    size_t count, chunk;
    float *emb, *scores;
} run_patches_ctx;

static es_status run_patches_item(void *vctx, int64_t i, int t, es_error *err)
{
    (void)err;
    run_patches_ctx *c = vctx;
    yam_ws *w = &c->pool->ws[t];
    size_t p0 = (size_t)i * c->chunk;
    int np = c->count - p0 < c->chunk ? (int)(c->count - p0) : (int)c->chunk;
    float *emb = c->emb ? c->emb + p0 * ES_YAMNET_EMBED_DIM : w->emb;
    net_forward(c->m, w, c->patches + p0 * ES_YAMNET_PATCH_FLOATS, np, emb);
    if (c->scores)
        classify(c->m, w, emb, np, c->scores + p0 * ES_YAMNET_NUM_CLASSES);
    return ES_OK;
}

es_status es_yamnet_run_patches_ws(const es_yamnet *m, es_yamnet_ws *ws, const float *patches,
                                   size_t count, int threads, float *embeddings, float *scores,
                                   es_error *err)
{
    if (!m || (!patches && count))
        return es_error_set(err, ES_ERR_INVALID, "es_yamnet_run_patches: NULL argument");
    if (count == 0)
        return ES_OK;
    size_t chunk = chunk_size(count, threads);
    int64_t items = (int64_t)((count + chunk - 1) / chunk);
    es_yamnet_ws local, *w = NULL;
    es_status rc = yws_acquire(ws, &local, &w, err);
    if (rc)
        return rc;
    rc = pool_reserve(&w->pool, effective_threads(threads, items), chunk, err);
    if (rc == ES_OK) {
        run_patches_ctx c = {m, &w->pool, patches, count, chunk, embeddings, scores};
        rc = pool_run(&w->pool, items, run_patches_item, &c, err);
    }
    yws_done(ws, &local);
    return rc;
}

es_status es_yamnet_run_patches(const es_yamnet *m, const float *patches, size_t count,
                                int threads, float *embeddings, float *scores, es_error *err)
{
    return es_yamnet_run_patches_ws(m, NULL, patches, count, threads, embeddings, scores, err);
}

/* ---- waveforms ---- */

/* Index of the first NaN or infinite sample, or n. A hostile or broken file
 * must give an error, not NaN embeddings that would poison a model or a
 * JSON answer. */
static size_t first_nonfinite(const float *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]))
            return i;
    return n;
}

/* Log-mel frames and patches [p0, p0+np) of one waveform into patches. */
static void wave_patches(const es_yamnet *m, yam_ws *w, const float *wave, size_t n, size_t p0,
                         int np, float *patches)
{
    size_t f0 = p0 * ES_YAMNET_PATCH_HOP;
    size_t nf = (size_t)(np - 1) * ES_YAMNET_PATCH_HOP + ES_YAMNET_PATCH_FRAMES;
    yam_frontend_frames(m->fe, wave, n, f0, nf, w->frames, w->fft);
    es_yamnet_patches_from_logmel(w->frames, nf, patches, (size_t)np);
}

typedef struct waves_ctx {
    const es_yamnet *m;
    yam_pool *pool;
    const wave_job *jobs;
    size_t njobs;
    size_t g0, gcount, chunk; /* this round: global patches [g0, g0+gcount) */
    float *emb;               /* [gcount, 1024] */
    float *scores;            /* [gcount, 521] or NULL */
} waves_ctx;

/* The job holding global patch g (jobs sorted by first). */
static size_t find_job(const wave_job *jobs, size_t njobs, size_t g)
{
    size_t lo = 0, hi = njobs;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (jobs[mid].first <= g)
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
    size_t a = (size_t)item * c->chunk, b = a + c->chunk;
    if (b > c->gcount)
        b = c->gcount;
    /* Patches of the chunk, in runs of consecutive patches of one waveform. */
    size_t k = a;
    while (k < b) {
        size_t g = c->g0 + k;
        const wave_job *j = &c->jobs[find_job(c->jobs, c->njobs, g)];
        size_t p = g - j->first, run = j->patches - p;
        if (run > b - k)
            run = b - k;
        wave_patches(c->m, w, j->wave, j->n, p, (int)run,
                     w->patches + (k - a) * ES_YAMNET_PATCH_FLOATS);
        k += run;
    }
    int np = (int)(b - a);
    float *emb = c->emb + a * ES_YAMNET_EMBED_DIM;
    net_forward(c->m, w, w->patches, np, emb);
    if (c->scores)
        classify(c->m, w, emb, np, c->scores + a * ES_YAMNET_NUM_CLASSES);
    return ES_OK;
}

/* Run global patches [g0, g0+count) of the jobs into emb (and scores). */
static es_status run_round(const es_yamnet *m, yam_pool *pool, const wave_job *jobs,
                           size_t njobs, size_t g0, size_t count, float *emb, float *scores,
                           es_error *err)
{
    size_t chunk = chunk_size(count, pool->threads);
    if (chunk > pool->chunk)
        chunk = pool->chunk;
    waves_ctx c = {m, pool, jobs, njobs, g0, count, chunk, emb, scores};
    return pool_run(pool, (int64_t)((count + chunk - 1) / chunk), waves_item, &c, err);
}

/* Grow the workspace's per-call buffers: count jobs, a round of `round` embeddings. */
static es_status yws_reserve_batch(es_yamnet_ws *w, size_t count, size_t round, es_error *err)
{
    if (count > w->jobs_cap) {
        wave_job *j = realloc(w->jobs, count * sizeof *j);
        if (!j)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory for %zu waveforms", count);
        w->jobs = j;
        w->jobs_cap = count;
    }
    if (round > w->emb_cap) {
        es_yam_aligned_free(w->emb);
        w->emb = es_yam_aligned_alloc(sizeof(float) * round * ES_YAMNET_EMBED_DIM);
        w->emb_cap = w->emb ? round : 0;
        if (!w->emb)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory for %zu embeddings", round);
    }
    if (!w->sum) {
        w->sum = malloc(ES_YAMNET_EMBED_DIM * sizeof *w->sum);
        if (!w->sum)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    return ES_OK;
}

static es_status embed_mean_batch(const es_yamnet *m, es_yamnet_ws *w, const float *const *waves,
                                  const size_t *lens, size_t count, int threads, float *out,
                                  es_error *err)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (lens[i] == 0 || !waves[i])
            return es_error_set(err, ES_ERR_EMPTY, "waveform %zu of %zu holds no samples", i,
                                count);
        size_t bad = first_nonfinite(waves[i], lens[i]);
        if (bad < lens[i])
            return es_error_set(err, ES_ERR_FORMAT,
                                "waveform %zu of %zu: sample %zu is not a finite number", i, count,
                                bad);
        total += es_yamnet_num_patches(lens[i]);
    }
    size_t round = total < YAM_ROUND ? total : YAM_ROUND;
    es_status rc = yws_reserve_batch(w, count, round, err);
    if (rc)
        return rc;
    wave_job *jobs = w->jobs;
    total = 0;
    for (size_t i = 0; i < count; i++) {
        jobs[i].wave = waves[i];
        jobs[i].n = lens[i];
        jobs[i].patches = es_yamnet_num_patches(lens[i]);
        jobs[i].first = total;
        total += jobs[i].patches;
    }
    size_t chunk = chunk_size(round, threads);
    rc = pool_reserve(&w->pool, effective_threads(threads, (int64_t)((round + chunk - 1) / chunk)),
                      chunk, err);
    float *emb = w->emb;
    double *sum = w->sum;
    memset(sum, 0, ES_YAMNET_EMBED_DIM * sizeof *sum);
    /* Rounds of global patches; each patch's embedding is added to its
     * waveform's sum in global order, whatever thread computed it. */
    size_t job = 0;
    for (size_t g0 = 0; rc == ES_OK && g0 < total; g0 += round) {
        size_t n = total - g0 < round ? total - g0 : round;
        rc = run_round(m, &w->pool, jobs, count, g0, n, emb, NULL, err);
        for (size_t k = 0; rc == ES_OK && k < n; k++) {
            size_t g = g0 + k;
            while (g >= jobs[job].first + jobs[job].patches)
                job++;
            const float *e = emb + k * ES_YAMNET_EMBED_DIM;
            for (int d = 0; d < ES_YAMNET_EMBED_DIM; d++)
                sum[d] += e[d];
            if (g + 1 == jobs[job].first + jobs[job].patches) {
                for (int d = 0; d < ES_YAMNET_EMBED_DIM; d++) {
                    out[job * ES_YAMNET_EMBED_DIM + (size_t)d] =
                        (float)(sum[d] / (double)jobs[job].patches);
                    sum[d] = 0.0;
                }
            }
        }
    }
    return rc;
}

es_status es_yamnet_embed_mean_batch_ws(const es_yamnet *m, es_yamnet_ws *ws,
                                        const float *const *waves, const size_t *lens,
                                        size_t count, int threads, float *out, es_error *err)
{
    if (!m || (count && (!waves || !lens || !out)))
        return es_error_set(err, ES_ERR_INVALID, "es_yamnet_embed_mean_batch: NULL argument");
    if (count == 0)
        return ES_OK;
    es_yamnet_ws local, *w = NULL;
    es_status rc = yws_acquire(ws, &local, &w, err);
    if (rc)
        return rc;
    rc = embed_mean_batch(m, w, waves, lens, count, threads, out, err);
    yws_done(ws, &local);
    return rc;
}

es_status es_yamnet_embed_mean_batch(const es_yamnet *m, const float *const *waves,
                                     const size_t *lens, size_t count, int threads, float *out,
                                     es_error *err)
{
    return es_yamnet_embed_mean_batch_ws(m, NULL, waves, lens, count, threads, out, err);
}

es_status es_yamnet_embed_mean_ws(const es_yamnet *m, es_yamnet_ws *ws, const float *wave,
                                  size_t n, int threads, float out[ES_YAMNET_EMBED_DIM],
                                  es_error *err)
{
    const float *waves[1] = {wave};
    size_t lens[1] = {n};
    return es_yamnet_embed_mean_batch_ws(m, ws, waves, lens, 1, threads, out, err);
}

es_status es_yamnet_embed_mean(const es_yamnet *m, const float *wave, size_t n, int threads,
                               float out[ES_YAMNET_EMBED_DIM], es_error *err)
{
    return es_yamnet_embed_mean_ws(m, NULL, wave, n, threads, out, err);
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
    size_t bad = first_nonfinite(wave, n);
    if (bad < n)
        return es_error_set(err, ES_ERR_FORMAT, "sample %zu of the waveform is not a finite number",
                            bad);
    res->frames = es_yamnet_num_frames(n);
    res->patches = es_yamnet_num_patches(n);
    es_status rc = ES_OK;
    if (want_logmel) {
        res->logmel = malloc(sizeof(float) * res->frames * ES_YAMNET_MEL_BANDS);
        double *fft = es_fftd_alloc(YAM_FFT_BUF);
        if (!res->logmel || !fft) {
            es_fftd_free_buf(fft);
            es_yamnet_result_clear(res);
            return es_error_set(err, ES_ERR_NOMEM, "out of memory for the log-mel spectrogram");
        }
        yam_frontend_frames(m->fe, wave, n, 0, res->frames, res->logmel, fft);
        es_fftd_free_buf(fft);
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
    size_t chunk = chunk_size(res->patches, threads);
    yam_pool pool = {0};
    rc = pool_reserve(&pool,
                      effective_threads(threads, (int64_t)((res->patches + chunk - 1) / chunk)),
                      chunk, err);
    if (rc == ES_OK)
        rc = run_round(m, &pool, &job, 1, 0, res->patches, res->embeddings, res->scores, err);
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
