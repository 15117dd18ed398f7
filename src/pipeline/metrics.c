/*
 * metrics.c: what the test split says about a model: accuracy, loss,
 * per-class precision/recall/F1/support, macro F1, the confusion matrix,
 * one-vs-rest ROC-AUC and average precision (sklearn's definitions), and the
 * per-class decision thresholds chosen on validation.
 */
#include "ecosight/pipeline_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void es_metrics_clear(es_metrics *m)
{
    if (!m)
        return;
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->roc_auc);
    free(m->avg_precision);
    free(m->support);
    free(m->confusion);
    memset(m, 0, sizeof *m);
}

typedef struct scored {
    float s;
    uint8_t pos;
} scored;

static int scored_desc(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

static scored *sort_scores(const float *scores, const uint8_t *pos, size_t n, size_t *npos)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    *npos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = (scored){scores[i], pos[i] ? 1 : 0};
        *npos += v[i].pos;
    }
    qsort(v, n, sizeof *v, scored_desc);
    return v;
}

double es_roc_auc(const float *scores, const uint8_t *pos, size_t n)
{
    size_t np;
    scored *v = sort_scores(scores, pos, n, &np);
    if (!v)
        return NAN;
    size_t nn = n - np;
    if (np == 0 || nn == 0) {
        free(v);
        return NAN;
    }
    /* Mann-Whitney: for each positive, the negatives scored below it, ties half. */
    double area = 0.0;
    size_t neg_above = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i, p = 0, q = 0;
        while (j < n && v[j].s == v[i].s) {
            p += v[j].pos;
            q += !v[j].pos;
            j++;
        }
        /* negatives strictly below this tie block: nn - neg_above - q */
        area += (double)p * ((double)(nn - neg_above - q) + 0.5 * (double)q);
        neg_above += q;
        i = j;
    }
    free(v);
    return area / ((double)np * (double)nn);
}

double es_average_precision(const float *scores, const uint8_t *pos, size_t n)
{
    size_t np;
    scored *v = sort_scores(scores, pos, n, &np);
    if (!v)
        return NAN;
    if (np == 0) {
        free(v);
        return NAN;
    }
    double ap = 0.0, prev_recall = 0.0;
    size_t tp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s)
            tp += v[j++].pos;
        double recall = (double)tp / (double)np, precision = (double)tp / (double)j;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        i = j;
    }
    free(v);
    return ap;
}

es_status es_metrics_compute(const float *probs, const int *labels, size_t n, size_t K,
                             es_metrics *m, es_error *err)
{
    memset(m, 0, sizeof *m);
    if (K < 1)
        return es_error_set(err, ES_ERR_INVALID, "metrics: no classes");
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= K)
            return es_error_set(err, ES_ERR_INVALID, "metrics: label %d out of range", labels[i]);
    m->num_classes = K;
    m->n = n;
    m->precision = calloc(K, sizeof(double));
    m->recall = calloc(K, sizeof(double));
    m->f1 = calloc(K, sizeof(double));
    m->roc_auc = calloc(K, sizeof(double));
    m->avg_precision = calloc(K, sizeof(double));
    m->support = calloc(K, sizeof(int64_t));
    m->confusion = calloc(K * K, sizeof(int64_t));
    float *col = malloc((n ? n : 1) * sizeof(float));
    uint8_t *pos = malloc(n ? n : 1);
    if (!m->precision || !m->recall || !m->f1 || !m->roc_auc || !m->avg_precision ||
        !m->support || !m->confusion || !col || !pos) {
        free(col);
        free(pos);
        es_metrics_clear(m);
        return es_error_set(err, ES_ERR_NOMEM, "metrics: out of memory");
    }
    size_t correct = 0;
    double loss = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * K;
        size_t best = 0;
        for (size_t k = 1; k < K; k++)
            if (p[k] > p[best])
                best = k;
        m->confusion[(size_t)labels[i] * K + best]++;
        m->support[labels[i]]++;
        correct += best == (size_t)labels[i];
        double py = p[labels[i]];
        py = py < 1e-7 ? 1e-7 : (py > 1.0 - 1e-7 ? 1.0 - 1e-7 : py);
        loss -= log(py);
    }
    m->accuracy = n ? (double)correct / (double)n : 0.0;
    m->loss = n ? loss / (double)n : 0.0;
    double f1sum = 0.0;
    for (size_t k = 0; k < K; k++) {
        int64_t tp = m->confusion[k * K + k], predicted = 0;
        for (size_t t = 0; t < K; t++)
            predicted += m->confusion[t * K + k];
        /* sklearn's zero_division=0 */
        m->precision[k] = predicted ? (double)tp / (double)predicted : 0.0;
        m->recall[k] = m->support[k] ? (double)tp / (double)m->support[k] : 0.0;
        double pr = m->precision[k] + m->recall[k];
        m->f1[k] = pr > 0 ? 2.0 * m->precision[k] * m->recall[k] / pr : 0.0;
        f1sum += m->f1[k];
        for (size_t i = 0; i < n; i++) {
            col[i] = probs[i * K + k];
            pos[i] = (size_t)labels[i] == k;
        }
        m->roc_auc[k] = es_roc_auc(col, pos, n);
        m->avg_precision[k] = es_average_precision(col, pos, n);
    }
    m->macro_f1 = f1sum / (double)K;
    free(col);
    free(pos);
    return ES_OK;
}

double es_threshold_choose(const float *probs, const int *labels, size_t n, size_t K, size_t k,
                           double min_recall)
{
    float *col = malloc((n ? n : 1) * sizeof(float));
    uint8_t *pos = malloc(n ? n : 1);
    size_t np;
    scored *v = NULL;
    double best_t = 0.5;
    if (!col || !pos)
        goto done;
    for (size_t i = 0; i < n; i++) {
        col[i] = probs[i * K + k];
        pos[i] = (size_t)labels[i] == k;
    }
    v = sort_scores(col, pos, n, &np);
    if (!v || np == 0)
        goto done;
    /* Walk thresholds from high to low: at each distinct score t, predicting
     * p >= t gives tp positives out of j predictions. */
    double best_f1 = -1.0;
    size_t tp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s)
            tp += v[j++].pos;
        double recall = (double)tp / (double)np;
        if (min_recall > 0) {
            if (recall >= min_recall) {
                best_t = v[i].s; /* the first (highest) threshold reaching the recall */
                break;
            }
        } else {
            double precision = (double)tp / (double)j;
            double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
            if (f1 > best_f1) {
                best_f1 = f1;
                best_t = v[i].s;
            }
        }
        i = j;
    }
done:
    free(v);
    free(col);
    free(pos);
    return best_t;
}

void es_threshold_metrics(const float *probs, const int *labels, size_t n, size_t K, size_t k,
                          double t, double *precision, double *recall)
{
    size_t tp = 0, predicted = 0, pos = 0;
    for (size_t i = 0; i < n; i++) {
        int is_pos = (size_t)labels[i] == k;
        int hit = probs[i * K + k] >= t;
        pos += is_pos;
        predicted += hit;
        tp += is_pos && hit;
    }
    *precision = predicted ? (double)tp / (double)predicted : 0.0;
    *recall = pos ? (double)tp / (double)pos : 0.0;
}
