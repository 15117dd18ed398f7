/*
 * test_core_io.c: atomic files (content lands whole; a failed or aborted
 * write leaves the old file and no temporary behind), bounded file reads,
 * the levelled logger, the progress reporter (plain lines off a terminal,
 * nothing below INFO), and es_parallel_for (every item exactly once, the
 * lowest failing item's error reported).
 */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* Every entry of a directory, hidden ones included (es_list_dir skips them). */
static int count_entries(const char *dir, const char *containing)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (!containing || strstr(de->d_name, containing))
            n++;
    }
    closedir(d);
    return n;
}

static void test_atomic_write(void **state)
{
    (void)state;
    es_error err;
    char *dir = es_test_tmpdir("atomic");
    char *p = es_path_join(dir, "out.json");
    ES_ASSERT_OK(es_write_file_atomic(p, "old", 3, &err), &err);
    ES_ASSERT_OK(es_write_file_atomic(p, "newer", 5, &err), &err);
    char *got = NULL;
    size_t len = 0;
    ES_ASSERT_OK(es_read_file(p, 100, &got, &len, &err), &err);
    assert_int_equal(len, 5);
    assert_string_equal(got, "newer");
    free(got);
    assert_int_equal(count_entries(dir, ".tmp"), 0);

    /* streamed writes through the FILE*, then abort: old content stays,
     * the temporary is gone */
    es_afile *f;
    ES_ASSERT_OK(es_afile_open(p, &f, &err), &err);
    fprintf(es_afile_stream(f), "half of a document");
    assert_int_equal(count_entries(dir, ".tmp"), 1);
    es_afile_abort(f);
    assert_int_equal(count_entries(dir, ".tmp"), 0);
    ES_ASSERT_OK(es_read_file(p, 100, &got, &len, &err), &err);
    assert_string_equal(got, "newer");
    free(got);

    /* commit fails (the target is a non-empty directory): error names the
     * target, no temporary is left, the directory is untouched */
    char *target = es_path_join(dir, "adir");
    char *inner = es_path_join(target, "keep");
    ES_ASSERT_OK(es_mkdirs(target, &err), &err);
    ES_ASSERT_OK(es_write_file_atomic(inner, "k", 1, &err), &err);
    ES_ASSERT_OK(es_afile_open(target, &f, &err), &err);
    ES_ASSERT_OK(es_afile_write(f, "data", 4, &err), &err);
    assert_int_equal(es_afile_commit(f, &err), ES_ERR_IO);
    assert_non_null(strstr(err.msg, "adir"));
    assert_int_equal(count_entries(dir, ".tmp"), 0);
    assert_true(es_is_dir(target));
    assert_true(es_is_file(inner));

    /* cannot even create the temporary (no such directory) */
    char *nodir = es_path_join(dir, "no/such/dir/file");
    assert_int_equal(es_write_file_atomic(nodir, "x", 1, &err), ES_ERR_IO);
    assert_non_null(strstr(err.msg, "no/such/dir/file"));

    /* a legal 250-byte file name: the temporary's name must stay legal too */
    char longname[251];
    memset(longname, 'L', 250);
    longname[250] = '\0';
    char *lp = es_path_join(dir, longname);
    ES_ASSERT_OK(es_write_file_atomic(lp, "long", 4, &err), &err);
    assert_true(es_is_file(lp));
    free(lp);

    /* written files are 0644 whatever mkstemp chose */
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    free(nodir);
    free(inner);
    free(target);
    free(p);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_read_file_limits(void **state)
{
    (void)state;
    es_error err;
    char *dir = es_test_tmpdir("readfile");
    char *p = es_path_join(dir, "ten");
    ES_ASSERT_OK(es_write_file_atomic(p, "0123456789", 10, &err), &err);
    char *got = NULL;
    size_t len = 0;
    ES_ASSERT_OK(es_read_file(p, 10, &got, &len, &err), &err);
    assert_int_equal(len, 10);
    assert_int_equal(got[10], '\0');
    free(got);
    assert_int_equal(es_read_file(p, 9, &got, &len, &err), ES_ERR_TOO_LARGE);
    assert_non_null(strstr(err.msg, "ten"));
    char *missing = es_path_join(dir, "missing");
    assert_int_equal(es_read_file(missing, 9, &got, &len, &err), ES_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_not_equal(es_read_file(dir, 100, &got, &len, &err), ES_OK); /* a directory */
    /* an empty file reads as an empty string */
    char *empty = es_path_join(dir, "empty");
    ES_ASSERT_OK(es_write_file_atomic(empty, "", 0, &err), &err);
    ES_ASSERT_OK(es_read_file(empty, 10, &got, &len, &err), &err);
    assert_int_equal(len, 0);
    assert_string_equal(got, "");
    free(got);
    free(empty);
    free(missing);
    free(p);
    es_remove_tree(dir, NULL);
    free(dir);
}

/* ---- logging ---- */
static void test_log_levels(void **state)
{
    (void)state;
    es_log_level lv;
    const char *names[] = {"quiet", "error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(es_log_level_parse(names[i], &lv), ES_OK);
        assert_int_equal(lv, i);
        char num[2] = {(char)('0' + i), '\0'};
        assert_int_equal(es_log_level_parse(num, &lv), ES_OK);
        assert_int_equal(lv, i);
    }
    assert_int_equal(es_log_level_parse("WARNING", &lv), ES_OK);
    assert_int_equal(lv, ES_LOG_WARN);
    assert_int_equal(es_log_level_parse("DEBUG", &lv), ES_OK);
    assert_int_equal(es_log_level_parse("loud", &lv), ES_ERR_INVALID);
    assert_int_equal(es_log_level_parse("6", &lv), ES_ERR_INVALID);
    assert_int_equal(es_log_level_parse("", &lv), ES_ERR_INVALID);
    assert_int_equal(es_log_level_parse(NULL, &lv), ES_ERR_INVALID);

    for (int level = ES_LOG_QUIET; level <= ES_LOG_TRACE; level++) {
        char *buf = NULL;
        size_t size = 0;
        FILE *mem = open_memstream(&buf, &size);
        assert_non_null(mem);
        es_log *log;
        es_error err;
        ES_ASSERT_OK(es_log_new((es_log_level)level, mem, &log, &err), &err);
        assert_int_equal(es_log_get_level(log), level);
        es_log_error(log, "E%d", 1);
        es_log_warn(log, "W%d", 2);
        es_log_info(log, "I%d", 3);
        es_log_debug(log, "D%d", 4);
        es_logf(log, ES_LOG_TRACE, "T%d\n", 5); /* a trailing newline is not doubled */
        es_logf(log, ES_LOG_QUIET, "never");
        es_log_free(log);
        fclose(mem);
        assert_int_equal(strstr(buf, "error: E1\n") != NULL, level >= ES_LOG_ERROR);
        assert_int_equal(strstr(buf, "warning: W2\n") != NULL, level >= ES_LOG_WARN);
        assert_int_equal(strstr(buf, "I3\n") != NULL, level >= ES_LOG_INFO);
        assert_int_equal(strstr(buf, "debug: D4\n") != NULL, level >= ES_LOG_DEBUG);
        assert_int_equal(strstr(buf, "trace: T5\n") != NULL, level >= ES_LOG_TRACE);
        assert_null(strstr(buf, "\n\n"));
        assert_null(strstr(buf, "never"));
        free(buf);
    }
    /* a NULL logger is silent and safe */
    es_log_info(NULL, "nothing");
    assert_false(es_log_enabled(NULL, ES_LOG_ERROR));
    assert_int_equal(es_log_get_level(NULL), ES_LOG_QUIET);
    /* over-long lines are cut and still end with a newline */
    char *buf = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&buf, &size);
    es_log *log;
    es_error err;
    ES_ASSERT_OK(es_log_new(ES_LOG_INFO, mem, &log, &err), &err);
    char big[5000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    es_log_info(log, "%s", big);
    es_log_free(log);
    fclose(mem);
    assert_true(size > 1000 && size < 2100);
    assert_int_equal(buf[size - 1], '\n');
    free(buf);
}

typedef struct log_job {
    es_log *log;
    int id;
} log_job;

static void *log_worker(void *arg)
{
    log_job *j = arg;
    for (int i = 0; i < 200; i++)
        es_log_info(j->log, "thread-%d line-%03d %s", j->id, i, "payload-payload-payload");
    return NULL;
}

static void test_log_lines_whole_across_threads(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&buf, &size);
    es_log *log;
    es_error err;
    ES_ASSERT_OK(es_log_new(ES_LOG_INFO, mem, &log, &err), &err);
    pthread_t t[4];
    log_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].log = log;
        jobs[i].id = i;
        pthread_create(&t[i], NULL, log_worker, &jobs[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    es_log_free(log);
    fclose(mem);
    int lines = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        int id, k;
        char tail[64];
        assert_int_equal(sscanf(line, "thread-%d line-%d %63s", &id, &k, tail), 3);
        assert_string_equal(tail, "payload-payload-payload");
        lines++;
    }
    assert_int_equal(lines, 800);
    free(buf);
}

/* ---- progress ---- */
static void test_progress(void **state)
{
    (void)state;
    es_error err;
    /* below INFO (-q): no reporter, nothing printed, calls are no-ops */
    char *buf = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&buf, &size);
    es_log *log;
    ES_ASSERT_OK(es_log_new(ES_LOG_ERROR, mem, &log, &err), &err);
    es_progress *p = es_progress_new(log, "decode", 10, "files");
    assert_null(p);
    es_progress_add(p, 5);
    es_progress_set_total(p, 20);
    es_progress_done(p);
    es_log_free(log);
    fclose(mem);
    assert_int_equal(size, 0);
    free(buf);
    assert_null(es_progress_new(NULL, "x", 1, "files"));

    /* INFO on a pipe-like sink: plain lines, a final summary with the count */
    buf = NULL;
    size = 0;
    mem = open_memstream(&buf, &size);
    ES_ASSERT_OK(es_log_new(ES_LOG_INFO, mem, &log, &err), &err);
    p = es_progress_new(log, "decode", 10, "files");
    assert_non_null(p);
    for (int i = 0; i < 10; i++)
        es_progress_add(p, 1);
    es_progress_done(p);
    es_log_free(log);
    fclose(mem);
    assert_non_null(strstr(buf, "decode: 10 files in "));
    assert_non_null(strstr(buf, "files/s)"));
    assert_null(strchr(buf, '\r'));      /* no terminal redraws off a terminal */
    assert_null(strstr(buf, "\033["));
    assert_int_equal(buf[size - 1], '\n');
    free(buf);

    /* bytes are shown with binary units */
    buf = NULL;
    size = 0;
    mem = open_memstream(&buf, &size);
    ES_ASSERT_OK(es_log_new(ES_LOG_INFO, mem, &log, &err), &err);
    p = es_progress_new(log, "download", -1, "B");
    es_progress_add(p, 3 * 1024 * 1024);
    es_progress_done(p);
    es_log_free(log);
    fclose(mem);
    assert_non_null(strstr(buf, "download: 3.0 MiB in "));
    assert_null(strstr(buf, "  "));
    free(buf);
}

