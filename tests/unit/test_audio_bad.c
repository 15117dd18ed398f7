/*
 * test_audio_bad.c: hostile and broken input. A missing path, a directory,
 * a zero-byte file, random bytes named .wav and .mp3, a WAV header cut
 * mid-chunk, a WAV whose data chunk claims 4 GB in a 1 KB file: each must
 * come back as an error naming the file and the reason (no crash, no leak
 * under ASan, no hang), from a path and from memory; corrupt Ogg Vorbis
 * headers leak nothing. The fuzzer's corpus
 * (seeds and past findings) is replayed through the memory decoder.
 */
#include "testutil.h"

#include "ecosight/audio.h"

#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *g_dir;

static int setup(void **state)
{
    (void)state;
    g_dir = es_test_tmpdir("audio_bad");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_remove_tree(g_dir, NULL);
    free(g_dir);
    return 0;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* A canonical 44-byte-header mono PCM16 WAV of `bytes` total bytes whose
 * data chunk claims `claim` bytes. */
static unsigned char *wav_bytes(size_t bytes, uint32_t claim)
{
    unsigned char *b = calloc(1, bytes);
    assert_non_null(b);
    memcpy(b, "RIFF", 4);
    put_le32(b + 4, (uint32_t)(bytes - 8));
    memcpy(b + 8, "WAVEfmt ", 8);
    put_le32(b + 16, 16);
    b[20] = 1; /* PCM */
    b[22] = 1; /* mono */
    put_le32(b + 24, 16000);
    put_le32(b + 28, 32000);
    b[32] = 2;
    b[34] = 16;
    memcpy(b + 36, "data", 4);
    put_le32(b + 40, claim);
    for (size_t i = 44; i < bytes; i++)
        b[i] = (unsigned char)(i * 7);
    return b;
}

static char *put_file(const char *name, const void *data, size_t n)
{
    char *p = es_path_join(g_dir, name);
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(p, data, n, &err), &err);
    return p;
}

/* The path must fail with `want` (or any error when want == ES_OK), name
 * the file, and say `reason`; probe, load and stream all agree. */
static void expect_bad_path(const char *path, es_status want, const char *reason)
{
    es_error err;
    es_audio_info info;
    es_audio a = {0};
    es_audio_stream *s = NULL;
    es_status rcs[3];
    for (int k = 0; k < 3; k++) {
        es_error_clear(&err);
        if (k == 0)
            rcs[k] = es_audio_probe_file(path, &info, &err);
        else if (k == 1)
            rcs[k] = es_audio_load_file(path, NULL, &a, &err);
        else
            rcs[k] = es_audio_stream_open_file(path, 16000, &s, &err);
        printf("  %s -> %s\n", es_path_base(path), err.msg);
        if (rcs[k] == ES_OK)
            fail_msg("%s was accepted (call %d)", path, k);
        if (want != ES_OK && rcs[k] != want)
            fail_msg("%s: status %d (%s), want %d: %s", path, rcs[k], es_strerror(rcs[k]), want,
                     err.msg);
        assert_int_equal(err.code, rcs[k]);
        if (!strstr(err.msg, path))
            fail_msg("error does not name the file: %s", err.msg);
        if (reason && !strstr(err.msg, reason))
            fail_msg("error does not say '%s': %s", reason, err.msg);
    }
    assert_null(a.samples);
    assert_null(s);
}

static void expect_bad_memory(const void *data, size_t n, const char *name, const char *reason)
{
    es_error err;
    es_audio_info info;
    es_audio a = {0};
    es_error_clear(&err);
    es_status rc = es_audio_probe_memory(data, n, name, &info, &err);
    assert_int_not_equal(rc, ES_OK);
    assert_int_equal(err.code, rc);
    assert_non_null(strstr(err.msg, name));
    if (reason && !strstr(err.msg, reason))
        fail_msg("error does not say '%s': %s", reason, err.msg);
    es_error_clear(&err);
    rc = es_audio_load_memory(data, n, name, NULL, &a, &err);
    assert_int_not_equal(rc, ES_OK);
    assert_non_null(strstr(err.msg, name));
    assert_null(a.samples);
}

