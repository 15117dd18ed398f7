/*
 * test_core.c: core/ against published answers and measured properties:
 * status texts, error records, SHA-256 / HMAC-SHA256 / MD5 known vectors
 * (FIPS 180-2, RFC 4231, RFC 1321), hex helpers, bounded buffers, path and
 * directory helpers, clocks' formatting.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    es_hex(b, n, out);
}

/* ---- status and errors ---- */
static void test_strerror_every_code(void **state)
{
    (void)state;
    const char *seen[ES_ERR_EXISTS + 1];
    for (int c = ES_OK; c <= ES_ERR_EXISTS; c++) {
        const char *s = es_strerror((es_status)c);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown status code");
        for (int d = 0; d < c; d++)
            assert_string_not_equal(s, seen[d]); /* every code has its own text */
        seen[c] = s;
    }
    assert_string_equal(es_strerror((es_status)(ES_ERR_EXISTS + 1)), "unknown status code");
    assert_string_equal(es_strerror((es_status)-1), "unknown status code");
}

static void test_error_record(void **state)
{
    (void)state;
    es_error err;
    es_error_clear(&err);
    assert_int_equal(err.code, ES_OK);
    assert_string_equal(es_error_text(&err), "success");
    assert_int_equal(es_error_set(&err, ES_ERR_IO, "cannot open %s: %s", "x.wav", "boom"),
                     ES_ERR_IO);
    assert_int_equal(err.code, ES_ERR_IO);
    assert_string_equal(err.msg, "cannot open x.wav: boom");
    assert_int_equal(es_error_prefix(&err, "loading %s", "set"), ES_ERR_IO);
    assert_string_equal(err.msg, "loading set: cannot open x.wav: boom");
    /* a NULL record never makes a failure look like success */
    assert_int_equal(es_error_set(NULL, ES_ERR_FORMAT, "x"), ES_ERR_FORMAT);
    assert_int_not_equal(es_error_prefix(NULL, "x"), ES_OK);
    /* a code without a message reads as the code's text */
    es_error_clear(&err);
    err.code = ES_ERR_TIMEOUT;
    assert_string_equal(es_error_text(&err), "timed out");
    assert_string_equal(es_error_text(NULL), "unknown error");
    /* long messages are cut, never overflow */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    es_error_set(&err, ES_ERR_INVALID, "%s", big);
    assert_int_equal(strlen(err.msg), ES_ERROR_MSG_MAX - 1);
    es_error_prefix(&err, "%s", big);
    assert_int_equal(strlen(err.msg), ES_ERROR_MSG_MAX - 1);
    assert_non_null(es_version());
}

