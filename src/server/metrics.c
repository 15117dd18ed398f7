/*
 * metrics.c: counters and histograms for /metrics/prometheus (see metrics.h).
 */
#include "metrics.h"

#include <string.h>

/* Upper bounds in seconds: 1 ms .. 10 s, dense where predictions live. */
static const double BUCKETS[ES_METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,  0.075,  0.1,   0.25, 0.5,
                                                   1.0,   2.5,    5.0,   10.0};

static const char *const ROUTES[ES_ROUTE_COUNT] = {
    "/", "/health", "/status", "/predict", "/upload", "/retrain", "/retrain/status",
    "/metrics", "/training-history", "/models", "/models/rollback", "/metrics/prometheus", "/openapi.json",
    "/dashboard", "other"};

static const char *const STAGES[ES_STAGE_COUNT] = {"decode", "yamnet", "head"};

const char *es_route_name(es_route r)
{
    return (unsigned)r < ES_ROUTE_COUNT ? ROUTES[r] : "other";
}

void es_metrics_init(es_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->started = es_unix_time();
}

void es_metrics_destroy(es_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

static void observe(es_histogram *h, double v)
{
    int b = 0;
    while (b < ES_METRICS_BUCKETS && v > BUCKETS[b])
        b++;
    h->counts[b]++;
    h->sum += v;
    h->count++;
}

void es_metrics_begin(es_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->in_flight++;
    pthread_mutex_unlock(&m->mu);
}

void es_metrics_end(es_metrics *m, es_route r, int status, double seconds)
{
    if ((unsigned)r >= ES_ROUTE_COUNT)
        r = ES_ROUTE_OTHER;
    pthread_mutex_lock(&m->mu);
    m->in_flight--;
    int c = 0;
    while (c < m->ncodes && m->codes[c] != status)
        c++;
    if (c == m->ncodes) {
        if (m->ncodes < ES_METRICS_CODES - 1) {
            m->codes[m->ncodes++] = status;
        } else {
            c = ES_METRICS_CODES - 1; /* the overflow slot, labelled "other" */
            m->codes[c] = 0;
        }
    }
    m->requests[r][c]++;
    observe(&m->latency[r], seconds);
    pthread_mutex_unlock(&m->mu);
}

void es_metrics_stage(es_metrics *m, es_stage s, double seconds)
{
    if ((unsigned)s >= ES_STAGE_COUNT)
        return;
    pthread_mutex_lock(&m->mu);
    observe(&m->stages[s], seconds);
    pthread_mutex_unlock(&m->mu);
}

void es_metrics_prediction(es_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->predictions++;
    pthread_mutex_unlock(&m->mu);
}

uint64_t es_metrics_predictions(es_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->predictions;
    pthread_mutex_unlock(&m->mu);
    return n;
}

int64_t es_metrics_in_flight(es_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    int64_t n = m->in_flight;
    pthread_mutex_unlock(&m->mu);
    return n;
}

static es_status render_hist(es_buf *out, const char *name, const char *label, const char *value,
                             const es_histogram *h, es_error *err)
{
    es_status rc = ES_OK;
    uint64_t cum = 0;
    for (int b = 0; b <= ES_METRICS_BUCKETS && rc == ES_OK; b++) {
        cum += h->counts[b];
        if (b < ES_METRICS_BUCKETS)
            rc = es_buf_printf(out, err, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", name, label,
                               value, BUCKETS[b], (unsigned long long)cum);
        else
            rc = es_buf_printf(out, err, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label,
                               value, (unsigned long long)cum);
    }
    if (rc == ES_OK)
        rc = es_buf_printf(out, err, "%s_sum{%s=\"%s\"} %.6f\n%s_count{%s=\"%s\"} %llu\n", name,
                           label, value, h->sum, name, label, value,
                           (unsigned long long)h->count);
    return rc;
}

es_status es_metrics_render(es_metrics *m, const char *extra, es_buf *out, es_error *err)
{
    pthread_mutex_lock(&m->mu);
    es_metrics snap = *m; /* copy under the lock, format outside it */
    pthread_mutex_unlock(&m->mu);

    es_status rc = es_buf_printf(
        out, err,
        "# HELP ecosight_http_requests_total HTTP requests by endpoint and status code.\n"
        "# TYPE ecosight_http_requests_total counter\n");
    for (int r = 0; r < ES_ROUTE_COUNT && rc == ES_OK; r++)
        for (int c = 0; c < ES_METRICS_CODES && rc == ES_OK; c++) {
            if (!snap.requests[r][c])
                continue;
            char code[16];
            if (c == ES_METRICS_CODES - 1 && snap.codes[c] == 0)
                snprintf(code, sizeof code, "other");
            else
                snprintf(code, sizeof code, "%d", snap.codes[c]);
            rc = es_buf_printf(out, err,
                               "ecosight_http_requests_total{endpoint=\"%s\",code=\"%s\"} %llu\n",
                               ROUTES[r], code, (unsigned long long)snap.requests[r][c]);
        }
    if (rc == ES_OK)
        rc = es_buf_printf(out, err,
                           "# HELP ecosight_http_request_duration_seconds Time from the request "
                           "line to the last response byte queued, by endpoint.\n"
                           "# TYPE ecosight_http_request_duration_seconds histogram\n");
    for (int r = 0; r < ES_ROUTE_COUNT && rc == ES_OK; r++)
        if (snap.latency[r].count)
            rc = render_hist(out, "ecosight_http_request_duration_seconds", "endpoint", ROUTES[r],
                             &snap.latency[r], err);
    if (rc == ES_OK)
        rc = es_buf_printf(out, err,
                           "# HELP ecosight_predict_stage_seconds Time per prediction stage.\n"
                           "# TYPE ecosight_predict_stage_seconds histogram\n");
    for (int s = 0; s < ES_STAGE_COUNT && rc == ES_OK; s++)
        rc = render_hist(out, "ecosight_predict_stage_seconds", "stage", STAGES[s],
                         &snap.stages[s], err);
    if (rc == ES_OK)
        rc = es_buf_printf(out, err,
                           "# HELP ecosight_predictions_total Successful predictions.\n"
                           "# TYPE ecosight_predictions_total counter\n"
                           "ecosight_predictions_total %llu\n"
                           "# HELP ecosight_http_requests_in_flight Requests being served.\n"
                           "# TYPE ecosight_http_requests_in_flight gauge\n"
                           "ecosight_http_requests_in_flight %lld\n"
                           "# HELP ecosight_uptime_seconds Seconds since the server started.\n"
                           "# TYPE ecosight_uptime_seconds gauge\n"
                           "ecosight_uptime_seconds %.3f\n",
                           (unsigned long long)snap.predictions, (long long)snap.in_flight,
                           es_unix_time() - snap.started);
    if (rc == ES_OK && extra)
        rc = es_buf_append(out, extra, strlen(extra), err);
    return rc;
}
