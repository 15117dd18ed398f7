/*
 * test_classifier_badfiles.c: one bad recording must not stop a training run.
 * Real recordings from ../shared plus deliberately broken ones (random bytes
 * named .wav, a WAV cut inside its header, a float WAV full of NaN, a float
 * WAV of finite but absurd values (3e38) that decodes fine and only breaks in
 * augmentation or the embedding): the run succeeds, lists every bad file with
 * its path and a reason (result, split.json), trains on the good ones only,
 * and fails loudly only when a class is left without training originals.
 * Needs ../shared (skips loudly without it).
 */
#include "testutil.h"

#include "ecosight/pipeline_train.h"
#include "ecosight/yamnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A mono 16 kHz IEEE-float WAV of n copies of +v/-v alternating. */
static void write_float_wav(const char *path, float v, size_t n)
{
    size_t bytes = 44 + 4 * n;
    unsigned char *b = calloc(1, bytes);
    assert_non_null(b);
    memcpy(b, "RIFF", 4);
    put_u32(b + 4, (uint32_t)(bytes - 8));
    memcpy(b + 8, "WAVEfmt ", 8);
    put_u32(b + 16, 16);
    b[20] = 3; /* IEEE float */
    b[22] = 1; /* mono */
    put_u32(b + 24, 16000);
    put_u32(b + 28, 16000 * 4);
    b[32] = 4;
    b[34] = 32;
    memcpy(b + 36, "data", 4);
    put_u32(b + 40, (uint32_t)(4 * n));
    for (size_t i = 0; i < n; i++) {
        float s = (i & 1) ? -v : v;
        memcpy(b + 44 + 4 * i, &s, 4);
    }
    write_bytes(path, b, bytes);
    free(b);
}

/* DATA/<cls>/ with links to the first `count` recordings of the shared class. */
static void link_class(const char *shared_data, const char *data, const char *cls, int count,
                       const char *as)
{
    char *src = es_test_path(shared_data, cls), *dst = es_test_path(data, as ? as : cls);
    es_error err;
    ES_ASSERT_OK(es_mkdirs(dst, &err), &err);
    es_strlist fl = {0};
    ES_ASSERT_OK(es_list_dir(src, 1, &fl, &err), &err);
    int taken = 0;
    for (size_t i = 0; i < fl.count && taken < count; i++) {
        if (!strstr(fl.items[i], ".wav") && !strstr(fl.items[i], ".mp3"))
            continue;
        char *s = es_test_path(src, fl.items[i]), *d = es_test_path(dst, fl.items[i]);
        assert_int_equal(symlink(s, d), 0);
        free(s);
        free(d);
        taken++;
    }
    assert_int_equal(taken, count);
    es_strlist_free(&fl);
    free(src);
    free(dst);
}

/* The four kinds of bad file in dir. */
static void write_bad_files(const char *shared_data, const char *dir)
{
    char *p;
    unsigned char junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (unsigned char)(x >> 16);
    }
    p = es_test_path(dir, "bad_random.wav");
    write_bytes(p, junk, sizeof junk);
    free(p);

    /* a real recording cut inside its header */
    char *gdir = es_test_path(shared_data, "gun_shot");
    es_strlist fl = {0};
    es_error err;
    ES_ASSERT_OK(es_list_dir(gdir, 1, &fl, &err), &err);
    size_t w = 0;
    while (w < fl.count && !strstr(fl.items[w], ".wav"))
        w++;
    assert_true(w < fl.count);
    char *real = es_test_path(gdir, fl.items[w]), *head = NULL;
    size_t len = 0;
    ES_ASSERT_OK(es_read_file(real, 1 << 24, &head, &len, &err), &err);
    assert_true(len > 30);
    p = es_test_path(dir, "bad_truncated.wav");
    write_bytes(p, head, 30);
    free(p);
    free(head);
    free(real);
    es_strlist_free(&fl);
    free(gdir);

    p = es_test_path(dir, "bad_nan.wav");
    write_float_wav(p, NAN, 16000);
    free(p);
    p = es_test_path(dir, "bad_huge.wav");
    write_float_wav(p, 3e38f, 16000);
    free(p);
}

static const char *const bad_names[4] = {"bad_random.wav", "bad_truncated.wav", "bad_nan.wav",
                                         "bad_huge.wav"};

