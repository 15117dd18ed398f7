/*
 * report.c: `ecosight report`: one self-contained HTML file for a model
 * version. The dashboard's CSS and chart code are inlined (from the embedded
 * web/ files), the model's JSON artifacts are embedded for the charts, and the
 * numbers are also written as plain HTML tables so the report reads without
 * JavaScript, prints, and can be checked by a test without a browser.
 */
#include "server/dashboard.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REPORT_JSON_LIMIT (32u << 20) /* any one artifact file */
#define REPORT_HTML_LIMIT (256u << 20)

typedef struct report_ctx {
    es_buf *b;
    es_error *err;
    es_status rc;
} report_ctx;

/* Sticky-error append helpers: after the first failure they do nothing, so the
 * writer can be a straight sequence and check once at the end. */
static void put(report_ctx *c, const char *s)
{
    if (c->rc == ES_OK)
        c->rc = es_buf_append(c->b, s, strlen(s), c->err);
}

static void putf(report_ctx *c, const char *fmt, ...) ES_PRINTF(2, 3);
static void putf(report_ctx *c, const char *fmt, ...)
{
    if (c->rc != ES_OK)
        return;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        c->rc = es_error_set(c->err, ES_ERR_INTERNAL, "report: formatted text too long");
        return;
    }
    put(c, tmp);
}

static void put_html(report_ctx *c, const char *s)
{
    for (; s && *s && c->rc == ES_OK; s++) {
        switch (*s) {
        case '<': put(c, "&lt;"); break;
        case '>': put(c, "&gt;"); break;
        case '&': put(c, "&amp;"); break;
        case '"': put(c, "&quot;"); break;
        case '\'': put(c, "&#39;"); break;
        default: c->rc = es_buf_append(c->b, s, 1, c->err); break;
        }
    }
}

/* A number as the report prints it: fixed decimals, or "–" when missing. */
static void put_num(report_ctx *c, const cJSON *v, const char *fmt)
{
    if (cJSON_IsNumber(v))
        putf(c, fmt, v->valuedouble);
    else
        put(c, "–");
}

static void put_pct(report_ctx *c, const cJSON *v)
{
    if (cJSON_IsNumber(v))
        putf(c, "%.2f %%", 100.0 * v->valuedouble);
    else
        put(c, "–");
}

/* Read and parse one artifact; *raw keeps the file's text (embedded as is, so
 * the charts get the very numbers in the file, not a reprint). Missing +
 * optional: *out = *raw = NULL, ES_OK. */
static es_status load_json(const char *dir, const char *name, int required, cJSON **out,
                           char **raw, es_error *err)
{
    *out = NULL;
    *raw = NULL;
    char *path = es_path_join(dir, name);
    if (!path)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    if (!es_is_file(path)) {
        es_status rc = ES_OK;
        if (required)
            rc = es_error_set(err, ES_ERR_NOT_FOUND, "%s: not found (is %s a model version directory?)",
                              path, dir);
        free(path);
        return rc;
    }
    char *text = NULL;
    size_t len = 0;
    es_status rc = es_read_file(path, REPORT_JSON_LIMIT, &text, &len, err);
    if (rc == ES_OK) {
        *out = cJSON_ParseWithLength(text, len);
        if (!*out)
            rc = es_error_set(err, ES_ERR_FORMAT, "%s: malformed JSON", path);
    }
    if (rc == ES_OK)
        *raw = text;
    else
        free(text);
    free(path);
    return rc;
}

