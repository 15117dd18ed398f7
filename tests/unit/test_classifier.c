/*
 * test_classifier.c: the head as a whole. Its full backward pass against
 * finite differences; a separable synthetic problem learned to 100 %; save ->
 * load -> identical probabilities; same seed and data -> identical weights;
 * dropout off at inference; corrupt and truncated files refused.
 */
#include "testutil.h"

#include "ecosight/classifier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static es_head_config small_cfg(int D, int K)
{
    es_head_config c = es_head_default_config(D, K);
    c.num_hidden = 2;
    c.hidden[0] = 32;
    c.hidden[1] = 16;
    c.dropout[0] = 0.3f;
    c.dropout[1] = 0.2f;
    return c;
}

static void test_head_gradcheck(void **state)
{
    (void)state;
    enum { D = 6, K = 3, NB = 8 };
    es_head_config c = es_head_default_config(D, K);
    c.num_hidden = 2;
    c.hidden[0] = 7;
    c.hidden[1] = 5;
    c.dropout[0] = 0.3f;
    c.dropout[1] = 0.25f;
    es_head *h;
    es_error err;
    ES_ASSERT_OK(es_head_new(&c, 11, &h, &err), &err);
    float mean[D], sd[D];
    for (int i = 0; i < D; i++) {
        mean[i] = 0.1f * (float)i;
        sd[i] = 1.0f + 0.2f * (float)i;
    }
    ES_ASSERT_OK(es_head_set_norm(h, mean, sd, &err), &err);
    es_rng r;
    es_rng_init(&r, 12, NULL, 0, "x");
    float x[NB * D];
    int y[NB];
    float w[NB];
    for (int i = 0; i < NB * D; i++)
        x[i] = (float)es_rng_normal(&r) * 2.0f;
    for (int i = 0; i < NB; i++) {
        y[i] = i % K;
        w[i] = 0.5f + (float)(i % 3);
    }
    es_head_trainer *t;
    ES_ASSERT_OK(es_head_trainer_new(h, NB, &t, &err), &err);
    double loss;
    ES_ASSERT_OK(es_head_loss_grad(t, x, y, w, NB, 99, 1, &loss, &err), &err);
    size_t n = es_head_num_params(h);
    float *g = malloc(n * sizeof(float));
    memcpy(g, es_head_trainer_grads(t), n * sizeof(float));
    float *p = es_head_params(h);
    int bad = 0, checked = 0;
    for (size_t i = 0; i < n; i++) {
        float old = p[i];
        const float eps = 2e-3f;
        double lp, lm;
        p[i] = old + eps;
        ES_ASSERT_OK(es_head_loss_grad(t, x, y, w, NB, 99, 1, &lp, &err), &err);
        p[i] = old - eps;
        ES_ASSERT_OK(es_head_loss_grad(t, x, y, w, NB, 99, 1, &lm, &err), &err);
        p[i] = old;
        double num = (lp - lm) / (2 * eps);
        checked++;
        if (fabs(num - g[i]) > 2e-3 + 2e-2 * fabs(num)) {
            /* a ReLU kink inside [old-eps, old+eps] can break one comparison */
            print_message("param %zu: analytic %.6g numeric %.6g\n", i, g[i], num);
            bad++;
        }
    }
    assert_true(bad <= checked / 100);
    free(g);
    es_head_trainer_free(t);
    es_head_free(h);
}

/* K Gaussian clusters far apart in D dimensions. */
static void make_data(int K, int D, size_t n, uint64_t seed, float *x, int *y)
{
    es_rng r;
    es_rng_init(&r, seed, NULL, 0, "centers");
    float *cent = malloc((size_t)K * D * sizeof(float));
    for (int i = 0; i < K * D; i++)
        cent[i] = (float)es_rng_normal(&r) * 3.0f + 5.0f;
    es_rng_init(&r, seed, NULL, 0, "points");
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(i % (size_t)K);
        for (int j = 0; j < D; j++)
            x[i * D + j] = cent[y[i] * D + j] + (float)es_rng_normal(&r) * 0.5f;
    }
    free(cent);
}

static void standardise(es_head *h, const float *x, size_t n, int D)
{
    float *m = calloc((size_t)D, sizeof(float)), *s = calloc((size_t)D, sizeof(float));
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++)
            m[j] += x[i * D + j] / (float)n;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++)
            s[j] += (x[i * D + j] - m[j]) * (x[i * D + j] - m[j]) / (float)n;
    for (int j = 0; j < D; j++)
        s[j] = sqrtf(s[j]);
    es_error err;
    ES_ASSERT_OK(es_head_set_norm(h, m, s, &err), &err);
    free(m);
    free(s);
}

