/*
 * test_yamnet_kernels.c: the convolution kernels YAMNet runs on (nn_conv.h)
 * against plain double-precision loops, on every instruction-set path
 * (ECOSIGHT_ISA caps it): the pointwise GEMM on awkward sizes (tails in M
 * and N, K = 1024 with and without the repacking scratch), the depthwise 3x3
 * with strides 1 and 2 on odd and even sizes (SAME padding), the general
 * conv, and the int8 kernel, which must also give each row the same bits
 * whatever the number of rows.
 */
#include "testutil.h"

#include "ecosight/nn_conv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *isas[] = {"avx512", "avx2", "generic"};

static float *rnd(es_rng *r, size_t n)
{
    float *x = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)es_rng_uniform_range(r, -1.0, 1.0);
    return x;
}

static void close_to(const float *got, const double *want, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > tol * (1.0 + fabs(want[i])))
            fail_msg("element %zu: got %.9g, want %.9g", i, (double)got[i], want[i]);
}

static void check_gemm(es_rng *r, int64_t M, int K, int N, int relu, int use_scratch)
{
    float *a = rnd(r, (size_t)M * K), *w = rnd(r, (size_t)N * K), *b = rnd(r, (size_t)N);
    float *p = aligned_alloc(64, es_conv_pw_packed_floats(K, N) * sizeof(float) + 64);
    float *s = aligned_alloc(64, ES_CONV_PW_SCRATCH_FLOATS * sizeof(float));
    float *out = malloc(sizeof(float) * (size_t)M * N);
    double *want = malloc(sizeof(double) * (size_t)M * N);
    assert_true(p && s && out && want);
    es_conv_pw_pack(p, w, K, N);
    es_conv_pointwise_forward(out, a, p, b, M, K, N, relu, use_scratch ? s : NULL);
    for (int64_t m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = b[n];
            for (int k = 0; k < K; k++)
                acc += (double)a[m * K + k] * w[(size_t)n * K + k];
            want[m * N + n] = relu && acc < 0 ? 0 : acc;
        }
    close_to(out, want, (size_t)M * N, 1e-4);
    free(a), free(w), free(b), free(p), free(s), free(out), free(want);
}

static void check_dw(es_rng *r, int B, int H, int W, int C, int stride)
{
    int Ho = es_conv_same_out(H, stride), Wo = es_conv_same_out(W, stride);
    float *in = rnd(r, (size_t)B * H * W * C), *w = rnd(r, 9 * (size_t)C), *b = rnd(r, (size_t)C);
    float *out = malloc(sizeof(float) * (size_t)B * Ho * Wo * C);
    double *want = malloc(sizeof(double) * (size_t)B * Ho * Wo * C);
    assert_true(out && want);
    es_conv_depthwise3x3_forward(out, in, w, b, B, H, W, C, stride, 1);
    /* TensorFlow SAME: pad_total = max((out-1)*s + 3 - in, 0), the smaller half first. */
    int pt = (Ho - 1) * stride + 3 - H, pl = (Wo - 1) * stride + 3 - W;
    int py = (pt > 0 ? pt : 0) / 2, px = (pl > 0 ? pl : 0) / 2;
    for (int bb = 0; bb < B; bb++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int c = 0; c < C; c++) {
                    double acc = b[c];
                    for (int y = 0; y < 3; y++)
                        for (int x = 0; x < 3; x++) {
                            int iy = oy * stride - py + y, ix = ox * stride - px + x;
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                acc += (double)in[(((size_t)bb * H + iy) * W + ix) * C + c] *
                                       w[(y * 3 + x) * C + c];
                        }
                    want[(((size_t)bb * Ho + oy) * Wo + ox) * C + c] = acc < 0 ? 0 : acc;
                }
    close_to(out, want, (size_t)B * Ho * Wo * C, 1e-5);
    free(in), free(w), free(b), free(out), free(want);
}

