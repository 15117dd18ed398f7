/*
 * ecosight/dsp.h: signal processing shared by the augmentations and YAMNet's
 * front end: real FFT plans (FFTW, single and double precision), windows, and (added by
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
/* Flags for es_fft_new_ex / es_stft_new_ex. ES_FFT_PORTABLE: scalar code only
 * (FFTW_NO_SIMD), so results are bit-identical on every x86-64 CPU instead of
 * depending on which SIMD codelets FFTW picks for this one (the augmentations'
 * stretch costs +37 % with it). The augmentations use it; es_fft_new /
 * es_stft_new keep the fast default. */
#define ES_FFT_PORTABLE 1u
es_status es_fft_new_ex(int n, unsigned flags, es_fft **out, es_error *err);
void es_fft_free(es_fft *f);
int es_fft_size(const es_fft *f);
/* in: n floats; out: 2*(n/2+1) floats. Both from es_fft_alloc. */
void es_fft_forward(const es_fft *f, float *in, float *out);
/* in: 2*(n/2+1) floats (destroyed); out: n floats. Both from es_fft_alloc. */
void es_fft_inverse(const es_fft *f, float *in, float *out);

void *es_fft_alloc(size_t nfloats); /* zeroed, aligned; NULL when out of memory */
void es_fft_free_buf(void *p);

/* ---- real FFT, double precision (forward only) ----
 * For front ends whose later steps magnify rounding (YAMNet's log(mel + 0.001)).
 * Same rules: read-only once made, shareable between threads, buffers from
 * es_fftd_alloc (SIMD-aligned, zeroed). */
typedef struct es_fftd es_fftd;
es_status es_fftd_new(int n, es_fftd **out, es_error *err);
void es_fftd_free(es_fftd *f);
int es_fftd_size(const es_fftd *f);
/* in: n doubles; out: 2*(n/2+1) doubles (interleaved re, im). */
void es_fftd_forward(const es_fftd *f, double *in, double *out);
void *es_fftd_alloc(size_t ndoubles);
void es_fftd_free_buf(void *p);

/* ---- windows ---- */
/* Periodic Hann (scipy.signal.get_window('hann', n, fftbins=True)):
 * w[i] = 0.5 - 0.5 cos(2 pi i / n). */
void es_window_hann_periodic(float *w, int n);


/* ---- STFT / ISTFT (librosa's stft/istft with center=True) ---- */
/* A plan: FFT size n_fft (even), hop, periodic Hann window of n_fft. Read-only
 * once made: share it between threads, each with its own buffers. Frames are
 * centred: frame t covers x[t*hop - n_fft/2, t*hop + n_fft/2) with zeros outside
 * the signal (librosa >= 0.10, pad_mode="constant"). A spectrum frame holds
 * n_fft/2+1 complex bins, interleaved (re, im). */
typedef struct es_stft es_stft;
es_status es_stft_new(int n_fft, int hop, es_stft **out, es_error *err);
/* The same with ES_FFT_* flags (ES_FFT_PORTABLE for CPU-independent bits). */
es_status es_stft_new_ex(int n_fft, int hop, unsigned flags, es_stft **out, es_error *err);
void es_stft_free(es_stft *s);
int es_stft_n_fft(const es_stft *s);
int es_stft_hop(const es_stft *s);
int es_stft_bins(const es_stft *s);                 /* n_fft/2 + 1 */
const float *es_stft_window(const es_stft *s);      /* n_fft values */
/* Number of centred frames of an n-sample signal: 1 + n / hop. */
int64_t es_stft_num_frames(const es_stft *s, int64_t n);
/* One centred frame t of x[0..n): scratch holds es_stft_n_fft floats and spec
 * 2*bins floats, both from es_fft_alloc. */
void es_stft_frame(const es_stft *s, const float *x, int64_t n, int64_t t, float *scratch,
                   float *spec);
/* The whole STFT, frame-major: *spec_out (es_fft_alloc'd, free with
 * es_fft_free_buf) holds frames * 2*bins floats. */
es_status es_stft_forward(const es_stft *s, const float *x, int64_t n, float **spec_out,
                          int64_t *frames_out, es_error *err);

/* Inverse STFT by overlap-add, as librosa.istft(center=True, length=length):
 * frames beyond what `length` needs are ignored, each frame is inverse-FFT'd,
 * windowed and added, the sum is divided by the squared-window sum where that
 * is not tiny, n_fft/2 samples of padding are dropped and the result is cut or
 * zero-padded to `length`. Streaming form: es_istft_begin sizes the
 * accumulator, es_istft_add adds frame t (spec is destroyed), es_istft_end
 * normalises into y[length]. */
typedef struct es_istft_acc {
    float *buf;         /* n_fft + hop*(frames-1) overlap-add samples */
    int64_t frames;     /* frames that will be added */
    int64_t len;        /* samples in buf */
    int64_t length;     /* requested output length */
    float *scratch;     /* n_fft floats for the inverse FFT */
} es_istft_acc;
/* How many frames an output of `length` samples needs (min with available). */
int64_t es_istft_frames_needed(const es_stft *s, int64_t available, int64_t length);
es_status es_istft_begin(const es_stft *s, int64_t frames, int64_t length, es_istft_acc *acc,
                         es_error *err);
void es_istft_add(const es_stft *s, es_istft_acc *acc, int64_t t, float *spec);
/* Normalise into y[acc->length] and release the accumulator. */
void es_istft_end(const es_stft *s, es_istft_acc *acc, float *y);
void es_istft_abort(es_istft_acc *acc);
/* Whole-matrix form: spec frame-major as es_stft_forward makes it (not modified). */
es_status es_istft(const es_stft *s, const float *spec, int64_t frames, int64_t length, float *y,
                   es_error *err);

#ifdef __cplusplus
}
#endif
#endif
