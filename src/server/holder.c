/*
 * holder.c: the refcounted current-model pointer (see holder.h).
 */
#include "holder.h"

#include <stdlib.h>

es_ref *es_ref_new(void *obj, void (*dtor)(void *obj))
{
    es_ref *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    atomic_init(&r->refs, 1);
    r->obj = obj;
    r->dtor = dtor;
    return r;
}

void es_ref_release(es_ref *r)
{
    if (!r)
        return;
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        if (r->dtor)
            r->dtor(r->obj);
        free(r);
    }
}

void es_holder_init(es_holder *h)
{
    pthread_mutex_init(&h->mu, NULL);
    h->cur = NULL;
    h->swaps = 0;
}

void es_holder_destroy(es_holder *h)
{
    es_ref_release(h->cur);
    h->cur = NULL;
    pthread_mutex_destroy(&h->mu);
}

es_ref *es_holder_acquire(es_holder *h)
{
    pthread_mutex_lock(&h->mu);
    es_ref *r = h->cur;
    if (r)
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&h->mu);
    return r;
}

void es_holder_swap(es_holder *h, es_ref *r)
{
    pthread_mutex_lock(&h->mu);
    es_ref *old = h->cur;
    h->cur = r;
    h->swaps++;
    pthread_mutex_unlock(&h->mu);
    es_ref_release(old); /* outside the lock: a model free may take a while */
}
