/*
 * test_audio.c: decoding against independently written files. Fixtures are
 * made at test time with libsndfile's writer from known integer/float
 * data; the decoder must give back exactly the values the format defines
 * (WAV PCM 8/16/24/32, float 32/64, FLAC), or the known signal within a
 * tolerance (OGG/Vorbis, MP3: lossy), from a path and from memory alike.
 * Also: mono mixing, first-N-seconds, caps, streaming equals whole loads,
 * and our WAV writer round-trips bit-exactly.
 */
#include "testutil.h"

#include "ecosight/audio.h"

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *g_dir;

static int setup(void **state)
{
    (void)state;
    g_dir = es_test_tmpdir("audio");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_remove_tree(g_dir, NULL);
    free(g_dir);
    return 0;
}

static char *fixture(const char *name)
{
    return es_path_join(g_dir, name);
}

/* Integer test data covering the whole range: the extremes, zero, +-1, and
 * a deterministic spread in between. Values are full-scale 32-bit ints. */
static int32_t *int_data(size_t n)
{
    int32_t *x = malloc(n * sizeof *x);
    assert_non_null(x);
    es_rng r;
    es_rng_init(&r, 2026, NULL, 0, "audio-ints");
    for (size_t i = 0; i < n; i++)
        x[i] = (int32_t)es_rng_u32(&r);
    x[0] = INT32_MIN;
    x[1] = INT32_MAX;
    x[2] = 0;
    x[3] = 1;
    x[4] = -1;
    return x;
}

static void write_sf(const char *path, int format, int channels, int rate, const void *data,
                     sf_count_t frames, char kind /* 'i' int, 'f' float, 'd' double, 's' short */)
{
    SF_INFO fi;
    memset(&fi, 0, sizeof fi);
    fi.format = format;
    fi.channels = channels;
    fi.samplerate = rate;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &fi);
    if (!sf)
        fail_msg("cannot write fixture %s: %s", path, sf_strerror(NULL));
    sf_count_t w = 0;
    switch (kind) {
    case 'i': w = sf_writef_int(sf, data, frames); break;
    case 's': w = sf_writef_short(sf, data, frames); break;
    case 'f': w = sf_writef_float(sf, data, frames); break;
    case 'd': w = sf_writef_double(sf, data, frames); break;
    }
    assert_int_equal(w, frames);
    assert_int_equal(sf_close(sf), 0);
}

static void load_path_and_memory(const char *path, const es_audio_load_opts *o, es_audio *a)
{
    es_error err;
    ES_ASSERT_OK(es_audio_load_file(path, o, a, &err), &err);
    /* the same bytes from memory decode to the same samples */
    char *bytes = NULL;
    size_t len = 0;
    ES_ASSERT_OK(es_read_file(path, 64 << 20, &bytes, &len, &err), &err);
    es_audio m = {0};
    ES_ASSERT_OK(es_audio_load_memory(bytes, len, es_path_base(path), o, &m, &err), &err);
    assert_int_equal(m.frames, a->frames);
    assert_int_equal(m.sample_rate, a->sample_rate);
    assert_memory_equal(m.samples, a->samples, (size_t)a->frames * sizeof(float));
    es_audio_clear(&m);
    free(bytes);
}

/* Each PCM width decodes to exactly value / 2^(bits-1): libsndfile's
 * normalisation, with a power-of-two scale so nothing is rounded except
 * the 32-bit case, where float's 24-bit mantissa rounds once. */
