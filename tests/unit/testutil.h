/*
 * testutil.h: helpers shared by the cmocka unit tests: where ../shared is
 * (ECOSIGHT_SHARED, skipping loudly when it is absent unless
 * ECOSIGHT_REQUIRE_SHARED=1 makes that a failure), scratch directories, and
 * cmocka's includes in the order it needs them.
 */
#ifndef ES_TESTUTIL_H
#define ES_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ecosight/core.h"

/* The shared directory, or NULL after printing SKIPPED (or failing the test
 * when ECOSIGHT_REQUIRE_SHARED=1). `need` is a path inside it that must exist. */
const char *es_test_shared(const char *need);
/* Like es_test_shared but calls cmocka's skip() when absent. */
#define ES_TEST_SHARED_OR_SKIP(var, need)                                                         \
    const char *var = es_test_shared(need);                                                       \
    if (!var) {                                                                                   \
        skip();                                                                                   \
    }

/* A fresh empty directory for this test (under ES_TEST_TMP or /tmp); the
 * returned string is malloc'd. */
char *es_test_tmpdir(const char *name);
/* malloc'd path of `rel` inside the source tree (found from testutil.c's
 * own path, so tests need no configured source directory). */
char *es_test_source_path(const char *rel);
/* malloc'd path join of shared + relative */
char *es_test_path(const char *dir, const char *rel);
/* Fail the test with the error's text when rc != ES_OK. */
#define ES_ASSERT_OK(rc, err)                                                                     \
    do {                                                                                          \
        es_status rc_ = (rc);                                                                     \
        if (rc_ != ES_OK)                                                                         \
            fail_msg("status %d (%s): %s", (int)rc_, es_strerror(rc_), es_error_text(err));       \
    } while (0)

#endif
