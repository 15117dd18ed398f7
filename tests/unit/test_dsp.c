/*
 * test_dsp.c: the FFT plans against a direct DFT (double precision),
 * inverse(forward(x)) = n x, Parseval, odd and prime sizes, concurrent
 * execution of one plan from several threads, and the periodic Hann window
 * against its definition (scipy's get_window('hann', n, fftbins=True)); the
 * double-precision plan (es_fftd) against a long-double DFT to ~1e-13 and
 * planned and run concurrently from several threads.
 */
#include "testutil.h"

#include "ecosight/dsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void dft(const float *x, int n, double *re, double *im)
{
    for (int k = 0; k <= n / 2; k++) {
        double a = 0, b = 0;
        for (int t = 0; t < n; t++) {
            double ph = -2.0 * M_PI * (double)k * t / n;
            a += x[t] * cos(ph);
            b += x[t] * sin(ph);
        }
        re[k] = a;
        im[k] = b;
    }
}

static void check_size(int n)
{
    es_fft *f;
    es_error err;
    ES_ASSERT_OK(es_fft_new(n, &f, &err), &err);
    assert_int_equal(es_fft_size(f), n);
    float *x = es_fft_alloc((size_t)n), *y = es_fft_alloc(2 * (size_t)(n / 2 + 1));
    float *back = es_fft_alloc((size_t)n), *orig = malloc((size_t)n * sizeof *orig);
    es_rng r;
    es_rng_init(&r, (uint64_t)n, NULL, 0, "fft");
    for (int i = 0; i < n; i++)
        orig[i] = x[i] = (float)es_rng_uniform_range(&r, -1, 1);
    es_fft_forward(f, x, y);
    double *re = malloc(sizeof(double) * (size_t)(n / 2 + 1));
    double *im = malloc(sizeof(double) * (size_t)(n / 2 + 1));
    dft(orig, n, re, im);
    double maxe = 0, e_time = 0, e_freq = 0;
    for (int k = 0; k <= n / 2; k++) {
        maxe = fmax(maxe, fabs(y[2 * k] - re[k]));
        maxe = fmax(maxe, fabs(y[2 * k + 1] - im[k]));
        double m = (double)y[2 * k] * y[2 * k] + (double)y[2 * k + 1] * y[2 * k + 1];
        /* bins other than DC and Nyquist appear twice in the full spectrum */
        e_freq += (k == 0 || (n % 2 == 0 && k == n / 2)) ? m : 2 * m;
    }
    for (int i = 0; i < n; i++)
        e_time += (double)orig[i] * orig[i];
    /* float accumulations: error grows like log n; 1e-4 * sqrt(n) is generous */
    if (maxe > 1e-4 * sqrt((double)n) + 1e-5)
        fail_msg("size %d: max deviation from the direct DFT %.3g", n, maxe);
    assert_true(fabs(e_freq / n - e_time) < 1e-4 * e_time); /* Parseval */
    es_fft_inverse(f, y, back);
    for (int i = 0; i < n; i++)
        if (fabs(back[i] / n - orig[i]) > 1e-5)
            fail_msg("size %d: inverse(forward(x))/n differs at %d", n, i);
    free(re);
    free(im);
    free(orig);
    es_fft_free_buf(x);
    es_fft_free_buf(y);
    es_fft_free_buf(back);
    es_fft_free(f);
}