/* model_dir may be a version directory, MODELS_DIR/latest or MODELS_DIR. */
static es_status resolve_version_dir(const char *model_dir, char **out, es_error *err)
{
    char *probe = es_path_join(model_dir, "performance_metrics.json");
    char *latest = es_path_join(model_dir, "latest");
    if (!probe || !latest) {
        free(probe);
        free(latest);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    const char *dir = model_dir;
    if (!es_is_file(probe) && es_is_dir(latest))
        dir = latest;
    char *real = realpath(dir, NULL);
    free(probe);
    free(latest);
    if (!real)
        return es_error_set(err, ES_ERR_NOT_FOUND, "%s: no such model directory", model_dir);
    *out = real;
    return ES_OK;
}

static const cJSON *field(const cJSON *o, const char *k)
{
    return o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* The class order: class_names.json, then metadata.classes, metrics.classes,
 * then the keys of per_class_metrics. Returns a cJSON array owned by *hold or
 * borrowed from one of the documents. */
static const cJSON *class_list(const cJSON *names, const cJSON *meta, const cJSON *metrics,
                               cJSON **hold)
{
    *hold = NULL;
    if (cJSON_IsArray(names))
        return names;
    if (cJSON_IsArray(field(meta, "classes")))
        return field(meta, "classes");
    if (cJSON_IsArray(field(metrics, "classes")))
        return field(metrics, "classes");
    const cJSON *pcm = field(metrics, "per_class_metrics");
    *hold = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, pcm)
    {
        if (*hold && it->string)
            cJSON_AddItemToArray(*hold, cJSON_CreateString(it->string));
    }
    return *hold;
}

static const cJSON *class_metric(const cJSON *metrics, const char *key, const char *cls, int i)
{
    const cJSON *arr = field(metrics, key);
    if (cJSON_IsArray(arr) && cJSON_GetArraySize(arr) > i)
        return cJSON_GetArrayItem(arr, i);
    return field(field(field(metrics, "per_class_metrics"), cls), key);
}

static void quality_tables(report_ctx *c, const cJSON *metrics, const cJSON *classes)
{
    int n = cJSON_GetArraySize(classes);
    put(c, "<h3>Per class (test split)</h3>\n<div class=\"scroll\"><table id=\"report-per-class\">"
           "<thead><tr><th>Class</th><th class=\"num\">Precision</th><th class=\"num\">Recall</th>"
           "<th class=\"num\">F1</th><th class=\"num\">Support</th><th class=\"num\">ROC-AUC</th>"
           "<th class=\"num\">Average precision</th></tr></thead><tbody>\n");
    for (int i = 0; i < n; i++) {
        const cJSON *cj = cJSON_GetArrayItem(classes, i);
        const char *cls = cJSON_IsString(cj) ? cj->valuestring : "?";
        put(c, "<tr data-class=\"");
        put_html(c, cls);
        put(c, "\"><th>");
        put_html(c, cls);
        put(c, "</th><td class=\"num\">");
        put_num(c, class_metric(metrics, "precision", cls, i), "%.3f");
        put(c, "</td><td class=\"num\">");
        put_num(c, class_metric(metrics, "recall", cls, i), "%.3f");
        put(c, "</td><td class=\"num\">");
        put_num(c, class_metric(metrics, "f1_score", cls, i), "%.3f");
        put(c, "</td><td class=\"num\">");
        put_num(c, field(field(field(metrics, "per_class_metrics"), cls), "support"), "%.0f");
        put(c, "</td><td class=\"num\">");
        put_num(c, field(field(metrics, "roc_auc"), cls), "%.3f");
        put(c, "</td><td class=\"num\">");
        put_num(c, field(field(metrics, "average_precision"), cls), "%.3f");
        put(c, "</td></tr>\n");
    }
    put(c, "</tbody></table></div>\n");

    const cJSON *cm = field(metrics, "confusion_matrix");
    if (!cJSON_IsArray(cm))
        return;
    put(c, "<h3>Confusion matrix (rows: true class, columns: predicted)</h3>\n<div class=\"scroll\">"
           "<table id=\"report-confusion\"><thead><tr><th>true \\ predicted</th>");
    for (int j = 0; j < n; j++) {
        const cJSON *cj = cJSON_GetArrayItem(classes, j);
        put(c, "<th class=\"num\">");
        put_html(c, cJSON_IsString(cj) ? cj->valuestring : "?");
        put(c, "</th>");
    }
    put(c, "<th class=\"num\">recall</th></tr></thead><tbody>\n");
    for (int i = 0; i < cJSON_GetArraySize(cm); i++) {
        const cJSON *row = cJSON_GetArrayItem(cm, i);
        const cJSON *cj = cJSON_GetArrayItem(classes, i);
        put(c, "<tr><th>");
        put_html(c, cJSON_IsString(cj) ? cj->valuestring : "?");
        put(c, "</th>");
        double sum = 0, diag = 0;
        for (int j = 0; j < cJSON_GetArraySize(row); j++) {
            const cJSON *v = cJSON_GetArrayItem(row, j);
            put(c, "<td class=\"num\">");
            put_num(c, v, "%.0f");
            put(c, "</td>");
            if (cJSON_IsNumber(v)) {
                sum += v->valuedouble;
                if (i == j)
                    diag = v->valuedouble;
            }
        }
        if (sum > 0)
            putf(c, "<td class=\"num\">%.1f %%</td></tr>\n", 100.0 * diag / sum);
        else
            put(c, "<td class=\"num\">–</td></tr>\n");
    }
    put(c, "</tbody></table></div>\n");
}

static void history_table(report_ctx *c, const cJSON *hist)
{
    const cJSON *loss = field(hist, "loss");
    int n = cJSON_GetArraySize(loss);
    if (n <= 0)
        return;
    static const char *keys[] = {"loss", "val_loss", "accuracy", "val_accuracy", "lr"};
    const cJSON *lr = field(hist, "lr") ? field(hist, "lr") : field(hist, "learning_rate");
    putf(c, "<details><summary>Per-epoch values (%d epochs)</summary><div class=\"scroll\">"
            "<table id=\"report-epochs\"><thead><tr><th class=\"num\">Epoch</th>", n);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        putf(c, "<th class=\"num\">%s</th>", keys[k]);
    put(c, "</tr></thead><tbody>\n");
    for (int i = 0; i < n; i++) {
        putf(c, "<tr><td class=\"num\">%d</td>", i + 1);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            const cJSON *arr = k == 4 ? lr : field(hist, keys[k]);
            put(c, "<td class=\"num\">");
            put_num(c, cJSON_GetArrayItem(arr, i), k == 4 ? "%.3g" : "%.4f");
            put(c, "</td>");
        }
        put(c, "</tr>\n");
    }
    put(c, "</tbody></table></div></details>\n");
}

