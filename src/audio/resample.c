/*
 * resample.c: one-shot resampling of a mono buffer with libsoxr at SOXR_HQ,
 * the engine and quality librosa uses by default (res_type="soxr_hq"). The
 * augmentations' pitch shift resamples by irrational ratios through here.
 */
#include "ecosight/audio.h"

#include <math.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

es_status es_resample(const float *in, int64_t n, double in_rate, double out_rate, float **out,
                      int64_t *out_n, es_error *err)
{
    if (n < 0 || !(in_rate > 0) || !(out_rate > 0) || !isfinite(in_rate) || !isfinite(out_rate))
        return es_error_set(err, ES_ERR_INVALID, "resample: bad arguments (n=%lld, %g -> %g Hz)",
                            (long long)n, in_rate, out_rate);
    int64_t want = (int64_t)ceil((double)n * out_rate / in_rate);
    float *y = calloc((size_t)(want > 0 ? want : 1), sizeof(float));
    if (!y)
        return es_error_set(err, ES_ERR_NOMEM, "resample: out of memory for %lld frames",
                            (long long)want);
    if (n == 0) {
        *out = y;
        *out_n = 0;
        return ES_OK;
    }
    if (in_rate == out_rate) {
        memcpy(y, in, (size_t)n * sizeof(float));
        *out = y;
        *out_n = n;
        return ES_OK;
    }
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1);
    size_t odone = 0;
    soxr_error_t e = soxr_oneshot(in_rate, out_rate, 1, in, (size_t)n, NULL, y, (size_t)want,
                                  &odone, &io, &q, &rt);
    if (e) {
        free(y);
        return es_error_set(err, ES_ERR_INTERNAL, "resample %g -> %g Hz failed: %s", in_rate,
                            out_rate, e);
    }
    /* librosa fixes the length to ceil(n * ratio): zero-pad any shortfall
     * (calloc already zeroed it). */
    (void)odone;
    *out = y;
    *out_n = want;
    return ES_OK;
}