/* ---- hashes ---- */
static void test_sha256_vectors(void **state)
{
    (void)state;
    uint8_t h[32];
    char hex[65];
    es_sha256("", 0, h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    es_sha256("abc", 3, h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    es_sha256(m448, strlen(m448), h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* one million 'a', streamed in odd-sized pieces, and written to a file */
    es_error err;
    es_sha256_ctx *c;
    ES_ASSERT_OK(es_sha256_new(&c, &err), &err);
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t k = step < 1000000 - off ? step : 1000000 - off;
        es_sha256_update(c, a + off, k);
        off += k;
        step = step * 3 + 1;
    }
    es_sha256_final(c, h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* final resets: the context can be reused */
    es_sha256_update(c, "abc", 3);
    es_sha256_final(c, h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    es_sha256_free(c);

    char *dir = es_test_tmpdir("sha");
    char *p = es_path_join(dir, "million-a");
    ES_ASSERT_OK(es_write_file_atomic(p, a, 1000000, &err), &err);
    memset(h, 0, sizeof h);
    ES_ASSERT_OK(es_sha256_file(p, h, &err), &err);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    char *missing = es_path_join(dir, "nope");
    assert_int_equal(es_sha256_file(missing, h, &err), ES_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "nope"));
    free(missing);
    free(p);
    es_remove_tree(dir, NULL);
    free(dir);
    free(a);
}

static void test_hmac_md5_vectors(void **state)
{
    (void)state;
    uint8_t h[32];
    char hex[65];
    /* RFC 4231 test case 1 */
    uint8_t key1[20];
    memset(key1, 0x0b, sizeof key1);
    es_hmac_sha256(key1, sizeof key1, "Hi There", 8, h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* RFC 4231 test case 2 */
    const char *d2 = "what do ya want for nothing?";
    es_hmac_sha256("Jefe", 4, d2, strlen(d2), h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 6: a key longer than the block size */
    uint8_t key6[131];
    memset(key6, 0xaa, sizeof key6);
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    es_hmac_sha256(key6, sizeof key6, d6, strlen(d6), h);
    hex_of(h, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* RFC 1321 */
    uint8_t m[16];
    es_md5("", 0, m);
    hex_of(m, 16, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    es_md5("abc", 3, m);
    hex_of(m, 16, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
}

static void test_hex_helpers(void **state)
{
    (void)state;
    uint8_t b[4] = {0x00, 0x7f, 0xa5, 0xff}, back[4];
    char hex[9];
    es_hex(b, 4, hex);
    assert_string_equal(hex, "007fa5ff");
    assert_int_equal(es_unhex("007FA5ff", back, 4), 0);
    assert_memory_equal(b, back, 4);
    assert_int_equal(es_unhex("007fa5f", back, 4), -1);   /* short */
    assert_int_equal(es_unhex("007fa5fff", back, 4), -1); /* long */
    assert_int_equal(es_unhex("007fa5fg", back, 4), -1);  /* bad digit */
    assert_true(es_ct_equal("abcd", "abcd", 4));
    assert_false(es_ct_equal("abcd", "abce", 4));
    assert_true(es_ct_equal("x", "y", 0));
}

/* ---- bounded buffers ---- */
static void test_buf(void **state)
{
    (void)state;
    es_error err;
    es_buf b;
    es_buf_init(&b, 10);
    ES_ASSERT_OK(es_buf_append(&b, "hello", 5, &err), &err);
    ES_ASSERT_OK(es_buf_printf(&b, &err, "%d", 1234), &err);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(b.len, 9);
    assert_int_equal(es_buf_append(&b, "ab", 2, &err), ES_ERR_TOO_LARGE);
    assert_int_equal(err.code, ES_ERR_TOO_LARGE);
    assert_string_equal(b.data, "hello1234"); /* unchanged on failure */
    assert_int_equal(es_buf_printf(&b, &err, "%s", "xy"), ES_ERR_TOO_LARGE);
    ES_ASSERT_OK(es_buf_append(&b, "!", 1, &err), &err); /* exactly at the limit */
    assert_int_equal(b.len, 10);
    es_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    ES_ASSERT_OK(es_buf_append(&b, "xyz", 3, &err), &err);
    size_t len = 0;
    char *s = es_buf_steal(&b, &len);
    assert_string_equal(s, "xyz");
    assert_int_equal(len, 3);
    assert_null(b.data);
    free(s);
    /* stealing an empty buffer still gives a string */
    s = es_buf_steal(&b, &len);
    assert_non_null(s);
    assert_int_equal(len, 0);
    free(s);
    es_buf_free(&b);
    /* unlimited buffers grow */
    es_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        ES_ASSERT_OK(es_buf_printf(&b, &err, "%04d", i % 10000), &err);
    assert_int_equal(b.len, 40000);
    assert_memory_equal(b.data + 39996, "9999", 4);
    es_buf_free(&b);
}

/* ---- paths and directories ---- */
static void test_path_helpers(void **state)
{
    (void)state;
    struct {
        const char *a, *b, *want;
    } joins[] = {{"a", "b", "a/b"},   {"a/", "b", "a/b"},     {"a//", "/b", "a/b"},
                 {"/", "x", "/x"},    {"", "x", "x"},         {"a", "", "a"},
                 {"/x/y", "z/w", "/x/y/z/w"}};
    for (size_t i = 0; i < sizeof joins / sizeof joins[0]; i++) {
        char *j = es_path_join(joins[i].a, joins[i].b);
        assert_non_null(j);
        assert_string_equal(j, joins[i].want);
        free(j);
    }
    assert_string_equal(es_path_base("/a/b/c.wav"), "c.wav");
    assert_string_equal(es_path_base("c.wav"), "c.wav");
    assert_string_equal(es_path_base("/a/b/"), "");
    assert_string_equal(es_path_ext("/a/b/c.WAV"), "WAV");
    assert_string_equal(es_path_ext("/a/b.d/c"), "");
    assert_string_equal(es_path_ext(".hidden"), "");
    assert_string_equal(es_path_ext("x.tar.gz"), "gz");
    char *st = es_path_stem("/a/b/c.tar.gz");
    assert_string_equal(st, "c.tar");
    free(st);
    st = es_path_stem("/a/.hidden");
    assert_string_equal(st, ".hidden");
    free(st);
}

static void test_dirs(void **state)
{
    (void)state;
    es_error err;
    char *dir = es_test_tmpdir("dirs");
    char *deep = es_path_join(dir, "x/y/z/");
    ES_ASSERT_OK(es_mkdirs(deep, &err), &err);
    assert_true(es_is_dir(deep));
    ES_ASSERT_OK(es_mkdirs(deep, &err), &err); /* idempotent */
    const char *names[] = {"b.wav", "a.mp3", ".hidden", "c.txt"};
    for (size_t i = 0; i < 4; i++) {
        char *p = es_path_join(dir, names[i]);
        ES_ASSERT_OK(es_write_file_atomic(p, "12345", 5, &err), &err);
        free(p);
    }
    es_strlist l = {0};
    ES_ASSERT_OK(es_list_dir(dir, 0, &l, &err), &err);
    assert_int_equal(l.count, 4);
    assert_string_equal(l.items[0], "a.mp3");
    assert_string_equal(l.items[1], "b.wav");
    assert_string_equal(l.items[2], "c.txt");
    assert_string_equal(l.items[3], "x");
    es_strlist_free(&l);
    ES_ASSERT_OK(es_list_dir(dir, 1, &l, &err), &err);
    assert_int_equal(l.count, 3);
    es_strlist_free(&l);
    ES_ASSERT_OK(es_list_dir(dir, 2, &l, &err), &err);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0], "x");
    es_strlist_free(&l);

    /* a file where a directory must go */
    char *f = es_path_join(dir, "c.txt");
    assert_true(es_is_file(f));
    int64_t size = 0;
    ES_ASSERT_OK(es_file_size(f, &size, &err), &err);
    assert_int_equal(size, 5);
    char *under = es_path_join(f, "sub");
    assert_int_not_equal(es_mkdirs(under, &err), ES_OK);
    assert_non_null(strstr(err.msg, "c.txt"));
    free(under);
    free(f);

    char *missing = es_path_join(dir, "missing");
    assert_int_equal(es_list_dir(missing, 0, &l, &err), ES_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(es_file_size(missing, &size, &err), ES_ERR_NOT_FOUND);
    ES_ASSERT_OK(es_remove_tree(missing, &err), &err); /* missing is fine */
    free(missing);

    ES_ASSERT_OK(es_remove_tree(dir, &err), &err);
    assert_false(es_is_dir(dir));
    free(deep);
    free(dir);
}

/* ---- clocks ---- */
static void test_clocks(void **state)
{
    (void)state;
    char s[32];
    es_utc_iso8601(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00Z");
    es_utc_iso8601(1700000000.9, s);
    assert_string_equal(s, "2023-11-14T22:13:20Z");
    es_utc_compact(1700000000, s);
    assert_string_equal(s, "20231114T221320Z");
    double a = es_monotonic_s(), b = es_monotonic_s();
    assert_true(b >= a);
    assert_true(es_unix_time() > 1.7e9);
    assert_true(es_cpu_count() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_error_record),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_hmac_md5_vectors),
        cmocka_unit_test(test_hex_helpers),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_path_helpers),
        cmocka_unit_test(test_dirs),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