/* Embed JSON text inside <script type="application/json">: '<' becomes
 * \u003c (valid in JSON strings, and JSON has no '<' elsewhere), so no text in
 * a class name or reason can close the element. */
static void put_json_raw(report_ctx *c, const char *s)
{
    for (const char *p = s; *p && c->rc == ES_OK; p++) {
        if (*p == '<')
            put(c, "\\u003c");
        else
            c->rc = es_buf_append(c->b, p, 1, c->err);
    }
}

static void put_json_member(report_ctx *c, const char *key, const char *raw)
{
    if (!raw)
        return;
    putf(c, ",\"%s\":", key);
    put_json_raw(c, raw);
}

/* Inline one embedded web/ file inside an element that must not be closed early. */
static void put_asset(report_ctx *c, const char *name, const char *closing)
{
    size_t len = 0;
    const unsigned char *data = es_dashboard_file(name, &len);
    if (!data) {
        if (c->rc == ES_OK)
            c->rc = es_error_set(c->err, ES_ERR_INTERNAL, "report: web/%s is not embedded", name);
        return;
    }
    size_t cl = strlen(closing);
    for (size_t i = 0; i + cl <= len; i++) {
        if (strncasecmp((const char *)data + i, closing, cl) == 0) {
            if (c->rc == ES_OK)
                c->rc = es_error_set(c->err, ES_ERR_INTERNAL,
                                     "report: web/%s contains '%s' and cannot be inlined", name,
                                     closing);
            return;
        }
    }
    if (c->rc == ES_OK)
        c->rc = es_buf_append(c->b, data, len, c->err);
}

/* Per class counts from split.json: originals per split and the training
 * examples augmentation made (train + validation originals and their copies). */
typedef struct class_counts {
    double train, val, test, examples, unreadable;
} class_counts;

static int class_index(const cJSON *classes, const char *name)
{
    for (int i = 0; i < cJSON_GetArraySize(classes); i++) {
        const cJSON *cj = cJSON_GetArrayItem(classes, i);
        if (cJSON_IsString(cj) && strcmp(cj->valuestring, name) == 0)
            return i;
    }
    return -1;
}

