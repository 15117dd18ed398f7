/*
 * test_tflite.c: the model reader refuses bad files with a message and never
 * reads out of bounds (the sanitizer tree checks the latter): truncations at
 * many offsets, a wrong file identifier, a changed weight shape, a buffer
 * offset past the end, a weight turned into NaN, random byte corruption.
 * Also the model search order and the class map.
 */
#include "testutil.h"

#include "ecosight/yamnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sanitized(void)
{
    const char *s = getenv("ES_SANITIZED");
    return s && strcmp(s, "1") == 0;
}

typedef struct model_bytes {
    uint8_t *p;
    size_t n;
    char *path;
} model_bytes;

static int load_model(model_bytes *mb)
{
    const char *shared = es_test_shared("models/yamnet.tflite");
    if (!shared)
        return -1;
    mb->path = es_test_path(shared, "models/yamnet.tflite");
    char *data = NULL;
    es_error err;
    ES_ASSERT_OK(es_read_file(mb->path, 64u << 20, &data, &mb->n, &err), &err);
    mb->p = (uint8_t *)data;
    return 0;
}

static void free_model(model_bytes *mb)
{
    free(mb->p);
    free(mb->path);
}

/* Open a (corrupted) copy: returns the status; the error must say something. */
static es_status try_open(const uint8_t *p, size_t n, char *msg, size_t msglen)
{
    es_yamnet *m = NULL;
    es_error err;
    es_error_clear(&err);
    es_status rc = es_yamnet_open_memory(p, n, &m, &err);
    if (rc == ES_OK) {
        assert_non_null(m);
        es_yamnet_free(m);
    } else {
        assert_null(m);
        assert_true(strlen(err.msg) > 10);
        if (msg)
            snprintf(msg, msglen, "%s", err.msg);
    }
    return rc;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void test_valid_model_opens(void **state)
{
    (void)state;
    model_bytes mb;
    if (load_model(&mb))
        skip();
    char msg[512] = "";
    assert_int_equal(try_open(mb.p, mb.n, msg, sizeof msg), ES_OK);
    free_model(&mb);
}

static void test_truncated(void **state)
{
    (void)state;
    model_bytes mb;
    if (load_model(&mb))
        skip();
    /* Small offsets (header, root table), then spread over the whole file,
     * then just short of the end. */
    size_t steps = sanitized() ? 40 : 400;
    char msg[512], mid[512] = "";
    for (size_t i = 0; i < 64; i++)
        assert_int_not_equal(try_open(mb.p, i, msg, sizeof msg), ES_OK);
    for (size_t s = 1; s < steps; s++) {
        size_t cut = mb.n / steps * s;
        es_status rc = try_open(mb.p, cut, msg, sizeof msg);
        assert_int_equal(rc, ES_ERR_MODEL);
        if (s == steps / 2)
            snprintf(mid, sizeof mid, "%s", msg);
    }
    for (size_t k = 1; k <= 16; k++)
        assert_int_equal(try_open(mb.p, mb.n - k, msg, sizeof msg), ES_ERR_MODEL);
    printf("truncated at %zu bytes of %zu: %s\n", mb.n / steps * (steps / 2), mb.n, mid);
    free_model(&mb);
}

static void test_wrong_magic(void **state)
{
    (void)state;
    model_bytes mb;
    if (load_model(&mb))
        skip();
    memcpy(mb.p + 4, "TFL2", 4);
    char msg[512];
    assert_int_equal(try_open(mb.p, mb.n, msg, sizeof msg), ES_ERR_MODEL);
    assert_non_null(strstr(msg, "TFL3"));
    /* Not a model at all. */
    const char text[] = "RIFF....WAVEfmt this is not a model file at all";
    assert_int_equal(try_open((const uint8_t *)text, sizeof text, msg, sizeof msg), ES_ERR_MODEL);
    free_model(&mb);
}

/* Find a shape vector (count, dims...) in the file; returns its offset. */
static size_t find_shape(const model_bytes *mb, const int32_t *dims, int rank)
{
    uint8_t pat[4 * 9];
    wr32(pat, (uint32_t)rank);
    for (int i = 0; i < rank; i++)
        wr32(pat + 4 + 4 * i, (uint32_t)dims[i]);
    size_t len = 4 + 4 * (size_t)rank;
    for (size_t o = 0; o + len <= mb->n; o += 4)
        if (memcmp(mb->p + o, pat, len) == 0)
            return o;
    return 0;
}

static void test_shape_changed(void **state)
{
    (void)state;
    model_bytes mb;
    if (load_model(&mb))
        skip();
    /* Layer 2's pointwise filter [64,1,1,32] -> [64,1,1,33]. */
    const int32_t dims[4] = {64, 1, 1, 32};
    size_t o = find_shape(&mb, dims, 4);
    assert_true(o > 0);
    wr32(mb.p + o + 16, 33);
    char msg[512];
    assert_int_equal(try_open(mb.p, mb.n, msg, sizeof msg), ES_ERR_MODEL);
    printf("shape changed: %s\n", msg);
    assert_non_null(strstr(msg, "shape"));
    /* The classifier's [521,1024] -> [520,1024]. */
    wr32(mb.p + o + 16, 32);
    const int32_t fc[2] = {521, 1024};
    o = find_shape(&mb, fc, 2);
    assert_true(o > 0);
    wr32(mb.p + o + 4, 520);
    assert_int_equal(try_open(mb.p, mb.n, msg, sizeof msg), ES_ERR_MODEL);
    printf("classifier shape changed: %s\n", msg);
    free_model(&mb);
}

/* Minimal flatbuffer navigation for the test: field `idx` position of a table. */
static size_t field_pos(const model_bytes *mb, size_t table, int idx)
{
    size_t vt = table - (size_t)(int32_t)rd32(mb->p + table);
    uint16_t vtlen = (uint16_t)(mb->p[vt] | mb->p[vt + 1] << 8);
    size_t slot = 4 + 2 * (size_t)idx;
    if (slot + 2 > vtlen)
        return 0;
    uint16_t off = (uint16_t)(mb->p[vt + slot] | mb->p[vt + slot + 1] << 8);
    return off ? table + off : 0;
}

static void test_buffer_offset_past_end(void **state)
{
    (void)state;
    model_bytes mb;
    if (load_model(&mb))
        skip();
    size_t root = rd32(mb.p);
    size_t bf = field_pos(&mb, root, 4); /* Model.buffers */
    assert_true(bf > 0);
    size_t vec = bf + rd32(mb.p + bf);
    uint32_t nbuf = rd32(mb.p + vec);
    assert_true(nbuf > 50);
    /* Buffer 56 holds a pointwise filter; point its data vector past the end. */
    size_t elem = vec + 4 + 4 * 56;
    size_t table = elem + rd32(mb.p + elem);
    size_t df = field_pos(&mb, table, 0); /* Buffer.data */
    assert_true(df > 0);
    wr32(mb.p + df, (uint32_t)(mb.n - df + 100));
    char msg[512];
    assert_int_equal(try_open(mb.p, mb.n, msg, sizeof msg), ES_ERR_MODEL);
    printf("buffer offset past the end: %s\n", msg);
    /* And its length field (kept in place) made huge. */
    free(mb.p);
    es_error err;
    char *data;
    ES_ASSERT_OK(es_read_file(mb.path, 64u << 20, &data, &mb.n, &err), &err);
    mb.p = (uint8_t *)data;
    size_t dv = df + rd32(mb.p + df);
    wr32(mb.p + dv, 0x7fffffff);
    assert_int_equal(try_open(mb.p, mb.n, msg, sizeof msg), ES_ERR_MODEL);
    printf("buffer length past the end: %s\n", msg);
    free_model(&mb);
}

static void test_random_corruption(void **state)
{
    (void)state;
    model_bytes mb;
    if (load_model(&mb))
        skip();
    uint8_t *copy = malloc(mb.n);
    assert_non_null(copy);
    es_rng rng;
    es_rng_init(&rng, 1, NULL, 0, "tflite-corrupt");
    int trials = sanitized() ? 8 : 60, rejected = 0;
    /* Corrupt the metadata region (everything but the big weight buffers is
     * in the first and last few KB of the file). */
    for (int t = 0; t < trials; t++) {
        memcpy(copy, mb.p, mb.n);
        for (int k = 0; k < 8; k++) {
            size_t region = es_rng_below(&rng, 2) ? 0 : mb.n - 16384;
            size_t pos = region + (size_t)es_rng_below(&rng, 16384);
            copy[pos] = (uint8_t)es_rng_u32(&rng);
        }
        if (try_open(copy, mb.n, NULL, 0) != ES_OK)
            rejected++;
    }
    printf("random corruption: %d of %d copies rejected, the rest still valid\n", rejected,
           trials);
    free(copy);
    free_model(&mb);
}

static void test_find_order(void **state)
{
    (void)state;
    char *path = NULL;
    es_error err;
    assert_int_equal(es_yamnet_find("/nonexistent/yamnet.tflite", &path, &err), ES_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "/nonexistent"));
    setenv("ECOSIGHT_YAMNET", "/nonexistent/env.tflite", 1);
    assert_int_equal(es_yamnet_find(NULL, &path, &err), ES_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "ECOSIGHT_YAMNET"));
    unsetenv("ECOSIGHT_YAMNET");
    const char *shared = es_test_shared("models/yamnet.tflite");
    if (!shared)
        return;
    /* An explicit directory holding yamnet.tflite is accepted. */
    char *dir = es_test_path(shared, "models");
    ES_ASSERT_OK(es_yamnet_find(dir, &path, &err), &err);
    assert_non_null(strstr(path, "yamnet.tflite"));
    char *csv = NULL;
    ES_ASSERT_OK(es_yamnet_classes_find(path, &csv, &err), &err);
    es_yamnet_classes cl;
    ES_ASSERT_OK(es_yamnet_classes_load(csv, &cl, &err), &err);
    assert_int_equal(cl.count, ES_YAMNET_NUM_CLASSES);
    assert_string_equal(cl.names[0], "Speech");
    assert_string_equal(cl.names[421], "Gunshot, gunfire");
    es_yamnet_classes_clear(&cl);
    free(csv);
    free(path);
    free(dir);
}

static void test_bad_class_map(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("yamnet_classes");
    char *p = es_path_join(dir, "map.csv");
    es_error err;
    const char *bad = "index,mid,display_name\n0,/m/x,Speech\n2,/m/y,Gap\n";
    ES_ASSERT_OK(es_write_file_atomic(p, bad, strlen(bad), &err), &err);
    es_yamnet_classes cl;
    assert_int_equal(es_yamnet_classes_load(p, &cl, &err), ES_ERR_FORMAT);
    const char *quoted = "index,mid,display_name\n0,/m/x,\"Unclosed\n";
    ES_ASSERT_OK(es_write_file_atomic(p, quoted, strlen(quoted), &err), &err);
    assert_int_equal(es_yamnet_classes_load(p, &cl, &err), ES_ERR_FORMAT);
    es_remove_tree(dir, &err);
    free(p);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_model_opens),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_magic),
        cmocka_unit_test(test_shape_changed),
        cmocka_unit_test(test_buffer_offset_past_end),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_find_order),
        cmocka_unit_test(test_bad_class_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