static void test_wav_pcm_bit_exact(void **state)
{
    (void)state;
    const size_t n = 4096;
    int32_t *x = int_data(n);
    struct {
        int sub;
        int bits;
        const char *name;
    } cases[] = {{SF_FORMAT_PCM_U8, 8, "u8.wav"},
                 {SF_FORMAT_PCM_16, 16, "s16.wav"},
                 {SF_FORMAT_PCM_24, 24, "s24.wav"},
                 {SF_FORMAT_PCM_32, 32, "s32.wav"}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int bits = cases[c].bits;
        /* keep only the top `bits` bits so the file holds them exactly */
        int32_t *q = malloc(n * sizeof *q);
        for (size_t i = 0; i < n; i++)
            q[i] = bits == 32 ? x[i] : (int32_t)((uint32_t)x[i] & ~((1u << (32 - bits)) - 1u));
        char *p = fixture(cases[c].name);
        write_sf(p, SF_FORMAT_WAV | cases[c].sub, 1, 22050, q, (sf_count_t)n, 'i');

        es_audio_info info;
        es_error err;
        ES_ASSERT_OK(es_audio_probe_file(p, &info, &err), &err);
        assert_string_equal(info.format, "WAV");
        assert_int_equal(info.channels, 1);
        assert_int_equal(info.sample_rate, 22050);
        assert_int_equal(info.frames, (int64_t)n);
        assert_true(fabs(info.duration_s - (double)n / 22050.0) < 1e-12);

        es_audio a = {0};
        load_path_and_memory(p, NULL, &a);
        assert_int_equal(a.frames, (int64_t)n);
        assert_int_equal(a.sample_rate, 22050);
        for (size_t i = 0; i < n; i++) {
            int32_t v = q[i] >> (32 - bits); /* the stored sample value */
            float want = (float)v * (float)ldexp(1.0, -(bits - 1));
            if (a.samples[i] != want)
                fail_msg("%s frame %zu: got %.9g want %.9g", cases[c].name, i,
                         (double)a.samples[i], (double)want);
        }
        es_audio_clear(&a);
        free(p);
        free(q);
    }
    free(x);
}

