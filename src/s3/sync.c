/*
 * sync.c: directory ↔ prefix synchronisation for `ecosight upload`,
 * `ecosight download` and retraining. Incremental (an object with the same
 * size and content is skipped: SHA-256 in x-amz-meta-sha256, the MD5 of a
 * single-part ETag, or the recomputed multipart ETag), parallel, and
 * tolerant: every object is attempted and failures are counted, not fatal.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYNC_MAX_DEPTH 32
#define SYNC_MAX_FILES 10000000
#define HASH_CHUNK (256 * 1024) /* files are hashed streaming, this much at a time */

es_s3_sync_opts es_s3_sync_default_opts(void)
{
    es_s3_sync_opts o = {.jobs = 4};
    return o;
}

void es_s3_sync_summary_clear(es_s3_sync_summary *s)
{
    if (!s)
        return;
    es_strlist_free(&s->errors);
    memset(s, 0, sizeof *s);
}

int es_s3_is_audio_name(const char *name)
{
    static const char *const exts[] = {"wav", "mp3", "flac", "ogg", "oga", "opus",
                                       "m4a", "aac", "aif", "aiff", "au", "wma"};
    const char *ext = es_path_ext(name);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(ext, exts[i]) == 0)
            return 1;
    return 0;
}

/* ---- content comparison ---------------------------------------------------- */
static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return 0;
    }
    return 1;
}

