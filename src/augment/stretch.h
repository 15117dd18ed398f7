/*
 * stretch.h (private to augment): librosa's time stretch and pitch shift.
 */
#ifndef ES_AUGMENT_STRETCH_H
#define ES_AUGMENT_STRETCH_H

#include "ecosight/core.h"

/* librosa.effects.time_stretch(x, rate): n_fft 2048, hop 512; the output has
 * round(n / rate) samples (round half to even, as Python's round). */
es_status es_aug_time_stretch(const float *x, size_t n, double rate, float **out, size_t *out_n,
                              es_error *err);
/* librosa.effects.pitch_shift(x, sr, n_steps): time stretch by 2^(-n_steps/12),
 * soxr HQ resampling from sr/rate to sr, then cut or zero-pad to n. */
es_status es_aug_pitch_shift(const float *x, size_t n, int sample_rate, double n_steps,
                             float **out, size_t *out_n, es_error *err);

#endif
