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

#include <cjson/cJSON.h>
#include <unistd.h>

#include "ecosight/core.h"
#include "server/dashboard.h"

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
    char *path = es_test_source_path(file);
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

/* ---- es_report_write ---- */

static const char *CLASSES[] = {"clips", "dog_bark", "engine_idling", "gun_shot"};
#define NCLS 4
#define NEPOCHS 13

static void write_text(const char *dir, const char *name, const char *text)
{
    char *p = es_path_join(dir, name);
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(p, text, strlen(text), &err), &err);
    free(p);
}

static void write_json(const char *dir, const char *name, cJSON *doc)
{
    char *s = cJSON_Print(doc);
    assert_non_null(s);
    write_text(dir, name, s);
    free(s);
    cJSON_Delete(doc);
}

typedef struct fixture {
    int split[NCLS][3], examples[NCLS], bad[NCLS], per_file[NCLS];
    int cm[NCLS][NCLS];
    double p[NCLS], r[NCLS], f1[NCLS];
    double loss[NEPOCHS], val_loss[NEPOCHS], acc[NEPOCHS], val_acc[NEPOCHS], lr[NEPOCHS];
} fixture;

/* A models directory in the seed's shapes, with numbers drawn from a seeded
 * RNG so the test cannot pass on remembered constants. */
