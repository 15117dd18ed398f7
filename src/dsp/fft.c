/*
 * fft.c: real FFT plans over FFTW, single precision (es_fft) and double
 * precision (es_fftd, for YAMNet's front end, whose log(mel + 0.001) magnifies
 * a float FFT's rounding in near-silent bands).
 *
 * FFTW's planners (one per precision) are process-global and not thread-safe;
 * execution with the new-array interface is. We make each planner thread-safe
 * once (FFTW's own fftw[f]_make_planner_thread_safe, under pthread_once) and plan with
 * FFTW_ESTIMATE, which never times anything: the same size always gets the
 * same algorithm, so results are reproducible run to run.
 */
#include "ecosight/dsp.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct es_fft {
    int n;
    fftwf_plan fwd;
    fftwf_plan inv;
};

static pthread_once_t planner_once = PTHREAD_ONCE_INIT;

static pthread_once_t planner_once_d = PTHREAD_ONCE_INIT;

static void planner_init(void)
{
    fftwf_make_planner_thread_safe();
}

static void planner_init_d(void)
{
    fftw_make_planner_thread_safe();
}

es_status es_fft_new(int n, es_fft **out, es_error *err)
{
    return es_fft_new_ex(n, 0, out, err);
}

es_status es_fft_new_ex(int n, unsigned flags, es_fft **out, es_error *err)
{
    if (n < 2 || n > (1 << 24))
        return es_error_set(err, ES_ERR_INVALID, "FFT size %d out of range", n);
    pthread_once(&planner_once, planner_init);
    es_fft *f = calloc(1, sizeof *f);
    float *a = fftwf_malloc(sizeof(float) * (size_t)n);
    float *b = fftwf_malloc(sizeof(float) * 2 * (size_t)(n / 2 + 1));
    if (!f || !a || !b) {
        free(f);
        fftwf_free(a);
        fftwf_free(b);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for an FFT of size %d", n);
    }
    f->n = n;
    /* FFTW picks SSE2/AVX/AVX2/AVX-512 codelets by CPU (cpuid), and their
     * rounding differs; FFTW_NO_SIMD restricts the planner to the scalar
     * codelets, which do the same IEEE operations on every x86-64 CPU. */
    unsigned fl = FFTW_ESTIMATE | ((flags & ES_FFT_PORTABLE) ? FFTW_NO_SIMD : 0);
    f->fwd = fftwf_plan_dft_r2c_1d(n, a, (fftwf_complex *)b, fl);
    f->inv = fftwf_plan_dft_c2r_1d(n, (fftwf_complex *)b, a, fl);
    fftwf_free(a);
    fftwf_free(b);
    if (!f->fwd || !f->inv) {
        es_fft_free(f);
        return es_error_set(err, ES_ERR_INTERNAL, "FFTW could not plan size %d", n);
    }
    *out = f;
    return ES_OK;
}

void es_fft_free(es_fft *f)
{
    if (!f)
        return;
    /* fftwf_destroy_plan touches the planner too */
    if (f->fwd)
        fftwf_destroy_plan(f->fwd);
    if (f->inv)
        fftwf_destroy_plan(f->inv);
    free(f);
}

int es_fft_size(const es_fft *f)
{
    return f->n;
}

void es_fft_forward(const es_fft *f, float *in, float *out)
{
    fftwf_execute_dft_r2c(f->fwd, in, (fftwf_complex *)out);
}

void es_fft_inverse(const es_fft *f, float *in, float *out)
{
    fftwf_execute_dft_c2r(f->inv, (fftwf_complex *)in, out);
}

void *es_fft_alloc(size_t nfloats)
{
    float *p = fftwf_malloc(sizeof(float) * (nfloats ? nfloats : 1));
    if (p)
        memset(p, 0, sizeof(float) * (nfloats ? nfloats : 1));
    return p;
}

void es_fft_free_buf(void *p)
{
    fftwf_free(p);
}

struct es_fftd {
    int n;
    fftw_plan fwd;
};

es_status es_fftd_new(int n, es_fftd **out, es_error *err)
{
    if (n < 2 || n > (1 << 24))
        return es_error_set(err, ES_ERR_INVALID, "FFT size %d out of range", n);
    pthread_once(&planner_once_d, planner_init_d);
    es_fftd *f = calloc(1, sizeof *f);
    double *a = fftw_malloc(sizeof(double) * (size_t)n);
    double *b = fftw_malloc(sizeof(double) * 2 * (size_t)(n / 2 + 1));
    if (!f || !a || !b) {
        free(f);
        fftw_free(a);
        fftw_free(b);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for an FFT of size %d", n);
    }
    f->n = n;
    f->fwd = fftw_plan_dft_r2c_1d(n, a, (fftw_complex *)b, FFTW_ESTIMATE);
    fftw_free(a);
    fftw_free(b);
    if (!f->fwd) {
        es_fftd_free(f);
        return es_error_set(err, ES_ERR_INTERNAL, "FFTW could not plan size %d (double)", n);
    }
    *out = f;
    return ES_OK;
}

void es_fftd_free(es_fftd *f)
{
    if (!f)
        return;
    if (f->fwd)
        fftw_destroy_plan(f->fwd);
    free(f);
}

int es_fftd_size(const es_fftd *f)
{
    return f->n;
}

void es_fftd_forward(const es_fftd *f, double *in, double *out)
{
    fftw_execute_dft_r2c(f->fwd, in, (fftw_complex *)out);
}

void *es_fftd_alloc(size_t ndoubles)
{
    double *p = fftw_malloc(sizeof(double) * (ndoubles ? ndoubles : 1));
    if (p)
        memset(p, 0, sizeof(double) * (ndoubles ? ndoubles : 1));
    return p;
}

void es_fftd_free_buf(void *p)
{
    fftw_free(p);
}

void es_window_hann_periodic(float *w, int n)
{
    for (int i = 0; i < n; i++)
        w[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (double)i / (double)n));
}
