/*
 * test_yamnet_ws.c: the caller-held YAMNet workspace. One workspace reused
 * across calls of growing and shrinking size, on 1 and 2 threads, through
 * every entry point that takes one, gives results bit-identical to the calls
 * without one; one patch on 2 threads (pointwise layers split by column)
 * gives the 1-thread bits; a workspace already in use is refused; under ASan (the
 * sanitizer tree) LeakSanitizer checks that nothing leaks.
 */
#include "testutil.h"

#include "ecosight/audio.h"
#include "ecosight/yamnet.h"

#include <stdlib.h>
#include <string.h>

static float *load(const char *shared, const char *name, size_t *n)
{
    char *path = es_test_path(shared, name);
    es_audio a = {0};
    es_error err;
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = ES_YAMNET_SAMPLE_RATE;
    ES_ASSERT_OK(es_audio_load_file(path, &o, &a, &err), &err);
    free(path);
    *n = (size_t)a.frames;
    return a.samples;
}

static void test_ws_identical(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "reference/mix_10300ms/input.wav");
    const char *s = getenv("ES_SANITIZED");
    int asan = s && strcmp(s, "1") == 0;
    char *mpath = es_test_path(shared, "models/yamnet.tflite");
    es_yamnet *m = NULL;
    es_error err;
    ES_ASSERT_OK(es_yamnet_open(mpath, &m, &err), &err);
    free(mpath);
    size_t n1, n2;
    float *short_w = load(shared, "reference/tone1k_500ms/input.wav", &n1); /* 1 patch */
    /* 21 patches; under ASan a 2-patch case keeps the test fast (still grows the workspace) */
    float *long_w = load(shared, asan ? "reference/chirp_1234ms/input.wav"
                                      : "reference/mix_10300ms/input.wav", &n2);
    es_yamnet_ws *ws = NULL;
    ES_ASSERT_OK(es_yamnet_ws_new(&ws, &err), &err);
    float a[ES_YAMNET_EMBED_DIM], b[ES_YAMNET_EMBED_DIM];
    /* small, large, small again, on 1 and 2 threads: the workspace grows and is reused */
    const float *order[] = {short_w, long_w, short_w, long_w};
    const size_t lens[] = {n1, n2, n1, n2};
    for (int threads = 1; threads <= 2; threads++)
        for (int i = 0; i < 4; i++) {
            ES_ASSERT_OK(es_yamnet_embed_mean(m, order[i], lens[i], threads, a, &err), &err);
            ES_ASSERT_OK(es_yamnet_embed_mean_ws(m, ws, order[i], lens[i], threads, b, &err),
                         &err);
            assert_memory_equal(a, b, sizeof a);
        }
    /* batch of three waveforms (short ones batch together, crossing files) */
    const float *waves[3] = {short_w, long_w, short_w};
    size_t wl[3] = {n1, n2, n1};
    float *ba = malloc(sizeof(float) * 3 * ES_YAMNET_EMBED_DIM);
    float *bb = malloc(sizeof(float) * 3 * ES_YAMNET_EMBED_DIM);
    ES_ASSERT_OK(es_yamnet_embed_mean_batch(m, waves, wl, 3, 2, ba, &err), &err);
    ES_ASSERT_OK(es_yamnet_embed_mean_batch_ws(m, ws, waves, wl, 3, 2, bb, &err), &err);
    assert_memory_equal(ba, bb, sizeof(float) * 3 * ES_YAMNET_EMBED_DIM);
    /* the batch's first row is the short file's own mean */
    ES_ASSERT_OK(es_yamnet_embed_mean_ws(m, ws, short_w, n1, 1, b, &err), &err);
    assert_memory_equal(ba, b, sizeof b);
    /* run_patches with and without, embeddings and scores */
    float *lm = NULL;
    size_t frames = 0;
    ES_ASSERT_OK(es_yamnet_logmel(long_w, n2, &lm, &frames, &err), &err);
    size_t np = es_yamnet_num_patches(n2);
    float *p = malloc(sizeof(float) * np * ES_YAMNET_PATCH_FLOATS);
    assert_int_equal(es_yamnet_patches_from_logmel(lm, frames, p, np), np);
    float *e1 = malloc(sizeof(float) * np * ES_YAMNET_EMBED_DIM);
    float *e2 = malloc(sizeof(float) * np * ES_YAMNET_EMBED_DIM);
    float *s1 = malloc(sizeof(float) * np * ES_YAMNET_NUM_CLASSES);
    float *s2 = malloc(sizeof(float) * np * ES_YAMNET_NUM_CLASSES);
    for (int threads = 1; threads <= 2; threads++) {
        ES_ASSERT_OK(es_yamnet_run_patches(m, p, np, threads, e1, s1, &err), &err);
        ES_ASSERT_OK(es_yamnet_run_patches_ws(m, ws, p, np, threads, e2, s2, &err), &err);
        assert_memory_equal(e1, e2, sizeof(float) * np * ES_YAMNET_EMBED_DIM);
        assert_memory_equal(s1, s2, sizeof(float) * np * ES_YAMNET_NUM_CLASSES);
        ES_ASSERT_OK(es_yamnet_run_patches_ws(m, ws, p, 1, threads, e2, s2, &err), &err);
        assert_memory_equal(e1, e2, sizeof(float) * ES_YAMNET_EMBED_DIM);
        assert_memory_equal(s1, s2, sizeof(float) * ES_YAMNET_NUM_CLASSES);
    }
    /* one patch on 2 threads splits every pointwise layer's columns: the same bits */
    ES_ASSERT_OK(es_yamnet_run_patches(m, p, 1, 1, e1, s1, &err), &err);
    ES_ASSERT_OK(es_yamnet_run_patches(m, p, 1, 2, e2, s2, &err), &err);
    assert_memory_equal(e1, e2, sizeof(float) * ES_YAMNET_EMBED_DIM);
    assert_memory_equal(s1, s2, sizeof(float) * ES_YAMNET_NUM_CLASSES);
    ES_ASSERT_OK(es_yamnet_embed_mean(m, short_w, n1, 1, a, &err), &err);
    ES_ASSERT_OK(es_yamnet_embed_mean_ws(m, ws, short_w, n1, 0, b, &err), &err);
    assert_memory_equal(a, b, sizeof a);
    /* errors leave the workspace usable */
    assert_int_equal(es_yamnet_embed_mean_ws(m, ws, short_w, 0, 1, b, &err), ES_ERR_EMPTY);
    ES_ASSERT_OK(es_yamnet_embed_mean_ws(m, ws, long_w, n2, 1, b, &err), &err);
    ES_ASSERT_OK(es_yamnet_embed_mean(m, long_w, n2, 1, a, &err), &err);
    assert_memory_equal(a, b, sizeof a);
    es_yamnet_ws_free(ws);
    es_yamnet_ws_free(NULL);
    free(lm);
    free(p);
    free(e1);
    free(e2);
    free(s1);
    free(s2);
    free(ba);
    free(bb);
    free(short_w);
    free(long_w);
    es_yamnet_free(m);
}

