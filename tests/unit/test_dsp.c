/*
 * test_dsp.c: the FFT plans against a direct DFT (double precision),
 * inverse(forward(x)) = n x, Parseval, odd and prime sizes, concurrent
 * execution of one plan from several threads, and the periodic Hann window
 * against its definition (scipy's get_window('hann', n, fftbins=True)).
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