static void test_bad_files_skipped(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "data/extracted_audio");
    char *sdata = es_test_path(shared, "data/extracted_audio");
    char *ypath = es_test_path(shared, "models/yamnet.tflite");
    es_error err;
    es_yamnet *y;
    ES_ASSERT_OK(es_yamnet_open(ypath, &y, &err), &err);
    int sanitized = getenv("ES_SANITIZED") && atoi(getenv("ES_SANITIZED"));
    int per_class = sanitized ? 3 : 6;
    const char *classes[4] = {"clips", "dog_bark", "engine_idling", "gun_shot"};

    char *root = es_test_tmpdir("classifier_badfiles");
    char *data = es_test_path(root, "data"), *models = es_test_path(root, "models");
    for (int k = 0; k < 4; k++)
        link_class(sdata, data, classes[k], per_class, NULL);
    /* every bad file beside good ones of one class */
    char *gdir = es_test_path(data, "gun_shot");
    write_bad_files(sdata, gdir);

    es_train_config cfg = es_train_default_config();
    cfg.data_dir = data;
    cfg.models_dir = models;
    cfg.yamnet = y;
    cfg.per_file = 1;
    cfg.epochs = 2;
    cfg.num_hidden = 1;
    cfg.hidden[0] = 16;
    cfg.threads = 2;
    cfg.version_name = "v1";
    es_train_result r;
    ES_ASSERT_OK(es_train_run(&cfg, &r, &err), &err);

    /* every bad file listed once, with its path and a reason */
    assert_int_equal(r.bad_files.count, 4);
    for (int b = 0; b < 4; b++) {
        int found = 0;
        for (size_t i = 0; i < r.bad_files.count; i++) {
            const char *e = r.bad_files.items[i], *at = strstr(e, bad_names[b]);
            if (!at)
                continue;
            found++;
            const char *colon = strstr(at, ": ");
            assert_non_null(colon);
            assert_true(strlen(colon + 2) > 3); /* a reason follows */
            if (b == 3)
                assert_non_null(strstr(e, "finite"));
        }
        if (found != 1)
            fail_msg("%s listed %d times", bad_names[b], found);
    }
    /* trained on the good recordings only, with finite results */
    assert_int_equal(r.n_train + r.n_val + r.n_test, (size_t)(4 * per_class));
    assert_true(isfinite(r.test_accuracy) && isfinite(r.test_loss));
    assert_true(r.test_accuracy >= 0.0 && r.test_accuracy <= 1.0);

    /* split.json lists them (top-level and per file) */
    char *vdir = es_test_path(models, "v1"), *sj = es_test_path(vdir, "split.json"), *text;
    size_t tl;
    ES_ASSERT_OK(es_read_file(sj, 1 << 22, &text, &tl, &err), &err);
    char *bf = strstr(text, "\"bad_files\"");
    assert_non_null(bf);
    for (int b = 0; b < 4; b++) {
        char needle[64];
        snprintf(needle, sizeof needle, "gun_shot/%s\"", bad_names[b]);
        char *entry = strstr(text, needle);
        if (!entry)
            fail_msg("split.json has no entry %s", needle);
        char *next = strstr(entry, "}");
        char *errkey = strstr(entry, "\"error\"");
        assert_true(errkey && errkey < next);
    }
    free(text);
    free(sj);
    free(vdir);
    es_train_result_clear(&r);

    /* a class left with nothing usable: the run fails naming it, nothing published */
    char *data2 = es_test_path(root, "data2"), *models2 = es_test_path(root, "models2");
    link_class(sdata, data2, "dog_bark", 3, "a");
    char *bdir = es_test_path(data2, "b");
    ES_ASSERT_OK(es_mkdirs(bdir, &err), &err);
    write_bad_files(sdata, bdir);
    cfg.data_dir = data2;
    cfg.models_dir = models2;
    cfg.version_name = "v2";
    es_error_clear(&err);
    assert_int_equal(es_train_run(&cfg, &r, &err), ES_ERR_EMPTY);
    assert_non_null(strstr(es_error_text(&err), "class b"));
    assert_int_equal(r.bad_files.count, 4);
    char *latest = es_test_path(models2, "latest"), *v2 = es_test_path(models2, "v2");
    assert_false(es_is_dir(v2));
    assert_int_equal(access(latest, F_OK), -1);
    es_train_result_clear(&r);

    free(latest);
    free(v2);
    free(bdir);
    free(data2);
    free(models2);
    free(gdir);
    free(data);
    free(models);
    free(root);
    es_yamnet_free(y);
    free(ypath);
    free(sdata);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