/* MD5 of n bytes of fd from off, streamed through buf (HASH_CHUNK bytes). */
static es_status md5_range(int fd, const char *path, int64_t off, int64_t n, char *buf,
                           es_hash_ctx *h, uint8_t out[16], es_error *err)
{
    for (int64_t got = 0; got < n;) {
        size_t want = n - got < HASH_CHUNK ? (size_t)(n - got) : HASH_CHUNK;
        ssize_t k = pread(fd, buf, want, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return es_error_set(err, ES_ERR_IO, "cannot read %s: %s", path,
                                k < 0 ? strerror(errno) : "file shrank");
        es_hash_update(h, buf, (size_t)k);
        got += k;
    }
    uint8_t d[ES_HASH_MAX_LEN];
    es_hash_final(h, d);
    memcpy(out, d, 16);
    return ES_OK;
}

/* The MD5s of the parts of a file of size bytes cut every psz bytes (one part:
 * the whole file's MD5), streamed with constant memory; *md5s is malloc'd. */
static es_status file_part_md5s(const char *path, int64_t size, int64_t psz, int64_t nparts,
                                uint8_t **md5s, es_error *err)
{
    *md5s = malloc((size_t)nparts * 16);
    char *buf = malloc(HASH_CHUNK);
    es_hash_ctx *h = NULL;
    int fd = -1;
    es_status rc = ES_OK;
    if (!*md5s || !buf)
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
    if (rc == ES_OK)
        rc = es_hash_new(ES_HASH_MD5, &h, err);
    if (rc == ES_OK && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        rc = es_error_set(err, ES_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    for (int64_t i = 0; i < nparts && rc == ES_OK; i++) {
        int64_t want = size - i * psz < psz ? size - i * psz : psz;
        rc = md5_range(fd, path, i * psz, want, buf, h, *md5s + i * 16, err);
    }
    if (fd >= 0)
        close(fd);
    es_hash_free(h);
    free(buf);
    if (rc != ES_OK) {
        free(*md5s);
        *md5s = NULL;
    }
    return rc;
}

/* MD5 of the whole file into hex. */
static es_status file_md5_hex(const char *path, int64_t size, char hex[33], es_error *err)
{
    uint8_t *d = NULL;
    es_status rc = file_part_md5s(path, size, size > 0 ? size : 1, 1, &d, err);
    if (rc != ES_OK)
        return rc;
    es_hex(d, 16, hex);
    free(d);
    return ES_OK;
}

/* The multipart ETag a file would have with parts of psz bytes:
 * MD5(MD5(part1) || MD5(part2) ...) + "-N". */
es_status s3_file_multipart_etag(const char *path, int64_t size, int64_t psz, char *out,
                                 size_t outn, es_error *err)
{
    int64_t nparts = psz > 0 ? (size + psz - 1) / psz : 0;
    if (nparts < 1 || nparts > 10000)
        return es_error_set(err, ES_ERR_INVALID, "bad part count");
    uint8_t *md5s = NULL;
    es_status rc = file_part_md5s(path, size, psz, nparts, &md5s, err);
    if (rc != ES_OK)
        return rc;
    uint8_t d[16];
    char hx[33];
    es_md5(md5s, (size_t)nparts * 16, d);
    es_hex(d, 16, hx);
    snprintf(out, outn, "%s-%lld", hx, (long long)nparts);
    free(md5s);
    return ES_OK;
}

/* 1 when the local file at path (of the same size) holds the object's content,
 * 0 when it differs or cannot be told, <0 on a local error. */
static int same_content(es_s3_client *c, const char *bucket, const char *key, const char *path,
                        int64_t size, const char *etag)
{
    es_error e;
    size_t el = strlen(etag);
    const char *dash = strchr(etag, '-');
    if (el == 32 && is_hex(etag, 32)) {
        char hx[33];
        if (file_md5_hex(path, size, hx, &e) != ES_OK)
            return -1;
        return strcasecmp(hx, etag) == 0;
    }
    if (dash && dash - etag == 32 && is_hex(etag, 32)) {
        long n = strtol(dash + 1, NULL, 10);
        if (n >= 1 && n <= 10000) {
            /* our own part size first, then the even split that gives n parts */
            int64_t tries[2] = {c->cfg.part_size, 0};
            int64_t even = (size + n - 1) / n;
            int64_t mib = 1024 * 1024;
            tries[1] = (even + mib - 1) / mib * mib;
            for (int t = 0; t < 2; t++) {
                int64_t psz = tries[t];
                if (psz <= 0 || (size + psz - 1) / psz != n)
                    continue;
                char mine[72];
                if (s3_file_multipart_etag(path, size, psz, mine, sizeof mine, &e) != ES_OK)
                    return -1;
                if (strcasecmp(mine, etag) == 0)
                    return 1;
            }
        }
    }
    /* fall back to the SHA-256 we record as metadata */
    es_s3_head_info hi;
    if (es_s3_head(c, bucket, key, &hi, &e) != ES_OK || strlen(hi.sha256) != 64)
        return 0;
    uint8_t d[ES_SHA256_LEN];
    char hx[ES_SHA256_HEX_LEN];
    if (es_sha256_file(path, d, &e) != ES_OK)
        return -1;
    es_hex(d, sizeof d, hx);
    return strcasecmp(hx, hi.sha256) == 0;
}

/* ---- shared sync state ----------------------------------------------------- */
typedef struct sync_ctx {
    es_s3_client *c;
    const es_s3_sync_opts *o;
    es_s3_sync_summary *sum;
    const char *bucket, *prefix, *dir;
    pthread_mutex_t mu;
    int64_t files_total, files_done, bytes_total, bytes_done;
    es_status first_fail;
    /* upload: local files; download: objects */
    es_strlist rel;               /* upload: relative paths */
    es_s3_object_list remote;     /* listing of the prefix */
    es_s3_object **sorted;        /* remote sorted by key, for lookups */
} sync_ctx;

static void report(sync_ctx *s, es_s3_sync_event ev, const char *key, const char *path,
                   int64_t bytes, int deleting, const char *error, es_status st)
{
    pthread_mutex_lock(&s->mu);
    es_s3_sync_summary *sum = s->sum;
    switch (ev) {
    case ES_S3_SYNC_TRANSFERRED:
    case ES_S3_SYNC_PLANNED:
        if (deleting) {
            sum->deleted++;
        } else {
            sum->files++;
            sum->bytes += bytes;
        }
        break;
    case ES_S3_SYNC_SKIPPED:
        sum->skipped++;
        sum->skipped_bytes += bytes;
        break;
    case ES_S3_SYNC_FAILED:
        sum->failed++;
        if (s->first_fail == ES_OK)
            s->first_fail = st;
        if (sum->errors.count < 1000) {
            char line[ES_ERROR_MSG_MAX + 512];
            snprintf(line, sizeof line, "%s: %s", key, error);
            (void)es_strlist_push(&sum->errors, line, NULL);
        }
        break;
    case ES_S3_SYNC_DELETED:
        sum->deleted++;
        break;
    case ES_S3_SYNC_BYTES:
        break;
    }
    if (ev != ES_S3_SYNC_DELETED && !deleting)
        s->files_done++;
    if (s->o->progress) {
        es_s3_sync_progress p = {.event = ev, .key = key, .path = path, .bytes = bytes,
                                 .deleting = deleting, .error = error,
                                 .files_done = s->files_done, .files_total = s->files_total,
                                 .bytes_done = s->bytes_done, .bytes_total = s->bytes_total};
        s->o->progress(s->o->progress_ud, &p);
    }
    pthread_mutex_unlock(&s->mu);
}

static void on_bytes(void *ud, int64_t n)
{
    sync_ctx *s = ud;
    pthread_mutex_lock(&s->mu);
    s->bytes_done += n;
    if (s->o->progress && s->o->progress_bytes) {
        es_s3_sync_progress p = {.event = ES_S3_SYNC_BYTES, .bytes = n,
                                 .files_done = s->files_done, .files_total = s->files_total,
                                 .bytes_done = s->bytes_done, .bytes_total = s->bytes_total};
        s->o->progress(s->o->progress_ud, &p);
    }
    pthread_mutex_unlock(&s->mu);
}

static int cmp_obj_ptr(const void *a, const void *b)
{
    const es_s3_object *x = *(es_s3_object *const *)a, *y = *(es_s3_object *const *)b;
    return strcmp(x->key, y->key);
}

static es_status sort_remote(sync_ctx *s, es_error *err)
{
    size_t n = s->remote.count;
    s->sorted = malloc((n ? n : 1) * sizeof *s->sorted);
    if (!s->sorted)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s->sorted[i] = &s->remote.items[i];
    qsort(s->sorted, n, sizeof *s->sorted, cmp_obj_ptr);
    return ES_OK;
}

static const es_s3_object *find_remote(const sync_ctx *s, const char *key)
{
    size_t lo = 0, hi = s->remote.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->sorted[mid]->key, key);
        if (c == 0)
            return s->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int cancelled(const sync_ctx *s)
{
    return s->o->cancel && *s->o->cancel;
}

/* Recursive walk: relative paths of regular files (hidden ones skipped). */
static es_status walk(const char *root, const char *rel, int depth, int all, es_strlist *out,
                      es_error *err)
{
    if (depth > SYNC_MAX_DEPTH)
        return es_error_set(err, ES_ERR_INVALID, "%s/%s: directories nest deeper than %d", root,
                            rel, SYNC_MAX_DEPTH);
    char *dir = rel[0] ? es_path_join(root, rel) : strdup(root);
    if (!dir)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    es_strlist names = {0};
    es_status rc = es_list_dir(dir, 0, &names, err);
    for (size_t i = 0; i < names.count && rc == ES_OK; i++) {
        char *r = rel[0] ? es_path_join(rel, names.items[i]) : strdup(names.items[i]);
        char *full = es_path_join(root, r ? r : "");
        if (!r || !full) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        } else if (es_is_dir(full)) {
            rc = walk(root, r, depth + 1, all, out, err);
        } else if (es_is_file(full) && (all || es_s3_is_audio_name(r))) {
            if (out->count >= SYNC_MAX_FILES)
                rc = es_error_set(err, ES_ERR_TOO_LARGE, "more than %d files under %s",
                                  SYNC_MAX_FILES, root);
            else
                rc = es_strlist_push(out, r, err);
        }
        free(r);
        free(full);
    }
    es_strlist_free(&names);
    free(dir);
    return rc;
}

static char *join_prefix(const char *prefix, const char *rel)
{
    size_t pl = strlen(prefix), rl = strlen(rel);
    int slash = pl > 0 && prefix[pl - 1] != '/';
    char *k = malloc(pl + rl + 2);
    if (k)
        snprintf(k, pl + rl + 2, "%s%s%s", prefix, slash ? "/" : "", rel);
    return k;
}

static es_status finish(sync_ctx *s, double t0, es_error *err)
{
    s->sum->seconds = es_monotonic_s() - t0;
    if (s->sum->failed == 0)
        return ES_OK;
    return es_error_set(err, s->first_fail ? s->first_fail : ES_ERR_REMOTE,
                        "%lld of %lld objects failed; first: %s", (long long)s->sum->failed,
                        (long long)s->files_total,
                        s->sum->errors.count ? s->sum->errors.items[0] : "?");
}

static void ctx_free(sync_ctx *s)
{
    es_strlist_free(&s->rel);
    es_s3_object_list_free(&s->remote);
    free(s->sorted);
    pthread_mutex_destroy(&s->mu);
}

/* ---- upload ------------------------------------------------------------------- */
static es_status upload_one(void *vctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    (void)err;
    sync_ctx *s = vctx;
    if (cancelled(s))
        return ES_ERR_CANCELLED;
    const char *rel = s->rel.items[i];
    char *path = es_path_join(s->dir, rel);
    char *key = join_prefix(s->prefix, rel);
    es_error e = {0};
    if (!path || !key) {
        report(s, ES_S3_SYNC_FAILED, rel, rel, 0, 0, "out of memory", ES_ERR_NOMEM);
        goto out;
    }
    int64_t size;
    if (es_file_size(path, &size, &e) != ES_OK) {
        report(s, ES_S3_SYNC_FAILED, key, path, 0, 0, es_error_text(&e), e.code);
        goto out;
    }
    const es_s3_object *r = find_remote(s, key);
    if (r && r->size == size) {
        int same = same_content(s->c, s->bucket, key, path, size, r->etag);
        if (same > 0) {
            report(s, ES_S3_SYNC_SKIPPED, key, path, size, 0, NULL, ES_OK);
            goto out;
        }
    }
    if (s->o->dry_run) {
        report(s, ES_S3_SYNC_PLANNED, key, path, size, 0, NULL, ES_OK);
        goto out;
    }
    if (es_s3_put_file(s->c, s->bucket, key, path, NULL, NULL, on_bytes, s, NULL, &e) != ES_OK)
        report(s, ES_S3_SYNC_FAILED, key, path, size, 0, es_error_text(&e), e.code);
    else
        report(s, ES_S3_SYNC_TRANSFERRED, key, path, size, 0, NULL, ES_OK);
out:
    free(path);
    free(key);
    return ES_OK; /* one object's failure never stops the others */
}

es_status es_s3_upload_dir(es_s3_client *c, const char *dir, const char *bucket,
                           const char *prefix, const es_s3_sync_opts *opts,
                           es_s3_sync_summary *sum, es_error *err)
{
    memset(sum, 0, sizeof *sum);
    es_s3_sync_opts defaults = es_s3_sync_default_opts();
    sync_ctx s = {.c = c, .o = opts ? opts : &defaults, .sum = sum, .bucket = bucket,
                  .prefix = prefix ? prefix : "", .dir = dir};
    double t0 = es_monotonic_s();
    if (!es_is_dir(dir))
        return es_error_set(err, ES_ERR_NOT_FOUND, "upload: %s is not a directory", dir);
    pthread_mutex_init(&s.mu, NULL);
    es_status rc = walk(dir, "", 0, s.o->all_files, &s.rel, err);
    if (rc != ES_OK)
        goto out;
    for (size_t i = 0; i < s.rel.count; i++) {
        char *p = es_path_join(dir, s.rel.items[i]);
        int64_t sz = 0;
        if (p && es_file_size(p, &sz, NULL) == ES_OK)
            s.bytes_total += sz;
        free(p);
    }
    s.files_total = (int64_t)s.rel.count;

    /* list first: it gives S3's error code (a HEAD reply has no body) */
    es_error le;
    rc = es_s3_list(c, bucket, s.prefix, 0, &s.remote, &le);
    if (rc == ES_ERR_NOT_FOUND) {
        es_s3_object_list_free(&s.remote);
        if (s.o->dry_run) {
            es_log_info(c->log, "s3: bucket %s does not exist; it would be created", bucket);
        } else {
            int created = 0;
            rc = es_s3_create_bucket(c, bucket, &created, err);
            if (rc != ES_OK)
                goto out;
            if (created)
                es_log_info(c->log, "s3: created bucket %s", bucket);
        }
        rc = ES_OK;
    } else if (rc != ES_OK) {
        if (err)
            *err = le;
        goto out;
    }
    if (!s.o->dry_run) {
        es_error be;
        es_status brc = es_s3_block_public_access(c, bucket, &be);
        if (brc == ES_ERR_UNSUPPORTED)
            es_log_warn(c->log, "s3: the server cannot block public access (%s); make sure "
                                "bucket %s is private", es_error_text(&be), bucket);
        else if (brc != ES_OK)
            es_log_warn(c->log, "s3: could not block public access: %s", es_error_text(&be));
    }
    rc = sort_remote(&s, err);
    if (rc != ES_OK)
        goto out;
    int jobs = s.o->jobs > 0 ? s.o->jobs : 4;
    rc = es_parallel_for(jobs, (int64_t)s.rel.count, upload_one, &s, err);
    if (rc == ES_ERR_CANCELLED) {
        es_error_set(err, rc, "upload cancelled");
        goto out;
    }
    if (rc != ES_OK)
        goto out;
    rc = finish(&s, t0, err);
out:
    sum->seconds = es_monotonic_s() - t0;
    ctx_free(&s);
    return rc;
}

/* ---- download ----------------------------------------------------------------- */
/* A key's relative path must stay inside the directory. */
static int safe_rel(const char *rel)
{
    if (!*rel || rel[0] == '/' || strlen(rel) > 1024)
        return 0;
    const char *p = rel;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!e)
            break;
        p = e + 1;
    }
    return strchr(rel, '\\') == NULL;
}

