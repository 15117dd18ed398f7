/*
 * test_metrics.c: metrics against hand computations (and sklearn's
 * documented examples for ROC-AUC and average precision), and the per-class
 * thresholds chosen on validation.
 */
#include "testutil.h"

#include "ecosight/pipeline_metrics.h"

#include <math.h>
#include <stdlib.h>

static void test_auc_ap_sklearn_examples(void **state)
{
    (void)state;
    /* sklearn docs: roc_auc_score([0,0,1,1],[.1,.4,.35,.8]) == 0.75,
     * average_precision_score(same) == 0.8333... */
    float s[] = {0.1f, 0.4f, 0.35f, 0.8f};
    uint8_t y[] = {0, 0, 1, 1};
    assert_true(fabs(es_roc_auc(s, y, 4) - 0.75) < 1e-12);
    assert_true(fabs(es_average_precision(s, y, 4) - 5.0 / 6.0) < 1e-12);
    float t[] = {0.5f, 0.5f, 0.5f, 0.5f};
    assert_true(fabs(es_roc_auc(t, y, 4) - 0.5) < 1e-12);
    uint8_t none[] = {0, 0, 0, 0};
    assert_true(isnan(es_roc_auc(s, none, 4)));
    assert_true(isnan(es_average_precision(s, none, 4)));
}

static void test_metrics_hand(void **state)
{
    (void)state;
    /* 3 classes; predicted (argmax) vs true:
     *  true 0: pred 0, 0, 1   true 1: pred 1, 1   true 2: pred 0, 2 */
    float p[7 * 3] = {.8f, .1f, .1f, .6f, .3f, .1f, .2f, .7f, .1f, .1f, .8f, .1f,
                      .3f, .6f, .1f, .5f, .2f, .3f, .1f, .1f, .8f};
    int y[7] = {0, 0, 0, 1, 1, 2, 2};
    es_metrics m;
    es_error err;
    ES_ASSERT_OK(es_metrics_compute(p, y, 7, 3, &m, &err), &err);
    assert_true(fabs(m.accuracy - 5.0 / 7.0) < 1e-12);
    int64_t cm[9] = {2, 1, 0, 0, 2, 0, 1, 0, 1};
    for (int i = 0; i < 9; i++)
        assert_int_equal(m.confusion[i], cm[i]);
    /* class 0: tp 2, predicted 3, support 3 -> P 2/3, R 2/3
     * class 1: tp 2, predicted 3, support 2 -> P 2/3, R 1
     * class 2: tp 1, predicted 1, support 2 -> P 1, R 1/2 */
    double P[3] = {2. / 3, 2. / 3, 1}, R[3] = {2. / 3, 1, .5};
    double f1sum = 0;
    for (int k = 0; k < 3; k++) {
        double f1 = 2 * P[k] * R[k] / (P[k] + R[k]);
        f1sum += f1;
        assert_true(fabs(m.precision[k] - P[k]) < 1e-12);
        assert_true(fabs(m.recall[k] - R[k]) < 1e-12);
        assert_true(fabs(m.f1[k] - f1) < 1e-12);
    }
    assert_true(fabs(m.macro_f1 - f1sum / 3) < 1e-12);
    assert_int_equal(m.support[0], 3);
    double loss = -(log(.8) + log(.6) + log(.2) + log(.8) + log(.6) + log(.3) + log(.8)) / 7;
    assert_true(fabs(m.loss - loss) < 1e-6);
    /* class 2 scores: positives .3 and .8; negatives .1 .1 .1 .1 .1 -> AUC 1 */
    assert_true(fabs(m.roc_auc[2] - 1.0) < 1e-12);
    assert_true(m.avg_precision[0] > 0 && m.avg_precision[0] <= 1);
    es_metrics_clear(&m);
    int bad[1] = {5};
    assert_int_equal(es_metrics_compute(p, bad, 1, 3, &m, &err), ES_ERR_INVALID);
}

static void test_threshold_recall(void **state)
{
    (void)state;
    /* 2 classes, column 1 = gun_shot. 40 positives scored 0.30..0.99 and 60
     * negatives scored 0.0..0.59: the highest threshold with recall >= .95. */
    enum { N = 100 };
    float p[N * 2];
    int y[N];
    es_rng r;
    es_rng_init(&r, 5, NULL, 0, "thr");
    for (int i = 0; i < N; i++) {
        y[i] = i < 40;
        float s = y[i] ? (float)es_rng_uniform_range(&r, 0.30, 0.99)
                       : (float)es_rng_uniform_range(&r, 0.0, 0.59);
        p[i * 2 + 1] = s;
        p[i * 2] = 1 - s;
    }
    double t = es_threshold_choose(p, y, N, 2, 1, 0.95);
    int tp = 0, tp_above = 0;
    double next_higher = 2.0;
    for (int i = 0; i < N; i++) {
        if (y[i] && p[i * 2 + 1] >= t)
            tp++;
        if (p[i * 2 + 1] > t && p[i * 2 + 1] < next_higher)
            next_higher = p[i * 2 + 1];
    }
    for (int i = 0; i < N; i++)
        if (y[i] && p[i * 2 + 1] >= next_higher)
            tp_above++;
    assert_true(tp >= 38);        /* recall >= 0.95 of 40 */
    assert_true(tp_above < 38);   /* any higher threshold loses it */
    /* F1-maximising threshold lies within the data's score range */
    double tf = es_threshold_choose(p, y, N, 2, 1, 0);
    assert_true(tf >= 0.30 && tf <= 0.99);
    /* no positives -> 0.5 */
    int none[N] = {0};
    assert_true(es_threshold_choose(p, none, N, 2, 1, 0.95) == 0.5);
}

static void test_threshold_metrics_hand(void **state)
{
    (void)state;
    /* class 1 scores .9 .6 .4 .2 for labels 1 0 1 0; t = .5 -> alerts on the
     * first two: tp 1 of 2 alerts, 1 of 2 positives. */
    float p[8] = {.1f, .9f, .4f, .6f, .6f, .4f, .8f, .2f};
    int y[4] = {1, 0, 1, 0};
    double pr, rc;
    es_threshold_metrics(p, y, 4, 2, 1, 0.5, &pr, &rc);
    assert_true(pr == 0.5 && rc == 0.5);
    es_threshold_metrics(p, y, 4, 2, 1, 0.95, &pr, &rc);
    assert_true(pr == 0.0 && rc == 0.0);
    es_threshold_metrics(p, y, 4, 2, 1, 0.0, &pr, &rc);
    assert_true(pr == 0.5 && rc == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc_ap_sklearn_examples),
        cmocka_unit_test(test_metrics_hand),
        cmocka_unit_test(test_threshold_recall),
        cmocka_unit_test(test_threshold_metrics_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
