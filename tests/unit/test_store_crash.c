/*
 * test_store_crash.c: crash consistency. A child process writes to the
 * catalog and is killed with SIGKILL in the middle of a transaction (and, in
 * a second case, in the middle of a stream of single-statement cache writes).
 * The database must then open clean, hold every committed write and nothing
 * of the interrupted one.
 */
#include "testutil.h"

#include "ecosight/store.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { DIM = 256, COMMITTED = 50, BIG = 3000 };

static void make_rec(es_recording *r, int i)
{
    memset(r, 0, sizeof *r);
    snprintf(r->class_name, sizeof r->class_name, "c%d", i % 4);
    snprintf(r->path, sizeof r->path, "c%d/%06d.wav", i % 4, i);
    uint8_t b[32];
    es_sha256(&i, sizeof i, b);
    es_hex(b, 32, r->sha256);
    r->size = i;
    r->duration_s = 4;
}

static void make_vec(int i, uint8_t key[32], float *v)
{
    es_sha256(&i, sizeof i, key);
    for (int j = 0; j < DIM; j++)
        v[j] = (float)i + (float)j / 1024.0f;
}

/* The child's body: never returns. */
static void child_big_tx(const char *dir, int fd)
{
    es_error err;
    es_store *s;
    float v[DIM];
    uint8_t key[32];
    es_recording r;
    if (es_store_open_dir(dir, &s, &err) != ES_OK)
        _exit(10);
    if (es_store_begin(s, &err) != ES_OK)
        _exit(11);
    for (int i = 0; i < COMMITTED; i++) {
        make_rec(&r, i);
        make_vec(i, key, v);
        if (es_store_upsert_recording(s, &r, 1.0, &err) != ES_OK ||
            es_store_cache_put(s, key, "original", 1, "M", "P", v, DIM, &err) != ES_OK)
            _exit(12);
    }
    if (es_store_commit(s, &err) != ES_OK)
        _exit(13);
    if (es_store_begin(s, &err) != ES_OK)
        _exit(14);
    for (int i = COMMITTED; i < COMMITTED + BIG; i++) {
        make_rec(&r, i);
        make_vec(i, key, v);
        if (es_store_upsert_recording(s, &r, 2.0, &err) != ES_OK ||
            es_store_cache_put(s, key, "original", 1, "M", "P", v, DIM, &err) != ES_OK)
            _exit(15);
        if (i == COMMITTED + BIG / 2) {
            /* Half way: tell the parent, who kills us while we keep writing. */
            char c = 'k';
            if (write(fd, &c, 1) != 1)
                _exit(16);
        }
    }
    /* Still inside the transaction: wait to be killed. */
    for (;;)
        pause();
}

static void child_stream(const char *dir, int fd)
{
    es_error err;
    es_store *s;
    float v[DIM];
    uint8_t key[32];
    if (es_store_open_dir(dir, &s, &err) != ES_OK)
        _exit(10);
    for (int i = 0;; i++) {
        make_vec(i, key, v);
        if (es_store_cache_put(s, key, "original", 1, "M", "P", v, DIM, &err) != ES_OK)
            _exit(12);
        if (i == 200) {
            char c = 'k';
            if (write(fd, &c, 1) != 1)
                _exit(16);
        }
    }
}

static void run_and_kill(const char *dir, void (*body)(const char *, int), int delay_us)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        body(dir, p[1]);
        _exit(0);
    }
    close(p[1]);
    char c;
    ssize_t n = read(p[0], &c, 1);
    close(p[0]);
    if (n != 1) {
        int st;
        waitpid(pid, &st, 0);
        fail_msg("child ended before the kill point (status %d)", st);
    }
    if (delay_us)
        usleep(delay_us);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_kill_mid_transaction(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_crash_tx");
    run_and_kill(dir, child_big_tx, 0);

    es_error err;
    es_store *s;
    ES_ASSERT_OK(es_store_open_dir(dir, &s, &err), &err);
    ES_ASSERT_OK(es_store_check(s, &err), &err);
    es_store_pending p;
    ES_ASSERT_OK(es_store_pending_counts(s, &p, &err), &err);
    assert_int_equal(p.present, COMMITTED); /* all of the first, none of the second */
    es_cache_stats cs;
    ES_ASSERT_OK(es_store_cache_stats(s, &cs, &err), &err);
    assert_int_equal(cs.entries, COMMITTED);
    float v[DIM], o[DIM];
    uint8_t key[32];
    for (int i = 0; i < COMMITTED; i++) {
        make_vec(i, key, v);
        int hit = 0;
        ES_ASSERT_OK(es_store_cache_get(s, key, "original", 1, "M", "P", o, DIM, &hit, &err),
                     &err);
        assert_int_equal(hit, 1);
        assert_memory_equal(v, o, sizeof v);
    }
    es_recording r;
    assert_int_equal(es_store_get_recording(s, "c2/000062.wav", &r, &err), ES_ERR_NOT_FOUND);
    /* And the database is writable again (no stale lock). */
    make_rec(&r, 99999);
    ES_ASSERT_OK(es_store_upsert_recording(s, &r, 3.0, &err), &err);
    es_store_close(s);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_kill_mid_stream(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("store_crash_stream");
    run_and_kill(dir, child_stream, 20000);

    es_error err;
    es_store *s;
    ES_ASSERT_OK(es_store_open_dir(dir, &s, &err), &err);
    ES_ASSERT_OK(es_store_check(s, &err), &err);
    es_cache_stats cs;
    ES_ASSERT_OK(es_store_cache_stats(s, &cs, &err), &err);
    assert_true(cs.entries > 200);
    /* Writes were sequential: exactly keys 0..entries-1 are there, each whole. */
    float v[DIM], o[DIM];
    uint8_t key[32];
    for (int i = 0; i <= cs.entries; i++) {
        make_vec(i, key, v);
        int hit = 0;
        ES_ASSERT_OK(es_store_cache_get(s, key, "original", 1, "M", "P", o, DIM, &hit, &err),
                     &err);
        if (i < cs.entries) {
            assert_int_equal(hit, 1);
            assert_memory_equal(v, o, sizeof v);
        } else {
            assert_int_equal(hit, 0);
        }
    }
    es_store_close(s);
    es_remove_tree(dir, NULL);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_mid_transaction),
        cmocka_unit_test(test_kill_mid_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
