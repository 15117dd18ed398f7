/*
 * models_lock.c: the lock that keeps two retrains (or a retrain and a
 * rollback) off one models directory, and reading which version `latest`
 * names. flock(2) rather than a pid file: the kernel releases it when the
 * holder dies, even by kill -9, so a crash never leaves a stale lock.
 */
#include "ecosight/pipeline_retrain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Lock                                                                     */
struct es_models_lock {
    int fd;
};

es_status es_models_lock_acquire(const char *models_dir, es_models_lock **out, es_error *err)
{
    es_status rc = es_mkdirs(models_dir, err);
    if (rc != ES_OK)
        return rc;
    char *path = es_path_join(models_dir, ES_RETRAIN_LOCK_FILE);
    if (!path)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = es_error_set(err, ES_ERR_IO, "cannot open the lock file %s: %s", path,
                          strerror(errno));
        free(path);
        return rc;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char holder[128] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        close(fd);
        if (e == EWOULDBLOCK)
            rc = es_error_set(err, ES_ERR_BUSY,
                              "another retrain is already running on %s (%s); "
                              "wait for it to finish (lock: %s)",
                              models_dir, holder[0] ? holder : "holder unknown", path);
        else
            rc = es_error_set(err, ES_ERR_IO, "cannot lock %s: %s", path, strerror(e));
        free(path);
        return rc;
    }
    /* Say who holds it, for the message the next one prints. */
    char who[128];
    char when[32];
    es_utc_iso8601(es_unix_time(), when);
    int len = snprintf(who, sizeof who, "pid %ld, since %s\n", (long)getpid(), when);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)len, 0) != len) {
        rc = es_error_set(err, ES_ERR_IO, "cannot write the lock file %s: %s", path,
                          strerror(errno));
        close(fd);
        free(path);
        return rc;
    }
    free(path);
    es_models_lock *l = malloc(sizeof *l);
    if (!l) {
        close(fd);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    l->fd = fd;
    *out = l;
    return ES_OK;
}

void es_models_lock_release(es_models_lock *l)
{
    if (!l)
        return;
    /* The file stays (unlinking a lock file races with a waiter that opened
     * it); its text is cleared so nobody reads a stale holder. */
    if (ftruncate(l->fd, 0) != 0) {
        /* nothing useful to do: the lock itself goes with close */
    }
    flock(l->fd, LOCK_UN);
    close(l->fd);
    free(l);
}

/* ------------------------------------------------------------------------ */
/* Local versions                                                           */

int es_models_valid_name(const char *name)
{
    if (!name || !*name || strlen(name) >= ES_VERSION_NAME_MAX || strcmp(name, "latest") == 0 ||
        name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

es_status es_models_latest_local(const char *models_dir, char name[ES_VERSION_NAME_MAX],
                                 es_error *err)
{
    name[0] = 0;
    char *link = es_path_join(models_dir, "latest");
    if (!link)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    char buf[4096];
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    es_status rc = ES_OK;
    if (n < 0) {
        if (errno == ENOENT)
            rc = es_error_set(err, ES_ERR_NOT_FOUND, "no model yet: %s does not exist", link);
        else
            rc = es_error_set(err, ES_ERR_IO, "cannot read the link %s: %s", link,
                              strerror(errno));
    } else {
        buf[n] = 0;
        while (n > 1 && buf[n - 1] == '/')
            buf[--n] = 0;
        const char *base = es_path_base(buf);
        if (!es_models_valid_name(base))
            rc = es_error_set(err, ES_ERR_FORMAT, "%s points at '%s', not a version", link, buf);
        else
            snprintf(name, ES_VERSION_NAME_MAX, "%s", base);
    }
    free(link);
    return rc;
}

