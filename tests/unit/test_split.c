/*
 * test_split.c: the grouped stratified split. A property test over random
 * groupings (no group ever crosses splits, every class with 3+ groups reaches
 * every split, shares stay near their targets), the UrbanSound8K pattern,
 * determinism and input-order independence, stability when groups are added
 * (the bound the retrain's cache relies on), and a forced leak that must fail.
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

/* A random dataset of groups: group g has sizes[g] files (1..4) and class
 * glab[g]; names "<g>-<i>.wav" so the UrbanSound8K pattern groups them. */
typedef struct dataset {
    size_t n, ng;
    char **keys;
    int *labels;
    size_t *group_of; /* file -> group index */
} dataset;

static void dataset_add_group(dataset *d, size_t gid, size_t size, int label)
{
    for (size_t k = 0; k < size; k++) {
        d->keys = realloc(d->keys, (d->n + 1) * sizeof *d->keys);
        d->labels = realloc(d->labels, (d->n + 1) * sizeof *d->labels);
        d->group_of = realloc(d->group_of, (d->n + 1) * sizeof *d->group_of);
        assert_non_null(d->keys);
        assert_non_null(d->labels);
        assert_non_null(d->group_of);
        d->keys[d->n] = malloc(32);
        assert_non_null(d->keys[d->n]);
        snprintf(d->keys[d->n], 32, "g:%zu", gid);
        d->labels[d->n] = label;
        d->group_of[d->n] = gid;
        d->n++;
    }
    if (gid + 1 > d->ng)
        d->ng = gid + 1;
}

static void dataset_free(dataset *d)
{
    es_split_keys_free(d->keys, d->n);
    free(d->labels);
    free(d->group_of);
}

/* Per group split (255 = absent), checking that no group crosses splits. */
static uint8_t *group_splits(const dataset *d, const uint8_t *as)
{
    uint8_t *gs = malloc(d->ng ? d->ng : 1);
    assert_non_null(gs);
    memset(gs, 255, d->ng ? d->ng : 1);
    for (size_t i = 0; i < d->n; i++) {
        size_t gi = d->group_of[i];
        if (gs[gi] != 255 && gs[gi] != as[i])
            fail_msg("group %zu crosses splits %d/%d", gi, gs[gi], as[i]);
        gs[gi] = as[i];
    }
    return gs;
}

/* The stability property the retrain's cache relies on: adding ~5 % new
 * groups (F_c new files in class c) moves at most 2*F_c + 2 existing groups of
 * class c (+4 when the every-split rule fires), per the header's bound; shares
 * stay within one group of the quota per class; the result does not depend on
 * input order. */