static void test_missing_dir_empty(void **state)
{
    (void)state;
    char *missing = es_path_join(g_dir, "no-such-file.wav");
    expect_bad_path(missing, ES_ERR_NOT_FOUND, "No such file");
    free(missing);
    expect_bad_path(g_dir, ES_ERR_INVALID, "directory");
    char *empty = put_file("empty.wav", "", 0);
    expect_bad_path(empty, ES_ERR_EMPTY, "empty");
    free(empty);
    /* a long path (about 380 characters: two 100-character directories
     * and a 150-character name) is still named whole */
    char part[151];
    memset(part, 'n', 100);
    part[100] = '\0';
    char *d1 = es_path_join(g_dir, part);
    char *d2 = es_path_join(d1, part);
    es_error err;
    ES_ASSERT_OK(es_mkdirs(d2, &err), &err);
    memset(part, 'n', 146);
    memcpy(part + 146, ".wav", 5);
    char *lp = es_path_join(d2, part);
    unsigned char junk[64] = {'R', 'I', 'F', 'F'};
    ES_ASSERT_OK(es_write_file_atomic(lp, junk, sizeof junk, &err), &err);
    free(d1);
    free(d2);
    expect_bad_path(lp, ES_ERR_FORMAT, "not a readable audio file");
    free(lp);
    expect_bad_memory("", 0, "upload.wav", "empty");
    expect_bad_memory(NULL, 0, "upload.mp3", "empty");
}

static void test_random_bytes(void **state)
{
    (void)state;
    unsigned char junk[4096];
    es_rng r;
    es_rng_init(&r, 9, NULL, 0, "junk");
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)es_rng_u32(&r);
    char *w = put_file("random.wav", junk, sizeof junk);
    char *m = put_file("random.mp3", junk, sizeof junk);
    expect_bad_path(w, ES_ERR_FORMAT, "not a readable audio file");
    expect_bad_path(m, ES_ERR_FORMAT, "not a readable audio file");
    expect_bad_memory(junk, sizeof junk, "random.wav", "not a readable audio file");
    expect_bad_memory(junk, sizeof junk, "random.mp3", "not a readable audio file");
    /* text, and one byte */
    const char *text = "this is not audio at all, just a text file\n";
    char *t = put_file("notes.wav", text, strlen(text));
    expect_bad_path(t, ES_ERR_FORMAT, NULL);
    char *one = put_file("one.mp3", "\xff", 1);
    expect_bad_path(one, ES_ERR_FORMAT, NULL);
    free(one);
    free(t);
    free(w);
    free(m);
}

static void test_truncated_and_lying_wav(void **state)
{
    (void)state;
    /* a good 1 KB file first, so the cuts below are of a valid file */
    unsigned char *good = wav_bytes(1024, 1024 - 44);
    char *g = put_file("good.wav", good, 1024);
    es_audio_info info;
    es_error err;
    ES_ASSERT_OK(es_audio_probe_file(g, &info, &err), &err);
    assert_int_equal(info.frames, (1024 - 44) / 2);
    free(g);

    /* header cut inside the fmt chunk, and inside the data chunk header */
    size_t cuts[] = {6, 12, 20, 30, 38, 40, 42};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "cut%zu.wav", cuts[i]);
        char *p = put_file(name, good, cuts[i]);
        expect_bad_path(p, ES_ERR_FORMAT, NULL);
        expect_bad_memory(good, cuts[i], name, NULL);
        free(p);
    }

    /* a data chunk that claims 4 GB in a 1 KB file */
    unsigned char *liar = wav_bytes(1024, 0xFFFFFFF0u);
    char *l = put_file("claims-4GB.wav", liar, 1024);
    expect_bad_path(l, ES_ERR_FORMAT, "data chunk claims 4294967280 bytes");
    expect_bad_memory(liar, 1024, "claims-4GB.wav", "truncated");
    free(l);
    free(liar);

    /* the same lie behind an ID3v2 tag (libsndfile skips the tag) */
    unsigned char *tagged = calloc(1, 1024 + 30);
    memcpy(tagged, "ID3\4\0\0\0\0\0\x14", 10); /* 20-byte tag */
    liar = wav_bytes(1024, 0xFFFFFFF0u);
    memcpy(tagged + 30, liar, 1024);
    expect_bad_memory(tagged, 1024 + 30, "tagged-4GB.wav", "data chunk claims 4294967280");
    free(liar);
    free(tagged);

    /* a file a little shorter than its header says (a cut last write; two
     * of the shared sanity clips are like this) reads what is there, as
     * librosa/soundfile do; one with less than half of what it claims is
     * refused */
    unsigned char *shortish = wav_bytes(1024, 1024 - 44 + 200);
    char *shp = put_file("short.wav", shortish, 1024);
    ES_ASSERT_OK(es_audio_probe_file(shp, &info, &err), &err);
    assert_int_equal(info.frames, (1024 - 44) / 2);
    free(shp);
    free(shortish);
    unsigned char *half = wav_bytes(1024, 2 * (1024 - 44) + 2);
    char *hp = put_file("half.wav", half, 1024);
    expect_bad_path(hp, ES_ERR_FORMAT, "claims 1962 bytes but the file holds only 980");
    free(hp);
    free(half);

    /* the "length unknown" marker streaming writers leave (ffmpeg to a
     * pipe writes 0xFFFFFFFF) is accepted and read to the end */
    unsigned char *streamed = wav_bytes(1024, 0xFFFFFFFFu);
    char *sp = put_file("streamed.wav", streamed, 1024);
    ES_ASSERT_OK(es_audio_probe_file(sp, &info, &err), &err);
    assert_int_equal(info.frames, (1024 - 44) / 2);
    free(sp);
    free(streamed);
    free(good);
}

