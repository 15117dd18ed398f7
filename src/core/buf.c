/*
 * buf.c: a growable byte buffer with a hard cap fixed at creation (curl's
 * dynbuf idea). Anything sized by the outside world (HTTP bodies, S3
 * listings, JSON documents) goes through one of these, so a hostile peer
 * gets ES_ERR_TOO_LARGE instead of our memory.
 */
#include "ecosight/core.h"

#include <stdlib.h>
#include <string.h>

void es_buf_init(es_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit ? limit : (size_t)-1 / 2;
}

es_status es_buf_reserve(es_buf *b, size_t n, es_error *err)
{
    if (n > b->limit - b->len || b->len + n + 1 < b->len)
        return es_error_set(err, ES_ERR_TOO_LARGE,
                            "buffer limit of %zu bytes exceeded", b->limit);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return ES_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (cap > b->limit + 1)
        cap = b->limit + 1;
    char *d = realloc(b->data, cap);
    if (!d)
        return es_error_set(err, ES_ERR_NOMEM, "cannot grow buffer to %zu bytes", cap);
    b->data = d;
    b->cap = cap;
    b->data[b->len] = '\0'; /* a fresh allocation must read as "" too */
    return ES_OK;
}

es_status es_buf_append(es_buf *b, const void *data, size_t n, es_error *err)
{
    es_status rc = es_buf_reserve(b, n, err);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return ES_OK;
}

es_status es_buf_printf(es_buf *b, es_error *err, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return es_error_set(err, ES_ERR_INVALID, "bad format string");
    }
    es_status rc = es_buf_reserve(b, (size_t)n, err);
    if (rc) {
        va_end(ap2);
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
    return ES_OK;
}

void es_buf_reset(es_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void es_buf_free(es_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *es_buf_steal(es_buf *b, size_t *len)
{
    char *d = b->data;
    if (!d) {
        d = calloc(1, 1);
    }
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
