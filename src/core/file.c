/*
 * file.c: crash-safe file writes and small filesystem helpers.
 *
 * es_afile writes to "<dir>/.<name>.tmp.XXXXXX", then fsync, rename over the
 * target and fsync the directory (Redis' rio/rdb recipe): after a crash or
 * kill -9 a reader finds the old file or the new one, never half of one. The
 * temporary name starts with a dot so directory scans skip it.
 */
#include "ecosight/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct es_afile {
    char *path;
    char *tmp;
    FILE *fp;
    int failed;
};

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

es_status es_fsync_dir(const char *dir, es_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return es_error_set(err, ES_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    /* Some filesystems refuse fsync on directories; that is not data loss. */
    if (rc != 0 && e != EINVAL && e != EROFS)
        return es_error_set(err, ES_ERR_IO, "cannot fsync directory %s: %s", dir, strerror(e));
    return ES_OK;
}

es_status es_afile_open(const char *path, es_afile **out, es_error *err)
{
    es_afile *f = calloc(1, sizeof *f);
    char *dir = dir_of(path);
    if (!f || !dir) {
        free(f);
        free(dir);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory opening %s", path);
    }
    f->path = strdup(path);
    size_t n = strlen(dir) + strlen(es_path_base(path)) + 32;
    f->tmp = malloc(n);
    if (!f->path || !f->tmp) {
        free(dir);
        es_afile_abort(f);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory opening %s", path);
    }
    /* NAME_MAX is 255: keep the temporary's name legal for any legal target
     * name by using at most 200 bytes of it (uniqueness comes from XXXXXX). */
    snprintf(f->tmp, n, "%s/.%.200s.tmp.XXXXXX", dir, es_path_base(path));
    free(dir);
    int fd = mkostemp(f->tmp, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(f->tmp);
        f->tmp = NULL;
        es_afile_abort(f);
        return es_error_set(err, ES_ERR_IO, "cannot create temporary file for %s: %s", path,
                            strerror(e));
    }
    fchmod(fd, 0644);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        es_afile_abort(f);
        return es_error_set(err, ES_ERR_IO, "cannot open temporary file for %s: %s", path,
                            strerror(e));
    }
    *out = f;
    return ES_OK;
}

es_status es_afile_write(es_afile *f, const void *data, size_t n, es_error *err)
{
    if (n && fwrite(data, 1, n, f->fp) != n) {
        f->failed = 1;
        return es_error_set(err, ES_ERR_IO, "cannot write %s: %s", f->path, strerror(errno));
    }
    return ES_OK;
}

FILE *es_afile_stream(es_afile *f)
{
    return f->fp;
}

es_status es_afile_commit(es_afile *f, es_error *err)
{
    es_status rc = ES_OK;
    int e = 0;
    if (f->failed || ferror(f->fp))
        rc = es_error_set(err, ES_ERR_IO, "write error on %s", f->path);
    else if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
        e = errno;
        rc = es_error_set(err, ES_ERR_IO, "cannot flush %s: %s", f->path, strerror(e));
    }
    if (fclose(f->fp) != 0 && rc == ES_OK) {
        e = errno;
        rc = es_error_set(err, ES_ERR_IO, "cannot close %s: %s", f->path, strerror(e));
    }
    f->fp = NULL;
    if (rc == ES_OK && rename(f->tmp, f->path) != 0) {
        e = errno;
        rc = es_error_set(err, ES_ERR_IO, "cannot rename into %s: %s", f->path, strerror(e));
    }
    if (rc == ES_OK) {
        free(f->tmp);
        f->tmp = NULL;
        char *dir = dir_of(f->path);
        if (dir)
            rc = es_fsync_dir(dir, err);
        free(dir);
    }
    es_afile_abort(f);
    return rc;
}

void es_afile_abort(es_afile *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f);
}

es_status es_write_file_atomic(const char *path, const void *data, size_t n, es_error *err)
{
    es_afile *f;
    es_status rc = es_afile_open(path, &f, err);
    if (rc)
        return rc;
    rc = es_afile_write(f, data, n, err);
    if (rc) {
        es_afile_abort(f);
        return rc;
    }
    return es_afile_commit(f, err);
}