/* Fills counts[num classes]; returns 0 when split.json has no file list. */
static int count_split(const cJSON *split, const cJSON *classes, class_counts *counts)
{
    const cJSON *files = field(split, "files");
    if (!cJSON_IsArray(files))
        return 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        const cJSON *cls = field(f, "class"), *sp = field(f, "split");
        if (!cJSON_IsString(cls) || !cJSON_IsString(sp))
            continue;
        int k = class_index(classes, cls->valuestring);
        if (k < 0)
            continue;
        class_counts *cc = &counts[k];
        if (field(f, "error")) {
            cc->unreadable += 1;
            continue;
        }
        int is_train = strcmp(sp->valuestring, "train") == 0, is_val = strcmp(sp->valuestring, "val") == 0;
        if (is_train)
            cc->train += 1;
        else if (is_val)
            cc->val += 1;
        else if (strcmp(sp->valuestring, "test") == 0)
            cc->test += 1;
        if (is_train || is_val)
            cc->examples += 1 + cJSON_GetArraySize(field(f, "augmentations"));
    }
    return 1;
}

static void data_section(report_ctx *c, const cJSON *classes, const class_counts *counts,
                         const cJSON *meta)
{
    const cJSON *apf = field(field(meta, "training_config"), "augmentations_per_file");
    put(c, "<section id=\"data\"><h2>Data</h2>\n<div class=\"scroll\"><table id=\"report-data\"><thead><tr>"
           "<th>Class</th><th class=\"num\">Original recordings</th><th class=\"num\">train</th>"
           "<th class=\"num\">val</th><th class=\"num\">test</th><th class=\"num\">Augmented copies per file</th>"
           "<th class=\"num\">Training examples after augmentation</th><th class=\"num\">Unreadable</th></tr></thead><tbody>\n");
    for (int i = 0; i < cJSON_GetArraySize(classes); i++) {
        const cJSON *cj = cJSON_GetArrayItem(classes, i);
        const char *cls = cJSON_IsString(cj) ? cj->valuestring : "?";
        const class_counts *k = &counts[i];
        put(c, "<tr data-class=\"");
        put_html(c, cls);
        put(c, "\"><th>");
        put_html(c, cls);
        putf(c, "</th><td class=\"num\">%.0f</td><td class=\"num\">%.0f</td><td class=\"num\">%.0f</td>"
                "<td class=\"num\">%.0f</td><td class=\"num\">",
             k->train + k->val + k->test, k->train, k->val, k->test);
        put_num(c, field(apf, cls), "%.0f");
        putf(c, "</td><td class=\"num\">%.0f</td><td class=\"num\">%.0f</td></tr>\n", k->examples,
             k->unreadable);
    }
    put(c, "</tbody></table></div>\n<p class=\"muted\">From the model's split.json: every original "
           "recording, its split, and the augmentations made of it (train and validation only; the "
           "test split is never augmented).</p>\n</section>\n");
}

static void card(report_ctx *c, const char *label, const char *id, const cJSON *v, int pct,
                 const char *fmt)
{
    putf(c, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\" id=\"%s\">", label, id);
    if (pct)
        put_pct(c, v);
    else
        put_num(c, v, fmt);
    put(c, "</div></div>\n");
}

typedef struct raw_docs {
    char *metrics, *hist, *meta, *log, *names, *split;
} raw_docs;

