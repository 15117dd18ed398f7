/*
 * test_http_unit.c: the server's pieces that need no socket: the model
 * holder under concurrent acquire/swap (every version freed exactly once,
 * never while in use), the Prometheus rendering, file-name sanitising, class
 * names, and the OpenAPI document (valid JSON describing every route).
 */
#include "testutil.h"

#include "server/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- holder ---- */
typedef struct ver {
    atomic_int in_use;
    atomic_int *freed;
    int alive;
} ver;

static void ver_free(void *p)
{
    ver *v = p;
    assert_int_equal(atomic_load(&v->in_use), 0); /* nobody may be using it */
    assert_int_equal(v->alive, 1);
    v->alive = 0;
    atomic_fetch_add(v->freed, 1);
    free(v);
}

typedef struct stress {
    es_holder *h;
    atomic_int *stop;
    atomic_long *uses;
} stress;

static void *user(void *arg)
{
    stress *st = arg;
    while (!atomic_load(st->stop)) {
        es_ref *r = es_holder_acquire(st->h);
        if (!r)
            continue;
        ver *v = r->obj;
        atomic_fetch_add(&v->in_use, 1);
        assert_int_equal(v->alive, 1);
        for (volatile int i = 0; i < 100; i++)
            ;
        atomic_fetch_sub(&v->in_use, 1);
        es_ref_release(r);
        atomic_fetch_add(st->uses, 1);
    }
    return NULL;
}

static ver *new_ver(atomic_int *freed)
{
    ver *v = calloc(1, sizeof *v);
    atomic_init(&v->in_use, 0);
    v->freed = freed;
    v->alive = 1;
    return v;
}

static void test_holder_swap_under_load(void **state)
{
    (void)state;
    es_holder h;
    es_holder_init(&h);
    assert_null(es_holder_acquire(&h));
    atomic_int freed, stop;
    atomic_long uses;
    atomic_init(&freed, 0);
    atomic_init(&stop, 0);
    atomic_init(&uses, 0);
    es_holder_swap(&h, es_ref_new(new_ver(&freed), ver_free));
    enum { NT = 4 };
    pthread_t t[NT];
    stress st[NT];
    for (int i = 0; i < NT; i++) {
        st[i] = (stress){&h, &stop, &uses};
        pthread_create(&t[i], NULL, user, &st[i]);
    }
    const int swaps = getenv("ES_SANITIZED") && atoi(getenv("ES_SANITIZED")) ? 200 : 2000;
    /* Swap while the users run: at least `swaps` times, and until they
     * have made a good number of uses between swaps. */
    int k = 0;
    while (k < swaps || atomic_load(&uses) < 20000) {
        es_holder_swap(&h, es_ref_new(new_ver(&freed), ver_free));
        k++;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&freed), k); /* all but the current one */
    es_holder_destroy(&h);
    assert_int_equal(atomic_load(&freed), k + 1);
}

static void test_ref_outlives_swap(void **state)
{
    (void)state;
    atomic_int freed;
    atomic_init(&freed, 0);
    es_holder h;
    es_holder_init(&h);
    es_holder_swap(&h, es_ref_new(new_ver(&freed), ver_free));
    es_ref *inflight = es_holder_acquire(&h);
    es_holder_swap(&h, es_ref_new(new_ver(&freed), ver_free));
    assert_int_equal(atomic_load(&freed), 0); /* the in-flight user still has it */
    assert_int_equal(((ver *)inflight->obj)->alive, 1);
    es_ref_release(inflight);
    assert_int_equal(atomic_load(&freed), 1);
    es_holder_destroy(&h);
    assert_int_equal(atomic_load(&freed), 2);
}