static void test_wav_float_bit_exact(void **state)
{
    (void)state;
    const size_t n = 3000;
    float *f = malloc(n * sizeof *f);
    double *d = malloc(n * sizeof *d);
    es_rng r;
    es_rng_init(&r, 1, NULL, 0, "floats");
    for (size_t i = 0; i < n; i++) {
        d[i] = es_rng_uniform_range(&r, -1.5, 1.5); /* float WAV may exceed full scale */
        f[i] = (float)es_rng_normal(&r) * 0.3f;
    }
    f[0] = 1e-30f; /* tiny values survive */
    d[1] = 1.0 + 1e-12; /* rounds to 1.0f */
    char *pf = fixture("f32.wav"), *pd = fixture("f64.wav");
    write_sf(pf, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, 16000, f, (sf_count_t)n, 'f');
    write_sf(pd, SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 1, 16000, d, (sf_count_t)n, 'd');
    es_audio a = {0};
    load_path_and_memory(pf, NULL, &a);
    assert_int_equal(a.frames, (int64_t)n);
    assert_memory_equal(a.samples, f, n * sizeof(float));
    es_audio_clear(&a);
    load_path_and_memory(pd, NULL, &a);
    assert_int_equal(a.frames, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        assert_true(a.samples[i] == (float)d[i]);
    es_audio_clear(&a);
    free(pf);
    free(pd);
    free(f);
    free(d);
}

static void test_stereo_mixes_to_mean(void **state)
{
    (void)state;
    const size_t n = 2000;
    short *st = malloc(2 * n * sizeof *st);
    for (size_t i = 0; i < n; i++) {
        st[2 * i] = (short)((i * 37) % 65536 - 32768);
        st[2 * i + 1] = (short)(32767 - (i * 91) % 65536);
    }
    char *p = fixture("stereo.wav");
    write_sf(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, 8000, st, (sf_count_t)n, 's');
    es_audio a = {0};
    load_path_and_memory(p, NULL, &a);
    assert_int_equal(a.frames, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        /* both terms and their mean are exact in float */
        float want = ((float)st[2 * i] / 32768.0f + (float)st[2 * i + 1] / 32768.0f) / 2.0f;
        assert_true(a.samples[i] == want);
    }
    es_audio_info info;
    es_error err;
    ES_ASSERT_OK(es_audio_probe_file(p, &info, &err), &err);
    assert_int_equal(info.channels, 2);
    es_audio_clear(&a);
    free(p);
    free(st);
}

/* Our writer: PCM16 read -> write -> read is bit-identical, as are the
 * sample bytes; float32 keeps every float; out-of-range PCM16 saturates and
 * is counted. */
static void test_wav_writer_round_trip(void **state)
{
    (void)state;
    const size_t n = 5000;
    int32_t *x = int_data(n);
    short *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (short)(x[i] >> 16);
    char *p1 = fixture("orig16.wav"), *p2 = fixture("ours16.wav"), *p3 = fixture("oursf.wav");
    write_sf(p1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 44100, s, (sf_count_t)n, 's');
    es_error err;
    es_audio a = {0}, b = {0};
    load_path_and_memory(p1, NULL, &a);
    int64_t clipped = -1;
    ES_ASSERT_OK(es_audio_write_wav(p2, a.samples, a.frames, a.sample_rate, ES_WAV_PCM16, &clipped,
                                    &err),
                 &err);
    assert_int_equal(clipped, 0);
    load_path_and_memory(p2, NULL, &b);
    assert_int_equal(b.frames, a.frames);
    assert_int_equal(b.sample_rate, 44100);
    assert_memory_equal(a.samples, b.samples, (size_t)n * sizeof(float));
    /* the sample bytes themselves: both files end with the same n*2 bytes */
    char *d1, *d2;
    size_t l1, l2;
    ES_ASSERT_OK(es_read_file(p1, 1 << 20, &d1, &l1, &err), &err);
    ES_ASSERT_OK(es_read_file(p2, 1 << 20, &d2, &l2, &err), &err);
    assert_memory_equal(d1 + l1 - 2 * n, d2 + l2 - 2 * n, 2 * n);
    assert_memory_equal(d2 + l2 - 2 * n, s, 2 * n); /* little-endian host */
    free(d1);
    free(d2);
    es_audio_clear(&b);

    /* float32 keeps values beyond full scale */
    a.samples[0] = 1.75f;
    a.samples[1] = -3.0f;
    ES_ASSERT_OK(es_audio_write_wav(p3, a.samples, a.frames, 16000, ES_WAV_FLOAT32, NULL, &err),
                 &err);
    load_path_and_memory(p3, NULL, &b);
    assert_int_equal(b.sample_rate, 16000);
    assert_memory_equal(a.samples, b.samples, (size_t)n * sizeof(float));
    es_audio_clear(&b);

    /* PCM16 saturates and counts what it clipped */
    float over[5] = {1.5f, -1.5f, 1.0f, -1.0f, 0.5f};
    void *mem = NULL;
    size_t len = 0;
    ES_ASSERT_OK(es_audio_encode_wav(over, 5, 8000, ES_WAV_PCM16, &mem, &len, &clipped, &err),
                 &err);
    assert_int_equal(clipped, 2);
    ES_ASSERT_OK(es_audio_load_memory(mem, len, "mem.wav", NULL, &b, &err), &err);
    assert_int_equal(b.frames, 5);
    assert_true(b.samples[0] == 32767.0f / 32768.0f);
    assert_true(b.samples[1] == -1.0f);
    assert_true(b.samples[2] == 32767.0f / 32768.0f);
    assert_true(b.samples[3] == -1.0f);
    assert_true(b.samples[4] == 0.5f);
    es_audio_clear(&b);
    free(mem);

    /* identical audio gives identical bytes (no timestamps in the file) */
    void *m1, *m2;
    size_t n1, n2;
    ES_ASSERT_OK(es_audio_encode_wav(a.samples, a.frames, 16000, ES_WAV_FLOAT32, &m1, &n1, NULL,
                                     &err),
                 &err);
    ES_ASSERT_OK(es_audio_encode_wav(a.samples, a.frames, 16000, ES_WAV_FLOAT32, &m2, &n2, NULL,
                                     &err),
                 &err);
    assert_int_equal(n1, n2);
    assert_memory_equal(m1, m2, n1);
    free(m1);
    free(m2);

    assert_int_equal(es_audio_write_wav(p3, a.samples, a.frames, 10, ES_WAV_PCM16, NULL, &err),
                     ES_ERR_INVALID);
    es_audio_clear(&a);
    free(p1);
    free(p2);
    free(p3);
    free(s);
    free(x);
}

/* ---- compressed formats from a known signal ---- */
static float *tone(size_t n, int rate, double hz, double amp)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(amp * sin(2.0 * M_PI * hz * (double)i / rate));
    return x;
}

