/*
 * ecosight/dsp.h: signal processing shared by the augmentations and YAMNet's
 * front end: real FFT plans (FFTW, single precision), windows, and (added by
 * their users) STFT/ISTFT and the mel filterbank.
 *
 * A plan is read-only once made and may be executed from many threads at
 * once, each with its own buffers. Buffers passed to a plan must come from
 * es_fft_alloc (SIMD-aligned).
 */
#ifndef ECOSIGHT_DSP_H
#define ECOSIGHT_DSP_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- real FFT ---- */
typedef struct es_fft es_fft;

/* A plan for real transforms of size n (n >= 2): forward n reals -> n/2+1
 * complex (interleaved re, im), inverse n/2+1 complex -> n reals
 * (unnormalised, as FFTW: inverse(forward(x)) = n * x). */
es_status es_fft_new(int n, es_fft **out, es_error *err);
void es_fft_free(es_fft *f);
int es_fft_size(const es_fft *f);
/* in: n floats; out: 2*(n/2+1) floats. Both from es_fft_alloc. */
void es_fft_forward(const es_fft *f, float *in, float *out);
/* in: 2*(n/2+1) floats (destroyed); out: n floats. Both from es_fft_alloc. */
void es_fft_inverse(const es_fft *f, float *in, float *out);

void *es_fft_alloc(size_t nfloats); /* zeroed, aligned; NULL when out of memory */
void es_fft_free_buf(void *p);

/* ---- windows ---- */
/* Periodic Hann (scipy.signal.get_window('hann', n, fftbins=True)):
 * w[i] = 0.5 - 0.5 cos(2 pi i / n). */
void es_window_hann_periodic(float *w, int n);

#ifdef __cplusplus
}
#endif
#endif
