/*
 * test_classifier_model.c: model versions without YAMNet: a version
 * directory opened through MODELS_DIR/latest, predictions identical to the
 * head's, thresholds and max_seconds from the metadata, the latest symlink
 * swapped atomically (relative, refusing missing versions), the retraining
 * log appended, and inconsistent directories refused.
 */
#include "testutil.h"

#include "ecosight/classifier.h"
#include "ecosight/pipeline_train.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_text(const char *dir, const char *name, const char *text)
{
    char *p = es_test_path(dir, name);
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(p, text, strlen(text), &err), &err);
    free(p);
}

static es_head *make_version(const char *models, const char *version)
{
    es_head_config c = es_head_default_config(ES_EMBED_DIM, 4);
    c.num_hidden = 1;
    c.hidden[0] = 16;
    es_head *h;
    es_error err;
    ES_ASSERT_OK(es_head_new(&c, 5, &h, &err), &err);
    float *mean = malloc(ES_EMBED_DIM * sizeof(float)), *sd = malloc(ES_EMBED_DIM * sizeof(float));
    for (int i = 0; i < ES_EMBED_DIM; i++) {
        mean[i] = 0.01f * (float)(i % 7);
        sd[i] = 0.5f + 0.001f * (float)i;
    }
    ES_ASSERT_OK(es_head_set_norm(h, mean, sd, &err), &err);
    free(mean);
    free(sd);
    char *vdir = es_test_path(models, version);
    ES_ASSERT_OK(es_mkdirs(vdir, &err), &err);
    char *hp = es_test_path(vdir, "head.esh");
    ES_ASSERT_OK(es_head_save(h, hp, &err), &err);
    write_text(vdir, "class_names.json", "[\"clips\", \"dog_bark\", \"engine_idling\", \"gun_shot\"]");
    write_text(vdir, "model_metadata.json",
               "{\"max_seconds\": 3.5, \"decision_thresholds\": {\"gun_shot\": 0.125}}");
    free(hp);
    free(vdir);
    return h;
}

static void test_model_latest_predict(void **state)
{
    (void)state;
    char *models = es_test_tmpdir("classifier_model");
    es_head *h = make_version(models, "20260101T000000Z");
    es_error err;
    ES_ASSERT_OK(es_models_set_latest(models, "20260101T000000Z", &err), &err);
    char *latest = es_test_path(models, "latest");
    char link[PATH_MAX];
    ssize_t n = readlink(latest, link, sizeof link - 1);
    assert_true(n > 0);
    link[n] = 0;
    assert_string_equal(link, "20260101T000000Z"); /* relative */

    es_model *m;
    ES_ASSERT_OK(es_model_open(models, &m, &err), &err); /* MODELS_DIR -> latest */
    assert_string_equal(es_model_version(m), "20260101T000000Z");
    assert_int_equal(es_model_num_classes(m), 4);
    assert_string_equal(es_model_class_name(m, 3), "gun_shot");
    assert_int_equal(es_model_class_index(m, "dog_bark"), 1);
    assert_int_equal(es_model_class_index(m, "cat"), -1);
    assert_true(es_model_max_seconds(m) == 3.5);
    assert_true(es_model_threshold(m, 3) == 0.125f);
    assert_true(es_model_threshold(m, 0) == 0.5f);
    float emb[ES_EMBED_DIM], p1[4], p2[4];
    for (int i = 0; i < ES_EMBED_DIM; i++)
        emb[i] = (float)((i * 37) % 11) * 0.1f;
    ES_ASSERT_OK(es_model_predict_embedding(m, emb, p1, &err), &err);
    ES_ASSERT_OK(es_head_predict(h, emb, 1, p2, &err), &err);
    assert_memory_equal(p1, p2, sizeof p1);
    es_model_free(m);

    /* A second version; latest moves; a missing one is refused, latest kept. */
    es_head_free(make_version(models, "20260102T000000Z"));
    ES_ASSERT_OK(es_models_set_latest(models, "20260102T000000Z", &err), &err);
    ES_ASSERT_OK(es_model_open(latest, &m, &err), &err);
    assert_string_equal(es_model_version(m), "20260102T000000Z");
    es_model_free(m);
    assert_int_equal(es_models_set_latest(models, "nope", &err), ES_ERR_NOT_FOUND);
    assert_int_equal(es_models_set_latest(models, "../x", &err), ES_ERR_INVALID);
    n = readlink(latest, link, sizeof link - 1);
    link[n] = 0;
    assert_string_equal(link, "20260102T000000Z");

    /* Inconsistent class list -> refused. */
    char *v2 = es_test_path(models, "20260102T000000Z");
    write_text(v2, "class_names.json", "[\"a\", \"b\"]");
    assert_int_equal(es_model_open(v2, &m, &err), ES_ERR_MODEL);
    char *empty = es_test_tmpdir("classifier_model_empty");
    assert_int_equal(es_model_open(empty, &m, &err), ES_ERR_NOT_FOUND);
    free(empty);
    free(v2);
    free(latest);
    es_head_free(h);
    free(models);
}