static char *make_models_dir(fixture *fx, uint64_t seed)
{
    char *root = es_test_tmpdir("report");
    char *ver = es_path_join(root, "20261204T120000Z");
    es_error err;
    ES_ASSERT_OK(es_mkdirs(ver, &err), &err);
    es_rng rng;
    es_rng_init(&rng, seed, NULL, 0, "report-test");
    cJSON *m = cJSON_CreateObject(), *pcm = cJSON_CreateObject();
    cJSON *pa = cJSON_AddArrayToObject(m, "precision"), *ra = cJSON_AddArrayToObject(m, "recall");
    cJSON *fa = cJSON_AddArrayToObject(m, "f1_score"), *cma = cJSON_AddArrayToObject(m, "confusion_matrix");
    for (int i = 0; i < NCLS; i++) {
        cJSON *row = cJSON_CreateArray();
        int support = 0;
        for (int j = 0; j < NCLS; j++) {
            fx->cm[i][j] = (int)es_rng_below(&rng, i == j ? 90 : 9) + (i == j ? 10 : 0);
            support += fx->cm[i][j];
            cJSON_AddItemToArray(row, cJSON_CreateNumber(fx->cm[i][j]));
        }
        cJSON_AddItemToArray(cma, row);
        fx->p[i] = es_rng_uniform(&rng);
        fx->r[i] = es_rng_uniform(&rng);
        fx->f1[i] = 2 * fx->p[i] * fx->r[i] / (fx->p[i] + fx->r[i]);
        cJSON_AddItemToArray(pa, cJSON_CreateNumber(fx->p[i]));
        cJSON_AddItemToArray(ra, cJSON_CreateNumber(fx->r[i]));
        cJSON_AddItemToArray(fa, cJSON_CreateNumber(fx->f1[i]));
        cJSON *pc = cJSON_AddObjectToObject(pcm, CLASSES[i]);
        cJSON_AddNumberToObject(pc, "precision", fx->p[i]);
        cJSON_AddNumberToObject(pc, "recall", fx->r[i]);
        cJSON_AddNumberToObject(pc, "f1_score", fx->f1[i]);
        cJSON_AddNumberToObject(pc, "support", support);
    }
    cJSON_AddItemToObject(m, "per_class_metrics", pcm);
    write_json(ver, "performance_metrics.json", m);

    cJSON *h = cJSON_CreateObject();
    static const char *keys[] = {"loss", "val_loss", "accuracy", "val_accuracy", "lr"};
    double *cols[] = {fx->loss, fx->val_loss, fx->acc, fx->val_acc, fx->lr};
    for (int k = 0; k < 5; k++) {
        cJSON *a = cJSON_AddArrayToObject(h, keys[k]);
        for (int e = 0; e < NEPOCHS; e++) {
            cols[k][e] = k == 4 ? (e < 7 ? 1e-3 : 5e-4) : es_rng_uniform(&rng) * (k < 2 ? 2.0 : 1.0);
            cJSON_AddItemToArray(a, cJSON_CreateNumber(cols[k][e]));
        }
    }
    write_json(ver, "training_history.json", h);

    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "model_name", "20261204T120000Z");
    cJSON_AddStringToObject(md, "training_date", "2026-12-04T12:00:00Z");
    cJSON_AddNumberToObject(md, "num_classes", NCLS);
    cJSON_AddItemToObject(md, "classes", cJSON_CreateStringArray(CLASSES, NCLS));
    cJSON_AddNumberToObject(md, "test_accuracy", 0.8765);
    cJSON_AddNumberToObject(md, "test_loss", 0.4321);
    /* split.json: originals per split, augmentations of train/val ones, and
     * unreadable files; augmentations_per_file in the metadata. */
    cJSON *sj = cJSON_CreateObject(), *files = cJSON_AddArrayToObject(sj, "files");
    static const char *splits[] = {"train", "val", "test"};
    for (int k = 0; k < NCLS; k++) {
        fx->per_file[k] = 1 + (int)es_rng_below(&rng, 9);
        fx->examples[k] = 0;
        fx->bad[k] = (int)es_rng_below(&rng, 3);
        for (int sp = 0; sp < 3; sp++) {
            fx->split[k][sp] = 1 + (int)es_rng_below(&rng, 20);
            for (int f = 0; f < fx->split[k][sp]; f++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "class", CLASSES[k]);
                cJSON_AddStringToObject(o, "split", splits[sp]);
                cJSON *aug = cJSON_AddArrayToObject(o, "augmentations");
                int na = sp < 2 ? (int)es_rng_below(&rng, (uint64_t)fx->per_file[k] + 1) : 0;
                for (int a = 0; a < na; a++)
                    cJSON_AddItemToArray(aug, cJSON_CreateString("time_stretch"));
                if (sp < 2)
                    fx->examples[k] += 1 + na;
                cJSON_AddItemToArray(files, o);
            }
        }
        for (int b = 0; b < fx->bad[k]; b++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "class", CLASSES[k]);
            cJSON_AddStringToObject(o, "split", "train");
            cJSON_AddStringToObject(o, "error", "cannot decode");
            cJSON_AddItemToArray(files, o);
        }
    }
    write_json(ver, "split.json", sj);
    cJSON *tc = cJSON_AddObjectToObject(md, "training_config");
    cJSON *apf = cJSON_AddObjectToObject(tc, "augmentations_per_file");
    for (int k = 0; k < NCLS; k++)
        cJSON_AddNumberToObject(apf, CLASSES[k], fx->per_file[k]);
    cJSON_AddNumberToObject(tc, "epochs", NEPOCHS);
    cJSON_AddNumberToObject(tc, "batch_size", 64);
    cJSON_AddNumberToObject(tc, "train_samples", 1234);
    cJSON_AddNumberToObject(tc, "val_samples", 321);
    cJSON_AddNumberToObject(tc, "test_samples", 77);
    write_json(ver, "model_metadata.json", md);

    /* A hostile reason string must not break out of the embedded JSON. */
    write_text(root, "retraining_log.json",
               "{\"retraining_history\": [{\"timestamp\": \"2026-12-04T12:00:00Z\", "
               "\"trigger_reason\": \"</script><b id=x>pwn</b>\", \"test_accuracy\": 0.8765}]}");
    char *latest = es_path_join(root, "latest");
    assert_int_equal(symlink("20261204T120000Z", latest), 0);
    free(latest);
    free(ver);
    return root;
}

