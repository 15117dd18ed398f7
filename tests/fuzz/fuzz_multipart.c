/*
 * fuzz_multipart.c: libFuzzer target for the streaming multipart parser.
 *
 * Input layout: byte 0 picks the chunk size (1..256), bytes 1..n the
 * boundary length, then the boundary, then the body. The body is parsed
 * twice, in one piece and in chunks, and the two event logs must be equal:
 * the parser's result may not depend on how the network split the body.
 * Memory errors and leaks are caught by ASan/UBSan.
 */
#include "server/multipart.h"

#include <stdlib.h>
#include <string.h>

typedef struct ev {
    es_buf log;
} ev;

static int on_begin(void *ud, const es_mp_part *p)
{
    ev *e = ud;
    return es_buf_printf(&e->log, NULL, "[B %s|%d|%s|%s]", p->name, p->has_filename, p->filename,
                         p->content_type) != ES_OK;
}
static int on_data(void *ud, const char *d, size_t n)
{
    ev *e = ud;
    return es_buf_append(&e->log, d, n, NULL) != ES_OK;
}
static int on_end(void *ud)
{
    ev *e = ud;
    return es_buf_append(&e->log, "[E]", 3, NULL) != ES_OK;
}

static es_status run(const char *boundary, const uint8_t *body, size_t len, size_t chunk, ev *e)
{
    static const es_mp_callbacks cb = {on_begin, on_data, on_end};
    es_mp *p = NULL;
    es_buf_init(&e->log, 1 << 22);
    if (es_mp_new(boundary, &cb, e, &p, NULL) != ES_OK)
        abort();
    es_status rc = ES_OK;
    for (size_t off = 0; rc == ES_OK && off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = es_mp_feed(p, (const char *)body + off, n, NULL);
    }
    if (rc == ES_OK)
        rc = es_mp_finish(p, NULL);
    es_mp_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = 1 + data[0];
    size_t blen = 1 + data[1] % ES_MP_BOUNDARY_MAX;
    if (size < 2 + blen)
        return 0;
    char boundary[ES_MP_BOUNDARY_MAX + 1];
    memcpy(boundary, data + 2, blen);
    boundary[blen] = '\0';
    if (strlen(boundary) != blen)
        return 0;
    /* Also exercise the Content-Type parser on the same bytes. */
    char ct[256], b2[ES_MP_BOUNDARY_MAX + 1];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", boundary);
    (void)es_mp_boundary(ct, b2, NULL);

    const uint8_t *body = data + 2 + blen;
    size_t len = size - 2 - blen;
    ev whole, pieces;
    es_status r1 = run(boundary, body, len, len ? len : 1, &whole);
    es_status r2 = run(boundary, body, len, chunk, &pieces);
    if (r1 != r2 || whole.log.len != pieces.log.len ||
        memcmp(whole.log.data ? whole.log.data : "", pieces.log.data ? pieces.log.data : "",
               whole.log.len) != 0)
        abort();
    es_buf_free(&whole.log);
    es_buf_free(&pieces.log);
    return 0;
}
