/*
 * test_split.c: the grouped stratified split. A property test over random
 * groupings (no group ever crosses splits, every class with 3+ groups reaches
 * every split, shares stay near their targets), the UrbanSound8K pattern,
 * determinism and input-order independence, and a forced leak that must fail.
 */
#include "testutil.h"

#include "ecosight/pipeline_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_group_keys_pattern(void **state)
{
    (void)state;
    const char *names[] = {"100032-3-0-0.wav", "100032-3-0-1.wav", "7061-6-0-0.wav", "noise.mp3"};
    char **k;
    es_error err;
    ES_ASSERT_OK(es_split_group_keys(names, 4, "^([0-9]+)-", &k, &err), &err);
    assert_string_equal(k[0], k[1]);
    assert_string_not_equal(k[0], k[2]);
    assert_string_equal(k[0] + 2, "100032");
    assert_string_equal(k[3] + 2, "noise.mp3"); /* no match: its own group */
    es_split_keys_free(k, 4);
    ES_ASSERT_OK(es_split_group_keys(names, 4, NULL, &k, &err), &err);
    assert_string_not_equal(k[0], k[1]);
    es_split_keys_free(k, 4);
    assert_int_equal(es_split_group_keys(names, 4, "([0-9", &k, &err), ES_ERR_INVALID);
}

static void test_split_property(void **state)
{
    (void)state;
    es_rng r;
    es_rng_init(&r, 2026, NULL, 0, "prop");
    int trials = getenv("ES_SANITIZED") && atoi(getenv("ES_SANITIZED")) ? 40 : 200;
    for (int trial = 0; trial < trials; trial++) {
        size_t n = 10 + es_rng_below(&r, 400);
        int K = 2 + (int)es_rng_below(&r, 4);
        size_t ngroups = 1 + es_rng_below(&r, n);
        char **names = malloc(n * sizeof *names);
        int *labels = malloc(n * sizeof *labels);
        int *glabel = malloc(ngroups * sizeof *glabel);
        for (size_t gi = 0; gi < ngroups; gi++)
            glabel[gi] = (int)es_rng_below(&r, (uint64_t)K);
        for (size_t i = 0; i < n; i++) {
            size_t gi = es_rng_below(&r, ngroups);
            names[i] = malloc(48);
            snprintf(names[i], 48, "%zu-%zu.wav", gi, i);
            /* mostly one class per group, sometimes mixed */
            labels[i] = es_rng_below(&r, 10) == 0 ? (int)es_rng_below(&r, (uint64_t)K) : glabel[gi];
        }
        double frac[3] = {0.7, 0.15, 0.15};
        if (trial % 3 == 1) {
            frac[0] = 0.5;
            frac[1] = 0.25;
            frac[2] = 0.25;
        }
        char **keys;
        es_error err;
        ES_ASSERT_OK(es_split_group_keys((const char *const *)names, n, "^([0-9]+)-", &keys, &err),
                     &err);
        uint8_t *as = malloc(n);
        ES_ASSERT_OK(es_split_grouped((const char *const *)keys, labels, n, K, frac,
                                      (uint64_t)trial, as, &err), &err);
        /* Independent check: quadratic, no shared code with the split. */
        for (size_t i = 0; i < n; i++) {
            assert_true(as[i] <= 2);
            for (size_t j = i + 1; j < n; j++)
                if (strcmp(keys[i], keys[j]) == 0 && as[i] != as[j])
                    fail_msg("trial %d: group %s crosses %d/%d", trial, keys[i], as[i], as[j]);
        }
        /* Shares: with many groups per split, near the target. */
        size_t cnt[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++)
            cnt[as[i]]++;
        if (ngroups >= 100 && n >= 200 && n / ngroups <= 2)
            for (int s = 0; s < 3; s++)
                if (fabs((double)cnt[s] / (double)n - frac[s]) > 0.08)
                    fail_msg("trial %d: split %d has %zu of %zu", trial, s, cnt[s], n);
        es_split_keys_free(keys, n);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        free(labels);
        free(glabel);
        free(as);
    }
}

static void test_split_every_class_everywhere(void **state)
{
    (void)state;
    /* 4 classes x 10 singleton groups: each class must reach all three splits
     * with 7/1.5/1.5 -> at least one val and one test each. */
    enum { N = 40 };
    const char *keys[N];
    char buf[N][16];
    int labels[N];
    for (int i = 0; i < N; i++) {
        snprintf(buf[i], sizeof buf[i], "f:%d", i);
        keys[i] = buf[i];
        labels[i] = i % 4;
    }
    uint8_t as[N];
    double frac[3] = {0.7, 0.15, 0.15};
    es_error err;
    ES_ASSERT_OK(es_split_grouped(keys, labels, N, 4, frac, 1, as, &err), &err);
    for (int c = 0; c < 4; c++) {
        int seen[3] = {0, 0, 0};
        for (int i = 0; i < N; i++)
            if (labels[i] == c)
                seen[as[i]]++;
        assert_true(seen[0] >= 6 && seen[1] >= 1 && seen[2] >= 1);
    }
    /* Same seed, same split; shuffled input order, same assignment per key. */
    uint8_t as2[N];
    ES_ASSERT_OK(es_split_grouped(keys, labels, N, 4, frac, 1, as2, &err), &err);
    assert_memory_equal(as, as2, N);
    const char *rk[N];
    int rl[N];
    for (int i = 0; i < N; i++) {
        rk[i] = keys[N - 1 - i];
        rl[i] = labels[N - 1 - i];
    }
    ES_ASSERT_OK(es_split_grouped(rk, rl, N, 4, frac, 1, as2, &err), &err);
    for (int i = 0; i < N; i++)
        assert_int_equal(as2[i], as[N - 1 - i]);
}

static void test_forced_leak_fails(void **state)
{
    (void)state;
    const char *keys[] = {"g:1", "g:2", "g:1", "g:3"};
    uint8_t ok[] = {0, 1, 0, 2}, bad[] = {0, 1, 2, 2};
    es_error err;
    ES_ASSERT_OK(es_split_check(keys, ok, 4, &err), &err);
    assert_int_equal(es_split_check(keys, bad, 4, &err), ES_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "'1'"));
    assert_non_null(strstr(err.msg, "train"));
    assert_non_null(strstr(err.msg, "test"));
    double frac[3] = {0.5, 0.6, 0.1};
    int labels[] = {0, 0, 0, 0};
    assert_int_equal(es_split_grouped(keys, labels, 4, 1, frac, 1, bad, &err), ES_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_keys_pattern),
        cmocka_unit_test(test_split_property),
        cmocka_unit_test(test_split_every_class_everywhere),
        cmocka_unit_test(test_forced_leak_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
