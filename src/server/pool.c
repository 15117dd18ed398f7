/*
 * pool.c: the workers that run the heavy handlers (predict, upload, rollback)
 * off libmicrohttpd's event loops.
 *
 * The event loop suspends the connection (MHD_suspend_connection) and queues
 * the request here; a worker runs the handler, queues the response on the
 * suspended connection (allowed from any thread) and resumes it. The event
 * loops therefore never block on a 20 ms prediction: /health and /status stay
 * instant under load, and a queued request cannot be timed out as idle
 * (suspended connections do not time out). The queue is bounded: beyond it a
 * request gets 503 at once instead of waiting without limit.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void *worker(void *arg)
{
    es_srv_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head) { /* stopping and nothing left */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        es_req *q = p->head;
        p->head = q->next;
        if (!p->head)
            p->tail = NULL;
        p->len--;
        pthread_mutex_unlock(&p->mu);
        struct MHD_Connection *c = q->conn;
        q->handled = 1;
        if (es_srv_handle(q, c) != MHD_YES && !q->queued)
            es_srv_error(q, c, 503, "the server could not answer");
        /* q belongs to the connection again from here: do not touch it. */
        MHD_resume_connection(c);
    }
}

es_status es_srv_pool_start(es_srv_pool *p, int threads, size_t max_queue, es_error *err)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->max_queue = max_queue;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    for (int i = 0; i < threads; i++) {
        int e = pthread_create(&p->threads[i], NULL, worker, p);
        if (e != 0) {
            es_srv_pool_stop(p);
            return es_error_set(err, ES_ERR_NOMEM, "cannot start worker thread: %s", strerror(e));
        }
        p->nthreads++;
    }
    return ES_OK;
}

int es_srv_pool_submit(es_srv_pool *p, es_req *q, struct MHD_Connection *c)
{
    pthread_mutex_lock(&p->mu);
    if (p->stop || p->len >= p->max_queue) {
        pthread_mutex_unlock(&p->mu);
        return 0;
    }
    q->conn = c;
    q->next = NULL;
    /* Suspend before a worker can see it, so its resume always pairs. */
    MHD_suspend_connection(c);
    if (p->tail)
        p->tail->next = q;
    else
        p->head = q;
    p->tail = q;
    p->len++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 1;
}

void es_srv_pool_stop(es_srv_pool *p)
{
    if (!p->threads)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    /* Workers finish what is queued (the drain already waited for it), so
     * every suspended connection is answered and resumed before the daemon
     * stops. */
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}
