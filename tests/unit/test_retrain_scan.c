/*
 * test_retrain_scan.c: the catalog scan and the retrain trigger on a real
 * folder of WAV files: first run trains; unchanged files are not rehashed;
 * touching a file without changing its bytes triggers nothing; new and
 * changed content counts; a corrupt file is flagged bad and skipped; removed
 * files are noticed; --force overrides.
 */
#include "testutil.h"

#include "ecosight/audio.h"
#include "ecosight/pipeline_retrain.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static void write_tone(const char *dir, const char *cls, const char *name, double freq)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, cls);
    es_error err;
    ES_ASSERT_OK(es_mkdirs(path, &err), &err);
    snprintf(path, sizeof path, "%s/%s/%s", dir, cls, name);
    enum { N = 1600 };
    float s[N];
    for (int i = 0; i < N; i++)
        s[i] = 0.3f * (float)sin(2 * M_PI * freq * i / 16000.0);
    ES_ASSERT_OK(es_audio_write_wav(path, s, N, 16000, ES_WAV_PCM16, NULL, &err), &err);
}

static void succeed_run(es_store *st)
{
    es_error err;
    int64_t id;
    ES_ASSERT_OK(es_store_run_begin(st, "test", 0, 0, &id, &err), &err);
    ES_ASSERT_OK(es_store_mark_trained(st, &err), &err);
    ES_ASSERT_OK(es_store_run_finish(st, id, "succeeded", "v1", NULL, NULL, 0, 0, -1, &err),
                 &err);
}

static void test_scan_and_trigger(void **state)
{
    (void)state;
    char *root = es_test_tmpdir("retrain_scan");
    char *data = es_path_join(root, "data"), *models = es_path_join(root, "models");
    for (int i = 0; i < 4; i++) {
        char n[32];
        snprintf(n, sizeof n, "a%d.wav", i);
        write_tone(data, "dog_bark", n, 200 + 10 * i);
        snprintf(n, sizeof n, "b%d.wav", i);
        write_tone(data, "gun_shot", n, 900 + 10 * i);
    }
    char p[1024];
    snprintf(p, sizeof p, "%s/gun_shot/corrupt.wav", data);
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(p, "RIFF....WAVEjunkjunkjunk", 24, &err), &err);
    snprintf(p, sizeof p, "%s/gun_shot/notes.txt", data);
    ES_ASSERT_OK(es_write_file_atomic(p, "not audio", 9, &err), &err);

    es_store *st;
    ES_ASSERT_OK(es_store_open_dir(models, &st, &err), &err);
    es_scan_summary s;
    ES_ASSERT_OK(es_retrain_scan(st, data, ES_SOURCE_LOCAL, 2, NULL, &s, &err), &err);
    assert_int_equal(s.files, 9);  /* 8 tones + the corrupt one; notes.txt ignored */
    assert_int_equal(s.hashed, 9);
    assert_int_equal(s.bad, 1);
    es_recording r;
    ES_ASSERT_OK(es_store_get_recording(st, "gun_shot/corrupt.wav", &r, &err), &err);
    assert_int_equal(r.bad, 1);
    assert_true(strlen(r.bad_reason) > 0);
    ES_ASSERT_OK(es_store_get_recording(st, "dog_bark/a1.wav", &r, &err), &err);
    assert_true(fabs(r.duration_s - 0.1) < 1e-6);
    assert_int_equal(r.bad, 0);

    es_retrain_decision d;
    ES_ASSERT_OK(es_retrain_decide(st, 100, 0, &d, &err), &err);
    assert_int_equal(d.train, 1);
    assert_int_equal(d.first_run, 1);
    assert_int_equal(d.pending.added, 8);
    assert_int_equal(d.pending.bad, 1);
    succeed_run(st);

    /* Nothing changed: nothing hashed, nothing to do. */
    ES_ASSERT_OK(es_retrain_scan(st, data, ES_SOURCE_LOCAL, 2, NULL, &s, &err), &err);
    assert_int_equal(s.hashed, 0);
    ES_ASSERT_OK(es_retrain_decide(st, 1, 0, &d, &err), &err);
    assert_int_equal(d.train, 0);
    assert_int_equal(d.first_run, 0);
    assert_non_null(strstr(d.reason, "nothing to do"));
    ES_ASSERT_OK(es_retrain_decide(st, 1, 1, &d, &err), &err); /* --force */
    assert_int_equal(d.train, 1);

    /* Touch one file (same bytes, new mtime): rehashed, but not pending. */
    snprintf(p, sizeof p, "%s/dog_bark/a0.wav", data);
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimes(p, tv), 0);
    /* Two new files and one changed content. */
    write_tone(data, "dog_bark", "a9.wav", 333);
    write_tone(data, "clips", "c0.wav", 444);
    write_tone(data, "gun_shot", "b1.wav", 1234);
    ES_ASSERT_OK(es_retrain_scan(st, data, ES_SOURCE_LOCAL, 2, NULL, &s, &err), &err);
    assert_int_equal(s.hashed, 4);
    ES_ASSERT_OK(es_retrain_decide(st, 3, 0, &d, &err), &err);
    assert_int_equal(d.pending.added, 2);
    assert_int_equal(d.pending.changed, 1);
    assert_int_equal(d.train, 1);
    ES_ASSERT_OK(es_retrain_decide(st, 4, 0, &d, &err), &err);
    assert_int_equal(d.train, 0);

    /* A file removed is noticed. */
    snprintf(p, sizeof p, "%s/dog_bark/a2.wav", data);
    assert_int_equal(unlink(p), 0);
    ES_ASSERT_OK(es_retrain_scan(st, data, ES_SOURCE_LOCAL, 1, NULL, &s, &err), &err);
    assert_int_equal(s.absent, 1);
    ES_ASSERT_OK(es_retrain_decide(st, 3, 0, &d, &err), &err);
    assert_int_equal(d.pending.removed, 1);

    es_class_count *cc;
    size_t n;
    ES_ASSERT_OK(es_store_class_counts(st, &cc, &n, &err), &err);
    assert_int_equal(n, 3);
    assert_string_equal(cc[0].name, "clips");
    assert_int_equal(cc[1].count, 4); /* dog_bark: a0 a1 a3 a9 */
    assert_int_equal(cc[2].bad, 1);
    free(cc);

    assert_int_equal(es_retrain_scan(st, "/nonexistent/dir", ES_SOURCE_LOCAL, 1, NULL, &s, &err),
                     ES_ERR_NOT_FOUND);
    es_store_close(st);
    es_remove_tree(root, NULL);
    free(data);
    free(models);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_and_trigger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