static es_status download_one(void *vctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    (void)err;
    sync_ctx *s = vctx;
    if (cancelled(s))
        return ES_ERR_CANCELLED;
    const es_s3_object *o = &s->remote.items[i];
    const char *rel = o->key + strlen(s->prefix);
    size_t kl = strlen(o->key);
    if (kl > 0 && o->key[kl - 1] == '/')
        return ES_OK; /* a "folder" marker */
    if (!safe_rel(rel)) {
        report(s, ES_S3_SYNC_FAILED, o->key, NULL, o->size, 0,
               "key would write outside the target directory; refused", ES_ERR_INVALID);
        return ES_OK;
    }
    char *path = es_path_join(s->dir, rel);
    es_error e = {0};
    if (!path) {
        report(s, ES_S3_SYNC_FAILED, o->key, NULL, o->size, 0, "out of memory", ES_ERR_NOMEM);
        return ES_OK;
    }
    int64_t size;
    if (es_is_file(path) && es_file_size(path, &size, NULL) == ES_OK && size == o->size &&
        same_content(s->c, s->bucket, o->key, path, size, o->etag) > 0) {
        report(s, ES_S3_SYNC_SKIPPED, o->key, path, size, 0, NULL, ES_OK);
    } else if (s->o->dry_run) {
        report(s, ES_S3_SYNC_PLANNED, o->key, path, o->size, 0, NULL, ES_OK);
    } else if (es_s3_get_file(s->c, s->bucket, o->key, path, on_bytes, s, NULL, &e) != ES_OK) {
        report(s, ES_S3_SYNC_FAILED, o->key, path, o->size, 0, es_error_text(&e), e.code);
    } else {
        report(s, ES_S3_SYNC_TRANSFERRED, o->key, path, o->size, 0, NULL, ES_OK);
    }
    free(path);
    return ES_OK;
}

