/*
 * test_yamnet_reference.c: YAMNet against ../shared/reference (computed by
 * TensorFlow in float64): frame and patch counts equal, log-mel max abs
 * difference <= 1e-3, per-patch embedding cosine >= 0.9999, score max abs
 * difference <= 1e-3. Also: the mean embedding equals the mean of the
 * per-patch embeddings, and results do not depend on the thread count.
 * Under the sanitizers (ES_SANITIZED=1) only the shorter cases run.
 */
#include "testutil.h"

#include "ecosight/audio.h"
#include "ecosight/nn_conv.h"
#include "ecosight/yamnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *cases[] = {"tone1k_500ms", "speech_975ms", "chirp_1234ms", "zeros_3s",
                              "sine440_3s", "noise_3s_seed51773", "mix_10300ms"};
#define NCASES (sizeof cases / sizeof cases[0])

static int sanitized(void)
{
    const char *s = getenv("ES_SANITIZED");
    return s && strcmp(s, "1") == 0;
}

static float *read_f32(const char *dir, const char *name, size_t *count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = NULL;
    size_t len = 0;
    es_error err;
    ES_ASSERT_OK(es_read_file(path, 64u << 20, &data, &len, &err), &err);
    assert_int_equal(len % 4, 0);
    *count = len / 4;
    return (float *)data;
}

static es_yamnet *open_model(const char *shared)
{
    char *path = es_test_path(shared, "models/yamnet.tflite");
    es_yamnet *m = NULL;
    es_error err;
    ES_ASSERT_OK(es_yamnet_open(path, &m, &err), &err);
    free(path);
    return m;
}

/* All cases with the CPU's best kernels; with the AVX2 and portable C ones
 * (forced through ECOSIGHT_ISA) a subset, so every path is checked here. */
static void check_reference_cases(const char *isa, size_t first, size_t ncases)
{
    ES_TEST_SHARED_OR_SKIP(shared, "reference/sine440_3s/input.wav");
    if (isa)
        setenv("ECOSIGHT_ISA", isa, 1);
    else
        unsetenv("ECOSIGHT_ISA");
    printf("kernels: %s\n", es_conv_kernel_name());
    es_yamnet *m = open_model(shared);
    assert_string_equal(es_yamnet_sha256(m),
                        "469be6a3421cbc52cf97e9f2f966cba984198e8e7af9854d68b3e3ebb1e04194");
    for (size_t ci = first; ci < first + ncases && ci < NCASES; ci++) {
        char dir[4096], wav[4200];
        snprintf(dir, sizeof dir, "%s/reference/%s", shared, cases[ci]);
        snprintf(wav, sizeof wav, "%s/input.wav", dir);
        es_audio a = {0};
        es_error err;
        es_audio_load_opts o = es_audio_load_default_opts();
        ES_ASSERT_OK(es_audio_load_file(wav, &o, &a, &err), &err);
        assert_int_equal(a.sample_rate, ES_YAMNET_SAMPLE_RATE);
        size_t nl, ne, ns;
        float *rl = read_f32(dir, "logmel.f32", &nl);
        float *re = read_f32(dir, "embeddings.f32", &ne);
        float *rs = read_f32(dir, "scores.f32", &ns);

        es_yamnet_result r;
        ES_ASSERT_OK(es_yamnet_analyze(m, a.samples, (size_t)a.frames, 1, 1, 1, 1, &r, &err), &err);
        assert_int_equal(r.frames * ES_YAMNET_MEL_BANDS, nl);
        assert_int_equal(r.patches * ES_YAMNET_EMBED_DIM, ne);
        assert_int_equal(r.patches * ES_YAMNET_NUM_CLASSES, ns);
        assert_int_equal(r.frames, es_yamnet_num_frames((size_t)a.frames));

        double dl = 0, ds = 0, cmin = 1;
        for (size_t i = 0; i < nl; i++)
            dl = fmax(dl, fabs((double)r.logmel[i] - rl[i]));
        for (size_t i = 0; i < ns; i++)
            ds = fmax(ds, fabs((double)r.scores[i] - rs[i]));
        for (size_t p = 0; p < r.patches; p++) {
            double dot = 0, na = 0, nb = 0;
            for (size_t d = 0; d < ES_YAMNET_EMBED_DIM; d++) {
                double x = r.embeddings[p * ES_YAMNET_EMBED_DIM + d];
                double y = re[p * ES_YAMNET_EMBED_DIM + d];
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            double cs = (na == 0 && nb == 0) ? 1.0 : dot / sqrt(na * nb + 1e-300);
            cmin = fmin(cmin, cs);
        }
        printf("%-20s frames %4zu patches %2zu  logmel maxdiff %.2e  emb min cos %.7f  score "
               "maxdiff %.2e\n",
               cases[ci], r.frames, r.patches, dl, cmin, ds);
        assert_true(dl <= 1e-3);
        assert_true(cmin >= 0.9999);
        assert_true(ds <= 1e-3);

        /* The mean embedding: the average of the per-patch ones, and the same
         * for 1 and 2 threads (bit for bit). */
        float mean1[ES_YAMNET_EMBED_DIM], mean2[ES_YAMNET_EMBED_DIM];
        ES_ASSERT_OK(es_yamnet_embed_mean(m, a.samples, (size_t)a.frames, 1, mean1, &err), &err);
        ES_ASSERT_OK(es_yamnet_embed_mean(m, a.samples, (size_t)a.frames, 2, mean2, &err), &err);
        assert_memory_equal(mean1, mean2, sizeof mean1);
        for (size_t d = 0; d < ES_YAMNET_EMBED_DIM; d++) {
            double s = 0;
            for (size_t p = 0; p < r.patches; p++)
                s += r.embeddings[p * ES_YAMNET_EMBED_DIM + d];
            assert_true(fabs(s / (double)r.patches - mean1[d]) <= 1e-5 * (1 + fabs(mean1[d])));
        }
        es_yamnet_result_clear(&r);
        free(rl);
        free(re);
        free(rs);
        es_audio_clear(&a);
    }
    es_yamnet_free(m);
    unsetenv("ECOSIGHT_ISA");
}

static void test_reference_cases(void **state)
{
    (void)state;
    check_reference_cases(NULL, 0, sanitized() ? 3 : NCASES);
}

static void test_reference_avx2(void **state)
{
    (void)state;
    check_reference_cases("avx2", sanitized() ? 0 : 2, sanitized() ? 1 : 3);
}

static void test_reference_generic(void **state)
{
    (void)state;
    check_reference_cases("generic", sanitized() ? 0 : 1, sanitized() ? 1 : 2);
}

/* Batched means equal one-at-a-time means, whatever the threads. */
static void test_batch_matches_single(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "models/yamnet.tflite");
    es_yamnet *m = open_model(shared);
    size_t lens[3] = {8000, 40000, sanitized() ? 20000 : 100000};
    float *w[3];
    es_rng rng;
    es_rng_init(&rng, 7, NULL, 0, "yamnet-batch");
    for (int i = 0; i < 3; i++) {
        w[i] = malloc(sizeof(float) * lens[i]);
        assert_non_null(w[i]);
        for (size_t k = 0; k < lens[i]; k++)
            w[i][k] = (float)(0.3 * sin(0.01 * (double)k * (i + 1)) + 0.05 * es_rng_normal(&rng));
    }
    float *batch = malloc(sizeof(float) * 3 * ES_YAMNET_EMBED_DIM);
    es_error err;
    ES_ASSERT_OK(es_yamnet_embed_mean_batch(m, (const float *const *)w, lens, 3, 2, batch, &err),
                 &err);
    for (int i = 0; i < 3; i++) {
        float one[ES_YAMNET_EMBED_DIM];
        ES_ASSERT_OK(es_yamnet_embed_mean(m, w[i], lens[i], 1, one, &err), &err);
        assert_memory_equal(one, batch + (size_t)i * ES_YAMNET_EMBED_DIM, sizeof one);
    }
    /* An empty waveform is an error, not a silent zero vector; so is a NaN or
     * an infinity (it would make NaN embeddings). */
    float one[ES_YAMNET_EMBED_DIM];
    assert_int_equal(es_yamnet_embed_mean(m, w[0], 0, 1, one, &err), ES_ERR_EMPTY);
    w[1][777] = NAN;
    assert_int_equal(es_yamnet_embed_mean(m, w[1], lens[1], 1, one, &err), ES_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "777"));
    w[1][777] = INFINITY;
    es_yamnet_result res;
    assert_int_equal(es_yamnet_analyze(m, w[1], lens[1], 1, 1, 1, 1, &res, &err), ES_ERR_FORMAT);
    for (int i = 0; i < 3; i++)
        free(w[i]);
    free(batch);
    es_yamnet_free(m);
}