/* Ogg Vorbis cut inside its headers, or with a header byte flipped: Debian's
 * libsndfile leaks the Vorbis codec setup on such files (found by the
 * fuzzer), so the decoder checks the headers first. Under ASan (LeakSanitizer
 * on, nothing suppressed) this test fails if any path still leaks. */
static void test_corrupt_vorbis(void **state)
{
    (void)state;
    const int rate = 16000;
    short pcm[16000];
    for (int i = 0; i < rate; i++)
        pcm[i] = (short)(8000.0 * sin(2.0 * M_PI * 440.0 * i / rate));
    char *p = es_path_join(g_dir, "good.ogg");
    SF_INFO fi = {.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS, .channels = 1, .samplerate = rate};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &fi);
    assert_non_null(sf);
    assert_int_equal(sf_write_short(sf, pcm, rate), rate);
    sf_close(sf);
    char *data;
    size_t len;
    es_error err;
    ES_ASSERT_OK(es_read_file(p, 1 << 20, &data, &len, &err), &err);
    es_audio a = {0};
    ES_ASSERT_OK(es_audio_load_memory(data, len, "good.ogg", NULL, &a, &err), &err);
    assert_int_equal(a.frames, rate);
    es_audio_clear(&a);
    /* the three header packets sit in the first few KB: cut there */
    size_t cuts[] = {60, 200, 1000, 2000, 3000, 4000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0] && cuts[i] < len; i++) {
        char name[32];
        snprintf(name, sizeof name, "cut%zu.ogg", cuts[i]);
        char *cp = put_file(name, data, cuts[i]);
        es_audio_info info;
        es_status rc = es_audio_probe_file(cp, &info, &err);
        printf("  %s -> %s\n", name, rc ? err.msg : "decodes (cut after the headers)");
        if (rc)
            assert_non_null(strstr(err.msg, name));
        rc = es_audio_load_memory(data, cuts[i], name, NULL, &a, &err);
        if (rc == ES_OK)
            es_audio_clear(&a);
        free(cp);
    }
    /* the same cuts behind ID3v2 tags, which libsndfile skips before it
     * looks for a format (found by the fuzzer) */
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0] && cuts[i] < len; i++) {
        size_t tag = 10 + 37 + 10 + 5;
        unsigned char *t = calloc(1, tag + cuts[i]);
        memcpy(t, "ID3\4\0\0\0\0\0\x25", 10); /* 37-byte tag */
        memcpy(t + 47, "ID3\3\0\0\0\0\0\5", 10);  /* then a 5-byte one */
        memcpy(t + tag, data, cuts[i]);
        char name[40];
        snprintf(name, sizeof name, "id3cut%zu.ogg", cuts[i]);
        es_status rc = es_audio_load_memory(t, tag + cuts[i], name, NULL, &a, &err);
        if (rc == ES_OK)
            es_audio_clear(&a);
        else
            assert_non_null(strstr(err.msg, name));
        if (cuts[i] < 3000)
            assert_int_equal(rc, ES_ERR_FORMAT);
        free(t);
    }
    /* a whole, valid file behind a tag: libsndfile refuses Ogg "embedded"
     * after a tag; it must do so cleanly (no leak) and say why */
    unsigned char *whole = calloc(1, 20 + len);
    memcpy(whole, "ID3\4\0\0\0\0\0\x0a", 10);
    memcpy(whole + 20, data, len);
    assert_int_equal(es_audio_load_memory(whole, 20 + len, "id3.ogg", NULL, &a, &err),
                     ES_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "id3.ogg"));
    free(whole);

    /* flip bytes across the header pages */
    for (size_t off = 30; off < 4000 && off < len; off += 97) {
        char *bad = malloc(len);
        memcpy(bad, data, len);
        bad[off] ^= 0x5a;
        es_status rc = es_audio_load_memory(bad, len, "flipped.ogg", NULL, &a, &err);
        if (rc == ES_OK)
            es_audio_clear(&a);
        else
            assert_non_null(strstr(err.msg, "flipped.ogg"));
        free(bad);
    }
    free(data);
    free(p);
}

