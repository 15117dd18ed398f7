/*
 * test_hash_stream.c: core's incremental es_hash_ctx against published
 * vectors (RFC 1321 for MD5, FIPS 180-2 for SHA-256), fed in every split
 * and byte by byte, plus final-resets / reset / unknown-algorithm behaviour.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void digest_hex(es_hash_ctx *h, char *out)
{
    uint8_t d[ES_HASH_MAX_LEN];
    size_t n = es_hash_final(h, d);
    es_hex(d, n, out);
}

static const struct {
    es_hash_alg alg;
    const char *msg;
    const char *hex;
} vectors[] = {
    {ES_HASH_MD5, "", "d41d8cd98f00b204e9800998ecf8427e"},
    {ES_HASH_MD5, "a", "0cc175b9c0f1b6a831c399e269772661"},
    {ES_HASH_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72"},
    {ES_HASH_MD5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {ES_HASH_MD5, "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
    {ES_HASH_MD5,
     "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a"},
    {ES_HASH_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {ES_HASH_SHA256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {ES_HASH_SHA256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
};

static void test_vectors_every_split(void **state)
{
    (void)state;
    es_error err;
    for (size_t v = 0; v < sizeof vectors / sizeof vectors[0]; v++) {
        es_hash_ctx *h = NULL;
        ES_ASSERT_OK(es_hash_new(vectors[v].alg, &h, &err), &err);
        assert_int_equal(es_hash_len(h), vectors[v].alg == ES_HASH_MD5 ? 16 : 32);
        const char *m = vectors[v].msg;
        size_t n = strlen(m);
        char hx[2 * ES_HASH_MAX_LEN + 1];
        for (size_t cut = 0; cut <= n; cut++) { /* two pieces, every boundary */
            es_hash_update(h, m, cut);
            es_hash_update(h, m + cut, n - cut);
            digest_hex(h, hx); /* final also starts over */
            assert_string_equal(hx, vectors[v].hex);
        }
        for (size_t i = 0; i < n; i++) /* byte by byte */
            es_hash_update(h, m + i, 1);
        digest_hex(h, hx);
        assert_string_equal(hx, vectors[v].hex);
        es_hash_update(h, "garbage", 7); /* reset forgets it */
        es_hash_reset(h);
        es_hash_update(h, m, n);
        digest_hex(h, hx);
        assert_string_equal(hx, vectors[v].hex);
        es_hash_free(h);
    }
}

/* FIPS 180-2's one million 'a' (and MD5 of it, checked against core's one-shot es_md5),
 * fed in odd-sized chunks as a download would. */
static void test_million_a(void **state)
{
    (void)state;
    es_error err;
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    es_hash_ctx *s = NULL, *m = NULL;
    ES_ASSERT_OK(es_hash_new(ES_HASH_SHA256, &s, &err), &err);
    ES_ASSERT_OK(es_hash_new(ES_HASH_MD5, &m, &err), &err);
    for (size_t off = 0, k = 1, len; off < n; off += len, k = k * 3 + 1) {
        len = off + k > n ? n - off : k;
        es_hash_update(s, a + off, len);
        es_hash_update(m, a + off, len);
    }
    char hx[2 * ES_HASH_MAX_LEN + 1], want[33];
    digest_hex(s, hx);
    assert_string_equal(hx, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    uint8_t d[16];
    es_md5(a, n, d);
    es_hex(d, 16, want);
    digest_hex(m, hx);
    assert_string_equal(hx, want);
    assert_string_equal(hx, "7707d6ae4e027c70eea2a935c2296f21");
    es_hash_free(s);
    es_hash_free(m);
    free(a);
}

static void test_unknown_algorithm(void **state)
{
    (void)state;
    es_error err;
    es_hash_ctx *h = (es_hash_ctx *)&err; /* must be overwritten with NULL */
    assert_int_equal(es_hash_new((es_hash_alg)99, &h, &err), ES_ERR_INVALID);
    assert_null(h);
    assert_non_null(strstr(err.msg, "99"));
    es_hash_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_every_split),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_unknown_algorithm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
