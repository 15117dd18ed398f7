/*
 * metrics.h: the server's counters for GET /metrics/prometheus: requests by
 * endpoint and status code, latency histograms per endpoint and per
 * prediction stage (decode, YAMNet, head), in-flight requests. One mutex;
 * the critical sections are a few additions, far below a request's cost.
 */
#ifndef ES_SERVER_METRICS_H
#define ES_SERVER_METRICS_H

#include "ecosight/core.h"

#include <pthread.h>

/* Endpoints, as routed (labels in es_route_name). */
typedef enum es_route {
    ES_ROUTE_ROOT = 0,
    ES_ROUTE_HEALTH,
    ES_ROUTE_STATUS,
    ES_ROUTE_PREDICT,
    ES_ROUTE_UPLOAD,
    ES_ROUTE_RETRAIN,
    ES_ROUTE_RETRAIN_STATUS,
    ES_ROUTE_METRICS,
    ES_ROUTE_TRAINING_HISTORY,
    ES_ROUTE_MODELS,
    ES_ROUTE_ROLLBACK,
    ES_ROUTE_PROMETHEUS,
    ES_ROUTE_OPENAPI,
    ES_ROUTE_DASHBOARD,
    ES_ROUTE_OTHER, /* unknown paths (404) and preflights */
    ES_ROUTE_COUNT
} es_route;

const char *es_route_name(es_route r);

typedef enum es_stage { ES_STAGE_DECODE = 0, ES_STAGE_YAMNET, ES_STAGE_HEAD, ES_STAGE_COUNT } es_stage;

#define ES_METRICS_BUCKETS 14
#define ES_METRICS_CODES 16

typedef struct es_histogram {
    uint64_t counts[ES_METRICS_BUCKETS + 1]; /* last = +Inf */
    double sum;
    uint64_t count;
} es_histogram;

typedef struct es_metrics {
    pthread_mutex_t mu;
    double started;                              /* es_unix_time at start */
    int codes[ES_METRICS_CODES];                 /* status codes seen, in order */
    int ncodes;
    uint64_t requests[ES_ROUTE_COUNT][ES_METRICS_CODES];
    es_histogram latency[ES_ROUTE_COUNT];
    es_histogram stages[ES_STAGE_COUNT];
    uint64_t predictions;                        /* successful predictions */
    int64_t in_flight;
} es_metrics;

void es_metrics_init(es_metrics *m);
void es_metrics_destroy(es_metrics *m);
void es_metrics_begin(es_metrics *m);  /* a request arrived */
void es_metrics_end(es_metrics *m, es_route r, int status, double seconds);
void es_metrics_stage(es_metrics *m, es_stage s, double seconds);
void es_metrics_prediction(es_metrics *m);
uint64_t es_metrics_predictions(es_metrics *m);
int64_t es_metrics_in_flight(es_metrics *m);
/* The Prometheus text exposition (version 0.0.4). extra: more lines to
 * append (gauges the caller owns), may be NULL. */
es_status es_metrics_render(es_metrics *m, const char *extra, es_buf *out, es_error *err);

#endif
