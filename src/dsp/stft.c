/*
 * stft.c: the short-time Fourier transform and its overlap-add inverse with
 * librosa's conventions (center=True, zero padding, periodic Hann, istft's
 * division by the squared-window sum), on top of the FFTW plans of fft.c.
 *
 * The forward transform works a frame at a time so a caller that consumes
 * frames as it goes (the phase vocoder) never holds the whole matrix; the
 * inverse is an accumulator for the same reason. A plan is immutable once
 * made, so threads share it and bring their own buffers.
 */
#include "ecosight/dsp.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

struct es_stft {
    int n_fft;
    int hop;
    es_fft *fft;
    float *window;     /* periodic Hann, n_fft */
    float *window_inv; /* window / n_fft: FFTW's inverse is unnormalised */
};

es_status es_stft_new(int n_fft, int hop, es_stft **out, es_error *err)
{
    return es_stft_new_ex(n_fft, hop, 0, out, err);
}

es_status es_stft_new_ex(int n_fft, int hop, unsigned flags, es_stft **out, es_error *err)
{
    if (n_fft < 2 || n_fft % 2 != 0 || hop < 1 || hop > n_fft)
        return es_error_set(err, ES_ERR_INVALID, "bad STFT geometry: n_fft %d, hop %d", n_fft,
                            hop);
    es_stft *s = calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for an STFT plan");
    s->n_fft = n_fft;
    s->hop = hop;
    s->window = malloc(sizeof(float) * (size_t)n_fft);
    s->window_inv = malloc(sizeof(float) * (size_t)n_fft);
    if (!s->window || !s->window_inv) {
        es_stft_free(s);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for an STFT plan");
    }
    es_status rc = es_fft_new_ex(n_fft, flags, &s->fft, err);
    if (rc != ES_OK) {
        es_stft_free(s);
        return rc;
    }
    es_window_hann_periodic(s->window, n_fft);
    for (int i = 0; i < n_fft; i++)
        s->window_inv[i] = s->window[i] / (float)n_fft;
    *out = s;
    return ES_OK;
}

void es_stft_free(es_stft *s)
{
    if (!s)
        return;
    es_fft_free(s->fft);
    free(s->window);
    free(s->window_inv);
    free(s);
}

int es_stft_n_fft(const es_stft *s) { return s->n_fft; }
int es_stft_hop(const es_stft *s) { return s->hop; }
int es_stft_bins(const es_stft *s) { return s->n_fft / 2 + 1; }
const float *es_stft_window(const es_stft *s) { return s->window; }

int64_t es_stft_num_frames(const es_stft *s, int64_t n)
{
    /* padded length n + 2*(n_fft/2); frames = 1 + (padded - n_fft) / hop */
    return n < 0 ? 0 : 1 + n / s->hop;
}

void es_stft_frame(const es_stft *s, const float *x, int64_t n, int64_t t, float *scratch,
                   float *spec)
{
    const int nf = s->n_fft;
    int64_t start = t * s->hop - nf / 2;
    /* the part of the frame that lies inside the signal */
    int64_t lo = start < 0 ? -start : 0;
    int64_t hi = start + nf > n ? n - start : nf;
    if (hi < lo)
        hi = lo;
    for (int64_t i = 0; i < lo; i++)
        scratch[i] = 0.0f;
    const float *w = s->window;
    for (int64_t i = lo; i < hi; i++)
        scratch[i] = x[start + i] * w[i];
    for (int64_t i = hi; i < nf; i++)
        scratch[i] = 0.0f;
    es_fft_forward(s->fft, scratch, spec);
}

es_status es_stft_forward(const es_stft *s, const float *x, int64_t n, float **spec_out,
                          int64_t *frames_out, es_error *err)
{
    int64_t frames = es_stft_num_frames(s, n);
    size_t per = 2 * (size_t)es_stft_bins(s);
    float *spec = es_fft_alloc((size_t)frames * per);
    float *scratch = es_fft_alloc((size_t)s->n_fft);
    float *one = es_fft_alloc(per);
    if (!spec || !scratch || !one) {
        es_fft_free_buf(spec);
        es_fft_free_buf(scratch);
        es_fft_free_buf(one);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for an STFT of %lld frames",
                            (long long)frames);
    }
    /* FFTW executes on buffers aligned as the planning ones were; rows of
     * 2*bins floats inside the matrix are not, so each frame goes via `one` */
    for (int64_t t = 0; t < frames; t++) {
        es_stft_frame(s, x, n, t, scratch, one);
        memcpy(spec + (size_t)t * per, one, per * sizeof(float));
    }
    es_fft_free_buf(one);
    es_fft_free_buf(scratch);
    *spec_out = spec;
    *frames_out = frames;
    return ES_OK;
}