static void test_fft_against_dft(void **state)
{
    (void)state;
    int sizes[] = {2, 3, 8, 15, 16, 97, 400, 512, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        check_size(sizes[i]);
    es_fft *f = NULL;
    es_error err;
    assert_int_equal(es_fft_new(1, &f, &err), ES_ERR_INVALID);
    assert_int_equal(es_fft_new(0, &f, &err), ES_ERR_INVALID);
    assert_null(f);
    es_fft_free(NULL);
}

typedef struct fft_job {
    const es_fft *f;
    const float *ref; /* expected spectrum */
    int n;
} fft_job;

static es_status fft_item(void *ctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    fft_job *j = ctx;
    float *x = es_fft_alloc((size_t)j->n), *y = es_fft_alloc(2 * (size_t)(j->n / 2 + 1));
    if (!x || !y)
        return es_error_set(err, ES_ERR_NOMEM, "alloc");
    for (int t = 0; t < j->n; t++)
        x[t] = (float)sin(0.01 * t * (double)(1 + i % 3));
    es_fft_forward(j->f, x, y);
    es_status rc = ES_OK;
    if (memcmp(y, j->ref + (size_t)(i % 3) * 2 * (size_t)(j->n / 2 + 1),
               sizeof(float) * 2 * (size_t)(j->n / 2 + 1)) != 0)
        rc = es_error_set(err, ES_ERR_INTERNAL, "item %lld: spectrum differs", (long long)i);
    es_fft_free_buf(x);
    es_fft_free_buf(y);
    return rc;
}

/* One plan shared by threads gives the same bits as a single thread. */
static void test_fft_shared_plan_threads(void **state)
{
    (void)state;
    const int n = 1024;
    es_fft *f;
    es_error err;
    ES_ASSERT_OK(es_fft_new(n, &f, &err), &err);
    size_t m = 2 * (size_t)(n / 2 + 1);
    float *ref = malloc(3 * m * sizeof *ref);
    float *x = es_fft_alloc((size_t)n), *y = es_fft_alloc(m);
    for (int v = 0; v < 3; v++) {
        for (int t = 0; t < n; t++)
            x[t] = (float)sin(0.01 * t * (double)(1 + v));
        es_fft_forward(f, x, y);
        memcpy(ref + (size_t)v * m, y, m * sizeof(float));
    }
    fft_job j = {f, ref, n};
    ES_ASSERT_OK(es_parallel_for(4, 300, fft_item, &j, &err), &err);
    /* plans made concurrently are fine too */
    es_fft_free(f);
    free(ref);
    es_fft_free_buf(x);
    es_fft_free_buf(y);
}

/* Max |FFTW double - DFT in long double| relative to sum |x|. */
static double fftd_error(const es_fftd *f, int n, unsigned seed)
{
    double *x = es_fftd_alloc((size_t)n), *y = es_fftd_alloc(2 * (size_t)(n / 2 + 1));
    assert_non_null(x);
    assert_non_null(y);
    double l1 = 0;
    for (int t = 0; t < n; t++) {
        seed = seed * 1103515245u + 12345u;
        x[t] = (double)seed / 4294967296.0 - 0.5;
        l1 += fabs(x[t]);
    }
    double *keep = malloc(sizeof(double) * (size_t)n);
    memcpy(keep, x, sizeof(double) * (size_t)n);
    es_fftd_forward(f, x, y);
    double worst = 0;
    for (int k = 0; k <= n / 2; k++) {
        long double a = 0, b = 0;
        for (int t = 0; t < n; t++) {
            long double ph = -2.0L * 3.141592653589793238462643383279503L * (long double)k *
                             (long double)t / (long double)n;
            a += (long double)keep[t] * cosl(ph);
            b += (long double)keep[t] * sinl(ph);
        }
        worst = fmax(worst, fabs((double)(a - (long double)y[2 * k])));
        worst = fmax(worst, fabs((double)(b - (long double)y[2 * k + 1])));
    }
    free(keep);
    es_fftd_free_buf(x);
    es_fftd_free_buf(y);
    return worst / l1;
}

static void test_fftd_against_dft(void **state)
{
    (void)state;
    es_error err;
    es_fftd *f = NULL;
    assert_int_equal(es_fftd_new(1, &f, &err), ES_ERR_INVALID);
    const int sizes[] = {2, 7, 400, 512, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ES_ASSERT_OK(es_fftd_new(sizes[i], &f, &err), &err);
        assert_int_equal(es_fftd_size(f), sizes[i]);
        double e = fftd_error(f, sizes[i], 7u + (unsigned)i);
        /* float precision would be ~1e-7: this checks the plan really is double */
        assert_true(e < 1e-13);
        es_fftd_free(f);
    }
}

static es_status fftd_item(void *ctx, int64_t i, int t, es_error *err)
{
    (void)ctx;
    (void)t;
    int n = i % 2 ? 512 : 384; /* each thread plans its own too, concurrently */
    es_fftd *f = NULL;
    es_status rc = es_fftd_new(n, &f, err);
    if (rc)
        return rc;
    double e = fftd_error(f, n, (unsigned)i);
    es_fftd_free(f);
    if (!(e < 1e-13))
        return es_error_set(err, ES_ERR_INTERNAL, "item %lld: error %g", (long long)i, e);
    return ES_OK;
}

static void test_fftd_threads(void **state)
{
    (void)state;
    es_error err;
    ES_ASSERT_OK(es_parallel_for(4, 16, fftd_item, NULL, &err), &err);
}

static void test_hann(void **state)
{
    (void)state;
    float w[8];
    es_window_hann_periodic(w, 8);
    /* 0.5 - 0.5 cos(2 pi i / 8) */
    const float want[8] = {0.0f, 0.14644661f, 0.5f, 0.85355339f, 1.0f, 0.85355339f, 0.5f,
                           0.14644661f};
    for (int i = 0; i < 8; i++)
        assert_true(fabsf(w[i] - want[i]) < 1e-7f);
    float big[400];
    es_window_hann_periodic(big, 400);
    double sum = 0;
    for (int i = 0; i < 400; i++)
        sum += big[i];
    assert_true(fabs(sum / 400 - 0.5) < 1e-6); /* periodic Hann averages exactly 1/2 */
    for (int i = 1; i < 200; i++)
        assert_true(fabsf(big[i] - big[400 - i]) < 1e-6f); /* symmetric about n/2 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fft_against_dft),
        cmocka_unit_test(test_fft_shared_plan_threads),
        cmocka_unit_test(test_hann),
        cmocka_unit_test(test_fftd_against_dft),
        cmocka_unit_test(test_fftd_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
