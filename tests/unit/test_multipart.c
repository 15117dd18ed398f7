/*
 * test_multipart.c: the streaming multipart parser gives the same parts
 * whatever the chunking, keeps near-delimiter bytes in the data, rejects
 * truncated and malformed bodies and enforces its header caps.
 */
#include "testutil.h"

#include "server/multipart.h"

#include <stdlib.h>
#include <string.h>

/* Records every event as text so two runs can be compared. */
typedef struct rec {
    es_buf log;
    int parts;
    int stop_after_bytes; /* > 0: a callback stops once this many data bytes arrived */
    size_t data_bytes;
} rec;

static int on_begin(void *ud, const es_mp_part *p)
{
    rec *r = ud;
    r->parts++;
    return es_buf_printf(&r->log, NULL, "[B name=%s file=%d:%s ct=%s]", p->name, p->has_filename,
                         p->filename, p->content_type) != ES_OK;
}
static int on_data(void *ud, const char *d, size_t n)
{
    rec *r = ud;
    r->data_bytes += n;
    if (r->stop_after_bytes > 0 && r->data_bytes >= (size_t)r->stop_after_bytes)
        return 1;
    return es_buf_append(&r->log, d, n, NULL) != ES_OK;
}
static int on_end(void *ud)
{
    rec *r = ud;
    return es_buf_printf(&r->log, NULL, "[E]") != ES_OK;
}
static const es_mp_callbacks CB = {on_begin, on_data, on_end};

/* Parse body in chunks of `chunk` bytes (0 = all at once). */
static es_status parse(const char *boundary, const char *body, size_t len, size_t chunk, rec *r)
{
    es_mp *p = NULL;
    es_error err;
    es_buf_init(&r->log, 1 << 24);
    r->parts = 0;
    r->data_bytes = 0;
    es_status rc = es_mp_new(boundary, &CB, r, &p, &err);
    assert_int_equal(rc, ES_OK);
    size_t off = 0;
    if (chunk == 0)
        chunk = len ? len : 1;
    while (rc == ES_OK && off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = es_mp_feed(p, body + off, n, &err);
        off += n;
    }
    if (rc == ES_OK)
        rc = es_mp_finish(p, &err);
    es_mp_free(p);
    return rc;
}

static const char BODY[] =
    "preamble to ignore\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"class_name\"\r\n"
    "\r\n"
    "dog_bark\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".wav\"\r\n"
    "Content-Type: audio/wav\r\n"
    "\r\n"
    "RIFF\r\n--XyQ\r\n-\r\r\n--X\r\n--Xy\0bin\r\n"
    "--XyZ--\r\n"
    "epilogue";

static void test_basic(void **state)
{
    (void)state;
    rec r = {0};
    assert_int_equal(parse("XyZ", BODY, sizeof BODY - 1, 0, &r), ES_OK);
    assert_int_equal(r.parts, 2);
    static const char want[] = "[B name=class_name file=0: ct=]dog_bark[E]"
                               "[B name=file file=1:a \"q\".wav ct=audio/wav]"
                               "RIFF\r\n--XyQ\r\n-\r\r\n--X\r\n--Xy\0bin[E]";
    assert_int_equal(r.log.len, sizeof want - 1);
    assert_memory_equal(r.log.data, want, sizeof want - 1);
    es_buf_free(&r.log);
}

static void test_every_chunking(void **state)
{
    (void)state;
    rec ref = {0};
    assert_int_equal(parse("XyZ", BODY, sizeof BODY - 1, 0, &ref), ES_OK);
    for (size_t chunk = 1; chunk < sizeof BODY; chunk++) {
        rec r = {0};
        assert_int_equal(parse("XyZ", BODY, sizeof BODY - 1, chunk, &r), ES_OK);
        assert_int_equal(r.log.len, ref.log.len);
        assert_memory_equal(r.log.data, ref.log.data, ref.log.len);
        es_buf_free(&r.log);
    }
    es_buf_free(&ref.log);
}

/* Random parts with data made of delimiter fragments, built and re-parsed. */
static void test_random_roundtrip(void **state)
{
    (void)state;
    es_rng rng;
    es_rng_init(&rng, 7, NULL, 0, "multipart");
    const char *frags[] = {"\r", "\n", "-", "--", "\r\n", "\r\n-", "\r\n--", "\r\n--ab",
                           "\r\n--abc", "a", "b", "c", "x", "\0"};
    for (int iter = 0; iter < 300; iter++) {
        es_buf body, want;
        es_buf_init(&body, 1 << 20);
        es_buf_init(&want, 1 << 20);
        int nparts = 1 + (int)es_rng_below(&rng, 4);
        for (int k = 0; k < nparts; k++) {
            es_buf_printf(&body, NULL, "--abcd\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n",
                          k);
            es_buf_printf(&want, NULL, "[B name=f%d file=0: ct=]", k);
            int nf = (int)es_rng_below(&rng, 40);
            for (int f = 0; f < nf; f++) {
                size_t fi = es_rng_below(&rng, sizeof frags / sizeof frags[0]);
                size_t fl = fi == 13 ? 1 : strlen(frags[fi]);
                es_buf_append(&body, frags[fi], fl, NULL);
                es_buf_append(&want, frags[fi], fl, NULL);
            }
            es_buf_printf(&body, NULL, "\r\n");
            es_buf_printf(&want, NULL, "[E]");
        }
        es_buf_printf(&body, NULL, "--abcd--\r\n");
        size_t chunk = 1 + es_rng_below(&rng, 17);
        rec r = {0};
        assert_int_equal(parse("abcd", body.data, body.len, chunk, &r), ES_OK);
        assert_int_equal(r.parts, nparts);
        assert_int_equal(r.log.len, want.len);
        assert_memory_equal(r.log.data, want.data, want.len);
        es_buf_free(&r.log);
        es_buf_free(&body);
        es_buf_free(&want);
    }
}