static char *read_all(const char *path)
{
    char *s = NULL;
    size_t n = 0;
    es_error err;
    ES_ASSERT_OK(es_read_file(path, 64u << 20, &s, &n, &err), &err);
    return s;
}

/* The text of the <tr> of the table `table_id` whose data-class is cls. */
static char *row_of(const char *html, const char *table_id, const char *cls)
{
    char key[128];
    snprintf(key, sizeof key, "id=\"%s\"", table_id);
    const char *t = strstr(html, key);
    assert_non_null(t);
    const char *end = strstr(t, "</table>");
    snprintf(key, sizeof key, "<tr data-class=\"%s\">", cls);
    const char *r = strstr(t, key);
    assert_non_null(r);
    assert_true(r < end);
    const char *re = strstr(r, "</tr>");
    return strndup(r, (size_t)(re - r));
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_report_has_every_number(void **state)
{
    (void)state;
    fixture fx;
    char *root = make_models_dir(&fx, 20261204);
    char *out = es_path_join(root, "report.html");
    es_error err;
    ES_ASSERT_OK(es_report_write(root, out, &err), &err); /* MODELS_DIR -> latest */
    char *html = read_all(out);
    char want[128];
    for (int i = 0; i < NCLS; i++) {
        char *row = row_of(html, "report-per-class", CLASSES[i]);
        int support = 0;
        for (int j = 0; j < NCLS; j++)
            support += fx.cm[i][j];
        snprintf(want, sizeof want, "<td class=\"num\">%.3f</td><td class=\"num\">%.3f</td>"
                                    "<td class=\"num\">%.3f</td><td class=\"num\">%d</td>",
                 fx.p[i], fx.r[i], fx.f1[i], support);
        if (!strstr(row, want))
            fail_msg("row %s lacks %s: %s", CLASSES[i], want, row);
        free(row);
    }
    /* Confusion matrix rows, in order, with the recall column. */
    const char *cm = strstr(html, "id=\"report-confusion\"");
    assert_non_null(cm);
    for (int i = 0; i < NCLS; i++) {
        char rowtxt[512];
        int len = snprintf(rowtxt, sizeof rowtxt, "<tr><th>%s</th>", CLASSES[i]);
        int sum = 0;
        for (int j = 0; j < NCLS; j++) {
            len += snprintf(rowtxt + len, sizeof rowtxt - (size_t)len, "<td class=\"num\">%d</td>", fx.cm[i][j]);
            sum += fx.cm[i][j];
        }
        snprintf(rowtxt + len, sizeof rowtxt - (size_t)len, "<td class=\"num\">%.1f %%</td></tr>",
                 100.0 * fx.cm[i][i] / sum);
        const char *at = strstr(cm, rowtxt);
        if (!at)
            fail_msg("confusion matrix lacks %s", rowtxt);
        cm = at;
    }
    /* Data: originals per split and what augmentation made of them. */
    for (int i = 0; i < NCLS; i++) {
        char *row = row_of(html, "report-data", CLASSES[i]);
        const int *sp = fx.split[i];
        snprintf(want, sizeof want, "<td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%d</td>"
                                    "<td class=\"num\">%d</td><td class=\"num\">%d</td><td class=\"num\">%d</td>"
                                    "<td class=\"num\">%d</td>",
                 sp[0] + sp[1] + sp[2], sp[0], sp[1], sp[2], fx.per_file[i], fx.examples[i], fx.bad[i]);
        if (!strstr(row, want))
            fail_msg("data row %s lacks %s: %s", CLASSES[i], want, row);
        free(row);
    }
    /* Every epoch of the training history. */
    for (int e = 0; e < NEPOCHS; e++) {
        snprintf(want, sizeof want, "<tr><td class=\"num\">%d</td><td class=\"num\">%.4f</td>"
                                    "<td class=\"num\">%.4f</td><td class=\"num\">%.4f</td>"
                                    "<td class=\"num\">%.4f</td><td class=\"num\">%.3g</td></tr>",
                 e + 1, fx.loss[e], fx.val_loss[e], fx.acc[e], fx.val_acc[e], fx.lr[e]);
        if (!strstr(html, want))
            fail_msg("epoch table lacks %s", want);
    }
    /* Metadata cards. */
    assert_non_null(strstr(html, "id=\"q-accuracy\">87.65 %"));
    assert_non_null(strstr(html, "id=\"r-test-loss\">0.4321"));
    assert_non_null(strstr(html, "id=\"r-train\">1234"));
    assert_non_null(strstr(html, "id=\"r-val\">321"));
    assert_non_null(strstr(html, "id=\"r-test\">77"));
    assert_non_null(strstr(html, "id=\"r-version\">20261204T120000Z"));
    /* Self-contained: no external resource, the JS and CSS inlined, exactly
     * the three script elements closed (data, charts, app). */
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "href=\"http"));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "@import"));
    assert_int_equal(count(html, "</script>"), 3);
    assert_null(strstr(html, "<b id=x>"));
    assert_non_null(strstr(html, "\\u003c/script>\\u003cb id=x>pwn"));
    size_t len = 0;
    const unsigned char *charts = es_dashboard_file("charts.js", &len);
    assert_non_null(charts);
    assert_non_null(strstr(html, (const char *)charts));
    assert_non_null(strstr(html, (const char *)es_dashboard_file("app.js", NULL)));
    free(html);

    /* A version directory directly gives the same tables. */
    char *ver = es_path_join(root, "20261204T120000Z");
    char *out2 = es_path_join(root, "report2.html");
    ES_ASSERT_OK(es_report_write(ver, out2, &err), &err);
    html = read_all(out2);
    char *row = row_of(html, "report-per-class", "gun_shot");
    snprintf(want, sizeof want, "<td class=\"num\">%.3f</td>", fx.p[3]);
    assert_non_null(strstr(row, want));
    free(row);
    free(html);
    free(out2);
    free(ver);
    free(out);
    es_remove_tree(root, &err);
    free(root);
}