es_status es_read_file(const char *path, size_t limit, char **out, size_t *len, es_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return es_error_set(err, e == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO, "cannot open %s: %s",
                            path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return es_error_set(err, ES_ERR_IO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > limit) {
        close(fd);
        return es_error_set(err, ES_ERR_TOO_LARGE, "%s is %lld bytes, over the limit of %zu",
                            path, (long long)st.st_size, limit);
    }
    es_buf b;
    es_buf_init(&b, limit);
    es_status rc = es_buf_reserve(&b, (size_t)st.st_size, err);
    char chunk[65536];
    while (rc == ES_OK) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = es_error_set(err, ES_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        rc = es_buf_append(&b, chunk, (size_t)r, err);
        if (rc == ES_ERR_TOO_LARGE)
            es_error_set(err, rc, "%s is over the limit of %zu bytes", path, limit);
    }
    close(fd);
    if (rc) {
        es_buf_free(&b);
        return rc;
    }
    *out = es_buf_steal(&b, len);
    if (!*out)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory reading %s", path);
    return ES_OK;
}

es_status es_mkdirs(const char *path, es_error *err)
{
    char *p = strdup(path);
    if (!p)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            es_status rc = es_error_set(err, ES_ERR_IO, "cannot create directory %s: %s", p,
                                        strerror(e));
            free(p);
            return rc;
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        es_status rc = es_error_set(err, ES_ERR_IO, "cannot create directory %s: %s", p,
                                    strerror(e));
        free(p);
        return rc;
    }
    if (!es_is_dir(p)) {
        es_status rc = es_error_set(err, ES_ERR_IO, "%s exists and is not a directory", p);
        free(p);
        return rc;
    }
    free(p);
    return ES_OK;
}

int es_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int es_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

es_status es_file_size(const char *path, int64_t *size, es_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return es_error_set(err, e == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO, "cannot stat %s: %s",
                            path, strerror(e));
    }
    *size = (int64_t)st.st_size;
    return ES_OK;
}

char *es_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    size_t lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    size_t k = la;
    if (la && lb && a[la - 1] != '/')
        s[k++] = '/';
    memcpy(s + k, b, lb);
    s[k + lb] = '\0';
    return s;
}

const char *es_path_base(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

const char *es_path_ext(const char *path)
{
    const char *base = es_path_base(path);
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return "";
    return dot + 1;
}

char *es_path_stem(const char *path)
{
    const char *base = es_path_base(path);
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return strdup(base);
    return strndup(base, (size_t)(dot - base));
}

es_status es_strlist_push(es_strlist *l, const char *s, es_error *err)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **items = realloc(l->items, cap * sizeof *items);
        if (!items)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        l->items = items;
        l->cap = cap;
    }
    char *d = strdup(s);
    if (!d)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    l->items[l->count++] = d;
    return ES_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void es_strlist_sort(es_strlist *l)
{
    if (l->count > 1)
        qsort(l->items, l->count, sizeof *l->items, cmp_str);
}

void es_strlist_free(es_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

es_status es_list_dir(const char *dir, int kind, es_strlist *out, es_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        return es_error_set(err, e == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO,
                            "cannot read directory %s: %s", dir, strerror(e));
    }
    es_strlist l = {0};
    es_status rc = ES_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (kind) {
            char *p = es_path_join(dir, de->d_name);
            if (!p) {
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                break;
            }
            int ok = kind == 1 ? es_is_file(p) : es_is_dir(p);
            free(p);
            if (!ok)
                continue;
        }
        rc = es_strlist_push(&l, de->d_name, err);
        if (rc)
            break;
    }
    closedir(d);
    if (rc) {
        es_strlist_free(&l);
        return rc;
    }
    es_strlist_sort(&l);
    *out = l;
    return ES_OK;
}

es_status es_remove_tree(const char *path, es_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? ES_OK
                               : es_error_set(err, ES_ERR_IO, "cannot stat %s: %s", path,
                                              strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return es_error_set(err, ES_ERR_IO, "cannot read directory %s: %s", path,
                                strerror(errno));
        struct dirent *de;
        es_status rc = ES_OK;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *p = es_path_join(path, de->d_name);
            if (!p) {
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                break;
            }
            rc = es_remove_tree(p, err);
            free(p);
            if (rc)
                break;
        }
        closedir(d);
        if (rc)
            return rc;
        if (rmdir(path) != 0)
            return es_error_set(err, ES_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
        return ES_OK;
    }
    if (unlink(path) != 0)
        return es_error_set(err, ES_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return ES_OK;
}
