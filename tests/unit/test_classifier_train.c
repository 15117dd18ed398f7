/*
 * test_classifier_train.c: es_train_run on a few real recordings with a real
 * YAMNet and an in-memory feature cache: the first run fills the cache, the
 * second is served from it entirely and produces byte-identical weights and
 * metrics (same seed, same data); a cancelled run fails without touching
 * `latest`. Needs ../shared (skips loudly without it).
 */
#include "testutil.h"

#include "ecosight/pipeline_train.h"
#include "ecosight/yamnet.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>

typedef struct entry {
    uint8_t key[32];
    char aug[32];
    uint64_t seed;
    float vec[ES_EMBED_DIM];
} entry;

typedef struct memcache {
    pthread_mutex_t mu;
    entry *e;
    size_t n, cap;
    size_t gets, puts;
    int bad_params;
} memcache;

static entry *find(memcache *c, const uint8_t key[32], const char *aug, uint64_t seed)
{
    for (size_t i = 0; i < c->n; i++)
        if (memcmp(c->e[i].key, key, 32) == 0 && strcmp(c->e[i].aug, aug) == 0 &&
            c->e[i].seed == seed)
            return &c->e[i];
    return NULL;
}

static int mc_get(void *ud, const uint8_t key[32], const char *aug, uint64_t seed,
                  const char *sha, const char *params, float *out, size_t dim)
{
    memcache *c = ud;
    pthread_mutex_lock(&c->mu);
    c->gets++;
    if (!sha || strlen(sha) != 64 || !params || !strstr(params, "max_s=") || dim != ES_EMBED_DIM)
        c->bad_params++;
    entry *e = find(c, key, aug, seed);
    if (e)
        memcpy(out, e->vec, dim * sizeof(float));
    pthread_mutex_unlock(&c->mu);
    return e != NULL;
}

static void mc_put(void *ud, const uint8_t key[32], const char *aug, uint64_t seed,
                   const char *sha, const char *params, const float *vec, size_t dim)
{
    memcache *c = ud;
    (void)sha;
    (void)params;
    pthread_mutex_lock(&c->mu);
    c->puts++;
    if (!find(c, key, aug, seed)) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->e = realloc(c->e, c->cap * sizeof *c->e);
        }
        entry *e = &c->e[c->n++];
        memcpy(e->key, key, 32);
        snprintf(e->aug, sizeof e->aug, "%s", aug);
        e->seed = seed;
        memcpy(e->vec, vec, dim * sizeof(float));
    }
    pthread_mutex_unlock(&c->mu);
}

static char *slurp(const char *dir, const char *version, const char *name, size_t *len)
{
    char *v = es_test_path(dir, version), *p = es_test_path(v, name), *data = NULL;
    es_error err;
    ES_ASSERT_OK(es_read_file(p, 1 << 26, &data, len, &err), &err);
    free(v);
    free(p);
    return data;
}

static void test_train_cache_determinism(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "data/extracted_audio");
    char *data = es_test_path(shared, "data/extracted_audio");
    char *ypath = es_test_path(shared, "models/yamnet.tflite");
    es_error err;
    es_yamnet *y;
    ES_ASSERT_OK(es_yamnet_open(ypath, &y, &err), &err);
    char *models = es_test_tmpdir("classifier_train");
    int sanitized = getenv("ES_SANITIZED") && atoi(getenv("ES_SANITIZED"));

    memcache mc = {.mu = PTHREAD_MUTEX_INITIALIZER};
    es_feature_cache fc = {&mc, mc_get, mc_put};
    es_train_config cfg = es_train_default_config();
    cfg.data_dir = data;
    cfg.models_dir = models;
    cfg.yamnet = y;
    cfg.max_files_per_class = sanitized ? 3 : 6;
    cfg.per_file = 1;
    cfg.epochs = 3;
    cfg.num_hidden = 1;
    cfg.hidden[0] = 32;
    cfg.threads = 2;
    cfg.cache = &fc;
    cfg.version_name = "run1";

    es_train_result r1, r2, r3;
    ES_ASSERT_OK(es_train_run(&cfg, &r1, &err), &err);
    assert_string_equal(r1.version, "run1");
    assert_int_equal(r1.cache_hits, 0);
    assert_true(r1.cache_misses > 0);
    assert_int_equal(mc.n, r1.cache_misses);
    assert_int_equal(mc.bad_params, 0);
    /* originals are cached under seed 0, augmentations under the run's seed */
    int orig = 0;
    for (size_t i = 0; i < mc.n; i++) {
        if (strcmp(mc.e[i].aug, "original") == 0) {
            assert_int_equal(mc.e[i].seed, 0);
            orig++;
        } else {
            assert_int_equal(mc.e[i].seed, cfg.seed);
        }
    }
    assert_int_equal(orig, 4 * cfg.max_files_per_class);

    cfg.version_name = "run2";
    cfg.log_extra_json = "{\"trigger_reason\": \"test\", \"seed\": \"overridden\"}";
    ES_ASSERT_OK(es_train_run(&cfg, &r2, &err), &err);
    assert_int_equal(r2.cache_misses, 0);
    assert_int_equal(r2.cache_hits, r1.cache_misses);
    size_t l1, l2;
    char *h1 = slurp(models, "run1", "head.esh", &l1), *h2 = slurp(models, "run2", "head.esh", &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(h1, h2, l1);
    free(h1);
    free(h2);
    h1 = slurp(models, "run1", "performance_metrics.json", &l1);
    h2 = slurp(models, "run2", "performance_metrics.json", &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(h1, h2, l1);
    free(h1);
    free(h2);
    assert_true(r1.test_accuracy == r2.test_accuracy);
    /* the log has both runs; run2's record carries the extra members */
    char *log = es_test_path(models, "retraining_log.json"), *lt;
    size_t ll;
    ES_ASSERT_OK(es_read_file(log, 1 << 20, &lt, &ll, &err), &err);
    char *p1 = strstr(lt, "\"run1\""), *p2 = strstr(lt, "\"run2\""), *tr = strstr(lt, "\"trigger_reason\"");
    assert_true(p1 && p2 && tr && p1 < p2 && tr > p2);
    assert_non_null(strstr(lt, "\"overridden\""));
    assert_non_null(strstr(lt, "\"stage_seconds\""));
    free(lt);
    free(log);

    /* a cancelled run fails and leaves latest on run2 */
    volatile int cancel = 1;
    cfg.cancel = &cancel;
    cfg.version_name = "run3";
    cfg.log_extra_json = "[1]";
    assert_int_equal(es_train_run(&cfg, &r3, &err), ES_ERR_INVALID);
    cfg.log_extra_json = NULL;
    assert_int_equal(es_train_run(&cfg, &r3, &err), ES_ERR_CANCELLED);
    char *latest = es_test_path(models, "latest"), link[PATH_MAX];
    ssize_t n = readlink(latest, link, sizeof link - 1);
    assert_true(n > 0);
    link[n] = 0;
    assert_string_equal(link, "run2");
    char *run3 = es_test_path(models, "run3");
    assert_false(es_is_dir(run3));

    es_train_result_clear(&r1);
    es_train_result_clear(&r2);
    es_train_result_clear(&r3);
    free(run3);
    free(latest);
    free(mc.e);
    free(models);
    es_yamnet_free(y);
    free(ypath);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_cache_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