static es_head *train_synthetic(uint64_t seed, float **xt_out, int **yt_out, size_t *nt_out,
                                es_fit_history *hist)
{
    enum { K = 4, D = 16 };
    size_t n = 320, nv = 80, nt = 80;
    float *x = malloc(n * D * sizeof(float)), *xv = malloc(nv * D * sizeof(float));
    float *xt = malloc(nt * D * sizeof(float));
    int *y = malloc(n * sizeof(int)), *yv = malloc(nv * sizeof(int)), *yt = malloc(nt * sizeof(int));
    make_data(K, D, n, 1, x, y);
    /* same centers (seed 1), fresh points: derive by drawing more and keeping the tail */
    float *all = malloc((n + nv + nt) * D * sizeof(float));
    int *ally = malloc((n + nv + nt) * sizeof(int));
    make_data(K, D, n + nv + nt, 1, all, ally);
    memcpy(x, all, n * D * sizeof(float));
    memcpy(y, ally, n * sizeof(int));
    memcpy(xv, all + n * D, nv * D * sizeof(float));
    memcpy(yv, ally + n, nv * sizeof(int));
    memcpy(xt, all + (n + nv) * D, nt * D * sizeof(float));
    memcpy(yt, ally + n + nv, nt * sizeof(int));
    es_head_config c = small_cfg(D, K);
    es_head *h;
    es_error err;
    ES_ASSERT_OK(es_head_new(&c, seed, &h, &err), &err);
    standardise(h, x, n, D);
    es_fit_config fc = es_fit_default_config();
    fc.epochs = 40;
    fc.batch_size = 32;
    fc.seed = seed;
    ES_ASSERT_OK(es_head_fit(h, &fc, x, y, n, xv, yv, nv, hist, &err), &err);
    free(x);
    free(xv);
    free(y);
    free(yv);
    free(all);
    free(ally);
    *xt_out = xt;
    *yt_out = yt;
    *nt_out = nt;
    return h;
}

static void test_learns_separable(void **state)
{
    (void)state;
    float *xt;
    int *yt;
    size_t nt;
    es_fit_history hist = {0};
    es_head *h = train_synthetic(7, &xt, &yt, &nt, &hist);
    double loss, acc;
    es_error err;
    ES_ASSERT_OK(es_head_evaluate(h, xt, yt, nt, NULL, &loss, &acc, &err), &err);
    print_message("synthetic: test accuracy %.3f loss %.4f after %d epochs (best %d)\n", acc,
                  loss, hist.count, hist.best_epoch);
    assert_true(acc == 1.0);
    assert_true(hist.count >= 1 && hist.best_epoch >= 1 && hist.best_epoch <= hist.count);
    assert_true(hist.epochs[hist.count - 1].accuracy > 0.9);
    /* loss went down */
    assert_true(hist.epochs[hist.best_epoch - 1].val_loss < hist.epochs[0].val_loss);

    /* save -> load -> identical probabilities */
    char *dir = es_test_tmpdir("classifier_io");
    char *path = es_test_path(dir, "head.esh");
    ES_ASSERT_OK(es_head_save(h, path, &err), &err);
    es_head *h2;
    ES_ASSERT_OK(es_head_load(path, &h2, &err), &err);
    float *p1 = malloc(nt * 4 * sizeof(float)), *p2 = malloc(nt * 4 * sizeof(float));
    ES_ASSERT_OK(es_head_predict(h, xt, nt, p1, &err), &err);
    ES_ASSERT_OK(es_head_predict(h2, xt, nt, p2, &err), &err);
    assert_memory_equal(p1, p2, nt * 4 * sizeof(float));
    assert_true(es_head_has_norm(h2));

    /* a flipped byte or a truncated file is refused */
    char *data;
    size_t len;
    ES_ASSERT_OK(es_read_file(path, 1 << 28, &data, &len, &err), &err);
    data[len / 2] ^= 0x10;
    es_head *bad = NULL;
    assert_int_equal(es_head_load_memory(data, len, "flipped", &bad, &err), ES_ERR_MODEL);
    data[len / 2] ^= 0x10;
    assert_int_equal(es_head_load_memory(data, len - 7, "truncated", &bad, &err), ES_ERR_MODEL);
    data[0] = 'X';
    assert_int_equal(es_head_load_memory(data, len, "magic", &bad, &err), ES_ERR_MODEL);
    assert_null(bad);
    free(data);

    free(p1);
    free(p2);
    free(path);
    free(dir);
    es_head_free(h2);
    es_head_free(h);
    es_fit_history_clear(&hist);
    free(xt);
    free(yt);
}

static void test_same_seed_same_weights(void **state)
{
    (void)state;
    float *xt1, *xt2;
    int *yt1, *yt2;
    size_t nt;
    es_fit_history h1 = {0}, h2 = {0};
    es_head *a = train_synthetic(21, &xt1, &yt1, &nt, &h1);
    es_head *b = train_synthetic(21, &xt2, &yt2, &nt, &h2);
    assert_int_equal(es_head_num_params(a), es_head_num_params(b));
    assert_memory_equal(es_head_params(a), es_head_params(b),
                        es_head_num_params(a) * sizeof(float));
    assert_int_equal(h1.count, h2.count);
    for (int e = 0; e < h1.count; e++)
        assert_true(h1.epochs[e].val_loss == h2.epochs[e].val_loss);
    /* a different seed gives different weights */
    float *xt3;
    int *yt3;
    es_fit_history h3 = {0};
    es_head *c = train_synthetic(22, &xt3, &yt3, &nt, &h3);
    assert_true(memcmp(es_head_params(a), es_head_params(c),
                       es_head_num_params(a) * sizeof(float)) != 0);
    es_head_free(a);
    es_head_free(b);
    es_head_free(c);
    es_fit_history_clear(&h1);
    es_fit_history_clear(&h2);
    es_fit_history_clear(&h3);
    free(xt1);
    free(xt2);
    free(xt3);
    free(yt1);
    free(yt2);
    free(yt3);
}

