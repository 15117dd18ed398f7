/*
 * multipart.h: a streaming multipart/form-data parser (RFC 7578 / RFC 2046).
 *
 * The HTTP layer feeds the request body in whatever chunks the network
 * delivers; the parser calls back at each part's start (with its field name,
 * file name and content type), for each run of its data, and at its end. It
 * never buffers part data itself: only one header line (capped) and a
 * boundary-sized lookbehind, so memory stays bounded whatever the client
 * sends, and the caller enforces its own per-field caps as data streams.
 */
#ifndef ES_SERVER_MULTIPART_H
#define ES_SERVER_MULTIPART_H

#include "ecosight/core.h"

#define ES_MP_BOUNDARY_MAX 70     /* RFC 2046 */
#define ES_MP_HEADER_LINE_MAX 2048
#define ES_MP_HEADERS_MAX 16      /* header lines per part */
#define ES_MP_NAME_MAX 256        /* field name / file name / content type kept */

typedef struct es_mp_part {
    char name[ES_MP_NAME_MAX];         /* form field name ("" when absent) */
    char filename[ES_MP_NAME_MAX];     /* as the client sent it, unsanitised */
    int has_filename;
    char content_type[ES_MP_NAME_MAX]; /* "" when absent */
} es_mp_part;

/* Callbacks return 0 to continue; anything else stops the parser, and
 * es_mp_feed returns ES_ERR_CANCELLED (the callback keeps its own reason). */
typedef struct es_mp_callbacks {
    int (*part_begin)(void *ud, const es_mp_part *part);
    int (*part_data)(void *ud, const char *data, size_t n);
    int (*part_end)(void *ud);
} es_mp_callbacks;

typedef struct es_mp es_mp;

/* Extract the boundary from a Content-Type value ("multipart/form-data;
 * boundary=..."; quoted or not). ES_ERR_UNSUPPORTED when the type is not
 * multipart/form-data, ES_ERR_FORMAT when the boundary is missing/invalid. */
es_status es_mp_boundary(const char *content_type, char out[ES_MP_BOUNDARY_MAX + 1],
                         es_error *err);

es_status es_mp_new(const char *boundary, const es_mp_callbacks *cb, void *ud, es_mp **out,
                    es_error *err);
void es_mp_free(es_mp *p);
/* Feed the next chunk. ES_ERR_FORMAT on malformed input, ES_ERR_TOO_LARGE on
 * a header over the caps, ES_ERR_CANCELLED when a callback stopped it. After
 * an error every further call returns the same error. */
es_status es_mp_feed(es_mp *p, const char *data, size_t n, es_error *err);
/* The body ended: ES_OK only if the closing boundary was seen. */
es_status es_mp_finish(es_mp *p, es_error *err);

#endif