static void check_conv(es_rng *r, int H, int W, int Cin, int Cout, int stride)
{
    int Ho = es_conv_same_out(H, stride), Wo = es_conv_same_out(W, stride);
    float *in = rnd(r, (size_t)H * W * Cin), *wt = rnd(r, 9 * (size_t)Cin * Cout);
    float *b = rnd(r, (size_t)Cout), *wp = malloc(sizeof(float) * 9 * Cin * Cout);
    float *out = malloc(sizeof(float) * (size_t)Ho * Wo * Cout);
    double *want = malloc(sizeof(double) * (size_t)Ho * Wo * Cout);
    assert_true(wp && out && want);
    es_conv2d_pack_weights(wp, wt, Cout, 3, 3, Cin);
    es_conv2d_forward(out, in, wp, b, 1, H, W, Cin, Cout, 3, 3, stride, 0);
    int pt = (Ho - 1) * stride + 3 - H, pl = (Wo - 1) * stride + 3 - W;
    int py = (pt > 0 ? pt : 0) / 2, px = (pl > 0 ? pl : 0) / 2;
    for (int oy = 0; oy < Ho; oy++)
        for (int ox = 0; ox < Wo; ox++)
            for (int o = 0; o < Cout; o++) {
                double acc = b[o];
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 3; x++) {
                        int iy = oy * stride - py + y, ix = ox * stride - px + x;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                            continue;
                        for (int i = 0; i < Cin; i++)
                            acc += (double)in[((size_t)iy * W + ix) * Cin + i] *
                                   wt[(((size_t)o * 3 + y) * 3 + x) * Cin + i];
                    }
                want[((size_t)oy * Wo + ox) * Cout + o] = acc;
            }
    close_to(out, want, (size_t)Ho * Wo * Cout, 1e-5);
    free(in), free(wt), free(b), free(wp), free(out), free(want);
}

static void check_q8(es_rng *r, int64_t M, int K, int N)
{
    float *x = rnd(r, (size_t)M * K), *sc = rnd(r, (size_t)N), *b = rnd(r, (size_t)N);
    int8_t *q = malloc((size_t)N * K);
    float *out = malloc(sizeof(float) * (size_t)M * N), *one = malloc(sizeof(float) * N);
    double *want = malloc(sizeof(double) * (size_t)M * N);
    assert_true(q && out && one && want);
    for (size_t i = 0; i < (size_t)N * K; i++)
        q[i] = (int8_t)((int)es_rng_below(r, 255) - 127);
    for (int n = 0; n < N; n++)
        sc[n] = fabsf(sc[n]) * 0.01f + 1e-4f;
    es_conv_pw_q8_forward(out, x, q, sc, b, M, K, N, 0);
    for (int64_t m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int k = 0; k < K; k++)
                acc += (double)x[m * K + k] * q[(size_t)n * K + k];
            want[m * N + n] = acc * sc[n] + b[n];
        }
    close_to(out, want, (size_t)M * N, 1e-4);
    /* Row m alone gives the same bits as within M rows. */
    for (int64_t m = 0; m < M; m++) {
        es_conv_pw_q8_forward(one, x + m * K, q, sc, b, 1, K, N, 0);
        assert_memory_equal(one, out + m * N, sizeof(float) * (size_t)N);
    }
    free(x), free(sc), free(b), free(q), free(out), free(one), free(want);
}

static void test_kernels_every_isa(void **state)
{
    (void)state;
    const char *s = getenv("ES_SANITIZED");
    int small = s && strcmp(s, "1") == 0;
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        setenv("ECOSIGHT_ISA", isas[i], 1);
        es_rng r;
        es_rng_init(&r, 11, NULL, 0, isas[i]);
        printf("kernels: %s\n", es_conv_kernel_name());
        check_gemm(&r, 1, 32, 64, 1, 1);
        check_gemm(&r, 37, 64, 70, 1, 1);      /* tails in M and N */
        check_gemm(&r, 200, 300, 45, 0, 1);    /* K not a multiple of KC, MC crossed */
        check_gemm(&r, 30, 1024, 64, 1, 1);    /* repacked (K = 1024) */
        check_gemm(&r, 30, 1024, 64, 1, 0);    /* same, in place */
        check_dw(&r, 2, 7, 5, 32, 1);
        check_dw(&r, 1, 8, 6, 16, 2);          /* stride 2, even: pad 0 before, 1 after */
        check_dw(&r, 1, 7, 5, 24, 2);          /* odd size; C not a multiple of 16 */
        check_dw(&r, 1, 3, 2, 64, 1);
        check_conv(&r, 12, 10, 1, 32, 2);
        check_conv(&r, 5, 7, 3, 8, 1);
        check_q8(&r, 5, 64, 7);
        check_q8(&r, 3, small ? 256 : 1024, small ? 21 : 521);
    }
    unsetenv("ECOSIGHT_ISA");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_every_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
