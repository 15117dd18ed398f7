/*
 * ecosight/pipeline_metrics.h: the honest-evaluation parts of training:
 *   - the grouped, stratified split of the original recordings (related files
 *     never straddle train/validation/test), and its check;
 *   - classification metrics (accuracy, loss, per-class precision/recall/F1/
 *     support, macro F1, confusion matrix, one-vs-rest ROC-AUC and average
 *     precision) and per-class decision thresholds chosen on validation.
 */
#ifndef ECOSIGHT_PIPELINE_METRICS_H
#define ECOSIGHT_PIPELINE_METRICS_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { ES_SPLIT_TRAIN = 0, ES_SPLIT_VAL = 1, ES_SPLIT_TEST = 2 };
const char *es_split_name(int s); /* "train", "val", "test" */

/* The group key of each name: with `pattern` (POSIX extended regex), the
 * first capture group of the first match (the whole match when the pattern
 * has no group); a name that does not match is its own group, as is every name
 * when pattern is NULL. keys[i] is malloc'd (free with es_split_keys_free). */
es_status es_split_group_keys(const char *const *names, size_t n, const char *pattern,
                              char ***keys_out, es_error *err);
void es_split_keys_free(char **keys, size_t n);

/* Stratified grouped split, stable under additions. Groups (of equal key) are
 * split per class (a group's class is its most common label): the class's
 * groups are ordered by a keyed hash (SHA-256 of seed and key) and that order
 * is cut at frac[] of the class's files; a group goes to the split its
 * midpoint falls in, so each split of a class is within one group (the
 * largest) of its quota. Deterministic from `seed`, independent of input
 * order. Every class with at least 3 groups gets at least one group in each
 * split with a positive fraction (the last groups in hash order move to fill
 * an empty val/test split). assign[i] receives ES_SPLIT_*. Then es_split_check
 * runs (so this never returns a leaking split).
 * Stability: adding new groups holding F_c files to class c (existing groups
 * unchanged) moves at most F_c existing groups of c across each of the two
 * cuts, so at most 2*F_c + 2 change split (+4 when the every-split rule
 * fires in a tiny class); other classes do not change at all. */
es_status es_split_grouped(const char *const *keys, const int *labels, size_t n, int num_classes,
                           const double frac[3], uint64_t seed, uint8_t *assign, es_error *err);

/* Fails (ES_ERR_INTERNAL, naming the group and both splits) if any group key
 * appears in more than one split. */
es_status es_split_check(const char *const *keys, const uint8_t *assign, size_t n,
                         es_error *err);

/* ------------------------------------------------------------------------ */
typedef struct es_metrics {
    size_t num_classes, n;
    double accuracy;
    double loss;          /* mean categorical cross-entropy (probabilities clipped at 1e-7) */
    double macro_f1;
    double *precision, *recall, *f1;       /* [K] */
    double *roc_auc, *avg_precision;       /* [K]; NAN when a class has no positive or no negative */
    int64_t *support;                      /* [K] true count */
    int64_t *confusion;                    /* [K*K] row = true class, column = predicted */
} es_metrics;

/* probs: (n, K) row-major; labels in [0, K). */
es_status es_metrics_compute(const float *probs, const int *labels, size_t n, size_t K,
                             es_metrics *m, es_error *err);
void es_metrics_clear(es_metrics *m);

/* One-vs-rest ROC-AUC (ties count half) and average precision (sklearn's
 * definition: sum over thresholds of (R_i - R_{i-1}) * P_i) of scores for the
 * binary truth pos[i]. NAN when undefined. */
double es_roc_auc(const float *scores, const uint8_t *pos, size_t n);
double es_average_precision(const float *scores, const uint8_t *pos, size_t n);

/* Decision threshold for class k on (validation) probabilities:
 *   min_recall > 0: the highest threshold t such that predicting k whenever
 *                   p_k >= t keeps recall >= min_recall (gun_shot: 0.95);
 *   min_recall <= 0: the threshold that maximises F1 of p_k >= t.
 * Returns 0.5 when the class has no positives. */
double es_threshold_choose(const float *probs, const int *labels, size_t n, size_t K, size_t k,
                           double min_recall);

/* One-vs-rest precision and recall of "predict class k when p_k >= t" (the
 * alerting view of a threshold). precision is 0 when nothing reaches t. */
void es_threshold_metrics(const float *probs, const int *labels, size_t n, size_t K, size_t k,
                          double t, double *precision, double *recall);

/* The performance_metrics.json document of m (the seed's keys: precision,
 * recall, f1_score lists, confusion_matrix, per_class_metrics; plus accuracy,
 * loss, macro_f1, roc_auc, average_precision, samples, classes). malloc'd
 * text, NULL when out of memory. */
char *es_metrics_json_text(const es_metrics *m, const char *const *class_names);

#ifdef __cplusplus
}
#endif
#endif
