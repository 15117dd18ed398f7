/*
 * stretch.c: librosa's phase-vocoder time stretch and the pitch shift built
 * on it, streaming a frame at a time (memory is the output plus a few frames,
 * not the whole spectrogram).
 *
 * librosa.phase_vocoder, for output frame t at input position step = t*rate:
 *   magnitude = linear interpolation of |D| between frames floor(step) and +1
 *               (frames past the end are zero);
 *   output    = magnitude * exp(i * phase_acc);
 *   phase_acc += phi_advance + wrap(angle(D1) - angle(D0) - phi_advance),
 * with phase_acc starting at angle(D[:, 0]). wrap() only removes whole turns,
 * so modulo 2*pi the update is exactly phase_acc += angle(D1) - angle(D0):
 * we keep exp(i * phase_acc) as a unit phasor and multiply it by
 * (D1/|D1|) * conj(D0/|D0|) (angle(0) = 0, the phasor 1). That gives the same
 * phases as librosa's accumulator without its atan2/sin/cos per bin, and
 * without the precision loss of a float32 accumulator that grows by up to
 * 512*pi per frame.
 */
#include "stretch.h"

#include "ecosight/audio.h"
#include "ecosight/dsp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PV_N_FFT 2048
#define PV_HOP 512

/* One analysed input frame: magnitudes and unit phasors per bin. */
typedef struct pv_frame {
    int64_t index; /* -1: empty slot */
    float *mag;    /* bins */
    float *unit;   /* 2*bins, interleaved */
} pv_frame;

typedef struct pv_state {
    const es_stft *stft;
    const float *x;
    int64_t n;
    int64_t frames; /* input frames */
    int bins;
    float *scratch; /* n_fft */
    float *spec;    /* 2*bins */
    pv_frame slot[2];
} pv_state;

static void pv_analyse(pv_state *s, pv_frame *f, int64_t index)
{
    f->index = index;
    if (index >= s->frames) {
        /* librosa pads two zero columns after the last frame */
        for (int k = 0; k < s->bins; k++) {
            f->mag[k] = 0.0f;
            f->unit[2 * k] = 1.0f;
            f->unit[2 * k + 1] = 0.0f;
        }
        return;
    }
    es_stft_frame(s->stft, s->x, s->n, index, s->scratch, s->spec);
    for (int k = 0; k < s->bins; k++) {
        float re = s->spec[2 * k], im = s->spec[2 * k + 1];
        float m = sqrtf(re * re + im * im);
        f->mag[k] = m;
        if (m > 0.0f) {
            f->unit[2 * k] = re / m;
            f->unit[2 * k + 1] = im / m;
        } else {
            f->unit[2 * k] = 1.0f;
            f->unit[2 * k + 1] = 0.0f;
        }
    }
}

/* The analysed frame `index`, reusing a slot when it is already there. */
static const pv_frame *pv_get(pv_state *s, int64_t index, int64_t keep)
{
    for (int i = 0; i < 2; i++)
        if (s->slot[i].index == index)
            return &s->slot[i];
    /* evict the slot that does not hold `keep` */
    pv_frame *f = s->slot[0].index == keep ? &s->slot[1] : &s->slot[0];
    pv_analyse(s, f, index);
    return f;
}