/* One shared model, several threads calling at once: each gets exactly what
 * it gets alone (the model is read-only, scratch is per call). */
typedef struct conc_ctx {
    const es_yamnet *m;
    float *waves[4];
    size_t len;
    float out[4][ES_YAMNET_EMBED_DIM];
} conc_ctx;

static es_status conc_item(void *vctx, int64_t i, int t, es_error *err)
{
    (void)t;
    conc_ctx *c = vctx;
    return es_yamnet_embed_mean(c->m, c->waves[i], c->len, 1, c->out[i], err);
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "models/yamnet.tflite");
    es_yamnet *m = open_model(shared);
    conc_ctx *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->m = m;
    c->len = 20000;
    for (int i = 0; i < 4; i++) {
        c->waves[i] = malloc(sizeof(float) * c->len);
        assert_non_null(c->waves[i]);
        for (size_t k = 0; k < c->len; k++)
            c->waves[i][k] = (float)(0.4 * sin(0.003 * (double)k * (i + 2)));
    }
    es_error err;
    ES_ASSERT_OK(es_parallel_for(4, 4, conc_item, c, &err), &err);
    for (int i = 0; i < 4; i++) {
        float alone[ES_YAMNET_EMBED_DIM];
        ES_ASSERT_OK(es_yamnet_embed_mean(m, c->waves[i], c->len, 1, alone, &err), &err);
        assert_memory_equal(alone, c->out[i], sizeof alone);
        free(c->waves[i]);
    }
    free(c);
    es_yamnet_free(m);
}

static void test_padding_counts(void **state)
{
    (void)state;
    assert_int_equal(es_yamnet_padded_len(1), 15600);
    assert_int_equal(es_yamnet_padded_len(15600), 15600);
    assert_int_equal(es_yamnet_padded_len(15601), 15600 + 7680);
    assert_int_equal(es_yamnet_padded_len(48000), 54000);
    assert_int_equal(es_yamnet_num_frames(15600), 96);
    assert_int_equal(es_yamnet_num_patches(15600), 1);
    assert_int_equal(es_yamnet_num_frames(48000), 336);
    assert_int_equal(es_yamnet_num_patches(48000), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding_counts),
        cmocka_unit_test(test_reference_cases),
        cmocka_unit_test(test_reference_avx2),
        cmocka_unit_test(test_reference_generic),
        cmocka_unit_test(test_batch_matches_single),
        cmocka_unit_test(test_concurrent_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