static void test_truncated_and_malformed(void **state)
{
    (void)state;
    /* Every strict prefix of a valid body fails at finish (or earlier). */
    size_t end = (size_t)((const char *)memmem(BODY, sizeof BODY - 1, "--XyZ--", 7) - BODY) + 7;
    for (size_t len = 0; len < end; len++) {
        rec r = {0};
        es_status rc = parse("XyZ", BODY, len, 5, &r);
        assert_int_not_equal(rc, ES_OK);
        es_buf_free(&r.log);
    }
    static const char bad_after[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZjunk";
    rec r = {0};
    assert_int_equal(parse("XyZ", bad_after, sizeof bad_after - 1, 0, &r), ES_ERR_FORMAT);
    es_buf_free(&r.log);
    static const char no_colon[] = "--XyZ\r\nnot a header\r\n\r\n1\r\n--XyZ--";
    assert_int_equal(parse("XyZ", no_colon, sizeof no_colon - 1, 0, &r), ES_ERR_FORMAT);
    es_buf_free(&r.log);
    /* Garbage without any boundary: never a part, fails at finish. */
    assert_int_equal(parse("XyZ", "\x00\xff garbage", 10, 3, &r), ES_ERR_FORMAT);
    assert_int_equal(r.parts, 0);
    es_buf_free(&r.log);
}

static void test_header_caps(void **state)
{
    (void)state;
    es_buf b;
    es_buf_init(&b, 1 << 20);
    es_buf_printf(&b, NULL, "--B\r\nX-Long: ");
    for (int i = 0; i < ES_MP_HEADER_LINE_MAX; i++)
        es_buf_append(&b, "a", 1, NULL);
    es_buf_printf(&b, NULL, "\r\n\r\nd\r\n--B--");
    rec r = {0};
    assert_int_equal(parse("B", b.data, b.len, 100, &r), ES_ERR_TOO_LARGE);
    es_buf_free(&r.log);
    es_buf_reset(&b);
    es_buf_printf(&b, NULL, "--B\r\n");
    for (int i = 0; i < ES_MP_HEADERS_MAX + 1; i++)
        es_buf_printf(&b, NULL, "X-H%d: v\r\n", i);
    es_buf_printf(&b, NULL, "\r\nd\r\n--B--");
    assert_int_equal(parse("B", b.data, b.len, 0, &r), ES_ERR_TOO_LARGE);
    es_buf_free(&r.log);
    es_buf_free(&b);
}

static void test_callback_stop(void **state)
{
    (void)state;
    rec r = {0};
    r.stop_after_bytes = 3;
    assert_int_equal(parse("XyZ", BODY, sizeof BODY - 1, 4, &r), ES_ERR_CANCELLED);
    es_buf_free(&r.log);
}

static void test_boundary_header(void **state)
{
    (void)state;
    char b[ES_MP_BOUNDARY_MAX + 1];
    es_error err;
    assert_int_equal(es_mp_boundary("multipart/form-data; boundary=abc", b, &err), ES_OK);
    assert_string_equal(b, "abc");
    assert_int_equal(es_mp_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\"", b, &err),
                     ES_OK);
    assert_string_equal(b, "a b:c");
    assert_int_equal(es_mp_boundary("application/json", b, &err), ES_ERR_UNSUPPORTED);
    assert_int_equal(es_mp_boundary(NULL, b, &err), ES_ERR_UNSUPPORTED);
    assert_int_equal(es_mp_boundary("multipart/form-dataX; boundary=a", b, &err), ES_ERR_UNSUPPORTED);
    assert_int_equal(es_mp_boundary("multipart/form-data", b, &err), ES_ERR_FORMAT);
    assert_int_equal(es_mp_boundary("multipart/form-data; boundary=", b, &err), ES_ERR_FORMAT);
    assert_int_equal(es_mp_boundary("multipart/form-data; boundary=a<b", b, &err), ES_ERR_FORMAT);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    assert_int_equal(es_mp_boundary(longb, b, &err), ES_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_every_chunking),
        cmocka_unit_test(test_random_roundtrip),
        cmocka_unit_test(test_truncated_and_malformed),
        cmocka_unit_test(test_header_caps),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_boundary_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