static void test_report_errors(void **state)
{
    (void)state;
    fixture fx;
    char *root = make_models_dir(&fx, 7);
    char *ver = es_path_join(root, "20261204T120000Z");
    char *out = es_path_join(root, "bad.html");
    es_error err;
    /* Malformed optional file: an error naming it, and no output. */
    write_text(ver, "training_history.json", "{\"loss\": [0.1,");
    es_error_clear(&err);
    assert_int_equal(es_report_write(ver, out, &err), ES_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "training_history.json"));
    assert_false(es_is_file(out));
    /* Missing metrics. */
    char *pm = es_path_join(ver, "performance_metrics.json");
    assert_int_equal(unlink(pm), 0);
    es_error_clear(&err);
    assert_int_equal(es_report_write(ver, out, &err), ES_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "performance_metrics.json"));
    /* Not a directory at all. */
    es_error_clear(&err);
    assert_int_equal(es_report_write("/nonexistent/models", out, &err), ES_ERR_NOT_FOUND);
    assert_false(es_is_file(out));
    /* Unwritable output. */
    write_text(ver, "training_history.json", "{}");
    write_text(ver, "performance_metrics.json", "{\"per_class_metrics\": {\"a\": {\"precision\": 1}}}");
    es_error_clear(&err);
    assert_int_not_equal(es_report_write(ver, "/nonexistent/dir/r.html", &err), ES_OK);
    ES_ASSERT_OK(es_report_write(ver, out, &err), &err);
    free(pm);
    free(out);
    free(ver);
    es_remove_tree(root, &err);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assets_match_web_dir),
        cmocka_unit_test(test_unknown_urls_are_not_served),
        cmocka_unit_test(test_report_has_every_number),
        cmocka_unit_test(test_report_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