static void test_dropout_off_at_inference(void **state)
{
    (void)state;
    enum { D = 8, K = 3, N = 5 };
    es_head_config c = small_cfg(D, K);
    c.dropout[0] = 0.9f;
    c.dropout[1] = 0.9f;
    es_head *h, *nod;
    es_error err;
    ES_ASSERT_OK(es_head_new(&c, 3, &h, &err), &err);
    c.dropout[0] = c.dropout[1] = 0.0f;
    ES_ASSERT_OK(es_head_new(&c, 3, &nod, &err), &err);
    es_head_copy_weights(nod, h);
    float x[N * D], p1[N * K], p2[N * K], p3[N * K];
    for (int i = 0; i < N * D; i++)
        x[i] = (float)sin(i * 0.7);
    ES_ASSERT_OK(es_head_predict(h, x, N, p1, &err), &err);
    ES_ASSERT_OK(es_head_predict(h, x, N, p2, &err), &err);
    ES_ASSERT_OK(es_head_predict(nod, x, N, p3, &err), &err);
    assert_memory_equal(p1, p2, sizeof p1);
    assert_memory_equal(p1, p3, sizeof p1);
    /* while training mode with rate 0.9 does change the output */
    es_head_trainer *t;
    ES_ASSERT_OK(es_head_trainer_new(h, N, &t, &err), &err);
    int y[N] = {0, 1, 2, 0, 1};
    double l1, l2;
    ES_ASSERT_OK(es_head_loss_grad(t, x, y, NULL, N, 1, 1, &l1, &err), &err);
    ES_ASSERT_OK(es_head_loss_grad(t, x, y, NULL, N, 1, 2, &l2, &err), &err);
    assert_true(l1 != l2);
    es_head_trainer_free(t);
    es_head_free(h);
    es_head_free(nod);
}

static void test_bad_config(void **state)
{
    (void)state;
    es_head_config c = es_head_default_config(16, 1);
    es_head *h = NULL;
    es_error err;
    assert_int_equal(es_head_new(&c, 1, &h, &err), ES_ERR_INVALID);
    c = es_head_default_config(16, 4);
    c.dropout[0] = 1.0f;
    assert_int_equal(es_head_new(&c, 1, &h, &err), ES_ERR_INVALID);
    assert_null(h);
}

/* The fuzzer's corpus for the head loader (seeds and regressions, e.g. a
 * 200-byte header declaring gigabytes of layers): each input loads or fails
 * with ES_ERR_MODEL, never allocating what the file does not hold. */
static void test_fuzz_corpus_replay(void **state)
{
    (void)state;
    char *dir = es_test_source_path("tests/fuzz/corpus/head");
    es_strlist l = {0};
    es_error err;
    ES_ASSERT_OK(es_list_dir(dir, 1, &l, &err), &err);
    assert_true(l.count >= 7);
    int ok = 0, refused = 0;
    for (size_t i = 0; i < l.count; i++) {
        char *p = es_path_join(dir, l.items[i]), *data;
        size_t len;
        ES_ASSERT_OK(es_read_file(p, 1 << 20, &data, &len, &err), &err);
        assert_true(len >= 1);
        /* as fuzz_head.c: odd first byte = body, the SHA-256 trailer appended */
        uint8_t *buf = malloc(len + ES_SHA256_LEN);
        memcpy(buf, data + 1, len - 1);
        size_t n = len - 1;
        if (data[0] & 1) {
            es_sha256(data + 1, len - 1, buf + n);
            n += ES_SHA256_LEN;
        }
        es_head *h = NULL;
        es_status rc = es_head_load_memory(buf, n, l.items[i], &h, &err);
        if (rc == ES_OK) {
            ok++;
            es_head_free(h);
        } else {
            assert_int_equal(rc, ES_ERR_MODEL);
            assert_null(h);
            refused++;
        }
        free(buf);
        free(data);
        free(p);
    }
    assert_true(ok >= 6); /* the seeds */
    assert_true(refused >= 1);
    es_strlist_free(&l);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_gradcheck),       cmocka_unit_test(test_learns_separable),
        cmocka_unit_test(test_same_seed_same_weights), cmocka_unit_test(test_dropout_off_at_inference),
        cmocka_unit_test(test_bad_config),        cmocka_unit_test(test_fuzz_corpus_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