es_status es_aug_time_stretch(const float *x, size_t n, double rate, float **out, size_t *out_n,
                              es_error *err)
{
    if (!(rate > 0.0) || !isfinite(rate))
        return es_error_set(err, ES_ERR_INVALID, "time stretch: bad rate %g", rate);
    if (n == 0)
        return es_error_set(err, ES_ERR_EMPTY, "time stretch: empty input");
    if (n > (size_t)INT64_MAX / 4)
        return es_error_set(err, ES_ERR_TOO_LARGE, "time stretch: input too long");
    /* Python's round(): half to even, which nearbyint does in the default mode */
    int64_t len = (int64_t)nearbyint((double)n / rate);
    es_stft *stft = NULL;
    /* portable FFT: the same bits on every x86-64 CPU (see docs/AUGMENTATION.md) */
    es_status rc = es_stft_new_ex(PV_N_FFT, PV_HOP, ES_FFT_PORTABLE, &stft, err);
    if (rc != ES_OK)
        return rc;

    pv_state s;
    memset(&s, 0, sizeof s);
    s.stft = stft;
    s.x = x;
    s.n = (int64_t)n;
    s.frames = es_stft_num_frames(stft, (int64_t)n);
    s.bins = es_stft_bins(stft);
    /* np.arange(0, frames, rate) has ceil(frames / rate) steps; only those the
     * ISTFT of `len` samples reads are computed. */
    int64_t steps = (int64_t)ceil((double)s.frames / rate);
    int64_t use = es_istft_frames_needed(stft, steps, len);

    float *y = malloc(sizeof(float) * (size_t)(len > 0 ? len : 1));
    float *acc_ph = malloc(sizeof(float) * 2 * (size_t)s.bins);
    s.scratch = es_fft_alloc(PV_N_FFT);
    s.spec = es_fft_alloc(2 * (size_t)s.bins);
    for (int i = 0; i < 2; i++) {
        s.slot[i].index = -1;
        s.slot[i].mag = malloc(sizeof(float) * (size_t)s.bins);
        s.slot[i].unit = malloc(sizeof(float) * 2 * (size_t)s.bins);
    }
    es_istft_acc acc;
    memset(&acc, 0, sizeof acc);
    if (!y || !acc_ph || !s.scratch || !s.spec || !s.slot[0].mag || !s.slot[0].unit ||
        !s.slot[1].mag || !s.slot[1].unit) {
        rc = es_error_set(err, ES_ERR_NOMEM, "time stretch: out of memory for %zu samples", n);
        goto done;
    }
    rc = es_istft_begin(stft, use, len, &acc, err);
    if (rc != ES_OK)
        goto done;

    /* phase_acc = angle(D[:, 0]) */
    const pv_frame *f0 = pv_get(&s, 0, -1);
    memcpy(acc_ph, f0->unit, sizeof(float) * 2 * (size_t)s.bins);

    for (int64_t t = 0; t < use; t++) {
        double step = (double)t * rate;
        int64_t i0 = (int64_t)step;
        float alpha = (float)fmod(step, 1.0);
        const pv_frame *a = pv_get(&s, i0, i0 + 1);
        const pv_frame *b = pv_get(&s, i0 + 1, i0);
        float *spec = s.spec;
        for (int k = 0; k < s.bins; k++) {
            float m = (1.0f - alpha) * a->mag[k] + alpha * b->mag[k];
            float pr = acc_ph[2 * k], pi = acc_ph[2 * k + 1];
            spec[2 * k] = m * pr;
            spec[2 * k + 1] = m * pi;
            /* d = unit(D1) * conj(unit(D0)) */
            float ar = a->unit[2 * k], ai = a->unit[2 * k + 1];
            float br = b->unit[2 * k], bi = b->unit[2 * k + 1];
            float dr = br * ar + bi * ai;
            float di = bi * ar - br * ai;
            float nr = pr * dr - pi * di;
            float ni = pr * di + pi * dr;
            /* one Newton step towards |phasor| = 1 keeps rounding from drifting */
            float g = 1.5f - 0.5f * (nr * nr + ni * ni);
            acc_ph[2 * k] = nr * g;
            acc_ph[2 * k + 1] = ni * g;
        }
        es_istft_add(stft, &acc, t, spec);
    }
    es_istft_end(stft, &acc, y);
    *out = y;
    *out_n = (size_t)len;
    y = NULL;

done:
    es_istft_abort(&acc);
    free(y);
    free(acc_ph);
    es_fft_free_buf(s.scratch);
    es_fft_free_buf(s.spec);
    for (int i = 0; i < 2; i++) {
        free(s.slot[i].mag);
        free(s.slot[i].unit);
    }
    es_stft_free(stft);
    return rc;
}

es_status es_aug_pitch_shift(const float *x, size_t n, int sample_rate, double n_steps,
                             float **out, size_t *out_n, es_error *err)
{
    if (sample_rate <= 0)
        return es_error_set(err, ES_ERR_INVALID, "pitch shift: bad sample rate %d", sample_rate);
    double rate = pow(2.0, -n_steps / 12.0);
    float *st = NULL;
    size_t st_n = 0;
    es_status rc = es_aug_time_stretch(x, n, rate, &st, &st_n, err);
    if (rc != ES_OK)
        return rc;
    float *rs = NULL;
    int64_t rs_n = 0;
    rc = es_resample(st, (int64_t)st_n, (double)sample_rate / rate, (double)sample_rate, &rs,
                     &rs_n, err);
    free(st);
    if (rc != ES_OK)
        return rc;
    /* util.fix_length(y, size=n): cut or zero-pad */
    float *y = malloc(sizeof(float) * n);
    if (!y) {
        free(rs);
        return es_error_set(err, ES_ERR_NOMEM, "pitch shift: out of memory for %zu samples", n);
    }
    size_t keep = (size_t)rs_n < n ? (size_t)rs_n : n;
    memcpy(y, rs, keep * sizeof(float));
    memset(y + keep, 0, (n - keep) * sizeof(float));
    free(rs);
    *out = y;
    *out_n = n;
    return ES_OK;
}