int64_t es_istft_frames_needed(const es_stft *s, int64_t available, int64_t length)
{
    int64_t padded = length + 2 * (s->n_fft / 2);
    int64_t need = (padded + s->hop - 1) / s->hop;
    return need < available ? need : available;
}

es_status es_istft_begin(const es_stft *s, int64_t frames, int64_t length, es_istft_acc *acc,
                         es_error *err)
{
    memset(acc, 0, sizeof *acc);
    if (frames < 0 || length < 0)
        return es_error_set(err, ES_ERR_INVALID, "bad ISTFT size: %lld frames, length %lld",
                            (long long)frames, (long long)length);
    acc->frames = frames;
    acc->length = length;
    acc->len = frames > 0 ? s->n_fft + (int64_t)s->hop * (frames - 1) : 0;
    acc->buf = calloc((size_t)(acc->len ? acc->len : 1), sizeof(float));
    acc->scratch = es_fft_alloc((size_t)s->n_fft);
    if (!acc->buf || !acc->scratch) {
        es_istft_abort(acc);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for an ISTFT of %lld frames",
                            (long long)frames);
    }
    return ES_OK;
}

void es_istft_add(const es_stft *s, es_istft_acc *acc, int64_t t, float *spec)
{
    const int nf = s->n_fft;
    /* numpy's irfft ignores the imaginary parts of the DC and Nyquist bins */
    spec[1] = 0.0f;
    spec[2 * (nf / 2) + 1] = 0.0f;
    es_fft_inverse(s->fft, spec, acc->scratch);
    float *dst = acc->buf + t * s->hop;
    const float *w = s->window_inv;
    const float *src = acc->scratch;
    for (int i = 0; i < nf; i++)
        dst[i] += src[i] * w[i];
}

void es_istft_end(const es_stft *s, es_istft_acc *acc, float *y)
{
    const int nf = s->n_fft, hop = s->hop, half = nf / 2;
    const float *w = s->window;
    /* Squared-window sum over the frames, added frame by frame in order (as
     * librosa's window_sumsquare). Without memory for it, fall back to
     * summing per sample: the same additions in the same order. */
    float *wss = calloc((size_t)(acc->len ? acc->len : 1), sizeof(float));
    if (wss) {
        for (int64_t f = 0; f < acc->frames; f++) {
            float *d = wss + f * hop;
            for (int i = 0; i < nf; i++)
                d[i] += w[i] * w[i];
        }
    }
    for (int64_t i = 0; i < acc->length; i++) {
        int64_t j = i + half; /* position in the padded overlap-add buffer */
        if (j >= acc->len) {
            y[i] = 0.0f;
            continue;
        }
        float ws;
        if (wss) {
            ws = wss[j];
        } else {
            int64_t f_hi = j / hop;
            if (f_hi > acc->frames - 1)
                f_hi = acc->frames - 1;
            int64_t f_lo = j - nf < 0 ? 0 : (j - nf) / hop + 1;
            ws = 0.0f;
            for (int64_t f = f_lo; f <= f_hi; f++) {
                float wv = w[j - f * hop];
                ws += wv * wv;
            }
        }
        float v = acc->buf[j];
        y[i] = ws > FLT_MIN ? v / ws : v;
    }
    free(wss);
    es_istft_abort(acc);
}

void es_istft_abort(es_istft_acc *acc)
{
    free(acc->buf);
    es_fft_free_buf(acc->scratch);
    acc->buf = NULL;
    acc->scratch = NULL;
}

es_status es_istft(const es_stft *s, const float *spec, int64_t frames, int64_t length, float *y,
                   es_error *err)
{
    int64_t use = es_istft_frames_needed(s, frames, length);
    es_istft_acc acc;
    es_status rc = es_istft_begin(s, use, length, &acc, err);
    if (rc != ES_OK)
        return rc;
    size_t per = 2 * (size_t)es_stft_bins(s);
    float *tmp = es_fft_alloc(per);
    if (!tmp) {
        es_istft_abort(&acc);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for an ISTFT frame");
    }
    for (int64_t t = 0; t < use; t++) {
        memcpy(tmp, spec + (size_t)t * per, per * sizeof(float));
        es_istft_add(s, &acc, t, tmp);
    }
    es_fft_free_buf(tmp);
    es_istft_end(s, &acc, y);
    return ES_OK;
}