static void test_retraining_log(void **state)
{
    (void)state;
    char *models = es_test_tmpdir("classifier_log");
    es_error err;
    ES_ASSERT_OK(es_models_append_log(models, "{\"model_version\": \"a\"}", &err), &err);
    ES_ASSERT_OK(es_models_append_log(models, "{\"model_version\": \"b\"}", &err), &err);
    char *p = es_test_path(models, "retraining_log.json"), *text;
    size_t len;
    ES_ASSERT_OK(es_read_file(p, 1 << 20, &text, &len, &err), &err);
    char *a = strstr(text, "\"a\""), *b = strstr(text, "\"b\"");
    assert_non_null(strstr(text, "retraining_history"));
    assert_true(a && b && a < b);
    free(text);
    assert_int_equal(es_models_append_log(models, "{not json", &err), ES_ERR_INVALID);
    write_text(models, "retraining_log.json", "{\"retraining_history\": 5}");
    assert_int_equal(es_models_append_log(models, "{}", &err), ES_ERR_FORMAT);
    free(p);
    free(models);
}

typedef struct swap_ctx {
    const char *models;
    const char *version;
    int rounds;
    int failures;
} swap_ctx;

static void *swapper(void *arg)
{
    swap_ctx *c = arg;
    for (int i = 0; i < c->rounds; i++) {
        es_error err;
        if (es_models_set_latest(c->models, c->version, &err) != ES_OK)
            c->failures++;
    }
    return NULL;
}

static void *reader(void *arg)
{
    swap_ctx *c = arg;
    for (int i = 0; i < c->rounds; i++) {
        es_model *m;
        es_error err;
        if (es_model_open(c->models, &m, &err) != ES_OK) {
            c->failures++;
            continue;
        }
        const char *v = es_model_version(m);
        if (strcmp(v, "va") != 0 && strcmp(v, "vb") != 0)
            c->failures++;
        es_model_free(m);
    }
    return NULL;
}

/* Two threads swap latest between two versions while a third keeps opening
 * the model through it: every open succeeds (latest is never missing or
 * half-made) and no temporary link is left behind. */
static void test_latest_swap_concurrent(void **state)
{
    (void)state;
    char *models = es_test_tmpdir("classifier_swap");
    es_head_free(make_version(models, "va"));
    es_head_free(make_version(models, "vb"));
    es_error err;
    ES_ASSERT_OK(es_models_set_latest(models, "va", &err), &err);
    int rounds = getenv("ES_SANITIZED") && atoi(getenv("ES_SANITIZED")) ? 50 : 200;
    swap_ctx a = {models, "va", rounds, 0}, b = {models, "vb", rounds, 0}, r = {models, NULL, rounds, 0};
    pthread_t ta, tb, tr;
    pthread_create(&ta, NULL, swapper, &a);
    pthread_create(&tb, NULL, swapper, &b);
    pthread_create(&tr, NULL, reader, &r);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tr, NULL);
    assert_int_equal(a.failures, 0);
    assert_int_equal(b.failures, 0);
    assert_int_equal(r.failures, 0);
    es_strlist l = {0};
    ES_ASSERT_OK(es_list_dir(models, 0, &l, &err), &err);
    assert_int_equal(l.count, 3); /* va, vb, latest (hidden temporaries would not be listed) */
    es_strlist_free(&l);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep '^\\.latest')\"", models);
    assert_int_equal(system(cmd), 0);
    free(models);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_latest_predict),
        cmocka_unit_test(test_retraining_log),
        cmocka_unit_test(test_latest_swap_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