/* Finite but absurd float samples (1e38) overflow inside the resampler's
 * filter: refused with a reason, never handed out as infinities (found by
 * fuzz_decode). At the file's own rate they are data and pass through. */
static void test_float_overflow(void **state)
{
    (void)state;
    float x[4000];
    for (int i = 0; i < 4000; i++)
        x[i] = (i % 2 ? 3e38f : -3e38f);
    void *wav;
    size_t len;
    es_error err;
    ES_ASSERT_OK(es_audio_encode_wav(x, 4000, 8000, ES_WAV_FLOAT32, &wav, &len, NULL, &err), &err);
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = 16000;
    es_audio a = {0};
    assert_int_equal(es_audio_load_memory(wav, len, "huge.wav", &o, &a, &err), ES_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "huge.wav"));
    assert_non_null(strstr(err.msg, "too large to resample"));
    assert_null(a.samples);
    ES_ASSERT_OK(es_audio_load_memory(wav, len, "huge.wav", NULL, &a, &err), &err);
    assert_int_equal(a.frames, 4000);
    es_audio_clear(&a);
    free(wav);
}

/* Every file of the fuzz corpus: seeds, and inputs that once broke the
 * decoder. Each must decode or fail cleanly; under ASan this is the leak
 * and memory-safety check of those inputs. */
static void test_fuzz_corpus_replay(void **state)
{
    (void)state;
    char *dir = es_test_source_path("tests/fuzz/corpus/fuzz_decode");
    es_strlist l = {0};
    es_error err;
    ES_ASSERT_OK(es_list_dir(dir, 1, &l, &err), &err);
    assert_true(l.count >= 9);
    static const char *names[] = {"c.wav", "c.flac", "c.ogg", "c.mp3"};
    int ok = 0, bad = 0;
    for (size_t i = 0; i < l.count; i++) {
        char *p = es_path_join(dir, l.items[i]);
        char *data;
        size_t len;
        ES_ASSERT_OK(es_read_file(p, 1 << 20, &data, &len, &err), &err);
        if (len < 1) {
            free(data);
            free(p);
            continue;
        }
        /* the fuzzer's framing: first byte picks the name */
        const char *name = names[(unsigned char)data[0] & 3];
        es_audio_load_opts o = es_audio_load_default_opts();
        o.sample_rate = 16000;
        o.max_seconds = 4.0;
        es_audio a = {0};
        es_error_clear(&err);
        es_status rc = es_audio_load_memory(data + 1, len - 1, name, &o, &a, &err);
        if (rc == ES_OK) {
            ok++;
            for (int64_t k = 0; k < a.frames; k++)
                assert_true(isfinite(a.samples[k]));
            es_audio_clear(&a);
        } else {
            bad++;
            assert_non_null(strstr(err.msg, name));
            printf("  %s -> %s\n", l.items[i], err.msg);
        }
        free(data);
        free(p);
    }
    printf("  corpus: %d decoded, %d refused\n", ok, bad);
    assert_true(ok >= 9); /* every seed is a valid file */
    es_strlist_free(&l);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_dir_empty),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_truncated_and_lying_wav),
        cmocka_unit_test(test_corrupt_vorbis),
        cmocka_unit_test(test_float_overflow),
        cmocka_unit_test(test_fuzz_corpus_replay),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
