/*
 * test_nn_dense.c: the classifier head's kernels. Each backward pass against
 * central finite differences of L = sum(out * R) for a random R; one Adam
 * trajectory against a hand computation; BatchNorm train vs inference mode;
 * dropout statistics and its backward.
 */
#include "testutil.h"

#include "ecosight/nn_dense.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void fill(float *a, size_t n, es_rng *r, double scale)
{
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(es_rng_normal(r) * scale);
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void assert_close(double got, double want, double tol, const char *what, size_t i)
{
    double d = fabs(got - want), s = fmax(1.0, fabs(want));
    if (d > tol * s)
        fail_msg("%s[%zu]: analytic %.6g vs numeric %.6g", what, i, got, want);
}

/* ---- dense ---- */
enum { B = 4, C = 5, OC = 3 };

static double dense_L(const float *x, const float *w, const float *b, const float *R)
{
    float out[B * OC];
    es_dense_forward(out, x, w, b, B, C, OC);
    return dot(out, R, B * OC);
}

static void test_dense_backward(void **state)
{
    (void)state;
    es_rng r;
    es_rng_init(&r, 1, NULL, 0, "dense");
    float x[B * C], w[C * OC], b[OC], R[B * OC];
    fill(x, B * C, &r, 1);
    fill(w, C * OC, &r, 1);
    fill(b, OC, &r, 1);
    fill(R, B * OC, &r, 1);
    float dx[B * C] = {0}, dw[C * OC] = {0}, db[OC] = {0};
    es_dense_backward(dx, dw, db, R, x, w, B, C, OC);
    const float h = 1e-2f;
    struct { float *p, *g; size_t n; const char *name; } t[] = {
        {x, dx, B * C, "dx"}, {w, dw, C * OC, "dw"}, {b, db, OC, "db"}};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < t[k].n; i++) {
            float old = t[k].p[i];
            t[k].p[i] = old + h;
            double lp = dense_L(x, w, b, R);
            t[k].p[i] = old - h;
            double lm = dense_L(x, w, b, R);
            t[k].p[i] = old;
            assert_close(t[k].g[i], (lp - lm) / (2 * h), 1e-3, t[k].name, i);
        }
    /* forward against a plain loop */
    float out[B * OC];
    es_dense_forward(out, x, w, b, B, C, OC);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < OC; o++) {
            double s = b[o];
            for (int c = 0; c < C; c++)
                s += (double)x[i * C + c] * w[c * OC + o];
            assert_close(out[i * OC + o], s, 1e-5, "dense out", (size_t)(i * OC + o));
        }
}

/* ---- relu ---- */
static void test_relu(void **state)
{
    (void)state;
    float x[6] = {-2, -0.5f, 0.25f, 1, 3, -1e-3f}, y[6], d[6] = {0}, g[6] = {1, 2, 3, 4, 5, 6};
    es_relu_forward(y, x, 6);
    es_relu_backward(d, g, y, 6);
    for (int i = 0; i < 6; i++) {
        assert_true(y[i] == (x[i] > 0 ? x[i] : 0));
        assert_true(d[i] == (x[i] > 0 ? g[i] : 0));
    }
}

/* ---- batchnorm ---- */
enum { BB = 6, BC = 3 };

static double bn_L(const float *x, const float *g, const float *be, const float *R)
{
    float out[BB * BC], mean[BC], rstd[BC], mm[BC] = {0}, mv[BC] = {1, 1, 1};
    es_batchnorm_forward_train(out, mean, rstd, mm, mv, x, g, be, 0.99f, 1e-3f, BB, BC);
    return dot(out, R, BB * BC);
}

