/*
 * test_retrain_run.c: es_retrain_run as the server drives it: the progress
 * callback sees the stages in order with fractions in [0, 1]; the cancel
 * flag set from the callback stops the run with ES_ERR_CANCELLED, leaves no
 * latest and records the run as cancelled; the next run trains, reusing the
 * embeddings the cancelled one had cached; a second call while the first
 * holds the lock is refused.
 */
#include "testutil.h"

#include "ecosight/pipeline_retrain.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct seen {
    pthread_mutex_t mu;
    char order[512];        /* stages in first-seen order, space separated */
    int bad_fraction;
    volatile int cancel;
    const char *cancel_at;  /* set cancel when this stage reaches half way */
} seen;

static void on_progress(void *ud, const char *stage, double fraction, const char *message)
{
    (void)message;
    seen *s = ud;
    pthread_mutex_lock(&s->mu);
    char key[40];
    snprintf(key, sizeof key, " %s ", stage);
    char padded[520];
    snprintf(padded, sizeof padded, " %s ", s->order);
    if (!strstr(padded, key)) {
        size_t l = strlen(s->order);
        snprintf(s->order + l, sizeof s->order - l, "%s%s", l ? " " : "", stage);
    }
    if (fraction > 1.0 + 1e-9 || (fraction < 0 && fraction != -1.0))
        s->bad_fraction = 1;
    if (s->cancel_at && strcmp(stage, s->cancel_at) == 0 && fraction >= 0.5)
        s->cancel = 1;
    pthread_mutex_unlock(&s->mu);
}

static void copy_subset(const char *shared, const char *dst, int per_class)
{
    static const char *classes[] = {"clips", "dog_bark", "engine_idling", "gun_shot"};
    es_error err;
    for (int c = 0; c < 4; c++) {
        char src[2048], d[2048];
        snprintf(src, sizeof src, "%s/data/extracted_audio/%s", shared, classes[c]);
        snprintf(d, sizeof d, "%s/%s", dst, classes[c]);
        ES_ASSERT_OK(es_mkdirs(d, &err), &err);
        es_strlist files = {0};
        ES_ASSERT_OK(es_list_dir(src, 1, &files, &err), &err);
        for (int i = 0; i < per_class && (size_t)i < files.count; i++) {
            char a[4096], b[4096];
            snprintf(a, sizeof a, "%s/%s", src, files.items[i]);
            snprintf(b, sizeof b, "%s/%s", d, files.items[i]);
            char *data;
            size_t len;
            ES_ASSERT_OK(es_read_file(a, 64 << 20, &data, &len, &err), &err);
            ES_ASSERT_OK(es_write_file_atomic(b, data, len, &err), &err);
            free(data);
        }
        es_strlist_free(&files);
    }
}

static void test_progress_cancel_resume(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "models/yamnet.tflite");
    if (!es_test_shared("data/extracted_audio"))
        skip();
    const char *san = getenv("ES_SANITIZED");
    int per_class = san && strcmp(san, "1") == 0 ? 5 : 8;
    char *root = es_test_tmpdir("retrain_run");
    char *data = es_path_join(root, "data"), *models = es_path_join(root, "models");
    copy_subset(shared, data, per_class);

    seen s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    s.cancel_at = "features";
    es_retrain_config c = es_retrain_default_config();
    c.data_dir = data;
    c.models_dir = models;
    c.s3_mode = ES_RETRAIN_S3_OFF;
    c.threads = 2;
    c.train.per_file = 1;
    c.train.epochs = 3;
    c.progress = on_progress;
    c.progress_ud = &s;
    c.cancel = &s.cancel;
    es_retrain_result r;
    es_error err;
    assert_int_equal(es_retrain_run(&c, &r, &err), ES_ERR_CANCELLED);
    char latest[ES_VERSION_NAME_MAX];
    assert_int_equal(es_models_latest_local(models, latest, &err), ES_ERR_NOT_FOUND);
    int64_t computed_before = r.cache_misses;
    es_retrain_result_clear(&r);
    es_store *st;
    es_run_info ri;
    ES_ASSERT_OK(es_store_open_dir(models, &st, &err), &err);
    ES_ASSERT_OK(es_store_last_run(st, NULL, &ri, &err), &err);
    assert_string_equal(ri.status, "cancelled");
    es_run_info_clear(&ri);
    es_store_close(st);

    /* The next run completes and reuses what the cancelled one cached. */
    memset(s.order, 0, sizeof s.order);
    s.cancel = 0;
    s.cancel_at = NULL;
    ES_ASSERT_OK(es_retrain_run(&c, &r, &err), &err);
    assert_int_equal(r.trained, 1);
    assert_true(r.cache_hits >= computed_before);
    assert_true(r.cache_hits > 0);
    ES_ASSERT_OK(es_models_latest_local(models, latest, &err), &err);
    assert_string_equal(latest, r.version);
    assert_int_equal(s.bad_fraction, 0);
    /* Stages in order (the training's own in the middle). */
    const char *want[] = {"lock", "download", "scan", "trigger", "features", "train",
                          "evaluate", "save", "publish", "log"};
    const char *p = s.order;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *q = strstr(p, want[i]);
        if (!q)
            fail_msg("stage %s missing or out of order in '%s'", want[i], s.order);
        p = q + strlen(want[i]);
    }
    es_retrain_result_clear(&r);

    /* Nothing new: no training, exit OK, reason says so. */
    ES_ASSERT_OK(es_retrain_run(&c, &r, &err), &err);
    assert_int_equal(r.trained, 0);
    assert_non_null(strstr(r.reason, "nothing to do"));
    es_retrain_result_clear(&r);

    /* While someone holds the lock, a run is refused and changes nothing. */
    es_models_lock *l;
    ES_ASSERT_OK(es_models_lock_acquire(models, &l, &err), &err);
    c.force = 1;
    assert_int_equal(es_retrain_run(&c, &r, &err), ES_ERR_BUSY);
    es_retrain_result_clear(&r);
    es_models_lock_release(l);

    pthread_mutex_destroy(&s.mu);
    es_remove_tree(root, NULL);
    free(data);
    free(models);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_cancel_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
