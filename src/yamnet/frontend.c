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
 * The FFT is FFTW's in double precision (es_fftd): log(mel + 0.001)
 * magnifies absolute errors in near-silent bands, and a float FFT's rounding
 * (~1e-7 of the frame's loudest component) lands in every bin; on a pure
 * 1 kHz tone single precision put the high bands 1.03e-3 away from
 * TensorFlow's float64 reference (tolerance 1e-3).
 */
#include "frontend.h"


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
    es_status rc = es_fftd_new(YAM_NFFT, &f->fft, err);
    if (rc) {
        free(f);
        return rc;
    }
    *out = f;
    return ES_OK;
}

void yam_frontend_free(yam_frontend *f)
{
    if (!f)
        return;
    es_fftd_free(f->fft);
    free(f);
}

void yam_frontend_frames(const yam_frontend *f, const float *wave, size_t n, size_t first,
                         size_t count, float *out, double *fft_buf)
{
    double *x = fft_buf, *X = fft_buf + YAM_FFT_IN;
    for (size_t t = 0; t < count; t++) {
        size_t start = (first + t) * YAM_HOP;
        for (int i = 0; i < YAM_WIN; i++) {
            size_t s = start + (size_t)i;
            x[i] = s < n ? (double)wave[s] * f->window[i] : 0.0;
        }
        for (int i = YAM_WIN; i < YAM_NFFT; i++)
            x[i] = 0.0;
        es_fftd_forward(f->fft, x, X);
        double mag[YAM_BINS];
        for (int k = 0; k < YAM_BINS; k++)
            mag[k] = sqrt(X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1]);
        float *o = out + t * ES_YAMNET_MEL_BANDS;
        for (int b = 0; b < ES_YAMNET_MEL_BANDS; b++) {
            double acc = 0.0;
            for (int k = f->lo[b]; k < f->hi[b]; k++)
                acc += f->wt[b][k - f->lo[b]] * mag[k];
            o[b] = (float)log(acc + 0.001);
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
    double *buf = es_fftd_alloc(YAM_FFT_BUF);
    if (!out || !buf) {
        free(out);
        es_fftd_free_buf(buf);
        yam_frontend_free(f);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for %zu log-mel frames", nf);
    }
    yam_frontend_frames(f, wave, n, 0, nf, out, buf);
    es_fftd_free_buf(buf);
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