static void test_split_stable_under_additions(void **state)
{
    (void)state;
    es_rng r;
    es_rng_init(&r, 77, NULL, 0, "stable");
    int trials = getenv("ES_SANITIZED") && atoi(getenv("ES_SANITIZED")) ? 30 : 150;
    size_t moved_total = 0, old_total = 0, bound_total = 0, max_moved = 0;
    for (int trial = 0; trial < trials; trial++) {
        int K = 2 + (int)es_rng_below(&r, 4);
        size_t ng0 = 40 + es_rng_below(&r, 600);
        int max_size = 1 + (int)es_rng_below(&r, 4);
        dataset d = {0};
        for (size_t gi = 0; gi < ng0; gi++)
            dataset_add_group(&d, gi, 1 + es_rng_below(&r, (uint64_t)max_size),
                              (int)es_rng_below(&r, (uint64_t)K));
        size_t n0 = d.n;
        double frac[3] = {0.7, 0.15, 0.15};
        if (trial % 4 == 3) {
            frac[0] = 0.6;
            frac[1] = 0.2;
            frac[2] = 0.2;
        }
        uint64_t seed = es_rng_u64(&r);
        es_error err;
        uint8_t *as0 = malloc(n0);
        assert_non_null(as0);
        ES_ASSERT_OK(es_split_grouped((const char *const *)d.keys, d.labels, n0, K, frac, seed,
                                      as0, &err), &err);
        uint8_t *gs0 = group_splits(&d, as0);

        /* Quotas: per class and split, within the class's largest group of
         * frac * files, whenever that split's share is at least one largest
         * group wide (then the every-split rule cannot have fired). */
        for (int c = 0; c < K; c++) {
            size_t tot = 0, cnt[3] = {0, 0, 0}, maxg = 0;
            size_t *gsize = calloc(d.ng, sizeof *gsize);
            assert_non_null(gsize);
            for (size_t i = 0; i < n0; i++)
                if (d.labels[i] == c) {
                    tot++;
                    cnt[as0[i]]++;
                    if (++gsize[d.group_of[i]] > maxg)
                        maxg = gsize[d.group_of[i]];
                }
            free(gsize);
            int wide = 1;
            for (int s = 0; s < 3; s++)
                if (frac[s] * (double)tot < (double)maxg)
                    wide = 0;
            if (!wide)
                continue;
            for (int s = 0; s < 3; s++)
                if (fabs((double)cnt[s] - frac[s] * (double)tot) > (double)maxg + 1e-9)
                    fail_msg("trial %d class %d split %d: %zu files, quota %.2f, largest group %zu",
                             trial, c, s, cnt[s], frac[s] * (double)tot, maxg);
        }

        /* Shuffled input order: the same split for every file. */
        size_t *perm = malloc(n0 * sizeof *perm);
        const char **pk = malloc(n0 * sizeof *pk);
        int *pl = malloc(n0 * sizeof *pl);
        uint8_t *pas = malloc(n0);
        assert_true(perm && pk && pl && pas);
        for (size_t i = 0; i < n0; i++)
            perm[i] = i;
        es_rng_shuffle(&r, perm, n0);
        for (size_t i = 0; i < n0; i++) {
            pk[i] = d.keys[perm[i]];
            pl[i] = d.labels[perm[i]];
        }
        ES_ASSERT_OK(es_split_grouped(pk, pl, n0, K, frac, seed, pas, &err), &err);
        for (size_t i = 0; i < n0; i++)
            if (pas[i] != as0[perm[i]])
                fail_msg("trial %d: input order changed file %zu's split", trial, perm[i]);
        free(perm);
        free(pk);
        free(pl);
        free(pas);

        /* Add ~5 % new groups (new keys, random classes and sizes). */
        size_t add = (ng0 + 19) / 20;
        size_t *newfiles = calloc((size_t)K, sizeof *newfiles);
        assert_non_null(newfiles);
        for (size_t a = 0; a < add; a++) {
            size_t size = 1 + es_rng_below(&r, (uint64_t)max_size);
            int c = (int)es_rng_below(&r, (uint64_t)K);
            dataset_add_group(&d, ng0 + a, size, c);
            newfiles[c] += size;
        }
        uint8_t *as1 = malloc(d.n);
        assert_non_null(as1);
        ES_ASSERT_OK(es_split_grouped((const char *const *)d.keys, d.labels, d.n, K, frac, seed,
                                      as1, &err), &err);
        uint8_t *gs1 = group_splits(&d, as1);
        size_t *moved = calloc((size_t)K, sizeof *moved);
        int *glab = malloc(ng0 * sizeof *glab);
        assert_true(moved && glab);
        for (size_t i = 0; i < n0; i++)
            glab[d.group_of[i]] = d.labels[i];
        for (size_t gi = 0; gi < ng0; gi++)
            if (gs0[gi] != gs1[gi])
                moved[glab[gi]]++;
        for (int c = 0; c < K; c++) {
            size_t bound = 2 * newfiles[c] + 2 + 4;
            if (moved[c] > bound)
                fail_msg("trial %d class %d: %zu existing groups moved, %zu new files, bound %zu",
                         trial, c, moved[c], newfiles[c], bound);
            if (newfiles[c] == 0 && moved[c] != 0)
                fail_msg("trial %d class %d: untouched class moved %zu groups", trial, c, moved[c]);
            moved_total += moved[c];
            bound_total += bound;
            if (moved[c] > max_moved)
                max_moved = moved[c];
        }
        old_total += ng0;
        free(moved);
        free(glab);
        free(newfiles);
        free(gs0);
        free(gs1);
        free(as0);
        free(as1);
        dataset_free(&d);
    }
    print_message("stable split: %zu of %zu existing groups moved over %d trials "
                  "(%.2f %%; bound sum %zu; worst class %zu)\n",
                  moved_total, old_total, trials, 100.0 * (double)moved_total / (double)old_total,
                  bound_total, max_moved);
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
        cmocka_unit_test(test_split_stable_under_additions),
        cmocka_unit_test(test_forced_leak_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
