/*
 * split.c: the grouped, stratified train/validation/test split. Files that
 * share a group key (one UrbanSound8K recording sliced into many clips, or an
 * original and its augmentations) must land in one split, or the test score
 * measures memory instead of generalisation. Within each class, groups are
 * ordered by a keyed hash of (seed, group key) and that order is cut at the
 * quotas, so the split is stable when recordings are added: an earlier group
 * changes split only when it sits near a cut (the retrain's embedding cache
 * depends on that). Then the result is checked.
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
    uint64_t rank; /* keyed hash of (seed, key): the group's place in its class */
} group;

/* The first 8 bytes of SHA-256(seed as 8 bytes little-endian || SHA-256(key)).
 * A pure function of the group alone, so adding groups never reorders the
 * others; hashing the key first keeps it allocation-free for any key length. */
static uint64_t group_rank(uint64_t seed, const char *key)
{
    uint8_t buf[8 + ES_SHA256_LEN], h[ES_SHA256_LEN];
    for (int b = 0; b < 8; b++)
        buf[b] = (uint8_t)(seed >> (8 * b));
    es_sha256(key, strlen(key), buf + 8);
    es_sha256(buf, sizeof buf, h);
    uint64_t r = 0;
    for (int b = 0; b < 8; b++)
        r = (r << 8) | h[b];
    return r;
}

typedef struct rank_entry {
    uint64_t rank;
    const char *key;
    size_t g;
} rank_entry;

static int rank_cmp(const void *a, const void *b)
{
    const rank_entry *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return strcmp(x->key, y->key); /* keys are unique per group */
}

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
    rank_entry *order = malloc((n ? n : 1) * sizeof *order);
    uint8_t *gsplit = malloc(n ? n : 1);
    int *votes = calloc((size_t)num_classes, sizeof *votes);
    if (!it || !g || !order || !gsplit || !votes) {
        free(it);
        free(g);
        free(order);
        free(gsplit);
        free(votes);
        return es_error_set(err, ES_ERR_NOMEM, "split: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        it[i] = (item){keys[i], i};
    /* Sorting by key makes the grouping independent of input order. */
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
        g[ng] = (group){i, j - i, best, group_rank(seed, it[i].key)};
        ng++;
        i = j;
    }
    /* Per class: order the groups by their keyed hash and cut that order at
     * the quotas, counted in files. A group goes to the split in which its
     * midpoint (files before it + half its own) falls. Because a group's rank
     * depends only on (seed, key), adding groups keeps the relative order of
     * the old ones; only groups near a cut can cross it (bound in the header). */
    double cut1 = frac[0], cut2 = frac[0] + frac[1];
    for (int c = 0; c < num_classes; c++) {
        size_t m = 0, total = 0;
        for (size_t k = 0; k < ng; k++)
            if (g[k].label == c) {
                order[m++] = (rank_entry){g[k].rank, it[g[k].first].key, k};
                total += g[k].count;
            }
        if (m == 0)
            continue;
        qsort(order, m, sizeof *order, rank_cmp);
        size_t before = 0, ngroups[3] = {0, 0, 0};
        for (size_t q = 0; q < m; q++) {
            group *gr = &g[order[q].g];
            double mid = ((double)before + 0.5 * (double)gr->count) / (double)total;
            int pick = mid < cut1 ? ES_SPLIT_TRAIN : (mid < cut2 || frac[2] <= 0) ? ES_SPLIT_VAL
                                                                                  : ES_SPLIT_TEST;
            if (pick == ES_SPLIT_VAL && frac[1] <= 0)
                pick = frac[2] > 0 ? ES_SPLIT_TEST : ES_SPLIT_TRAIN;
            gsplit[q] = (uint8_t)pick;
            ngroups[pick]++;
            before += gr->count;
        }
        /* Every class with 3 or more groups reaches every split with a
         * positive share: an empty test split takes the last group in rank
         * order, an empty validation split the last group left in train. The
         * cut order train < val < test along the ranks is kept. */
        if (m >= 3 && frac[2] > 0 && ngroups[ES_SPLIT_TEST] == 0) {
            ngroups[gsplit[m - 1]]--;
            gsplit[m - 1] = ES_SPLIT_TEST;
            ngroups[ES_SPLIT_TEST]++;
        }
        if (m >= 3 && frac[1] > 0 && ngroups[ES_SPLIT_VAL] == 0) {
            for (size_t q = m; q-- > 0;)
                if (gsplit[q] == ES_SPLIT_TRAIN) {
                    gsplit[q] = ES_SPLIT_VAL;
                    ngroups[ES_SPLIT_TRAIN]--;
                    ngroups[ES_SPLIT_VAL]++;
                    break;
                }
        }
        for (size_t q = 0; q < m; q++) {
            group *gr = &g[order[q].g];
            for (size_t k = 0; k < gr->count; k++)
                assign[it[gr->first + k].idx] = gsplit[q];
        }
    }
    free(it);
    free(g);
    free(order);
    free(gsplit);
    free(votes);
    return es_split_check(keys, assign, n, err);
}
