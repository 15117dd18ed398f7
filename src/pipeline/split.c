/*
 * split.c: the grouped, stratified train/validation/test split. Files that
 * share a group key (one UrbanSound8K recording sliced into many clips, or an
 * original and its augmentations) must land in one split, or the test score
 * measures memory instead of generalisation. Groups are dealt per class in a
 * seeded random order to whichever split is furthest below its target share,
 * then the result is checked.
 */
#include "ecosight/pipeline_metrics.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *es_split_name(int s)
{
    return s == ES_SPLIT_TRAIN ? "train" : s == ES_SPLIT_VAL ? "val" : s == ES_SPLIT_TEST ? "test" : "?";
}

void es_split_keys_free(char **keys, size_t n)
{
    if (!keys)
        return;
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

es_status es_split_group_keys(const char *const *names, size_t n, const char *pattern,
                              char ***keys_out, es_error *err)
{
    regex_t re;
    int have_re = 0;
    if (pattern && *pattern) {
        int rc = regcomp(&re, pattern, REG_EXTENDED);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &re, msg, sizeof msg);
            return es_error_set(err, ES_ERR_INVALID, "group pattern '%s': %s", pattern, msg);
        }
        have_re = 1;
    }
    char **keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys) {
        if (have_re)
            regfree(&re);
        return es_error_set(err, ES_ERR_NOMEM, "split: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        regmatch_t m[2];
        if (have_re && regexec(&re, names[i], 2, m, 0) == 0) {
            int g = (re.re_nsub >= 1 && m[1].rm_so >= 0) ? 1 : 0;
            size_t len = (size_t)(m[g].rm_eo - m[g].rm_so);
            keys[i] = malloc(len + 3);
            if (keys[i]) {
                /* "g:" keeps pattern keys apart from whole-name keys */
                keys[i][0] = 'g';
                keys[i][1] = ':';
                memcpy(keys[i] + 2, names[i] + m[g].rm_so, len);
                keys[i][len + 2] = 0;
            }
        } else {
            size_t len = strlen(names[i]);
            keys[i] = malloc(len + 3);
            if (keys[i]) {
                keys[i][0] = 'f';
                keys[i][1] = ':';
                memcpy(keys[i] + 2, names[i], len + 1);
            }
        }
        if (!keys[i]) {
            es_split_keys_free(keys, n);
            if (have_re)
                regfree(&re);
            return es_error_set(err, ES_ERR_NOMEM, "split: out of memory");
        }
    }
    if (have_re)
        regfree(&re);
    *keys_out = keys;
    return ES_OK;
}

typedef struct item {
    const char *key;
    size_t idx;
} item;

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

es_status es_split_check(const char *const *keys, const uint8_t *assign, size_t n,
                         es_error *err)
{
    item *it = malloc((n ? n : 1) * sizeof *it);
    if (!it)
        return es_error_set(err, ES_ERR_NOMEM, "split: out of memory");
    for (size_t i = 0; i < n; i++)
        it[i] = (item){keys[i], i};
    qsort(it, n, sizeof *it, item_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(it[i].key, it[i - 1].key) == 0 && assign[it[i].idx] != assign[it[i - 1].idx]) {
            es_status rc = es_error_set(
                err, ES_ERR_INTERNAL, "split leak: group '%s' is in both %s and %s",
                it[i].key + 2, es_split_name(assign[it[i - 1].idx]), es_split_name(assign[it[i].idx]));
            free(it);
            return rc;
        }
    }
    free(it);
    return ES_OK;
}

typedef struct group {
    size_t first;  /* index into the sorted items */
    size_t count;
    int label;
} group;

es_status es_split_grouped(const char *const *keys, const int *labels, size_t n, int num_classes,
                           const double frac[3], uint64_t seed, uint8_t *assign, es_error *err)
{
    if (num_classes < 1)
        return es_error_set(err, ES_ERR_INVALID, "split: no classes");
    double fs = frac[0] + frac[1] + frac[2];
    if (!(frac[0] > 0 && frac[1] >= 0 && frac[2] >= 0 && fs > 0.999 && fs < 1.001))
        return es_error_set(err, ES_ERR_INVALID,
                            "split fractions %.3g/%.3g/%.3g must be >= 0 and sum to 1", frac[0],
                            frac[1], frac[2]);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= num_classes)
            return es_error_set(err, ES_ERR_INVALID, "split: label %d out of range", labels[i]);
    item *it = malloc((n ? n : 1) * sizeof *it);
    group *g = malloc((n ? n : 1) * sizeof *g);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    int *votes = calloc((size_t)num_classes, sizeof *votes);
    if (!it || !g || !order || !votes) {
        free(it);
        free(g);
        free(order);
        free(votes);
        return es_error_set(err, ES_ERR_NOMEM, "split: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        it[i] = (item){keys[i], i};
    /* Sorting by key makes the result independent of input order. */
    qsort(it, n, sizeof *it, item_cmp);
    size_t ng = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        memset(votes, 0, (size_t)num_classes * sizeof *votes);
        while (j < n && strcmp(it[j].key, it[i].key) == 0)
            votes[labels[it[j++].idx]]++;
        int best = 0;
        for (int c = 1; c < num_classes; c++)
            if (votes[c] > votes[best])
                best = c;
        g[ng++] = (group){i, j - i, best};
        i = j;
    }
    for (int c = 0; c < num_classes; c++) {
        size_t m = 0, total = 0;
        for (size_t k = 0; k < ng; k++)
            if (g[k].label == c) {
                order[m++] = k;
                total += g[k].count;
            }
        char name[32];
        snprintf(name, sizeof name, "split/%d", c);
        es_rng r;
        es_rng_init(&r, seed, NULL, 0, name);
        es_rng_shuffle(&r, order, m);
        double have[3] = {0, 0, 0};
        size_t ngroups[3] = {0, 0, 0};
        for (size_t q = 0; q < m; q++) {
            group *gr = &g[order[q]];
            int pick = -1;
            /* Guarantee each split one group when the class has 3 or more:
             * the first groups go to test, then val, before the deficit rule. */
            size_t left = m - q;
            int need_test = frac[2] > 0 && ngroups[2] == 0;
            int need_val = frac[1] > 0 && ngroups[1] == 0;
            if (m >= 3 && left <= (size_t)(need_test + need_val))
                pick = need_test ? 2 : 1;
            if (pick < 0) {
                double best = -1e300;
                for (int s = 0; s < 3; s++) {
                    if (frac[s] <= 0)
                        continue;
                    double deficit = frac[s] * (double)total - have[s];
                    if (deficit > best) {
                        best = deficit;
                        pick = s;
                    }
                }
            }
            have[pick] += (double)gr->count;
            ngroups[pick]++;
            for (size_t k = 0; k < gr->count; k++)
                assign[it[gr->first + k].idx] = (uint8_t)pick;
        }
    }
    free(it);
    free(g);
    free(order);
    free(votes);
    return es_split_check(keys, assign, n, err);
}
