/*
 * parallel.c: a minimal parallel-for over POSIX threads, and clocks.
 * Work items are claimed from an atomic counter; callers make results
 * independent of the thread that computes them (per-item RNG streams,
 * per-item output slots), which keeps every output deterministic.
 */
#include "ecosight/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int es_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

typedef struct pf_shared {
    es_parallel_fn fn;
    void *ctx;
    int64_t n;
    atomic_llong next;
    atomic_int failed;
    pthread_mutex_t mu;
    es_status first_rc;
    int64_t first_item;
    es_error first_err;
} pf_shared;

typedef struct pf_worker {
    pf_shared *s;
    int index;
} pf_worker;

static void *pf_run(void *arg)
{
    pf_worker *w = arg;
    pf_shared *s = w->s;
    es_error err;
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        int64_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->n)
            break;
        es_error_clear(&err);
        es_status rc = s->fn(s->ctx, i, w->index, &err);
        if (rc != ES_OK) {
            pthread_mutex_lock(&s->mu);
            /* Keep the error of the lowest failing item for a stable report. */
            if (s->first_rc == ES_OK || i < s->first_item) {
                s->first_rc = rc;
                s->first_item = i;
                s->first_err = err;
                if (s->first_err.code == ES_OK)
                    s->first_err.code = rc;
            }
            pthread_mutex_unlock(&s->mu);
            atomic_store(&s->failed, 1);
        }
    }
    return NULL;
}

es_status es_parallel_for(int threads, int64_t n, es_parallel_fn fn, void *ctx, es_error *err)
{
    if (n <= 0)
        return ES_OK;
    if (threads <= 0)
        threads = es_cpu_count();
    if (threads > n)
        threads = (int)n;
    pf_shared s;
    memset(&s, 0, sizeof s);
    s.fn = fn;
    s.ctx = ctx;
    s.n = n;
    atomic_init(&s.next, 0);
    atomic_init(&s.failed, 0);
    pthread_mutex_init(&s.mu, NULL);
    s.first_rc = ES_OK;

    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    pf_worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!tids || !ws) {
        free(tids);
        free(ws);
        pthread_mutex_destroy(&s.mu);
        return es_error_set(err, ES_ERR_NOMEM, "cannot allocate %d worker threads", threads);
    }
    int started = 0;
    for (int t = 1; t < threads; t++) {
        ws[t].s = &s;
        ws[t].index = t;
        if (pthread_create(&tids[t], NULL, pf_run, &ws[t]) != 0)
            break;
        started = t;
    }
    ws[0].s = &s;
    ws[0].index = 0;
    pf_run(&ws[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    free(tids);
    free(ws);
    pthread_mutex_destroy(&s.mu);
    if (s.first_rc != ES_OK) {
        if (err)
            *err = s.first_err;
        return s.first_rc;
    }
    return ES_OK;
}

double es_monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double es_unix_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void es_utc_iso8601(double unix_time, char out[32])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void es_utc_compact(double unix_time, char out[32])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm);
}
