/*
 * frontend.c: YAMNet's front end, exactly as the TensorFlow model computes
 * it, with a real FFT in double precision (not the int8 DFT and mel matrices
 * stored in the .tflite file, which lose precision):
 *   pad_waveform: zeros up to 15600 + k*7680 samples;
 *   STFT: 400-sample periodic Hann, hop 160, FFT 512, no centring; magnitude;
 *   tf.signal.linear_to_mel_weight_matrix: 64 HTK-mel bands, 125-7500 Hz,
 *     257 bins, DC row zero; log(mel + 0.001);
 *   patches of 96 frames hopping 48.
 * The padding is virtual: frames read zeros past the end of the input.
 *
 * Why a hand-written double FFT rather than FFTW single precision (es_fft):
 * log(mel + 0.001) magnifies absolute errors in near-silent bands, and a
 * float FFT's rounding (~1e-7 of the frame's loudest component) lands in
 * every bin; on a pure 1 kHz tone that alone put the high bands 1.03e-3 away
 * from TensorFlow's float64 reference (tolerance 1e-3). A 256-point complex
 * radix-2 FFT in double costs ~1% of the network and brings it to ~1e-6.
 */
#include "frontend.h"

#include "ecosight/nn_conv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t es_yamnet_padded_len(size_t n)
{
    if (n <= YAM_MIN_SAMPLES)
        return YAM_MIN_SAMPLES;
    size_t after = n - YAM_MIN_SAMPLES;
    size_t hops = (after + YAM_PATCH_HOP_SAMPLES - 1) / YAM_PATCH_HOP_SAMPLES;
    return YAM_MIN_SAMPLES + hops * YAM_PATCH_HOP_SAMPLES;
}

size_t es_yamnet_num_frames(size_t n)
{
    return 1 + (es_yamnet_padded_len(n) - YAM_WIN) / YAM_HOP;
}

size_t es_yamnet_num_patches(size_t n)
{
    size_t f = es_yamnet_num_frames(n);
    return 1 + (f - ES_YAMNET_PATCH_FRAMES) / ES_YAMNET_PATCH_HOP;
}

static double hz_to_mel(double hz)
{
    return 1127.0 * log(1.0 + hz / 700.0);
}

es_status yam_frontend_new(yam_frontend **out, es_error *err)
{
    yam_frontend *f = calloc(1, sizeof *f);
    if (!f)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for the YAMNet front end");
    const double pi = 3.14159265358979323846;
    for (int i = 0; i < YAM_WIN; i++) /* periodic Hann */
        f->window[i] = 0.5 - 0.5 * cos(2.0 * pi * i / YAM_WIN);
    for (int k = 0; k < YAM_CFFT / 2; k++) {
        f->tw_re[k] = cos(2.0 * pi * k / YAM_CFFT);
        f->tw_im[k] = -sin(2.0 * pi * k / YAM_CFFT);
    }
    for (int k = 0; k < YAM_BINS; k++) {
        f->post_re[k] = cos(2.0 * pi * k / YAM_NFFT);
        f->post_im[k] = -sin(2.0 * pi * k / YAM_NFFT);
    }
    int bits = 0;
    while ((1 << bits) < YAM_CFFT)
        bits++;
    for (int i = 0; i < YAM_CFFT; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++)
            if (i & (1 << b))
                r |= 1 << (bits - 1 - b);
        f->bitrev[i] = r;
    }
    /* linear_to_mel_weight_matrix, in double as TensorFlow's reference. */
    const double lo_hz = 125.0, hi_hz = 7500.0, nyq = ES_YAMNET_SAMPLE_RATE / 2.0;
    double edges[ES_YAMNET_MEL_BANDS + 2];
    double mlo = hz_to_mel(lo_hz), mhi = hz_to_mel(hi_hz);
    for (int i = 0; i < ES_YAMNET_MEL_BANDS + 2; i++)
        edges[i] = mlo + (mhi - mlo) * i / (ES_YAMNET_MEL_BANDS + 1);
    for (int b = 0; b < ES_YAMNET_MEL_BANDS; b++) {
        double l = edges[b], c = edges[b + 1], u = edges[b + 2];
        f->lo[b] = YAM_BINS;
        f->hi[b] = 0;
        double tmp[YAM_BINS] = {0};
        for (int k = 1; k < YAM_BINS; k++) { /* bin 0 (DC) stays zero */
            double mel = hz_to_mel(nyq * k / (YAM_BINS - 1));
            double lower = (mel - l) / (c - l), upper = (u - mel) / (u - c);
            double wgt = lower < upper ? lower : upper;
            tmp[k] = wgt > 0.0 ? wgt : 0.0;
            if (tmp[k] > 0.0) {
                if (k < f->lo[b])
                    f->lo[b] = k;
                f->hi[b] = k + 1;
            }
        }
        if (f->hi[b] <= f->lo[b])
            f->lo[b] = f->hi[b] = 0;
        for (int k = f->lo[b]; k < f->hi[b]; k++)
            f->wt[b][k - f->lo[b]] = tmp[k];
    }
    *out = f;
    return ES_OK;
}

