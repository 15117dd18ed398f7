/*
 * test_audio_resample.c: 44.1 kHz -> 16 kHz through both resampling paths
 * (the decoder's streaming soxr and the one-shot es_resample) keeps a
 * 1 kHz tone's frequency (FFT peak within one bin) and level (within
 * 0.1 dB), removes what would alias (a 12 kHz tone), and has librosa's
 * output length ceil(n * 16000 / 44100).
 */
#include "testutil.h"

#include "ecosight/audio.h"
#include "ecosight/dsp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_RATE 44100
#define OUT_RATE 16000
#define NFFT 16000 /* 1 Hz bins at 16 kHz */

static float *tone(size_t n, double hz, double amp)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * sin(2.0 * M_PI * hz * (double)i / IN_RATE));
    return x;
}

static double rms(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

/* Frequency of the largest bin of a Hann-windowed FFT of NFFT samples. */
static double peak_hz(const float *x)
{
    es_fft *f;
    es_error err;
    ES_ASSERT_OK(es_fft_new(NFFT, &f, &err), &err);
    float *in = es_fft_alloc(NFFT), *out = es_fft_alloc(2 * (NFFT / 2 + 1));
    float *w = malloc(NFFT * sizeof *w);
    es_window_hann_periodic(w, NFFT);
    for (int i = 0; i < NFFT; i++)
        in[i] = x[i] * w[i];
    es_fft_forward(f, in, out);
    int best = 0;
    double bm = -1;
    for (int k = 0; k <= NFFT / 2; k++) {
        double m = (double)out[2 * k] * out[2 * k] + (double)out[2 * k + 1] * out[2 * k + 1];
        if (m > bm) {
            bm = m;
            best = k;
        }
    }
    free(w);
    es_fft_free_buf(in);
    es_fft_free_buf(out);
    es_fft_free(f);
    return (double)best * OUT_RATE / NFFT;
}

static void check_tone(const char *what, const float *y, int64_t ny, double in_rms)
{
    /* skip the filter's edges: analyse 1 s from 0.5 s on */
    assert_true(ny >= OUT_RATE / 2 + NFFT);
    const float *mid = y + OUT_RATE / 2;
    double hz = peak_hz(mid);
    double db = 20.0 * log10(rms(mid, NFFT) / in_rms);
    printf("  %s: peak %.1f Hz, level %+.4f dB\n", what, hz, db);
    if (fabs(hz - 1000.0) > (double)OUT_RATE / NFFT)
        fail_msg("%s: peak at %.1f Hz, want 1000 +- 1 bin", what, hz);
    if (fabs(db) > 0.1)
        fail_msg("%s: level changed by %.4f dB (limit 0.1)", what, db);
}

static void test_tone_kept(void **state)
{
    (void)state;
    const size_t n = IN_RATE * 3;
    float *x = tone(n, 1000.0, 0.5);
    double in_rms = rms(x + IN_RATE, IN_RATE); /* 0.5/sqrt(2) */
    int64_t want = (int64_t)ceil((double)n * OUT_RATE / IN_RATE);

    /* one-shot */
    float *y = NULL;
    int64_t ny = 0;
    es_error err;
    ES_ASSERT_OK(es_resample(x, (int64_t)n, IN_RATE, OUT_RATE, &y, &ny, &err), &err);
    assert_int_equal(ny, want);
    check_tone("es_resample", y, ny, in_rms);
    free(y);

    /* the decoder's streaming path, from a WAV in memory */
    void *wav = NULL;
    size_t len = 0;
    ES_ASSERT_OK(es_audio_encode_wav(x, (int64_t)n, IN_RATE, ES_WAV_FLOAT32, &wav, &len, NULL,
                                     &err),
                 &err);
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = OUT_RATE;
    es_audio a = {0};
    ES_ASSERT_OK(es_audio_load_memory(wav, len, "tone.wav", &o, &a, &err), &err);
    assert_int_equal(a.sample_rate, OUT_RATE);
    assert_int_equal(a.frames, want);
    check_tone("decoder stream", a.samples, a.frames, in_rms);

    /* the two paths agree closely in the steady state */
    double maxd = 0;
    float *y2 = NULL;
    ES_ASSERT_OK(es_resample(x, (int64_t)n, IN_RATE, OUT_RATE, &y2, &ny, &err), &err);
    for (int64_t i = 1000; i < want - 1000; i++) {
        double d = fabs((double)a.samples[i] - (double)y2[i]);
        if (d > maxd)
            maxd = d;
    }
    printf("  stream vs one-shot: max difference %.2e\n", maxd);
    assert_true(maxd < 1e-3);
    free(y2);
    es_audio_clear(&a);
    free(wav);
    free(x);
}

static void test_alias_removed(void **state)
{
    (void)state;
    /* 12 kHz is above the new Nyquist (8 kHz): it must be filtered out,
     * not folded to 4 kHz */
    const size_t n = IN_RATE * 2;
    float *x = tone(n, 12000.0, 0.5);
    float *y = NULL;
    int64_t ny = 0;
    es_error err;
    ES_ASSERT_OK(es_resample(x, (int64_t)n, IN_RATE, OUT_RATE, &y, &ny, &err), &err);
    double db = 20.0 * log10(rms(y + 2000, (size_t)ny - 4000) / (0.5 / sqrt(2.0)) + 1e-30);
    printf("  12 kHz tone after resampling to 16 kHz: %.1f dB\n", db);
    assert_true(db < -60.0);
    free(y);
    free(x);
}

static void test_resample_edges(void **state)
{
    (void)state;
    es_error err;
    float *y = NULL;
    int64_t ny = -1;
    float one = 0.25f;
    ES_ASSERT_OK(es_resample(&one, 0, IN_RATE, OUT_RATE, &y, &ny, &err), &err);
    assert_int_equal(ny, 0);
    free(y);
    ES_ASSERT_OK(es_resample(&one, 1, IN_RATE, OUT_RATE, &y, &ny, &err), &err);
    assert_int_equal(ny, 1);
    free(y);
    ES_ASSERT_OK(es_resample(&one, 1, 16000, 16000, &y, &ny, &err), &err);
    assert_int_equal(ny, 1);
    assert_true(y[0] == 0.25f);
    free(y);
    /* upsampling has the same length rule */
    float x[100] = {0};
    ES_ASSERT_OK(es_resample(x, 100, 16000, 44100, &y, &ny, &err), &err);
    assert_int_equal(ny, (int64_t)ceil(100 * 44100.0 / 16000.0));
    free(y);
    assert_int_equal(es_resample(x, 100, 0, 16000, &y, &ny, &err), ES_ERR_INVALID);
    assert_int_equal(es_resample(x, 100, 16000, NAN, &y, &ny, &err), ES_ERR_INVALID);
    assert_int_equal(es_resample(x, -1, 16000, 8000, &y, &ny, &err), ES_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tone_kept),
        cmocka_unit_test(test_alias_removed),
        cmocka_unit_test(test_resample_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