/* Best alignment of y against x within +-maxlag (codec delay), then the
 * signal-to-error ratio in dB over the aligned middle. */
static double snr_aligned(const float *x, size_t nx, const float *y, size_t ny, int maxlag,
                          int *lag_out)
{
    size_t lo = 4096, hi = nx - 4096;
    double best = -1e300;
    int best_lag = 0;
    for (int lag = -maxlag; lag <= maxlag; lag++) {
        double c = 0;
        for (size_t i = lo; i < hi; i += 3) {
            long j = (long)i + lag;
            if (j >= 0 && (size_t)j < ny)
                c += (double)x[i] * y[j];
        }
        if (c > best) {
            best = c;
            best_lag = lag;
        }
    }
    double sig = 0, noise = 0;
    for (size_t i = lo; i < hi; i++) {
        long j = (long)i + best_lag;
        double e = (j >= 0 && (size_t)j < ny) ? (double)y[j] - x[i] : x[i];
        sig += (double)x[i] * x[i];
        noise += e * e;
    }
    *lag_out = best_lag;
    return 10.0 * log10(sig / (noise + 1e-30));
}

static void test_flac_ogg_mp3(void **state)
{
    (void)state;
    const int rate = 44100;
    const size_t n = (size_t)rate * 2;
    /* a tone plus a linear chirp (200 Hz -> 4 kHz over 2 s): not periodic,
     * so the alignment below has one answer, and a codec that drops or
     * shifts part of the band is caught */
    float *x = tone(n, rate, 440.0, 0.3);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        x[i] += (float)(0.3 * sin(2.0 * M_PI * (200.0 * t + 0.5 * 1900.0 * t * t)));
    }
    /* PCM16-quantised reference for the lossless case */
    short *q = malloc(n * sizeof *q);
    float *xq = malloc(n * sizeof *xq);
    for (size_t i = 0; i < n; i++) {
        q[i] = (short)lrintf(x[i] * 32767.0f);
        xq[i] = (float)q[i] / 32768.0f;
    }
    struct {
        const char *name;
        int format;
        const char *fmt_name;
        double min_snr_db;
    } cases[] = {
        {"tone.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, "FLAC", INFINITY},
        {"tone.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, "OGG", 25.0},
        {"tone.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, "MP3", 20.0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *p = fixture(cases[c].name);
        SF_INFO fi = {.format = cases[c].format, .channels = 1, .samplerate = rate};
        if (!sf_format_check(&fi))
            fail_msg("this libsndfile cannot write %s (needed for the fixture)", cases[c].name);
        write_sf(p, cases[c].format, 1, rate, q, (sf_count_t)n, 's');
        es_audio_info info;
        es_error err;
        ES_ASSERT_OK(es_audio_probe_file(p, &info, &err), &err);
        assert_string_equal(info.format, cases[c].fmt_name);
        assert_int_equal(info.sample_rate, rate);
        assert_int_equal(info.channels, 1);
        /* duration within 0.1 s (MP3 frames pad the end) */
        if (fabs(info.duration_s - 2.0) > 0.1)
            fail_msg("%s: duration %.4f s, want 2.0 +- 0.1", cases[c].name, info.duration_s);
        es_audio a = {0};
        load_path_and_memory(p, NULL, &a);
        assert_int_equal(a.sample_rate, rate);
        assert_true(fabs((double)a.frames / rate - 2.0) < 0.1);
        if (isinf(cases[c].min_snr_db)) {
            assert_int_equal(a.frames, (int64_t)n);
            assert_memory_equal(a.samples, xq, n * sizeof(float)); /* lossless */
        } else {
            int lag = 0;
            double snr = snr_aligned(xq, n, a.samples, (size_t)a.frames, 2500, &lag);
            printf("  %s: SNR %.1f dB at lag %d, %lld frames\n", cases[c].name, snr, lag,
                   (long long)a.frames);
            if (snr < cases[c].min_snr_db)
                fail_msg("%s: SNR %.1f dB below %.1f", cases[c].name, snr, cases[c].min_snr_db);
        }
        es_audio_clear(&a);
        free(p);
    }
    free(q);
    free(xq);
    free(x);
}

/* ---- first N seconds, caps, streaming ---- */
static void test_truncation_caps_streaming(void **state)
{
    (void)state;
    const int rate = 22050;
    const size_t n = (size_t)rate * 5 + 17; /* 5 s and a bit */
    float *x = tone(n, rate, 300.0, 0.5);
    char *p = fixture("five.wav");
    write_sf(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1, rate, x, (sf_count_t)n, 'f');
    es_error err;
    es_audio a = {0};

    /* first 4 s at the file's rate: a prefix of the file */
    es_audio_load_opts o = es_audio_load_default_opts();
    o.max_seconds = 4.0;
    ES_ASSERT_OK(es_audio_load_file(p, &o, &a, &err), &err);
    assert_int_equal(a.frames, 4 * rate);
    assert_memory_equal(a.samples, x, (size_t)a.frames * sizeof(float));
    es_audio_clear(&a);

    /* first 4 s at 16 kHz: exactly 64000 frames */
    o.sample_rate = 16000;
    ES_ASSERT_OK(es_audio_load_file(p, &o, &a, &err), &err);
    assert_int_equal(a.frames, 64000);
    assert_int_equal(a.sample_rate, 16000);
    es_audio_clear(&a);

    /* a cap below the length refuses instead of silently cutting */
    es_audio_load_opts capped = es_audio_load_default_opts();
    capped.max_frames = rate; /* 1 s */
    assert_int_equal(es_audio_load_file(p, &capped, &a, &err), ES_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "five.wav"));
    assert_null(a.samples);
    /* ... and a cap at exactly the length is fine */
    capped.max_frames = (int64_t)n;
    ES_ASSERT_OK(es_audio_load_file(p, &capped, &a, &err), &err);
    assert_int_equal(a.frames, (int64_t)n);
    es_audio_clear(&a);

    /* the whole file at 16 kHz has librosa's length ceil(n * 16000 / 22050) */
    es_audio_load_opts whole = es_audio_load_default_opts();
    whole.sample_rate = 16000;
    ES_ASSERT_OK(es_audio_load_file(p, &whole, &a, &err), &err);
    int64_t want = (int64_t)ceil((double)n * 16000.0 / rate);
    assert_int_equal(a.frames, want);

    /* streaming in odd-sized reads gives the same samples as a whole load */
    es_audio_stream *s;
    ES_ASSERT_OK(es_audio_stream_open_file(p, 16000, &s, &err), &err);
    assert_int_equal(es_audio_stream_rate(s), 16000);
    assert_int_equal(es_audio_stream_info(s)->sample_rate, rate);
    assert_int_equal(es_audio_stream_info(s)->frames, (int64_t)n);
    float *buf = malloc((size_t)want * 2 * sizeof *buf);
    int64_t got = 0, g = 0, step = 1;
    do {
        ES_ASSERT_OK(es_audio_stream_read(s, buf + got, step, &g, &err), &err);
        got += g;
        step = step * 2 + 3;
        if (step > 5000)
            step = 7;
    } while (g > 0);
    es_audio_stream_close(s);
    assert_true(got <= want && got >= want - 2); /* soxr's own tail length */
    assert_memory_equal(buf, a.samples, (size_t)got * sizeof(float));
    es_audio_clear(&a);

    /* a stream at the file's own rate hands out the file itself */
    ES_ASSERT_OK(es_audio_stream_open_file(p, 0, &s, &err), &err);
    got = 0;
    do {
        ES_ASSERT_OK(es_audio_stream_read(s, buf + got, 1000, &g, &err), &err);
        got += g;
    } while (g > 0);
    es_audio_stream_close(s);
    assert_int_equal(got, (int64_t)n);
    assert_memory_equal(buf, x, n * sizeof(float));
    free(buf);

    assert_true(es_audio_is_supported_name("a/b/C.WAV"));
    assert_true(es_audio_is_supported_name("x.mp3"));
    assert_true(es_audio_is_supported_name("x.flac"));
    assert_true(es_audio_is_supported_name("x.oga"));
    assert_false(es_audio_is_supported_name("x.txt"));
    assert_false(es_audio_is_supported_name("wav"));
    free(p);
    free(x);
}

/* A silent mono PCM16 WAV of `frames` frames, made sparse with ftruncate
 * (the zeros cost no disk and no time to write). */
static char *sparse_wav(const char *name, int rate, int64_t frames)
{
    char *p = fixture(name);
    unsigned char h[44] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ',
                           16, 0, 0, 0, 1, 0, 1, 0};
    uint32_t data = (uint32_t)(frames * 2), riff = data + 36, br = (uint32_t)rate * 2;
    memcpy(h + 4, &riff, 4);
    memcpy(h + 24, &rate, 4);
    memcpy(h + 28, &br, 4);
    h[32] = 2;
    h[34] = 16;
    memcpy(h + 36, "data", 4);
    memcpy(h + 40, &data, 4);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(h, 1, 44, f), 44);
    assert_int_equal(ftruncate(fileno(f), (off_t)(44 + (int64_t)data)), 0);
    fclose(f);
    return p;
}