void yam_frontend_free(yam_frontend *f)
{
    free(f);
}

/* The FFT runs on YAM_LANES frames at once: each value is a vector of 8
 * doubles (GCC vector extension), one lane per frame, so every butterfly is
 * SIMD without shuffles. The function is compiled three times (AVX-512,
 * AVX2, baseline) and picked at run time. */
#define YAM_LANES 8
typedef double v8d __attribute__((vector_size(8 * sizeof(double))));

#define FRAME_MAG_BODY                                                                            \
    v8d re[YAM_CFFT], im[YAM_CFFT], spec[YAM_BINS];                                               \
    for (int n = 0; n < YAM_CFFT; n++) {                                                          \
        int r = f->bitrev[n];                                                                     \
        re[r] = x[2 * n];                                                                         \
        im[r] = x[2 * n + 1];                                                                     \
    }                                                                                             \
    for (int len = 2; len <= YAM_CFFT; len <<= 1) {                                               \
        int half = len / 2, step = YAM_CFFT / len;                                                \
        for (int s = 0; s < YAM_CFFT; s += len)                                                   \
            for (int j = 0; j < half; j++) {                                                      \
                double wr = f->tw_re[j * step], wi = f->tw_im[j * step];                          \
                v8d br = re[s + j + half], bi = im[s + j + half];                                 \
                v8d tr = br * wr - bi * wi, ti = br * wi + bi * wr;                               \
                v8d ar = re[s + j], ai = im[s + j];                                               \
                re[s + j + half] = ar - tr;                                                       \
                im[s + j + half] = ai - ti;                                                       \
                re[s + j] = ar + tr;                                                              \
                im[s + j] = ai + ti;                                                              \
            }                                                                                     \
    }                                                                                             \
    /* Split Z into the spectra of the even and odd samples, then combine. */                    \
    for (int k = 0; k < YAM_BINS; k++) {                                                          \
        int k1 = k % YAM_CFFT, k2 = (YAM_CFFT - k) % YAM_CFFT;                                    \
        double pr = f->post_re[k], pi = f->post_im[k];                                            \
        v8d ar = re[k1], ai = im[k1], br = re[k2], bi = -im[k2];                                  \
        v8d er = 0.5 * (ar + br), ei = 0.5 * (ai + bi);                                           \
        v8d orr = 0.5 * (ai - bi), oi = -0.5 * (ar - br);                                         \
        v8d tr = orr * pr - oi * pi, ti = orr * pi + oi * pr;                                     \
        v8d xr = er + tr, xi = ei + ti;                                                           \
        V8_SQRT_TO(spec[k], xr * xr + xi * xi);                                                   \
    }                                                                                             \
    /* The mel filterbank, all lanes at once. */                                                 \
    for (int b = 0; b < ES_YAMNET_MEL_BANDS; b++) {                                               \
        v8d acc = {0};                                                                            \
        for (int k = f->lo[b]; k < f->hi[b]; k++)                                                 \
            acc += f->wt[b][k - f->lo[b]] * spec[k];                                              \
        mel[b] = acc;                                                                             \
    }

/* Mel energies mel[64] of YAM_LANES 512-point real frames x[point] (a lane each). */
#define V8_SQRT_TO(dst, a)                                                                        \
    do {                                                                                          \
        v8d t_ = (a);                                                                             \
        for (int v_ = 0; v_ < YAM_LANES; v_++)                                                    \
            (dst)[v_] = sqrt(t_[v_]);                                                             \
    } while (0)