/* On a terminal: one bar redrawn in place ("\r" + erase line) with the
 * rate and an ETA, and the final line ends it. A pseudo-terminal stands in
 * for the user's terminal. */
static void test_progress_on_terminal(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    struct termios tio;
    assert_int_equal(tcgetattr(slave, &tio), 0);
    cfmakeraw(&tio); /* no "\n" -> "\r\n" translation */
    assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
    FILE *tty = fdopen(slave, "w");
    assert_non_null(tty);
    es_log *log;
    es_error err;
    ES_ASSERT_OK(es_log_new(ES_LOG_INFO, tty, &log, &err), &err);
    es_progress *p = es_progress_new(log, "embed", 4, "files");
    assert_non_null(p);
    for (int i = 0; i < 3; i++) {
        usleep(150 * 1000); /* past the redraw interval */
        es_progress_add(p, 1);
    }
    es_progress_add(p, 1);
    es_progress_done(p);
    es_log_free(log);
    fflush(tty);
    char buf[4096];
    ssize_t n = 0, r;
    int flags = fcntl(master, F_GETFL);
    fcntl(master, F_SETFL, flags | O_NONBLOCK);
    while (n < (ssize_t)sizeof buf - 1 && (r = read(master, buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += r;
    buf[n > 0 ? n : 0] = '\0';
    fclose(tty);
    close(master);
    assert_non_null(strstr(buf, "\r\033[Kembed ["));     /* redrawn in place */
    assert_non_null(strstr(buf, "/4 files"));
    assert_non_null(strstr(buf, "ETA "));
    assert_non_null(strstr(buf, "\r\033[Kembed: 4 files in ")); /* final line */
    assert_int_equal(buf[strlen(buf) - 1], '\n');
}

/* ---- parallel for ---- */
typedef struct pf_ctx {
    atomic_int *hits;
    int64_t fail_from; /* items >= this fail (-1: none) */
    atomic_int calls;
    atomic_int maxthread;
} pf_ctx;

static es_status pf_item(void *ctx, int64_t i, int thread_index, es_error *err)
{
    pf_ctx *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    atomic_fetch_add(&c->hits[i], 1);
    int m = atomic_load(&c->maxthread);
    while (thread_index > m && !atomic_compare_exchange_weak(&c->maxthread, &m, thread_index))
        ;
    if (c->fail_from >= 0 && i >= c->fail_from)
        return es_error_set(err, ES_ERR_FORMAT, "item %lld failed", (long long)i);
    return ES_OK;
}

static void test_parallel_for(void **state)
{
    (void)state;
    const int64_t n = 5000;
    atomic_int *hits = calloc((size_t)n, sizeof *hits);
    assert_non_null(hits);
    int threads[] = {1, 2, 3, 8, 0};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        for (int64_t i = 0; i < n; i++)
            atomic_store(&hits[i], 0);
        pf_ctx c = {.hits = hits, .fail_from = -1};
        atomic_init(&c.calls, 0);
        atomic_init(&c.maxthread, 0);
        es_error err;
        ES_ASSERT_OK(es_parallel_for(threads[t], n, pf_item, &c, &err), &err);
        for (int64_t i = 0; i < n; i++)
            assert_int_equal(atomic_load(&hits[i]), 1);
        int want_max = threads[t] > 0 ? threads[t] : es_cpu_count();
        assert_true(atomic_load(&c.maxthread) < want_max);
    }
    /* more threads than items, and no items */
    pf_ctx c2 = {.hits = hits, .fail_from = -1};
    atomic_init(&c2.calls, 0);
    atomic_init(&c2.maxthread, 0);
    es_error err;
    ES_ASSERT_OK(es_parallel_for(16, 3, pf_item, &c2, &err), &err);
    assert_int_equal(atomic_load(&c2.calls), 3);
    assert_true(atomic_load(&c2.maxthread) < 3);
    ES_ASSERT_OK(es_parallel_for(4, 0, pf_item, &c2, &err), &err);
    assert_int_equal(atomic_load(&c2.calls), 3);

    /* failures: the error of the lowest failing item is reported, and the
     * remaining items are skipped */
    for (size_t t = 0; t < 3; t++) {
        for (int64_t i = 0; i < n; i++)
            atomic_store(&hits[i], 0);
        pf_ctx c = {.hits = hits, .fail_from = 100};
        atomic_init(&c.calls, 0);
        atomic_init(&c.maxthread, 0);
        es_error_clear(&err);
        assert_int_equal(es_parallel_for(threads[t], n, pf_item, &c, &err), ES_ERR_FORMAT);
        assert_int_equal(err.code, ES_ERR_FORMAT);
        assert_string_equal(err.msg, "item 100 failed");
        for (int64_t i = 0; i < 100; i++)
            assert_int_equal(atomic_load(&hits[i]), 1);
        assert_true(atomic_load(&c.calls) < n); /* stopped early */
    }
    free(hits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_read_file_limits),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_log_lines_whole_across_threads),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_progress_on_terminal),
        cmocka_unit_test(test_parallel_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