/* Resident memory now (not the high-water mark, which earlier tests set). */
static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Long recordings stream with bounded memory: 30 minutes (5 under the
 * sanitizers) at 8 kHz read through a stream resampling to 16 kHz raise
 * the peak RSS by far less than the 115 MB a whole 16 kHz load would take.
 * And a whole-file load refuses a file past the 3-hour default cap. */
static void test_long_files(void **state)
{
    (void)state;
    const char *san = getenv("ES_SANITIZED");
    int minutes = san && strcmp(san, "1") == 0 ? 5 : 30;
    int64_t frames = (int64_t)minutes * 60 * 8000;
    char *p = sparse_wav("long.wav", 8000, frames);
    es_error err;
    es_audio_stream *s;
    long before = rss_kb(), peak = before;
    ES_ASSERT_OK(es_audio_stream_open_file(p, 16000, &s, &err), &err);
    float buf[4096];
    int64_t got = 0, g, reads = 0;
    do {
        ES_ASSERT_OK(es_audio_stream_read(s, buf, 4096, &g, &err), &err);
        got += g;
        if (++reads % 64 == 0) {
            long now = rss_kb();
            if (now > peak)
                peak = now;
        }
    } while (g > 0);
    es_audio_stream_close(s);
    long grew = peak - before;
    printf("  streamed %d min (%lld frames at 16 kHz): resident memory grew at most %ld KiB\n",
           minutes, (long long)got, grew);
    assert_true(llabs(got - 2 * frames) <= 2);
    assert_true(grew < 20 * 1024); /* a whole load would be 2*frames*4 bytes */
    free(p);

    /* 3 h + 1 s at the lowest rate we take: over the default whole-load cap */
    char *q = sparse_wav("three-hours.wav", ES_AUDIO_MIN_RATE,
                         (int64_t)(ES_AUDIO_DEFAULT_MAX_SECONDS + 1) * ES_AUDIO_MIN_RATE);
    es_audio a = {0};
    assert_int_equal(es_audio_load_file(q, NULL, &a, &err), ES_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "three-hours.wav"));
    assert_non_null(strstr(err.msg, "limit"));
    assert_null(a.samples);
    /* its first 4 s are fine */
    es_audio_load_opts o = es_audio_load_default_opts();
    o.max_seconds = 4;
    ES_ASSERT_OK(es_audio_load_file(q, &o, &a, &err), &err);
    assert_int_equal(a.frames, 4 * ES_AUDIO_MIN_RATE);
    es_audio_clear(&a);
    free(q);
}

