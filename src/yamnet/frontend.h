/*
 * frontend.h (private to yamnet/): YAMNet's log-mel front end with its FFT
 * plan and mel filterbank, made once and read-only afterwards.
 */
#ifndef ES_YAMNET_FRONTEND_H
#define ES_YAMNET_FRONTEND_H

#include "ecosight/dsp.h"
#include "ecosight/yamnet.h"

#define YAM_WIN 400
#define YAM_HOP 160
#define YAM_NFFT 512
#define YAM_BINS (YAM_NFFT / 2 + 1)
#define YAM_MIN_SAMPLES 15600
#define YAM_PATCH_HOP_SAMPLES 7680

/* A caller's FFT buffer (es_fftd_alloc): the real input, then its spectrum. */
#define YAM_FFT_IN YAM_NFFT
#define YAM_FFT_BUF (YAM_FFT_IN + 2 * YAM_BINS)

typedef struct yam_frontend {
    double window[YAM_WIN];
    es_fftd *fft; /* FFTW r2c plan of YAM_NFFT, double precision */
    /* Mel band b covers bins [lo[b], hi[b]) with weights wt[b][bin - lo[b]]. */
    int lo[ES_YAMNET_MEL_BANDS], hi[ES_YAMNET_MEL_BANDS];
    double wt[ES_YAMNET_MEL_BANDS][YAM_BINS];
} yam_frontend;

es_status yam_frontend_new(yam_frontend **out, es_error *err);
void yam_frontend_free(yam_frontend *f);
/* Log-mel frames [first, first+count) of the padded waveform into out[count, 64].
 * fft_buf: YAM_FFT_BUF doubles from es_fftd_alloc, the caller's own (one per thread). */
void yam_frontend_frames(const yam_frontend *f, const float *wave, size_t n, size_t first,
                         size_t count, float *out, double *fft_buf);

#endif