/* ---- metrics ---- */
static void test_prometheus(void **state)
{
    (void)state;
    es_metrics m;
    es_metrics_init(&m);
    for (int i = 0; i < 3; i++) {
        es_metrics_begin(&m);
        es_metrics_end(&m, ES_ROUTE_PREDICT, 200, 0.004);
    }
    es_metrics_begin(&m);
    es_metrics_end(&m, ES_ROUTE_PREDICT, 400, 2.0);
    es_metrics_stage(&m, ES_STAGE_YAMNET, 0.02);
    es_metrics_prediction(&m);
    es_metrics_begin(&m);
    assert_int_equal(es_metrics_in_flight(&m), 1);
    es_buf b;
    es_buf_init(&b, 1 << 20);
    es_error err;
    ES_ASSERT_OK(es_metrics_render(&m, "extra_metric 1\n", &b, &err), &err);
    const char *t = b.data;
    assert_non_null(strstr(t, "ecosight_http_requests_total{endpoint=\"/predict\",code=\"200\"} 3\n"));
    assert_non_null(strstr(t, "ecosight_http_requests_total{endpoint=\"/predict\",code=\"400\"} 1\n"));
    /* cumulative buckets: 3 requests at 4 ms are <= 0.005, the 2 s one only from 2.5 */
    assert_non_null(strstr(t, "ecosight_http_request_duration_seconds_bucket{endpoint=\"/predict\",le=\"0.005\"} 3\n"));
    assert_non_null(strstr(t, "ecosight_http_request_duration_seconds_bucket{endpoint=\"/predict\",le=\"1\"} 3\n"));
    assert_non_null(strstr(t, "ecosight_http_request_duration_seconds_bucket{endpoint=\"/predict\",le=\"2.5\"} 4\n"));
    assert_non_null(strstr(t, "ecosight_http_request_duration_seconds_bucket{endpoint=\"/predict\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(t, "ecosight_http_request_duration_seconds_count{endpoint=\"/predict\"} 4\n"));
    assert_non_null(strstr(t, "ecosight_predict_stage_seconds_count{stage=\"yamnet\"} 1\n"));
    assert_non_null(strstr(t, "ecosight_predictions_total 1\n"));
    assert_non_null(strstr(t, "ecosight_http_requests_in_flight 1\n"));
    assert_non_null(strstr(t, "extra_metric 1\n"));
    es_buf_free(&b);
    es_metrics_destroy(&m);
}

/* ---- names ---- */
static void test_sanitize(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } cases[] = {
        {"../../etc/passwd", "passwd"},
        {"..\\..\\windows\\win.ini", "win.ini"},
        {"a b\tc\n.wav", "a_b_c_.wav"},
        {"..", "upload"},
        {"", "upload"},
        {NULL, "upload"},
        {".hidden.wav", "hidden.wav"},
        {"dir/", "upload"},
        {"r\xc3\xa9sum\xc3\xa9.mp3", "r__sum__.mp3"},
        {"x;rm -rf $(id).wav", "x_rm_-rf___id_.wav"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        es_srv_sanitize_filename(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
    char longname[400], out[128];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    es_srv_sanitize_filename(longname, out, sizeof out);
    assert_int_equal(strlen(out), 100);
}

static void test_class_names(void **state)
{
    (void)state;
    assert_true(es_srv_valid_class_name("gun_shot"));
    assert_true(es_srv_valid_class_name("engine-idling2"));
    assert_false(es_srv_valid_class_name(""));
    assert_false(es_srv_valid_class_name("../x"));
    assert_false(es_srv_valid_class_name("Dog"));
    assert_false(es_srv_valid_class_name("_x"));
    assert_false(es_srv_valid_class_name("a b"));
    char l[80];
    memset(l, 'a', 65);
    l[65] = '\0';
    assert_false(es_srv_valid_class_name(l));
}

static void test_openapi(void **state)
{
    (void)state;
    cJSON *doc = cJSON_Parse(es_openapi_json);
    assert_non_null(doc);
    cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    assert_non_null(paths);
    for (int r = 0; r < ES_ROUTE_COUNT; r++) {
        if (r == ES_ROUTE_OTHER || r == ES_ROUTE_DASHBOARD)
            continue;
        if (!cJSON_GetObjectItemCaseSensitive(paths, es_route_name((es_route)r)))
            fail_msg("OpenAPI does not describe %s", es_route_name((es_route)r));
    }
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holder_swap_under_load),
        cmocka_unit_test(test_ref_outlives_swap),
        cmocka_unit_test(test_prometheus),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_openapi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
