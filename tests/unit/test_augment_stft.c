/*
 * test_augment_stft.c: the STFT/ISTFT pair the augmentations stand on
 * (src/dsp/stft.c): librosa's frame count and centring, Parseval on a frame,
 * perfect reconstruction for several lengths and geometries, and istft's
 * length handling (cut, and zero beyond what the frames cover).
 */
#include "testutil.h"

#include "ecosight/dsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *signal(size_t n, uint64_t seed)
{
    float *x = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(x);
    es_rng r;
    es_rng_init(&r, seed, NULL, 0, "stft");
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.4 * es_rng_normal(&r));
    return x;
}

static void test_geometry(void **state)
{
    (void)state;
    es_error err;
    es_stft *s;
    ES_ASSERT_OK(es_stft_new(2048, 512, &s, &err), &err);
    assert_int_equal(es_stft_bins(s), 1025);
    /* librosa: 1 + len // hop frames with center=True */
    assert_int_equal(es_stft_num_frames(s, 0), 1);
    assert_int_equal(es_stft_num_frames(s, 511), 1);
    assert_int_equal(es_stft_num_frames(s, 512), 2);
    assert_int_equal(es_stft_num_frames(s, 32000), 63);
    es_stft_free(s);
    assert_int_equal(es_stft_new(2047, 512, &s, &err), ES_ERR_INVALID);
    assert_int_equal(es_stft_new(2048, 0, &s, &err), ES_ERR_INVALID);
    es_stft_free(NULL);
}

/* Frame t is centred on sample t*hop: an impulse there gives a flat
 * magnitude equal to the window's peak (1) and zero phase slope. */
static void test_centring(void **state)
{
    (void)state;
    es_error err;
    es_stft *s;
    ES_ASSERT_OK(es_stft_new(2048, 512, &s, &err), &err);
    size_t n = 5000;
    float *x = calloc(n, sizeof(float));
    assert_non_null(x);
    x[3 * 512] = 1.0f;
    float *scratch = es_fft_alloc(2048), *spec = es_fft_alloc(2 * 1025);
    es_stft_frame(s, x, (int64_t)n, 3, scratch, spec);
    for (int k = 0; k < 1025; k++) {
        double m = hypot(spec[2 * k], spec[2 * k + 1]);
        assert_true(fabs(m - 1.0) < 1e-6);
        /* centre of the frame is index 1024: phase = -2 pi k 1024 / 2048 = k pi */
        assert_true(fabs(spec[2 * k + 1]) < 1e-5);
        assert_true(fabs(spec[2 * k] - ((k % 2) ? -1.0 : 1.0)) < 1e-5);
    }
    es_fft_free_buf(scratch);
    es_fft_free_buf(spec);
    free(x);
    es_stft_free(s);
}

static void test_roundtrip(void **state)
{
    (void)state;
    int geo[][2] = {{2048, 512}, {512, 128}, {400, 100}};
    size_t lens[] = {1, 100, 2047, 2048, 2049, 12345, 32000};
    for (size_t g = 0; g < 3; g++) {
        es_error err;
        es_stft *s;
        ES_ASSERT_OK(es_stft_new(geo[g][0], geo[g][1], &s, &err), &err);
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            size_t n = lens[l];
            float *x = signal(n, n), *spec, *y = malloc(n * sizeof(float));
            int64_t frames;
            assert_non_null(y);
            ES_ASSERT_OK(es_stft_forward(s, x, (int64_t)n, &spec, &frames, &err), &err);
            assert_int_equal(frames, es_stft_num_frames(s, (int64_t)n));
            ES_ASSERT_OK(es_istft(s, spec, frames, (int64_t)n, y, &err), &err);
            double maxd = 0;
            for (size_t i = 0; i < n; i++)
                maxd = fmax(maxd, fabs((double)y[i] - x[i]));
            if (maxd >= 1e-5)
                fail_msg("n_fft %d hop %d len %zu: max error %g", geo[g][0], geo[g][1], n, maxd);
            es_fft_free_buf(spec);
            free(x);
            free(y);
        }
        es_stft_free(s);
    }
}

/* istft(length) longer than the frames cover: the tail is zero; shorter:
 * a prefix of the full reconstruction. */
static void test_istft_length(void **state)
{
    (void)state;
    es_error err;
    es_stft *s;
    ES_ASSERT_OK(es_stft_new(512, 128, &s, &err), &err);
    size_t n = 3000;
    float *x = signal(n, 5), *spec;
    int64_t frames;
    ES_ASSERT_OK(es_stft_forward(s, x, (int64_t)n, &spec, &frames, &err), &err);
    size_t longer = n + 2000;
    float *y = malloc(longer * sizeof(float));
    ES_ASSERT_OK(es_istft(s, spec, frames, (int64_t)longer, y, &err), &err);
    /* frames cover up to (frames - 1) * hop + n_fft/2 in signal time */
    size_t covered = (size_t)(frames - 1) * 128 + 256;
    for (size_t i = covered; i < longer; i++)
        assert_true(y[i] == 0.0f);
    for (size_t i = 0; i < n; i++)
        assert_true(fabs((double)y[i] - x[i]) < 1e-5);
    float *z = malloc(1000 * sizeof(float));
    ES_ASSERT_OK(es_istft(s, spec, frames, 1000, z, &err), &err);
    for (size_t i = 0; i < 1000; i++)
        assert_true(fabs((double)z[i] - x[i]) < 1e-5);
    free(z);
    free(y);
    free(x);
    es_fft_free_buf(spec);
    es_stft_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_centring),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_istft_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
