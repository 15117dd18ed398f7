/*
 * holder.h: the live model, swappable while requests use it.
 *
 * A request takes a reference (es_holder_acquire) to whatever version is
 * current, uses it without any lock, and drops it (es_ref_release). A
 * retrain installs a new version with es_holder_swap: later requests see the
 * new one, requests in flight finish on the old one, and the old one is freed
 * by whoever drops its last reference. The mutex is held only to copy a
 * pointer and bump a counter, so nobody ever waits for a model load or a
 * retrain.
 */
#ifndef ES_SERVER_HOLDER_H
#define ES_SERVER_HOLDER_H

#include <pthread.h>
#include <stdatomic.h>

typedef struct es_ref {
    atomic_long refs;
    void *obj;
    void (*dtor)(void *obj);
} es_ref;

/* A reference holding obj (refs = 1); dtor(obj) runs when the last one
 * is released. NULL when out of memory (obj is then not freed). */
es_ref *es_ref_new(void *obj, void (*dtor)(void *obj));
void es_ref_release(es_ref *r); /* accepts NULL */

typedef struct es_holder {
    pthread_mutex_t mu;
    es_ref *cur; /* NULL when nothing is loaded */
    long swaps;
} es_holder;

void es_holder_init(es_holder *h);
/* Drops the holder's own reference (in-flight users keep theirs). */
void es_holder_destroy(es_holder *h);
/* The current version with one more reference, or NULL. */
es_ref *es_holder_acquire(es_holder *h);
/* Install r (the holder takes over the caller's reference; may be NULL). */
void es_holder_swap(es_holder *h, es_ref *r);

#endif