typedef struct busy_ctx {
    const es_yamnet *m;
    es_yamnet_ws *ws;
    const float *w;
    size_t n;
    int refused, ok;
} busy_ctx;

/* Two threads on one workspace: every call either runs or is refused with
 * ES_ERR_INVALID (never both at once on the same buffers). */
static es_status busy_item(void *vctx, int64_t i, int t, es_error *err)
{
    (void)i;
    (void)t;
    busy_ctx *c = vctx;
    float e[ES_YAMNET_EMBED_DIM];
    es_error my;
    es_status rc = es_yamnet_embed_mean_ws(c->m, c->ws, c->w, c->n, 1, e, &my);
    if (rc == ES_ERR_INVALID)
        __atomic_add_fetch(&c->refused, 1, __ATOMIC_RELAXED);
    else if (rc == ES_OK)
        __atomic_add_fetch(&c->ok, 1, __ATOMIC_RELAXED);
    else
        return es_error_set(err, rc, "%s", es_error_text(&my));
    return ES_OK;
}

static void test_ws_shared_refused(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "reference/tone1k_500ms/input.wav");
    char *mpath = es_test_path(shared, "models/yamnet.tflite");
    es_yamnet *m = NULL;
    es_error err;
    ES_ASSERT_OK(es_yamnet_open(mpath, &m, &err), &err);
    free(mpath);
    size_t n;
    float *w = load(shared, "reference/tone1k_500ms/input.wav", &n);
    busy_ctx c = {m, NULL, w, n, 0, 0};
    ES_ASSERT_OK(es_yamnet_ws_new(&c.ws, &err), &err);
    ES_ASSERT_OK(es_parallel_for(2, 8, busy_item, &c, &err), &err);
    assert_int_equal(c.ok + c.refused, 8);
    assert_true(c.ok >= 1);
    es_yamnet_ws_free(c.ws);
    free(w);
    es_yamnet_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_identical),
        cmocka_unit_test(test_ws_shared_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