static es_status delete_extra(sync_ctx *s, es_error *err)
{
    es_strlist local = {0};
    es_status rc = walk(s->dir, "", 0, 1, &local, err);
    for (size_t i = 0; i < local.count && rc == ES_OK; i++) {
        char *key = malloc(strlen(s->prefix) + strlen(local.items[i]) + 1);
        if (!key) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            break;
        }
        sprintf(key, "%s%s", s->prefix, local.items[i]);
        if (!find_remote(s, key)) {
            char *path = es_path_join(s->dir, local.items[i]);
            if (!path) {
                free(key);
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                break;
            }
            if (s->o->dry_run) {
                report(s, ES_S3_SYNC_PLANNED, key, path, 0, 1, NULL, ES_OK);
            } else if (unlink(path) != 0) {
                char msg[256];
                snprintf(msg, sizeof msg, "cannot delete %s: %s", path, strerror(errno));
                report(s, ES_S3_SYNC_FAILED, key, path, 0, 0, msg, ES_ERR_IO);
            } else {
                report(s, ES_S3_SYNC_DELETED, key, path, 0, 1, NULL, ES_OK);
            }
            free(path);
        }
        free(key);
    }
    es_strlist_free(&local);
    return rc;
}

es_status es_s3_download_prefix(es_s3_client *c, const char *bucket, const char *prefix,
                                const char *dir, const es_s3_sync_opts *opts,
                                es_s3_sync_summary *sum, es_error *err)
{
    memset(sum, 0, sizeof *sum);
    es_s3_sync_opts defaults = es_s3_sync_default_opts();
    sync_ctx s = {.c = c, .o = opts ? opts : &defaults, .sum = sum, .bucket = bucket,
                  .prefix = prefix ? prefix : "", .dir = dir};
    double t0 = es_monotonic_s();
    pthread_mutex_init(&s.mu, NULL);
    es_status rc = es_s3_list(c, bucket, s.prefix, 0, &s.remote, err);
    if (rc != ES_OK)
        goto out;
    /* A prefix "a/b" (no slash) matches "a/bc/x" too: keep only whole folders. */
    if (s.prefix[0] && s.prefix[strlen(s.prefix) - 1] != '/') {
        size_t pl = strlen(s.prefix), w = 0;
        for (size_t i = 0; i < s.remote.count; i++) {
            es_s3_object *o = &s.remote.items[i];
            if (o->key[pl] == '/') {
                s.remote.items[w++] = *o;
            } else {
                free(o->key);
            }
        }
        s.remote.count = w;
        char *np = join_prefix(s.prefix, "");
        if (!np) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto out;
        }
        /* keep the joined prefix alive for the whole sync */
        rc = es_strlist_push(&s.rel, np, err);
        free(np);
        if (rc != ES_OK)
            goto out;
        s.prefix = s.rel.items[s.rel.count - 1];
    }
    for (size_t i = 0; i < s.remote.count; i++)
        s.bytes_total += s.remote.items[i].size;
    s.files_total = (int64_t)s.remote.count;
    if (!s.o->dry_run) {
        rc = es_mkdirs(dir, err);
        if (rc != ES_OK)
            goto out;
    }
    rc = sort_remote(&s, err);
    if (rc != ES_OK)
        goto out;
    int jobs = s.o->jobs > 0 ? s.o->jobs : 4;
    rc = es_parallel_for(jobs, (int64_t)s.remote.count, download_one, &s, err);
    if (rc == ES_ERR_CANCELLED) {
        es_error_set(err, rc, "download cancelled");
        goto out;
    }
    if (rc != ES_OK)
        goto out;
    if (s.o->delete_extra && es_is_dir(dir)) {
        rc = delete_extra(&s, err);
        if (rc != ES_OK)
            goto out;
    }
    rc = finish(&s, t0, err);
out:
    sum->seconds = es_monotonic_s() - t0;
    ctx_free(&s);
    return rc;
}