static void test_batchnorm_backward(void **state)
{
    (void)state;
    es_rng r;
    es_rng_init(&r, 2, NULL, 0, "bn");
    float x[BB * BC], g[BC], be[BC], R[BB * BC];
    fill(x, BB * BC, &r, 2);
    fill(g, BC, &r, 1);
    fill(be, BC, &r, 1);
    fill(R, BB * BC, &r, 1);
    float out[BB * BC], mean[BC], rstd[BC], mm[BC] = {0}, mv[BC] = {1, 1, 1};
    es_batchnorm_forward_train(out, mean, rstd, mm, mv, x, g, be, 0.99f, 1e-3f, BB, BC);
    float dx[BB * BC] = {0}, dg[BC] = {0}, dbe[BC] = {0};
    es_batchnorm_backward(dx, dg, dbe, R, x, g, mean, rstd, BB, BC);
    const float h = 1e-2f;
    struct { float *p, *gr; size_t n; const char *name; } t[] = {
        {x, dx, BB * BC, "dx"}, {g, dg, BC, "dgamma"}, {be, dbe, BC, "dbeta"}};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < t[k].n; i++) {
            float old = t[k].p[i];
            t[k].p[i] = old + h;
            double lp = bn_L(x, g, be, R);
            t[k].p[i] = old - h;
            double lm = bn_L(x, g, be, R);
            t[k].p[i] = old;
            assert_close(t[k].gr[i], (lp - lm) / (2 * h), 5e-3, t[k].name, i);
        }
}

static void test_batchnorm_train_vs_infer(void **state)
{
    (void)state;
    es_rng r;
    es_rng_init(&r, 3, NULL, 0, "bn2");
    float x[BB * BC], g[BC], be[BC];
    fill(x, BB * BC, &r, 3);
    fill(g, BC, &r, 1);
    fill(be, BC, &r, 1);
    float tr[BB * BC], inf[BB * BC], mean[BC], rstd[BC];
    float mm[BC] = {0, 0, 0}, mv[BC] = {1, 1, 1};
    /* Momentum 0.99: one step moves the moving statistics 1 % of the way. */
    es_batchnorm_forward_train(tr, mean, rstd, mm, mv, x, g, be, 0.99f, 1e-3f, BB, BC);
    for (int c = 0; c < BC; c++) {
        double mu = 0, v = 0;
        for (int i = 0; i < BB; i++)
            mu += x[i * BC + c];
        mu /= BB;
        for (int i = 0; i < BB; i++)
            v += (x[i * BC + c] - mu) * (x[i * BC + c] - mu);
        v /= BB;
        assert_close(mm[c], 0.01 * mu, 1e-5, "moving_mean", (size_t)c);
        assert_close(mv[c], 0.99 + 0.01 * v, 1e-5, "moving_var", (size_t)c);
        /* training output is normalised with the batch statistics */
        double s = 0, s2 = 0;
        for (int i = 0; i < BB; i++) {
            double z = (tr[i * BC + c] - be[c]) / g[c];
            s += z;
            s2 += z * z;
        }
        assert_close(s / BB, 0.0, 1e-4, "batch mean of xhat", (size_t)c);
        assert_close(s2 / BB, v / (v + 1e-3), 1e-3, "batch var of xhat", (size_t)c);
    }
    /* Inference uses the moving statistics: different from training mode now. */
    es_batchnorm_forward_infer(inf, x, g, be, mm, mv, 1e-3f, BB, BC);
    double diff = 0;
    for (int i = 0; i < BB * BC; i++)
        diff += fabs(inf[i] - tr[i]);
    assert_true(diff > 1e-2);
    /* With momentum 0 the moving statistics become the batch's, and both modes agree. */
    es_batchnorm_forward_train(tr, mean, rstd, mm, mv, x, g, be, 0.0f, 1e-3f, BB, BC);
    es_batchnorm_forward_infer(inf, x, g, be, mm, mv, 1e-3f, BB, BC);
    for (int i = 0; i < BB * BC; i++)
        assert_close(inf[i], tr[i], 1e-4, "train vs infer", (size_t)i);
}

