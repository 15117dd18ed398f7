/*
 * test_report.c: the embedded dashboard (es_dashboard_asset) and the static
 * report (es_report_write). The embedded bytes must equal web/ on disk (the
 * build regenerates them when web/ changes); URLs outside the table are
 * never served.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecosight/core.h"
#include "server/dashboard.h"

/* The source tree, from this file's path (tests/unit/test_report.c). */
static char *source_path(const char *rel)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", __FILE__);
    char *p = strstr(buf, "/tests/unit/");
    assert_non_null(p);
    *p = 0;
    return es_path_join(buf, rel);
}

static void check_asset_matches_file(const char *url, const char *file, const char *type_prefix)
{
    const unsigned char *body = NULL;
    size_t len = 0;
    const char *type = NULL;
    assert_int_equal(es_dashboard_asset(url, &body, &len, &type), 1);
    assert_non_null(body);
    assert_non_null(type);
    assert_true(strncmp(type, type_prefix, strlen(type_prefix)) == 0);
    assert_int_equal(body[len], 0);
    char *path = source_path(file);
    char *disk = NULL;
    size_t disk_len = 0;
    es_error err;
    ES_ASSERT_OK(es_read_file(path, 16u << 20, &disk, &disk_len, &err), &err);
    assert_int_equal(len, disk_len);
    assert_memory_equal(body, disk, len);
    free(disk);
    free(path);
}

static void test_assets_match_web_dir(void **state)
{
    (void)state;
    check_asset_matches_file("/dashboard", "web/index.html", "text/html");
    check_asset_matches_file("/dashboard/", "web/index.html", "text/html");
    check_asset_matches_file("/", "web/index.html", "text/html");
    check_asset_matches_file("/dashboard/app.js", "web/app.js", "text/javascript");
    check_asset_matches_file("/dashboard/app.js?v=2", "web/app.js", "text/javascript");
    check_asset_matches_file("/dashboard/charts.js", "web/charts.js", "text/javascript");
    check_asset_matches_file("/dashboard/style.css", "web/style.css", "text/css");
}

static void test_unknown_urls_are_not_served(void **state)
{
    (void)state;
    static const char *bad[] = {"/dashboardx", "/dashboard/nope.js", "/dashboard/../web/app.js",
                                "/dashboard//app.js", "/dashboard/%2e%2e/app.js", "/app.js",
                                "", "dashboard", "/dashboard/index.html/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const unsigned char *body = NULL;
        size_t len = 7;
        if (es_dashboard_asset(bad[i], &body, &len, NULL) != 0)
            fail_msg("served %s", bad[i]);
        assert_null(body);
        assert_int_equal(len, 7);
    }
    assert_int_equal(es_dashboard_asset(NULL, NULL, NULL, NULL), 0);
    assert_null(es_dashboard_file("missing.html", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets_match_web_dir),
        cmocka_unit_test(test_unknown_urls_are_not_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