static void frame_mag_generic(const yam_frontend *f, const v8d *x, v8d *mel)
{
    FRAME_MAG_BODY
}
#undef V8_SQRT_TO
#if defined(__x86_64__)
#include <immintrin.h>
#define V8_SQRT_TO(dst, a) ((dst) = (v8d)_mm512_sqrt_pd((__m512d)(a)))
__attribute__((target("avx512f"))) static void
frame_mag_avx512(const yam_frontend *f, const v8d *x, v8d *mel)
{
    FRAME_MAG_BODY
}
#undef V8_SQRT_TO
#define V8_SQRT_TO(dst, a)                                                                        \
    do {                                                                                          \
        union {                                                                                   \
            v8d v;                                                                                \
            __m256d h[2];                                                                         \
        } u_ = {(a)};                                                                             \
        u_.h[0] = _mm256_sqrt_pd(u_.h[0]);                                                        \
        u_.h[1] = _mm256_sqrt_pd(u_.h[1]);                                                        \
        (dst) = u_.v;                                                                             \
    } while (0)
__attribute__((target("avx2,fma"))) static void
frame_mag_avx2(const yam_frontend *f, const v8d *x, v8d *mel)
{
    FRAME_MAG_BODY
}
#undef V8_SQRT_TO
#endif

static void frame_mag(const yam_frontend *f, const v8d *x, v8d *mel)
{
#if defined(__x86_64__)
    int level = es_nn_isa_level();
    if (level == 2) {
        frame_mag_avx512(f, x, mel);
        return;
    }
    if (level == 1) {
        frame_mag_avx2(f, x, mel);
        return;
    }
#endif
    frame_mag_generic(f, x, mel);
}

void yam_frontend_frames(const yam_frontend *f, const float *wave, size_t n, size_t first,
                         size_t count, float *out)
{
    v8d x[YAM_NFFT], mel[ES_YAMNET_MEL_BANDS];
    for (size_t t0 = 0; t0 < count; t0 += YAM_LANES) {
        int lanes = count - t0 < YAM_LANES ? (int)(count - t0) : YAM_LANES;
        for (int v = 0; v < YAM_LANES; v++) {
            size_t start = (first + t0 + (size_t)v) * YAM_HOP;
            for (int i = 0; i < YAM_WIN; i++) {
                size_t s = start + (size_t)i;
                x[i][v] = v < lanes && s < n ? (double)wave[s] * f->window[i] : 0.0;
            }
            for (int i = YAM_WIN; i < YAM_NFFT; i++)
                x[i][v] = 0.0;
        }
        frame_mag(f, x, mel);
        for (int v = 0; v < lanes; v++) {
            float *o = out + (t0 + (size_t)v) * ES_YAMNET_MEL_BANDS;
            for (int b = 0; b < ES_YAMNET_MEL_BANDS; b++)
                o[b] = (float)log(mel[b][v] + 0.001);
        }
    }
}

es_status es_yamnet_logmel(const float *wave, size_t n, float **logmel, size_t *frames,
                           es_error *err)
{
    if (!wave && n)
        return es_error_set(err, ES_ERR_INVALID, "es_yamnet_logmel: NULL waveform");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(wave[i]))
            return es_error_set(err, ES_ERR_FORMAT,
                                "sample %zu of the waveform is not a finite number", i);
    yam_frontend *f = NULL;
    es_status rc = yam_frontend_new(&f, err);
    if (rc)
        return rc;
    size_t nf = es_yamnet_num_frames(n);
    float *out = malloc(sizeof(float) * nf * ES_YAMNET_MEL_BANDS);
    if (!out) {
        yam_frontend_free(f);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for %zu log-mel frames", nf);
    }
    yam_frontend_frames(f, wave, n, 0, nf, out);
    yam_frontend_free(f);
    *logmel = out;
    *frames = nf;
    return ES_OK;
}

size_t es_yamnet_patches_from_logmel(const float *logmel, size_t frames, float *patches,
                                     size_t max_patches)
{
    if (frames < ES_YAMNET_PATCH_FRAMES)
        return 0;
    size_t np = 1 + (frames - ES_YAMNET_PATCH_FRAMES) / ES_YAMNET_PATCH_HOP;
    if (np > max_patches)
        np = max_patches;
    for (size_t p = 0; p < np; p++)
        memcpy(patches + p * ES_YAMNET_PATCH_FLOATS,
               logmel + p * ES_YAMNET_PATCH_HOP * ES_YAMNET_MEL_BANDS,
               sizeof(float) * ES_YAMNET_PATCH_FLOATS);
    return np;
}