/* ---- dropout ---- */
static void test_dropout(void **state)
{
    (void)state;
    enum { N = 20000 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    float *mask = malloc(N * sizeof(float)), *d = calloc(N, sizeof(float));
    for (int i = 0; i < N; i++)
        x[i] = 1.0f + (float)i / N;
    es_rng r;
    es_rng_init(&r, 4, NULL, 0, "drop");
    es_dropout_forward(y, mask, x, 0.4f, N, &r);
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        if (mask[i] == 0.0f)
            zeros++;
        else
            assert_true(fabsf(mask[i] - 1.0f / 0.6f) < 1e-6f);
        assert_true(y[i] == x[i] * mask[i]);
    }
    /* 40 % dropped, within 5 standard deviations */
    assert_true(fabs(zeros / (double)N - 0.4) < 5 * sqrt(0.24 / N));
    es_dropout_backward(d, x, mask, N);
    for (int i = 0; i < N; i++)
        assert_true(d[i] == x[i] * mask[i]);
    /* the same stream gives the same mask */
    es_rng_init(&r, 4, NULL, 0, "drop");
    es_dropout_forward(y, d, x, 0.4f, N, &r);
    assert_memory_equal(d, mask, N * sizeof(float));
    free(x);
    free(y);
    free(mask);
    free(d);
}

/* ---- softmax + cross-entropy ---- */
enum { SB = 3, SK = 4 };

static double xent_L(const float *logits, const int *y, const float *w)
{
    float p[SB * SK];
    es_softmax_forward(p, logits, SB, SK);
    return es_softmax_xent(NULL, p, y, w, SB, SK);
}

static void test_softmax_xent(void **state)
{
    (void)state;
    es_rng r;
    es_rng_init(&r, 5, NULL, 0, "xent");
    float lg[SB * SK], p[SB * SK], d[SB * SK];
    fill(lg, SB * SK, &r, 2);
    int y[SB] = {0, 3, 1};
    float w[SB] = {1.0f, 2.5f, 0.5f};
    for (int pass = 0; pass < 2; pass++) {
        const float *wp = pass ? w : NULL;
        es_softmax_forward(p, lg, SB, SK);
        double loss = es_softmax_xent(d, p, y, wp, SB, SK);
        double want = 0;
        for (int i = 0; i < SB; i++) {
            double s = 0;
            for (int k = 0; k < SK; k++)
                s += exp(lg[i * SK + k]);
            want += (wp ? wp[i] : 1.0) * -(lg[i * SK + y[i]] - log(s));
        }
        assert_close(loss, want / SB, 1e-5, "loss", 0);
        const float h = 1e-2f;
        for (int i = 0; i < SB * SK; i++) {
            float old = lg[i];
            lg[i] = old + h;
            double lp = xent_L(lg, y, wp);
            lg[i] = old - h;
            double lm = xent_L(lg, y, wp);
            lg[i] = old;
            assert_close(d[i], (lp - lm) / (2 * h), 1e-3, "dlogits", (size_t)i);
        }
    }
    /* rows sum to 1, large logits stay finite */
    float big[SK] = {1000, 999, -1000, 0}, pb[SK];
    es_softmax_forward(pb, big, 1, SK);
    assert_true(fabsf(pb[0] + pb[1] + pb[2] + pb[3] - 1.0f) < 1e-6f);
    assert_true(isfinite(pb[0]) && pb[0] > pb[1]);
}

/* ---- Adam ---- */
static void test_adam_hand(void **state)
{
    (void)state;
    float p = 1.0f, m = 0, v = 0;
    /* p, m, v after each step, computed by hand (double precision) from
     * m = .9m + .1g, v = .999v + .001g^2, p -= 1e-3 sqrt(1-.999^t)/(1-.9^t) m/(sqrt v + 1e-7) */
    const float g[3] = {0.5f, -0.25f, 0.1f};
    const double want[3] = {0.9990000063245154, 0.9987336707920792, 0.9984184289825833};
    for (int t = 0; t < 3; t++) {
        es_adam_step(&p, &m, &v, &g[t], 1, 1e-3f, 0.9f, 0.999f, 1e-7f, t + 1);
        assert_close(p, want[t], 1e-6, "adam p", (size_t)t);
    }
    assert_close(m, 0.9 * (0.9 * 0.05 - 0.025) + 0.01, 1e-6, "adam m", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_backward),        cmocka_unit_test(test_relu),
        cmocka_unit_test(test_batchnorm_backward),    cmocka_unit_test(test_batchnorm_train_vs_infer),
        cmocka_unit_test(test_dropout),               cmocka_unit_test(test_softmax_xent),
        cmocka_unit_test(test_adam_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