/* The server decodes uploads on many threads at once: concurrent decodes
 * of WAV/FLAC/OGG/MP3 from memory (with resampling) give exactly the
 * samples a lone decode gives. */
typedef struct par_ctx {
    char *bytes[4];
    size_t len[4];
    es_audio ref[4];
} par_ctx;

static es_status par_item(void *ctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    par_ctx *c = ctx;
    int k = (int)(i % 4);
    static const char *names[4] = {"p.wav", "p.flac", "p.ogg", "p.mp3"};
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = 16000;
    es_audio a = {0};
    es_status rc = es_audio_load_memory(c->bytes[k], c->len[k], names[k], &o, &a, err);
    if (rc)
        return rc;
    if (a.frames != c->ref[k].frames ||
        memcmp(a.samples, c->ref[k].samples, (size_t)a.frames * sizeof(float)) != 0)
        rc = es_error_set(err, ES_ERR_INTERNAL, "%s: concurrent decode differs", names[k]);
    es_audio_clear(&a);
    return rc;
}

static void test_concurrent_decodes(void **state)
{
    (void)state;
    const int rate = 22050;
    const size_t n = (size_t)rate; /* 1 s */
    short *q = malloc(n * sizeof *q);
    for (size_t i = 0; i < n; i++)
        q[i] = (short)lrint(12000.0 * sin(2.0 * M_PI * 523.0 * (double)i / rate));
    int formats[4] = {SF_FORMAT_WAV | SF_FORMAT_PCM_16, SF_FORMAT_FLAC | SF_FORMAT_PCM_16,
                      SF_FORMAT_OGG | SF_FORMAT_VORBIS, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III};
    static const char *files[4] = {"par.wav", "par.flac", "par.ogg", "par.mp3"};
    par_ctx c;
    memset(&c, 0, sizeof c);
    es_error err;
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = 16000;
    for (int k = 0; k < 4; k++) {
        char *p = fixture(files[k]);
        write_sf(p, formats[k], 1, rate, q, (sf_count_t)n, 's');
        ES_ASSERT_OK(es_read_file(p, 16 << 20, &c.bytes[k], &c.len[k], &err), &err);
        ES_ASSERT_OK(es_audio_load_memory(c.bytes[k], c.len[k], files[k], &o, &c.ref[k], &err),
                     &err);
        free(p);
    }
    const char *san = getenv("ES_SANITIZED");
    int64_t items = san && strcmp(san, "1") == 0 ? 16 : 64;
    ES_ASSERT_OK(es_parallel_for(4, items, par_item, &c, &err), &err);
    for (int k = 0; k < 4; k++) {
        es_audio_clear(&c.ref[k]);
        free(c.bytes[k]);
    }
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wav_pcm_bit_exact),
        cmocka_unit_test(test_wav_float_bit_exact),
        cmocka_unit_test(test_stereo_mixes_to_mean),
        cmocka_unit_test(test_wav_writer_round_trip),
        cmocka_unit_test(test_flac_ogg_mp3),
        cmocka_unit_test(test_truncation_caps_streaming),
        cmocka_unit_test(test_concurrent_decodes),
        cmocka_unit_test(test_long_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