static void write_report(report_ctx *c, const char *version, const cJSON *metrics,
                         const cJSON *hist, const cJSON *meta, const raw_docs *raw,
                         const cJSON *classes, const class_counts *counts)
{
    char now[32];
    es_utc_iso8601(es_unix_time(), now);
    put(c, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>EcoSight model report: ");
    put_html(c, version);
    put(c, "</title>\n<style>\n");
    put_asset(c, "style.css", "</style");
    put(c, "</style>\n</head>\n<body data-mode=\"report\">\n<header class=\"top\"><h1>EcoSight</h1>"
           "<span class=\"sub\">model report</span><span class=\"live\">");
    put_html(c, version);
    put(c, "</span></header>\n<main>\n<section id=\"summary\"><h2>Model</h2><div class=\"cards\">\n");
    put(c, "<div class=\"card\"><div class=\"k\">Version</div><div class=\"v small\" id=\"r-version\">");
    put_html(c, version);
    put(c, "</div></div>\n<div class=\"card\"><div class=\"k\">Trained</div><div class=\"v small\" id=\"r-date\">");
    const cJSON *date = field(meta, "training_date");
    put_html(c, cJSON_IsString(date) ? date->valuestring : "–");
    put(c, "</div></div>\n<div class=\"card\"><div class=\"k\">Classes</div><div class=\"v small\">");
    for (int i = 0; i < cJSON_GetArraySize(classes); i++) {
        const cJSON *cj = cJSON_GetArrayItem(classes, i);
        if (i)
            put(c, ", ");
        put_html(c, cJSON_IsString(cj) ? cj->valuestring : "?");
    }
    put(c, "</div></div>\n");
    const cJSON *tc = field(meta, "training_config");
    const cJSON *loss = field(metrics, "test_loss");
    if (!cJSON_IsNumber(loss))
        loss = field(metrics, "loss");
    if (!cJSON_IsNumber(loss))
        loss = field(meta, "test_loss");
    card(c, "Test loss", "r-test-loss", loss, 0, "%.4f");
    card(c, "Train samples", "r-train", field(tc, "train_samples"), 0, "%.0f");
    card(c, "Validation samples", "r-val", field(tc, "val_samples"), 0, "%.0f");
    card(c, "Test samples", "r-test", field(tc, "test_samples"), 0, "%.0f");
    card(c, "Epochs", "r-epochs", field(tc, "epochs"), 0, "%.0f");
    putf(c, "</div>\n<p class=\"muted\">Generated %s by ecosight %s.</p>\n</section>\n", now,
         es_version());

    /* Quality: the same element ids as the live dashboard, so app.js draws them. */
    const cJSON *acc = field(metrics, "accuracy");
    if (!cJSON_IsNumber(acc))
        acc = field(metrics, "test_accuracy");
    if (!cJSON_IsNumber(acc))
        acc = field(meta, "test_accuracy");
    put(c, "<section id=\"quality\"><h2>Model quality</h2><div class=\"cards\">\n");
    card(c, "Test accuracy", "q-accuracy", acc, 1, NULL);
    card(c, "Macro F1", "q-macro-f1", field(metrics, "macro_f1"), 0, "%.3f");
    put(c, "<div class=\"card\"><div class=\"k\">gun_shot threshold</div><div class=\"v\" id=\"q-threshold\">–</div></div>\n"
           "<div class=\"card\"><div class=\"k\">gun_shot recall at threshold</div><div class=\"v\" id=\"q-threshold-recall\">–</div></div>\n"
           "</div>\n"
           "<figure class=\"chart\"><figcaption>Precision, recall and F1 per class (test split)</figcaption><div id=\"chart-prf\"></div></figure>\n"
           "<div class=\"grid2\"><figure class=\"chart\"><figcaption>Confusion matrix, counts</figcaption><div id=\"chart-cm\"></div></figure>\n"
           "<figure class=\"chart\"><figcaption>Confusion matrix, row-normalised</figcaption><div id=\"chart-cm-norm\"></div></figure></div>\n"
           "<div class=\"grid2\"><figure class=\"chart\" id=\"fig-roc\" hidden><figcaption>ROC curves, one vs rest</figcaption><div id=\"chart-roc\"></div></figure>\n"
           "<figure class=\"chart\" id=\"fig-pr\" hidden><figcaption>Precision–recall curves, one vs rest</figcaption><div id=\"chart-pr\"></div></figure></div>\n");
    quality_tables(c, metrics, classes);
    put(c, "</section>\n");

    put(c, "<section id=\"training\"><h2>Training</h2>\n"
           "<p id=\"train-none\" class=\"muted\" hidden>No training history for this model.</p>\n"
           "<div class=\"grid2\"><figure class=\"chart\"><figcaption>Loss per epoch</figcaption><div id=\"chart-loss\"></div></figure>\n"
           "<figure class=\"chart\"><figcaption>Accuracy per epoch</figcaption><div id=\"chart-acc\"></div></figure></div>\n"
           "<figure class=\"chart\"><figcaption>Learning rate per epoch</figcaption><div id=\"chart-lr\"></div></figure>\n");
    history_table(c, hist);
    put(c, "<h3>Retraining history</h3>\n"
           "<figure class=\"chart\"><figcaption>Test accuracy per retraining run</figcaption><div id=\"chart-trend\"></div></figure>\n"
           "<div class=\"scroll\"><table id=\"table-history\"><thead><tr><th>Date</th><th>Version</th><th>Reason</th>"
           "<th>Test accuracy</th><th>Samples</th><th>Duration</th></tr></thead><tbody></tbody></table></div>\n"
           "</section>\n");
    if (counts)
        data_section(c, classes, counts, meta);
    put(c, "</main>\n");

    /* The data the charts are drawn from. */
    put(c, "<script type=\"application/json\" id=\"es-report-data\">");
    char *cls = cJSON_PrintUnformatted(classes);
    if (!cls) {
        if (c->rc == ES_OK)
            c->rc = es_error_set(c->err, ES_ERR_NOMEM, "out of memory");
        return;
    }
    put(c, "{\"classes\":");
    put_json_raw(c, cls);
    free(cls);
    put_json_member(c, "metrics", raw->metrics);
    put_json_member(c, "history", raw->hist);
    put_json_member(c, "metadata", raw->meta);
    put_json_member(c, "retraining_log", raw->log);
    put(c, "}");
    put(c, "</script>\n<script>\n");
    put_asset(c, "charts.js", "</script");
    put(c, "</script>\n<script>\n");
    put_asset(c, "app.js", "</script");
    put(c, "</script>\n</body>\n</html>\n");
}

es_status es_report_write(const char *model_dir, const char *out_path, es_error *err)
{
    if (!model_dir || !out_path)
        return es_error_set(err, ES_ERR_INVALID, "report: model directory and output path needed");
    char *dir = NULL, *parent = NULL;
    cJSON *metrics = NULL, *hist = NULL, *meta = NULL, *log = NULL, *names = NULL, *hold = NULL;
    cJSON *split = NULL;
    class_counts *counts = NULL;
    raw_docs raw = {0};
    es_buf b;
    es_buf_init(&b, REPORT_HTML_LIMIT);
    es_status rc = resolve_version_dir(model_dir, &dir, err);
    if (rc != ES_OK)
        goto done;
    if ((rc = load_json(dir, "performance_metrics.json", 1, &metrics, &raw.metrics, err)) != ES_OK ||
        (rc = load_json(dir, "training_history.json", 0, &hist, &raw.hist, err)) != ES_OK ||
        (rc = load_json(dir, "model_metadata.json", 0, &meta, &raw.meta, err)) != ES_OK ||
        (rc = load_json(dir, "class_names.json", 0, &names, &raw.names, err)) != ES_OK)
        goto done;
    if (!cJSON_IsObject(metrics)) {
        rc = es_error_set(err, ES_ERR_FORMAT, "%s/performance_metrics.json: not a JSON object", dir);
        goto done;
    }
    /* The retraining log sits beside the version directories, in MODELS_DIR. */
    parent = es_path_join(dir, "..");
    if (!parent) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = load_json(parent, "retraining_log.json", 0, &log, &raw.log, err)) != ES_OK ||
        (rc = load_json(dir, "split.json", 0, &split, &raw.split, err)) != ES_OK)
        goto done;
    const cJSON *classes = class_list(names, meta, metrics, &hold);
    if (!classes || cJSON_GetArraySize(classes) == 0) {
        rc = es_error_set(err, ES_ERR_FORMAT, "%s: no class names in the model's files", dir);
        goto done;
    }
    /* dir is resolved (realpath), so its name is the version, never "latest". */
    const char *version = es_path_base(dir);
    counts = calloc((size_t)cJSON_GetArraySize(classes), sizeof *counts);
    if (!counts) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto done;
    }
    int have_counts = split && count_split(split, classes, counts);
    report_ctx c = {.b = &b, .err = err, .rc = ES_OK};
    write_report(&c, version, metrics, hist, meta, &raw, classes, have_counts ? counts : NULL);
    if ((rc = c.rc) != ES_OK)
        goto done;
    rc = es_write_file_atomic(out_path, b.data, b.len, err);
    if (rc != ES_OK)
        es_error_prefix(err, "writing the report");
done:
    es_buf_free(&b);
    cJSON_Delete(metrics);
    cJSON_Delete(hist);
    cJSON_Delete(meta);
    cJSON_Delete(log);
    cJSON_Delete(names);
    cJSON_Delete(hold);
    free(raw.metrics);
    free(raw.hist);
    free(raw.meta);
    free(raw.log);
    free(raw.names);
    free(raw.split);
    cJSON_Delete(split);
    free(counts);
    free(parent);
    free(dir);
    return rc;
}
