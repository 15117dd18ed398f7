/*
 * test_classifier_params.c: the feature cache's params string changes with
 * everything an embedding depends on besides the key fields: the augmentation
 * code's version (augment.h's ES_AUG_VERSION), max_seconds and YAMNet's front
 * end (sample rate included), so a cached embedding never outlives the code
 * that produced its samples.
 */
#include "testutil.h"

#include "ecosight/augment.h"
#include "ecosight/yamnet.h"
#include "pipeline/pipeline_internal.h"

#include <string.h>

static void test_params_change_with_aug_version(void **state)
{
    (void)state;
    char a[512], b[512], cur[512];
    es_feature_params_for(4.0, 1, a, sizeof a);
    es_feature_params_for(4.0, 2, b, sizeof b);
    assert_string_not_equal(a, b);
    /* version 1 vs 10..19 must not collide as prefixes either */
    char c10[512];
    es_feature_params_for(4.0, 10, c10, sizeof c10);
    assert_string_not_equal(a, c10);
    assert_string_not_equal(b, c10);
    /* the pipeline's string is the current version's */
    es_feature_params(4.0, cur, sizeof cur);
    char want[512];
    es_feature_params_for(4.0, ES_AUG_VERSION, want, sizeof want);
    assert_string_equal(cur, want);
    /* and it carries the front end and the sample rate */
    assert_non_null(strstr(cur, ES_YAMNET_FRONTEND_PARAMS));
    assert_non_null(strstr(cur, "sr=16000"));
    assert_true(strlen(cur) < 256);
}

static void test_params_change_with_max_seconds(void **state)
{
    (void)state;
    char a[512], b[512];
    es_feature_params(4.0, a, sizeof a);
    es_feature_params(5.0, b, sizeof b);
    assert_string_not_equal(a, b);
    es_feature_params(4.0, b, sizeof b);
    assert_string_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_change_with_aug_version),
        cmocka_unit_test(test_params_change_with_max_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
