/*
 * test_store.c: the catalog and embedding cache: schema creation and
 * migration from an older version, refusal of a newer one, the content-hash
 * bookkeeping behind the retrain trigger, runs, cache hits and misses, and
 * threads sharing one handle while another connection writes.
 */
#include "testutil.h"

#include "ecosight/store.h"
#include "store/store_internal.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static es_store *open_in(const char *dir)
{
    es_error err;
    es_store *s = NULL;
    ES_ASSERT_OK(es_store_open_dir(dir, &s, &err), &err);
    return s;
}

static void hexfill(char out[65], int v)
{
    uint8_t b[32];
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%d", v);
    es_sha256(tmp, strlen(tmp), b);
    es_hex(b, 32, out);
}

static void rec(es_recording *r, const char *cls, int i, int content)
{
    memset(r, 0, sizeof *r);
    snprintf(r->class_name, sizeof r->class_name, "%s", cls);
    snprintf(r->path, sizeof r->path, "%s/f%03d.wav", cls, i);
    r->size = 1000 + i;
    r->mtime_ns = 1;
    r->duration_s = 4.0;
    r->source = ES_SOURCE_LOCAL;
    hexfill(r->sha256, content);
}

static void test_open_fresh_and_reopen(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_open");
    es_store *s = open_in(dir);
    assert_int_equal(es_store_schema_version(s), ES_STORE_SCHEMA_VERSION);
    es_error err;
    ES_ASSERT_OK(es_store_check(s, &err), &err);
    es_store_close(s);
    /* WAL mode persists in the file. */
    char *p = es_path_join(dir, ES_STORE_FILENAME);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    s = open_in(dir); /* idempotent */
    assert_int_equal(es_store_schema_version(s), ES_STORE_SCHEMA_VERSION);
    es_store_close(s);
    free(p);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_migrate_from_v1(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_v1");
    char *p = es_path_join(dir, ES_STORE_FILENAME);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, es_store_migrations[0], NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA user_version = 1;"
                                  "INSERT INTO recordings(path, class, size, sha256, first_seen,"
                                  " last_seen, source) VALUES('dog/a.wav', 'dog', 5,"
                                  " '0000000000000000000000000000000000000000000000000000000000000000',"
                                  " 1, 1, 's3')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    es_error err;
    es_store *s;
    ES_ASSERT_OK(es_store_open(p, &s, &err), &err);
    assert_int_equal(es_store_schema_version(s), ES_STORE_SCHEMA_VERSION);
    es_recording r;
    ES_ASSERT_OK(es_store_get_recording(s, "dog/a.wav", &r, &err), &err);
    assert_string_equal(r.class_name, "dog");
    assert_int_equal(r.source, ES_SOURCE_S3);
    /* The table added by migration 2 works. */
    uint8_t key[32] = {1};
    float v[4] = {1, 2, 3, 4}, o[4];
    int hit;
    ES_ASSERT_OK(es_store_cache_put(s, key, "original", 1, "m", "p", v, 4, &err), &err);
    ES_ASSERT_OK(es_store_cache_get(s, key, "original", 1, "m", "p", o, 4, &hit, &err), &err);
    assert_int_equal(hit, 1);
    es_store_close(s);
    free(p);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_newer");
    char *p = es_path_join(dir, ES_STORE_FILENAME);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", ES_STORE_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    es_error err;
    es_store *s = NULL;
    assert_int_equal(es_store_open(p, &s, &err), ES_ERR_UNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.msg, "newer"));
    free(p);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_not_a_database(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_garbage");
    char *p = es_path_join(dir, ES_STORE_FILENAME);
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(p, junk, sizeof junk, &err), &err);
    es_store *s = NULL;
    es_status rc = es_store_open(p, &s, &err);
    assert_int_not_equal(rc, ES_OK);
    assert_null(s);
    assert_non_null(strstr(err.msg, p));
    free(p);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_pending_by_content(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_pending");
    es_store *s = open_in(dir);
    es_error err;
    es_recording r;
    double t0 = 1000.0;
    ES_ASSERT_OK(es_store_begin(s, &err), &err);
    for (int i = 0; i < 10; i++) {
        rec(&r, i < 6 ? "dog_bark" : "gun_shot", i, i);
        ES_ASSERT_OK(es_store_upsert_recording(s, &r, t0, &err), &err);
    }
    ES_ASSERT_OK(es_store_commit(s, &err), &err);
    es_store_pending p;
    ES_ASSERT_OK(es_store_pending_counts(s, &p, &err), &err);
    assert_int_equal(p.added, 10);
    assert_int_equal(p.changed, 0);
    assert_int_equal(p.present, 10);

    /* One bad file: not pending, counted as bad. */
    ES_ASSERT_OK(es_store_mark_bad(s, "gun_shot/f009.wav", "cannot decode", &err), &err);
    assert_int_equal(es_store_mark_bad(s, "nope.wav", "x", &err), ES_ERR_NOT_FOUND);
    ES_ASSERT_OK(es_store_pending_counts(s, &p, &err), &err);
    assert_int_equal(p.added, 9);
    assert_int_equal(p.bad, 1);

    ES_ASSERT_OK(es_store_mark_trained(s, &err), &err);
    ES_ASSERT_OK(es_store_pending_counts(s, &p, &err), &err);
    assert_int_equal(p.added, 0);
    assert_int_equal(p.changed, 0);
    assert_int_equal(p.bad, 1);

    /* Rescan at t1: same bytes for most (nothing pending), new bytes for
     * one, new file, one file gone, the bad one re-downloaded with new bytes. */
    double t1 = 2000.0;
    for (int i = 0; i < 10; i++) {
        if (i == 3)
            continue; /* gone */
        rec(&r, i < 6 ? "dog_bark" : "gun_shot", i, i == 5 ? 500 : i == 9 ? 900 : i);
        r.mtime_ns = 2; /* touched, same content: must not count */
        ES_ASSERT_OK(es_store_upsert_recording(s, &r, t1, &err), &err);
    }
    rec(&r, "gun_shot", 10, 10);
    r.source = ES_SOURCE_S3;
    ES_ASSERT_OK(es_store_upsert_recording(s, &r, t1, &err), &err);
    int64_t absent = -1;
    ES_ASSERT_OK(es_store_mark_unseen_absent(s, t1, &absent, &err), &err);
    assert_int_equal(absent, 1);
    ES_ASSERT_OK(es_store_pending_counts(s, &p, &err), &err);
    assert_int_equal(p.added, 2);   /* f010 and the formerly bad f009 (never trained) */
    assert_int_equal(p.changed, 1); /* f005 */
    assert_int_equal(p.removed, 1); /* f003 */
    assert_int_equal(p.bad, 0);
    assert_int_equal(p.present, 10);

    es_recording g;
    ES_ASSERT_OK(es_store_get_recording(s, "gun_shot/f009.wav", &g, &err), &err);
    assert_int_equal(g.bad, 0);
    assert_string_equal(g.bad_reason, "");
    ES_ASSERT_OK(es_store_get_recording(s, "dog_bark/f001.wav", &g, &err), &err);
    assert_true(g.first_seen == t0);
    assert_true(g.last_seen == t1);
    assert_string_equal(g.sha256, g.trained_sha256);
    ES_ASSERT_OK(es_store_get_recording(s, "dog_bark/f003.wav", &g, &err), &err);
    assert_int_equal(g.present, 0);

    /* Source: a local file later uploaded through the API takes "api"; an
     * API upload stays "api" when a scan sees it as a local file. */
    char sha[65];
    hexfill(sha, 77);
    ES_ASSERT_OK(es_store_record_recording(s, "dog_bark/up.wav", "dog_bark", 9, sha, 1.5,
                                           ES_SOURCE_API, &err),
                 &err);
    rec(&r, "dog_bark", 0, 0);
    snprintf(r.path, sizeof r.path, "dog_bark/up.wav");
    snprintf(r.sha256, sizeof r.sha256, "%s", sha);
    ES_ASSERT_OK(es_store_upsert_recording(s, &r, t1 + 1, &err), &err);
    ES_ASSERT_OK(es_store_get_recording(s, "dog_bark/up.wav", &g, &err), &err);
    assert_int_equal(g.source, ES_SOURCE_API);

    es_class_count *cc;
    size_t ncc;
    ES_ASSERT_OK(es_store_class_counts(s, &cc, &ncc, &err), &err);
    assert_int_equal(ncc, 2);
    assert_string_equal(cc[0].name, "dog_bark");
    assert_int_equal(cc[0].count, 6); /* f000-f005 minus f003, plus up.wav */
    assert_string_equal(cc[1].name, "gun_shot");
    assert_int_equal(cc[1].count, 5);
    free(cc);

    /* Training again clears the baseline of absent files. */
    ES_ASSERT_OK(es_store_mark_trained(s, &err), &err);
    ES_ASSERT_OK(es_store_pending_counts(s, &p, &err), &err);
    assert_int_equal(p.added + p.changed + p.removed, 0);

    /* Bad input is refused, not stored. */
    rec(&r, "dog_bark", 50, 50);
    r.sha256[10] = 0;
    assert_int_equal(es_store_upsert_recording(s, &r, t1, &err), ES_ERR_INVALID);
    es_store_close(s);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_rollback_discards(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_rollback");
    es_store *s = open_in(dir);
    es_error err;
    es_recording r;
    ES_ASSERT_OK(es_store_begin(s, &err), &err);
    assert_int_equal(es_store_begin(s, &err), ES_ERR_INVALID); /* not nestable */
    rec(&r, "clips", 1, 1);
    ES_ASSERT_OK(es_store_upsert_recording(s, &r, 1, &err), &err);
    es_store_rollback(s);
    assert_int_equal(es_store_get_recording(s, r.path, &r, &err), ES_ERR_NOT_FOUND);
    es_store_close(s);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_runs(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_runs");
    es_store *s = open_in(dir);
    es_error err;
    es_run_info ri;
    assert_int_equal(es_store_last_run(s, "succeeded", &ri, &err), ES_ERR_NOT_FOUND);
    int64_t id1, id2, n;
    ES_ASSERT_OK(es_store_run_begin(s, "first run", 10, 0, &id1, &err), &err);
    ES_ASSERT_OK(es_store_run_stage(s, id1, "train", &err), &err);
    ES_ASSERT_OK(es_store_run_finish(s, id1, "succeeded", "20261204T000000Z",
                                     "{\"train\":1.5}", NULL, 3, 7, 0.9, &err),
                 &err);
    ES_ASSERT_OK(es_store_run_begin(s, "force", 0, 0, &id2, &err), &err);
    ES_ASSERT_OK(es_store_run_stage(s, id2, "embed", &err), &err);
    /* This one is "killed": it stays running until the next lock holder
     * marks it interrupted. */
    ES_ASSERT_OK(es_store_last_run(s, NULL, &ri, &err), &err);
    assert_int_equal(ri.id, id2);
    assert_string_equal(ri.status, "running");
    assert_int_equal(ri.pid, (int64_t)getpid());
    es_run_info_clear(&ri);
    ES_ASSERT_OK(es_store_mark_interrupted(s, &n, &err), &err);
    assert_int_equal(n, 1);
    ES_ASSERT_OK(es_store_last_run(s, NULL, &ri, &err), &err);
    assert_string_equal(ri.status, "interrupted");
    assert_non_null(strstr(ri.error, "embed"));
    es_run_info_clear(&ri);
    ES_ASSERT_OK(es_store_last_run(s, "succeeded", &ri, &err), &err);
    assert_int_equal(ri.id, id1);
    assert_string_equal(ri.version, "20261204T000000Z");
    assert_string_equal(ri.trigger, "first run");
    assert_string_equal(ri.stages_json, "{\"train\":1.5}");
    assert_int_equal(ri.added, 10);
    assert_true(ri.test_accuracy > 0.89 && ri.test_accuracy < 0.91);
    assert_true(ri.finished >= ri.started);
    es_run_info_clear(&ri);
    int64_t h, m;
    ES_ASSERT_OK(es_store_run_cache_totals(s, &h, &m, &err), &err);
    assert_int_equal(h, 3);
    assert_int_equal(m, 7);
    assert_int_equal(es_store_run_finish(s, 999, "failed", NULL, NULL, "x", 0, 0, -1, &err),
                     ES_ERR_NOT_FOUND);
    es_store_close(s);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_cache(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_cache");
    es_store *s = open_in(dir);
    es_error err;
    enum { D = 1024 };
    float *v = malloc(D * sizeof *v), *o = malloc(D * sizeof *o);
    for (int i = 0; i < D; i++)
        v[i] = (float)i * 0.5f - 3.25f;
    uint8_t k1[32], k2[32];
    es_sha256("a", 1, k1);
    es_sha256("b", 1, k2);
    const uint64_t big_seed = 0xfedcba9876543210ULL; /* high bit set */
    int hit = -1;
    ES_ASSERT_OK(es_store_cache_get(s, k1, "original", big_seed, "M", "P", o, D, &hit, &err),
                 &err);
    assert_int_equal(hit, 0);
    ES_ASSERT_OK(es_store_cache_put(s, k1, "original", big_seed, "M", "P", v, D, &err), &err);
    ES_ASSERT_OK(es_store_cache_get(s, k1, "original", big_seed, "M", "P", o, D, &hit, &err),
                 &err);
    assert_int_equal(hit, 1);
    assert_memory_equal(v, o, D * sizeof *v);
    /* Every key part matters. */
    ES_ASSERT_OK(es_store_cache_get(s, k2, "original", big_seed, "M", "P", o, D, &hit, &err), &err);
    assert_int_equal(hit, 0);
    ES_ASSERT_OK(es_store_cache_get(s, k1, "pitch_shift", big_seed, "M", "P", o, D, &hit, &err),
                 &err);
    assert_int_equal(hit, 0);
    ES_ASSERT_OK(es_store_cache_get(s, k1, "original", big_seed - 1, "M", "P", o, D, &hit, &err),
                 &err);
    assert_int_equal(hit, 0);
    ES_ASSERT_OK(es_store_cache_get(s, k1, "original", big_seed, "M2", "P", o, D, &hit, &err),
                 &err);
    assert_int_equal(hit, 0);
    ES_ASSERT_OK(es_store_cache_get(s, k1, "original", big_seed, "M", "P2", o, D, &hit, &err),
                 &err);
    assert_int_equal(hit, 0);
    /* A lookup with another dimension is a miss and drops the entry. */
    ES_ASSERT_OK(es_store_cache_get(s, k1, "original", big_seed, "M", "P", o, 512, &hit, &err),
                 &err);
    assert_int_equal(hit, 0);
    ES_ASSERT_OK(es_store_cache_get(s, k1, "original", big_seed, "M", "P", o, D, &hit, &err),
                 &err);
    assert_int_equal(hit, 0);

    es_cache_stats cs;
    ES_ASSERT_OK(es_store_cache_stats(s, &cs, &err), &err);
    assert_int_equal(cs.hits, 1);
    assert_int_equal(cs.misses, 8);
    assert_int_equal(cs.puts, 1);
    assert_int_equal(cs.entries, 0);

    ES_ASSERT_OK(es_store_cache_put(s, k1, "original", 1, "M", "P", v, D, &err), &err);
    ES_ASSERT_OK(es_store_cache_put(s, k1, "original", 1, "M", "P", v, D, &err), &err); /* replace */
    ES_ASSERT_OK(es_store_cache_put(s, k2, "original", 1, "OLD", "P", v, D, &err), &err);
    ES_ASSERT_OK(es_store_cache_stats(s, &cs, &err), &err);
    assert_int_equal(cs.entries, 2);
    assert_int_equal(cs.bytes, 2 * D * (int64_t)sizeof(float));
    int64_t removed = -1;
    ES_ASSERT_OK(es_store_cache_prune(s, "M", "P", &removed, &err), &err);
    assert_int_equal(removed, 1);
    es_store_cache_reset_counters(s);
    ES_ASSERT_OK(es_store_cache_stats(s, &cs, &err), &err);
    assert_int_equal(cs.hits + cs.misses + cs.puts, 0);
    assert_int_equal(cs.entries, 1);
    assert_int_equal(es_store_cache_put(s, k1, "original", 1, "M", "P", v, 0, &err),
                     ES_ERR_INVALID);
    assert_int_equal(es_store_cache_get(s, k1, NULL, 1, "M", "P", o, D, &hit, &err),
                     ES_ERR_INVALID);
    es_store_close(s);
    free(v);
    free(o);
    es_remove_tree(dir, NULL);
    free(dir);
}

/* Threads: T threads share one handle, another T use a second connection on
 * the same file; each puts and reads back its own keys; the catalog gets
 * transactions from both. Everything must succeed and add up. */
enum { T = 4, PER = 150, TD = 64 };
typedef struct tctx {
    es_store *s;
    int id;
    int failures;
} tctx;

static void *worker(void *arg)
{
    tctx *c = arg;
    es_error err;
    float v[TD], o[TD];
    for (int i = 0; i < PER; i++) {
        uint8_t key[32];
        int kk = c->id * 100000 + i;
        es_sha256(&kk, sizeof kk, key);
        for (int j = 0; j < TD; j++)
            v[j] = (float)(kk + j);
        int hit = 0;
        if (es_store_cache_put(c->s, key, "original", 7, "M", "P", v, TD, &err) != ES_OK ||
            es_store_cache_get(c->s, key, "original", 7, "M", "P", o, TD, &hit, &err) != ES_OK ||
            !hit || memcmp(v, o, sizeof v) != 0) {
            fprintf(stderr, "thread %d item %d: %s\n", c->id, i, es_error_text(&err));
            c->failures++;
        }
        if (i % 30 == 0) {
            es_recording r;
            rec(&r, "clips", kk, kk);
            if (es_store_begin(c->s, &err) != ES_OK ||
                es_store_upsert_recording(c->s, &r, 5.0, &err) != ES_OK ||
                es_store_commit(c->s, &err) != ES_OK) {
                fprintf(stderr, "thread %d tx: %s\n", c->id, es_error_text(&err));
                c->failures++;
            }
        }
    }
    return NULL;
}

static void test_threads_and_connections(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_threads");
    es_store *a = open_in(dir), *b = open_in(dir);
    pthread_t th[2 * T];
    tctx ctx[2 * T];
    for (int i = 0; i < 2 * T; i++) {
        ctx[i] = (tctx){.s = i % 2 ? b : a, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &ctx[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < 2 * T; i++) {
        pthread_join(th[i], NULL);
        failures += ctx[i].failures;
    }
    assert_int_equal(failures, 0);
    es_error err;
    es_cache_stats cs;
    ES_ASSERT_OK(es_store_cache_stats(a, &cs, &err), &err);
    assert_int_equal(cs.entries, 2 * T * PER);
    assert_int_equal(cs.hits, T * PER); /* a's own counters */
    es_store_pending p;
    ES_ASSERT_OK(es_store_pending_counts(b, &p, &err), &err);
    assert_int_equal(p.added, 2 * T * ((PER + 29) / 30));
    ES_ASSERT_OK(es_store_check(a, &err), &err);
    es_store_close(a);
    es_store_close(b);
    es_remove_tree(dir, NULL);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_fresh_and_reopen),
        cmocka_unit_test(test_migrate_from_v1),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_pending_by_content),
        cmocka_unit_test(test_rollback_discards),
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_threads_and_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
