/*
 * test_retrain_lock.c: the models directory's retrain lock: a second holder
 * is refused with the first one's pid in the message, whether it is this
 * process or another; a holder killed with SIGKILL leaves no stale lock.
 */
#include "testutil.h"

#include "ecosight/pipeline_retrain.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_same_process(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("lock_same");
    es_error err;
    es_models_lock *a = NULL, *b = NULL;
    ES_ASSERT_OK(es_models_lock_acquire(dir, &a, &err), &err);
    assert_int_equal(es_models_lock_acquire(dir, &b, &err), ES_ERR_BUSY);
    assert_null(b);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, pid));
    assert_non_null(strstr(err.msg, "another retrain"));
    es_models_lock_release(a);
    ES_ASSERT_OK(es_models_lock_acquire(dir, &b, &err), &err);
    es_models_lock_release(b);
    es_models_lock_release(NULL);
    es_remove_tree(dir, NULL);
    free(dir);
}

static void test_other_process_killed(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("lock_kill");
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        es_models_lock *l;
        if (es_models_lock_acquire(dir, &l, NULL) != ES_OK)
            _exit(3);
        char c = 'L';
        if (write(p[1], &c, 1) != 1)
            _exit(4);
        for (;;)
            pause();
    }
    close(p[1]);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    es_error err;
    es_models_lock *l = NULL;
    assert_int_equal(es_models_lock_acquire(dir, &l, &err), ES_ERR_BUSY);
    char want[32];
    snprintf(want, sizeof want, "pid %ld", (long)pid);
    assert_non_null(strstr(err.msg, want));
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    ES_ASSERT_OK(es_models_lock_acquire(dir, &l, &err), &err);
    es_models_lock_release(l);
    es_remove_tree(dir, NULL);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_process),
        cmocka_unit_test(test_other_process_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
