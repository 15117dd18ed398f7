/*
 * test_augment_portable.c: the augmentations' outputs must be the same bits on
 * every x86-64 machine. Checked here: the exact-ops log agrees with libm's to
 * a few ulp; the polar-method noise has the right distribution (mean, sd,
 * kurtosis, tail fractions); and a known-answer test: the SHA-256 of each of
 * the 11 outputs for a synthetic input built from exact integer/float
 * operations (no libm), pinned from runs on an AVX-512+FMA CPU and on
 * emulated Nehalem (SSE4.2) and baseline x86-64 CPUs (qemu-user), which
 * agreed bit for bit. A machine, compiler or library version that computes
 * any bit differently fails here. The pins change only together with
 * ES_AUG_VERSION (a deliberate change of the outputs).
 */
#include "testutil.h"

#include "augment/noise.h"
#include "ecosight/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SR 16000

static int sanitized(void)
{
    const char *s = getenv("ES_SANITIZED");
    return s && strcmp(s, "1") == 0;
}

static void test_exact_log(void **state)
{
    (void)state;
    double worst = 0;
    es_rng r;
    es_rng_init(&r, 1, NULL, 0, "log");
    for (int i = 0; i < 200000; i++) {
        /* (0, 1] as the polar method uses it, plus values far outside */
        double x = i < 100000 ? 1.0 - es_rng_uniform(&r) : ldexp(1.0 - es_rng_uniform(&r), i % 200 - 100);
        double a = es_aug_exact_log(x), b = log(x);
        double ulp = b == 0.0 ? 0x1p-1074 : fabs(b) * 0x1p-52;
        double e = fabs(a - b) / ulp;
        if (e > worst)
            worst = e;
        if (b == 0.0)
            assert_true(a == 0.0);
    }
    print_message("exact log: worst %.2f ulp of libm's log\n", worst);
    assert_true(worst <= 4.0);
    assert_true(es_aug_exact_log(1.0) == 0.0);
    assert_true(fabs(es_aug_exact_log(2.0) - M_LN2) <= 2e-16);
    assert_true(fabs(es_aug_exact_log(0x1p-53) + 53.0 * M_LN2) <= 1e-13);
}

static void test_noise_distribution(void **state)
{
    (void)state;
    size_t n = sanitized() ? 200000 : 2000000;
    float *y = calloc(n, sizeof(float));
    assert_non_null(y);
    uint8_t key[32] = {7};
    const double sigma = 0.005;
    es_aug_add_noise(y, n, sigma, 99, key, "noise_medium");
    double s1 = 0, s2 = 0, s4 = 0;
    size_t over[4] = {0};
    for (size_t i = 0; i < n; i++) {
        double z = (double)y[i] / sigma;
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
        for (int k = 1; k <= 3; k++)
            over[k] += fabs(z) > k;
    }
    double mean = s1 / n, var = s2 / n - mean * mean, kurt = (s4 / n) / (var * var);
    print_message("polar noise n=%zu: mean %.2e sd %.5f kurtosis %.4f tails %.5f %.5f %.6f\n", n,
                  mean, sqrt(var), kurt, (double)over[1] / n, (double)over[2] / n,
                  (double)over[3] / n);
    /* 5-sigma bounds of the estimators */
    assert_true(fabs(mean) <= 5.0 / sqrt((double)n));
    assert_true(fabs(sqrt(var) - 1.0) <= 5.0 * sqrt(0.5 / (double)n));
    assert_true(fabs(sqrt(var) - 1.0) <= 0.03);
    assert_true(fabs(kurt - 3.0) <= 5.0 * sqrt(24.0 / (double)n));
    const double p[4] = {0, 0.31731050786291415, 0.04550026389635842, 0.0026997960632601866};
    for (int k = 1; k <= 3; k++) {
        double f = (double)over[k] / n, sd = sqrt(p[k] * (1 - p[k]) / (double)n);
        assert_true(fabs(f - p[k]) <= 5.0 * sd);
    }
    free(y);
}

/* 1.5 s at 16 kHz from exact operations only: a 432.4 Hz triangle (period 37),
 * a quieter 1.6 kHz square (period 10), LCG noise, a linear fade-in. */
static float *synthetic(size_t n)
{
    float *x = malloc(n * sizeof(float));
    assert_non_null(x);
    uint32_t lcg = 12345u;
    for (size_t i = 0; i < n; i++) {
        int ph = (int)(i % 37);
        float tri = (float)(ph < 18 ? ph : 36 - ph) / 18.0f * 2.0f - 1.0f;
        float sq = (i % 10) < 5 ? 0.1f : -0.1f;
        lcg = lcg * 1664525u + 1013904223u;
        float nz = (float)((int32_t)(lcg >> 8) - (1 << 23)) / (float)(1 << 23) * 0.05f;
        float fade = i < 4000 ? (float)i / 4000.0f : 1.0f;
        x[i] = fade * (0.4f * tri + sq + nz);
    }
    return x;
}

static void test_known_answers(void **state)
{
    (void)state;
    /* SHA-256 of the float32 little-endian output bytes, in index order */
    static const char *const pinned[ES_AUG_COUNT] = {
        "fc82bdbfdeb9e87a5ec50b1a71b12853d5e41b018126bec308261773fdb77051", /* time_stretch_fast */
        "0c1d8bf201f5fc994c8d2e4e5af969ca8a55d99fa77dfa826e52ffb0500dc270", /* time_stretch_slow */
        "c3bdb3f6d33f12374bc9701fd5fb3160202f383afff0a361b78113256292f8ad", /* pitch_up */
        "960b8581646d2ffaad532c9089077be383aa002d64fdbedcaeff133713372a46", /* pitch_down */
        "13165111a31b7c0fb461cdff189225c0fd4c53bdc06a6483c0957786e9a4d7e7", /* noise_light */
        "d600b7e25ee7cdee00c5ea3232b2b3c849f3eaac86c67ead57a8f41a06a5da72", /* noise_medium */
        "370ae1c3c0e1e546030914731ff7f648f4fbab1a2bb67963ad2492d085f02865", /* time_shift */
        "f5e00dfca211e8412f9ae24591d3ed729c5daf09e7be06ab3c92f08e360638b6", /* volume_up */
        "64ad7c03d5293b8b4215a34521d12cf75859699782ad7494e1934124ba64659a", /* volume_down */
        "b79b52b7a82fc92bb2e98e2f8d75141faf99ad50fcf9415b02231ebe746a202b", /* combined_1 */
        "a4744d3ea5848e662ddfa7b0910ed3669be199e50fa37e3b0b3e5498bcff6804", /* combined_2 */
    };
    size_t n = 24000;
    float *x = synthetic(n);
    uint8_t key[32];
    es_audio_key(x, n, key);
    int failures = 0;
    for (int i = 0; i < ES_AUG_COUNT; i++) {
        float *y = NULL;
        size_t ny = 0;
        es_error err;
        ES_ASSERT_OK(es_augment_apply(x, n, SR, i, 42, key, &y, &ny, &err), &err);
        uint8_t h[32];
        es_audio_key(y, ny, h); /* SHA-256 of the little-endian float32 bytes */
        char hex[ES_SHA256_HEX_LEN];
        es_hex(h, 32, hex);
        if (strcmp(hex, pinned[i]) != 0) {
            print_message("%s: %zu samples, sha256 %s, pinned %s\n", es_augment_name(i), ny, hex,
                          pinned[i]);
            failures++;
        }
        free(y);
    }
    free(x);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_log),
        cmocka_unit_test(test_noise_distribution),
        cmocka_unit_test(test_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
