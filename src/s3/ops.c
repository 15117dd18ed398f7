/*
 * ops.c: the S3 operations on top of the request engine (client.c):
 * listing, head, get (streamed, resumable, verified, atomic), put (single
 * part or multipart with parallel parts, aborted on failure), delete,
 * buckets, public access block and presigned URLs.
 */
#include "internal.h"
#include "xml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void es_s3_object_list_free(es_s3_object_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i].key);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int is_md5_etag(const char *etag)
{
    if (strlen(etag) != 32)
        return 0;
    for (int i = 0; i < 32; i++) {
        char ch = etag[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return 0;
    }
    return 1;
}

static const char *guess_type(const char *key)
{
    const char *ext = es_path_ext(key);
    static const char *const map[][2] = {
        {"wav", "audio/wav"},   {"mp3", "audio/mpeg"}, {"flac", "audio/flac"},
        {"ogg", "audio/ogg"},   {"m4a", "audio/mp4"},  {"json", "application/json"},
        {"txt", "text/plain"},  {"csv", "text/csv"},   {"html", "text/html"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(ext, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

/* ---- list -------------------------------------------------------------- */
es_status es_s3_list(es_s3_client *c, const char *bucket, const char *prefix,
                     size_t max_objects, es_s3_object_list *out, es_error *err)
{
    if (!max_objects)
        max_objects = 10000000;
    es_buf body;
    es_buf_init(&body, ES_S3_XML_MAX_DOC);
    char *token = NULL;
    es_status rc = ES_OK;
    for (int page_no = 0;; page_no++) {
        s3_request r = {.op = "ListObjectsV2", .method = "GET", .bucket = bucket, .out = &body};
        r.query[r.nquery++] = (es_sigv4_kv){"list-type", "2"};
        if (prefix && *prefix)
            r.query[r.nquery++] = (es_sigv4_kv){"prefix", prefix};
        if (token)
            r.query[r.nquery++] = (es_sigv4_kv){"continuation-token", token};
        s3_response resp;
        es_buf_reset(&body);
        rc = s3_perform(c, &r, &resp, err);
        if (rc != ES_OK)
            break;
        es_s3_list_page page;
        rc = es_s3_xml_parse_list(body.data ? body.data : "", body.len, out, max_objects, &page,
                                  err);
        if (rc != ES_OK) {
            es_error_prefix(err, "ListObjectsV2 s3://%s/%s", bucket, prefix ? prefix : "");
            break;
        }
        if (!page.is_truncated) {
            es_s3_list_page_clear(&page);
            break;
        }
        if (token && strcmp(token, page.next_token) == 0) {
            es_s3_list_page_clear(&page);
            rc = es_error_set(err, ES_ERR_FORMAT,
                              "ListObjectsV2 s3://%s/%s: the server repeated a continuation token",
                              bucket, prefix ? prefix : "");
            break;
        }
        free(token);
        token = page.next_token;
        page.next_token = NULL;
        es_log_debug(c->log, "s3: listing page %d: %zu objects so far", page_no + 1, out->count);
    }
    free(token);
    es_buf_free(&body);
    return rc;
}

/* ---- head -------------------------------------------------------------- */
static void fill_head(es_s3_head_info *info, const s3_response *resp, int64_t size)
{
    memset(info, 0, sizeof *info);
    info->size = size;
    snprintf(info->etag, sizeof info->etag, "%s", resp->etag);
    snprintf(info->sha256, sizeof info->sha256, "%s", resp->sha256);
    snprintf(info->content_type, sizeof info->content_type, "%s", resp->content_type);
}

es_status es_s3_head(es_s3_client *c, const char *bucket, const char *key,
                     es_s3_head_info *out, es_error *err)
{
    s3_request r = {.op = "HeadObject", .method = "HEAD", .bucket = bucket, .key = key, .head = 1};
    s3_response resp;
    es_status rc = s3_perform(c, &r, &resp, err);
    if (rc != ES_OK)
        return rc;
    fill_head(out, &resp, resp.content_length);
    return ES_OK;
}

/* ---- get --------------------------------------------------------------- */
static char *part_path_for(const char *path)
{
    const char *base = es_path_base(path);
    size_t dlen = (size_t)(base - path);
    size_t n = dlen + strlen(base) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%.*s.%s.part", (int)dlen, path, base);
    return p;
}

/* Check the finished .part against what S3 told us: its size, then the
 * SHA-256 in x-amz-meta-sha256 when the object has one, else the MD5 a
 * single-part ETag is. md5/sha256 were computed while the bytes streamed in. */
static es_status verify_download(const char *key, int64_t size, const s3_response *resp,
                                 const uint8_t md5[16], const uint8_t sha256[ES_SHA256_LEN],
                                 es_error *err)
{
    int64_t want = resp->total_size >= 0 ? resp->total_size : resp->content_length;
    if (want >= 0 && size != want)
        return es_error_set(err, ES_ERR_FORMAT, "GetObject %s: got %lld bytes, expected %lld",
                            key, (long long)size, (long long)want);
    if (resp->sha256[0] && strlen(resp->sha256) == 64) {
        char hx[ES_SHA256_HEX_LEN];
        es_hex(sha256, ES_SHA256_LEN, hx);
        if (strcasecmp(hx, resp->sha256) != 0)
            return es_error_set(err, ES_ERR_FORMAT,
                                "GetObject %s: SHA-256 %s differs from x-amz-meta-sha256 %s", key,
                                hx, resp->sha256);
        return ES_OK;
    }
    if (is_md5_etag(resp->etag)) {
        char hx[33];
        es_hex(md5, 16, hx);
        if (strcasecmp(hx, resp->etag) != 0)
            return es_error_set(err, ES_ERR_FORMAT, "GetObject %s: MD5 %s differs from ETag %s",
                                key, hx, resp->etag);
    }
    return ES_OK;
}

/* Feed the first n bytes of a partial download (kept from an earlier try)
 * to the hashes, so a resumed transfer is verified whole. */
static es_status hash_prefix(FILE *f, int64_t n, es_hash_ctx *const hs[2], const char *part,
                             es_error *err)
{
    char *buf = malloc(256 * 1024);
    if (!buf)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    es_status rc = ES_OK;
    for (int64_t got = 0; got < n;) {
        size_t want = n - got < 256 * 1024 ? (size_t)(n - got) : 256 * 1024;
        ssize_t k = pread(fileno(f), buf, want, (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = es_error_set(err, ES_ERR_IO, "cannot read %s: %s", part,
                              k < 0 ? strerror(errno) : "file shrank");
            break;
        }
        es_hash_update(hs[0], buf, (size_t)k);
        es_hash_update(hs[1], buf, (size_t)k);
        got += k;
    }
    free(buf);
    return rc;
}

static es_status parent_dirs(const char *path, es_error *err)
{
    const char *base = es_path_base(path);
    if (base == path)
        return ES_OK;
    char *dir = strndup(path, (size_t)(base - path));
    if (!dir)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    es_status rc = es_mkdirs(dir, err);
    free(dir);
    return rc;
}

es_status es_s3_get_file(es_s3_client *c, const char *bucket, const char *key, const char *path,
                         es_s3_bytes_fn bytes_cb, void *ud, es_s3_head_info *info, es_error *err)
{
    es_status rc = parent_dirs(path, err);
    if (rc != ES_OK)
        return rc;
    char *part = part_path_for(path);
    if (!part)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    char where[512];
    s3_url_for_msg(where, sizeof where, bucket, key);
    int fresh_tries = 0;
    es_hash_ctx *hs[2] = {NULL, NULL}; /* MD5, SHA-256 of what lands in the .part */
    rc = es_hash_new(ES_HASH_MD5, &hs[0], err);
    if (rc == ES_OK)
        rc = es_hash_new(ES_HASH_SHA256, &hs[1], err);
    if (rc != ES_OK) {
        es_hash_free(hs[0]);
        free(part);
        return rc;
    }
again:;
    es_hash_reset(hs[0]);
    es_hash_reset(hs[1]);
    FILE *f = fopen(part, "r+b");
    if (!f && errno == ENOENT)
        f = fopen(part, "w+b");
    if (!f) {
        rc = es_error_set(err, ES_ERR_IO, "GetObject %s: cannot open %s: %s", where, part,
                          strerror(errno));
        goto done;
    }
    if (fseeko(f, 0, SEEK_END) != 0) {
        rc = es_error_set(err, ES_ERR_IO, "GetObject %s: cannot seek %s: %s", where, part,
                          strerror(errno));
        fclose(f);
        goto done;
    }
    off_t have = ftello(f);
    s3_request r = {.op = "GetObject", .method = "GET", .bucket = bucket, .key = key,
                    .out_file = f, .out_pos = have > 0 ? (int64_t)have : 0, .resumable = 1,
                    .bytes_cb = bytes_cb, .bytes_ud = ud, .out_hash = {hs[0], hs[1]}};
    int resumed = r.out_pos > 0;
    if (resumed) {
        es_log_info(c->log, "s3: resuming %s at byte %lld", where, (long long)r.out_pos);
        rc = hash_prefix(f, r.out_pos, hs, part, err);
        if (rc != ES_OK) {
            fclose(f);
            goto done;
        }
    }
    s3_response resp;
    rc = s3_perform(c, &r, &resp, err);
    int keep_part = 0;
    if (rc == ES_OK) {
        if (fflush(f) != 0 || fsync(fileno(f)) != 0)
            rc = es_error_set(err, ES_ERR_IO, "GetObject %s: cannot write %s: %s", where, part,
                              strerror(errno));
    } else {
        /* a dropped transfer can be resumed next time; anything else starts over */
        keep_part = rc == ES_ERR_NETWORK || rc == ES_ERR_TIMEOUT ||
                    (rc == ES_ERR_REMOTE && resp.status >= 500);
    }
    if (fclose(f) != 0 && rc == ES_OK)
        rc = es_error_set(err, ES_ERR_IO, "GetObject %s: cannot close %s: %s", where, part,
                          strerror(errno));
    if (rc == ES_OK) {
        uint8_t md5[ES_HASH_MAX_LEN], sha[ES_HASH_MAX_LEN];
        es_hash_final(hs[0], md5);
        es_hash_final(hs[1], sha);
        rc = verify_download(where, r.out_pos, &resp, md5, sha, err);
        if (rc != ES_OK && resumed && fresh_tries == 0) {
            /* the object changed under the old partial file: once more from scratch */
            es_log_warn(c->log, "s3: %s; downloading %s again from the start", es_error_text(err),
                        where);
            unlink(part);
            fresh_tries++;
            goto again;
        }
    }
    if (rc == ES_OK) {
        if (rename(part, path) != 0) {
            rc = es_error_set(err, ES_ERR_IO, "GetObject %s: cannot rename to %s: %s", where,
                              path, strerror(errno));
        } else {
            char *dir = strndup(path, (size_t)(es_path_base(path) - path));
            if (dir && *dir)
                es_fsync_dir(dir, NULL);
            free(dir);
            if (info)
                fill_head(info, &resp, r.out_pos);
        }
    }
    if (rc != ES_OK && !keep_part)
        unlink(part);
done:
    es_hash_free(hs[0]);
    es_hash_free(hs[1]);
    free(part);
    return rc;
}

es_status es_s3_get_buffer(es_s3_client *c, const char *bucket, const char *key, size_t limit,
                           char **data, size_t *len, es_error *err)
{
    es_buf b;
    es_buf_init(&b, limit);
    s3_request r = {.op = "GetObject", .method = "GET", .bucket = bucket, .key = key, .out = &b};
    s3_response resp;
    es_status rc = s3_perform(c, &r, &resp, err);
    if (rc == ES_OK && b.len == 0)
        rc = es_buf_append(&b, "", 0, err); /* an empty object is an empty string */
    if (rc != ES_OK) {
        es_buf_free(&b);
        return rc;
    }
    *data = es_buf_steal(&b, len);
    return ES_OK;
}

/* ---- put --------------------------------------------------------------- */
static es_status check_etag(const char *op, const char *where, const s3_response *resp,
                            const uint8_t md5[16], es_error *err)
{
    char hx[33];
    es_hex(md5, 16, hx);
    if (is_md5_etag(resp->etag) && strcasecmp(resp->etag, hx) != 0)
        return es_error_set(err, ES_ERR_FORMAT,
                            "%s %s: the server's ETag %s is not the MD5 %s of what we sent", op,
                            where, resp->etag, hx);
    return ES_OK;
}

static es_status put_single(es_s3_client *c, const char *bucket, const char *key,
                            const void *data, size_t len, const char *ctype, const char *sha,
                            char *etag_out, es_error *err)
{
    s3_request r = {.op = "PutObject", .method = "PUT", .bucket = bucket, .key = key,
                    .body = data ? data : "", .body_len = len};
    r.headers[r.nheaders++] = (es_sigv4_kv){"content-type", ctype};
    if (sha)
        r.headers[r.nheaders++] = (es_sigv4_kv){"x-amz-meta-sha256", sha};
    s3_response resp;
    es_status rc = s3_perform(c, &r, &resp, err);
    if (rc != ES_OK)
        return rc;
    uint8_t md5[16];
    es_md5(data ? data : "", len, md5);
    char where[512];
    s3_url_for_msg(where, sizeof where, bucket, key);
    rc = check_etag("PutObject", where, &resp, md5, err);
    if (rc == ES_OK && etag_out)
        snprintf(etag_out, 72, "%s", resp.etag);
    return rc;
}

es_status es_s3_put_buffer(es_s3_client *c, const char *bucket, const char *key,
                           const void *data, size_t len, const char *content_type,
                           es_error *err)
{
    uint8_t d[ES_SHA256_LEN];
    char hx[ES_SHA256_HEX_LEN];
    es_sha256(data ? data : "", len, d);
    es_hex(d, sizeof d, hx);
    return put_single(c, bucket, key, data, len, content_type ? content_type : guess_type(key),
                      hx, NULL, err);
}

typedef struct mp_ctx {
    es_s3_client *c;
    const char *bucket, *key, *upload_id, *path;
    int fd;
    int64_t size, part_size;
    char (*etags)[72];
    es_s3_bytes_fn bytes_cb;
    void *ud;
} mp_ctx;

#define PART_CHUNK (256 * 1024) /* what a part's hashing pass reads at a time */

/* One pass over a part of the file: its MD5 (to check the part's ETag) and
 * SHA-256 (the signed payload hash), reading PART_CHUNK bytes at a time. */
static es_status hash_part(const mp_ctx *m, int64_t off, int64_t n, uint8_t md5[16],
                           char sha_hex[ES_SHA256_HEX_LEN], es_error *err)
{
    char *buf = malloc(PART_CHUNK);
    es_hash_ctx *hm = NULL, *hs = NULL;
    es_status rc = buf ? ES_OK : es_error_set(err, ES_ERR_NOMEM, "out of memory");
    if (rc == ES_OK)
        rc = es_hash_new(ES_HASH_MD5, &hm, err);
    if (rc == ES_OK)
        rc = es_hash_new(ES_HASH_SHA256, &hs, err);
    for (int64_t got = 0; rc == ES_OK && got < n;) {
        size_t want = n - got < PART_CHUNK ? (size_t)(n - got) : PART_CHUNK;
        ssize_t k = pread(m->fd, buf, want, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = es_error_set(err, ES_ERR_IO, "cannot read %s at %lld: %s", m->path,
                              (long long)(off + got), k < 0 ? strerror(errno) : "file shrank");
            break;
        }
        es_hash_update(hm, buf, (size_t)k);
        es_hash_update(hs, buf, (size_t)k);
        got += k;
    }
    if (rc == ES_OK) {
        uint8_t d[ES_HASH_MAX_LEN];
        es_hash_final(hm, d);
        memcpy(md5, d, 16);
        es_hash_final(hs, d);
        es_hex(d, ES_SHA256_LEN, sha_hex);
    }
    es_hash_free(hm);
    es_hash_free(hs);
    free(buf);
    return rc;
}

static es_status put_part(void *vctx, int64_t i, int thread_index, es_error *err)
{
    (void)thread_index;
    mp_ctx *m = vctx;
    int64_t off = i * m->part_size;
    int64_t n = m->size - off < m->part_size ? m->size - off : m->part_size;
    uint8_t md5[16];
    char sha[ES_SHA256_HEX_LEN];
    es_status rc = hash_part(m, off, n, md5, sha, err);
    if (rc != ES_OK)
        return rc;
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)(i + 1));
    /* the body is streamed from the file by libcurl's read callback */
    s3_request r = {.op = "UploadPart", .method = "PUT", .bucket = m->bucket, .key = m->key,
                    .body_from_fd = 1, .body_fd = m->fd, .body_off = off,
                    .body_len = (size_t)n, .payload_sha256 = sha};
    r.query[r.nquery++] = (es_sigv4_kv){"partNumber", num};
    r.query[r.nquery++] = (es_sigv4_kv){"uploadId", m->upload_id};
    s3_response resp;
    rc = s3_perform(m->c, &r, &resp, err);
    if (rc == ES_OK) {
        char where[512];
        s3_url_for_msg(where, sizeof where, m->bucket, m->key);
        rc = check_etag("UploadPart", where, &resp, md5, err);
        if (rc == ES_OK && !resp.etag[0])
            rc = es_error_set(err, ES_ERR_FORMAT, "UploadPart %s part %s: no ETag in the reply",
                              where, num);
        if (rc == ES_OK)
            snprintf(m->etags[i], 72, "%s", resp.etag);
    }
    if (rc == ES_OK && m->bytes_cb)
        m->bytes_cb(m->ud, n);
    return rc;
}

static void abort_upload(es_s3_client *c, const char *bucket, const char *key, const char *id)
{
    s3_request r = {.op = "AbortMultipartUpload", .method = "DELETE", .bucket = bucket, .key = key};
    r.query[r.nquery++] = (es_sigv4_kv){"uploadId", id};
    s3_response resp;
    es_error e;
    if (s3_perform(c, &r, &resp, &e) != ES_OK)
        es_log_warn(c->log, "s3: could not abort the multipart upload (S3 keeps its parts "
                            "until a lifecycle rule removes them): %s", es_error_text(&e));
}

static es_status put_multipart(es_s3_client *c, const char *bucket, const char *key,
                               const char *path, int64_t size, const char *ctype,
                               const char *sha, es_s3_bytes_fn bytes_cb, void *ud,
                               char *etag_out, es_error *err)
{
    char where[512];
    s3_url_for_msg(where, sizeof where, bucket, key);
    es_buf body;
    es_buf_init(&body, 1 << 20);
    s3_request r = {.op = "CreateMultipartUpload", .method = "POST", .bucket = bucket, .key = key,
                    .out = &body};
    r.query[r.nquery++] = (es_sigv4_kv){"uploads", NULL};
    r.headers[r.nheaders++] = (es_sigv4_kv){"content-type", ctype};
    r.headers[r.nheaders++] = (es_sigv4_kv){"x-amz-meta-sha256", sha};
    s3_response resp;
    es_status rc = s3_perform(c, &r, &resp, err);
    char upload_id[1024];
    if (rc == ES_OK) {
        rc = es_s3_xml_find(body.data ? body.data : "", body.len, "UploadId", upload_id,
                            sizeof upload_id, err);
        if (rc == ES_OK && !upload_id[0])
            rc = es_error_set(err, ES_ERR_FORMAT, "empty UploadId");
        if (rc != ES_OK)
            es_error_prefix(err, "CreateMultipartUpload %s", where);
    }
    if (rc != ES_OK) {
        es_buf_free(&body);
        return rc;
    }
    int64_t psz = c->cfg.part_size;
    int64_t nparts = (size + psz - 1) / psz;
    if (nparts > 10000) { /* S3's limit: grow parts instead */
        psz = (size + 9999) / 10000;
        nparts = (size + psz - 1) / psz;
    }
    mp_ctx m = {.c = c, .bucket = bucket, .key = key, .upload_id = upload_id, .path = path,
                .size = size, .part_size = psz, .bytes_cb = bytes_cb, .ud = ud};
    m.etags = calloc((size_t)nparts, sizeof *m.etags);
    m.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (!m.etags)
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
    else if (m.fd < 0)
        rc = es_error_set(err, ES_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (rc == ES_OK) {
        es_log_debug(c->log, "s3: multipart %s: %lld parts of %lld bytes", where,
                     (long long)nparts, (long long)psz);
        rc = es_parallel_for(c->cfg.part_jobs, nparts, put_part, &m, err);
    }
    if (m.fd >= 0)
        close(m.fd);
    es_buf xml;
    es_buf_init(&xml, 0);
    if (rc == ES_OK) {
        rc = es_buf_printf(&xml, err, "<CompleteMultipartUpload>");
        for (int64_t i = 0; i < nparts && rc == ES_OK; i++)
            rc = es_buf_printf(&xml, err, "<Part><PartNumber>%lld</PartNumber><ETag>\"%s\"</ETag></Part>",
                               (long long)(i + 1), m.etags[i]);
        if (rc == ES_OK)
            rc = es_buf_printf(&xml, err, "</CompleteMultipartUpload>");
    }
    if (rc == ES_OK) {
        s3_request rc2 = {.op = "CompleteMultipartUpload", .method = "POST", .bucket = bucket,
                          .key = key, .body = xml.data, .body_len = xml.len, .out = &body};
        rc2.query[rc2.nquery++] = (es_sigv4_kv){"uploadId", upload_id};
        rc2.headers[rc2.nheaders++] = (es_sigv4_kv){"content-type", "application/xml"};
        es_buf_reset(&body);
        rc = s3_perform(c, &rc2, &resp, err);
        if (rc == ES_OK) {
            /* S3 may answer 200 and put the error in the body */
            char code[64], msg[256];
            if (es_s3_xml_parse_error(body.data, body.len, code, sizeof code, msg, sizeof msg)) {
                rc = es_error_set(err, es_s3_status_for(200, code),
                                  "CompleteMultipartUpload %s: %s: %s", where, code, msg);
            } else if (etag_out) {
                char e[72];
                if (es_s3_xml_find(body.data ? body.data : "", body.len, "ETag", e, sizeof e,
                                   NULL) == ES_OK) {
                    size_t el = strlen(e);
                    if (el >= 2 && e[0] == '"' && e[el - 1] == '"') {
                        memmove(e, e + 1, el - 2);
                        e[el - 2] = '\0';
                    }
                    snprintf(etag_out, 72, "%s", e);
                } else {
                    snprintf(etag_out, 72, "%s", resp.etag);
                }
            }
        }
    }
    if (rc != ES_OK)
        abort_upload(c, bucket, key, upload_id);
    es_buf_free(&xml);
    es_buf_free(&body);
    free(m.etags);
    return rc;
}

es_status es_s3_put_file(es_s3_client *c, const char *bucket, const char *key, const char *path,
                         const char *content_type, const char *sha256_hex,
                         es_s3_bytes_fn bytes_cb, void *ud, char *etag_out, es_error *err)
{
    int64_t size;
    es_status rc = es_file_size(path, &size, err);
    if (rc != ES_OK)
        return rc;
    const char *ctype = content_type ? content_type : guess_type(key);
    char sha[ES_SHA256_HEX_LEN];
    if (sha256_hex && strlen(sha256_hex) == 64) {
        snprintf(sha, sizeof sha, "%s", sha256_hex);
    } else {
        uint8_t d[ES_SHA256_LEN];
        rc = es_sha256_file(path, d, err);
        if (rc != ES_OK)
            return rc;
        es_hex(d, sizeof d, sha);
    }
    if (size > c->cfg.multipart_threshold)
        return put_multipart(c, bucket, key, path, size, ctype, sha, bytes_cb, ud, etag_out, err);
    char *data = NULL;
    size_t len = 0;
    rc = es_read_file(path, (size_t)c->cfg.multipart_threshold + 1, &data, &len, err);
    if (rc != ES_OK)
        return rc;
    rc = put_single(c, bucket, key, data, len, ctype, sha, etag_out, err);
    free(data);
    if (rc == ES_OK && bytes_cb)
        bytes_cb(ud, (int64_t)len);
    return rc;
}

/* ---- delete, buckets ----------------------------------------------------- */
es_status es_s3_delete(es_s3_client *c, const char *bucket, const char *key, es_error *err)
{
    s3_request r = {.op = "DeleteObject", .method = "DELETE", .bucket = bucket, .key = key};
    s3_response resp;
    es_status rc = s3_perform(c, &r, &resp, err);
    if (rc == ES_ERR_NOT_FOUND && strcmp(resp.code, "NoSuchKey") == 0)
        return ES_OK;
    return rc;
}

es_status es_s3_bucket_exists(es_s3_client *c, const char *bucket, es_error *err)
{
    s3_request r = {.op = "HeadBucket", .method = "HEAD", .bucket = bucket, .head = 1};
    s3_response resp;
    return s3_perform(c, &r, &resp, err);
}

es_status es_s3_create_bucket(es_s3_client *c, const char *bucket, int *created, es_error *err)
{
    if (created)
        *created = 0;
    es_error probe;
    es_status rc = es_s3_bucket_exists(c, bucket, &probe);
    if (rc == ES_OK)
        return ES_OK;
    if (rc != ES_ERR_NOT_FOUND) {
        if (err)
            *err = probe;
        return rc;
    }
    es_buf body;
    es_buf_init(&body, 0);
    if (strcmp(c->cfg.region, "us-east-1") != 0) {
        rc = es_buf_printf(&body, err,
                           "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                           "2006-03-01/\"><LocationConstraint>");
        if (rc == ES_OK)
            rc = es_s3_xml_escape(&body, c->cfg.region, err);
        if (rc == ES_OK)
            rc = es_buf_printf(&body, err, "</LocationConstraint></CreateBucketConfiguration>");
        if (rc != ES_OK) {
            es_buf_free(&body);
            return rc;
        }
    }
    s3_request r = {.op = "CreateBucket", .method = "PUT", .bucket = bucket, .body = body.data,
                    .body_len = body.len};
    s3_response resp;
    rc = s3_perform(c, &r, &resp, err);
    es_buf_free(&body);
    if (rc != ES_OK && strcmp(resp.code, "BucketAlreadyOwnedByYou") == 0)
        return ES_OK;
    if (rc == ES_OK && created)
        *created = 1;
    return rc;
}

es_status es_s3_block_public_access(es_s3_client *c, const char *bucket, es_error *err)
{
    static const char xml[] =
        "<PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls>"
        "<BlockPublicPolicy>true</BlockPublicPolicy>"
        "<RestrictPublicBuckets>true</RestrictPublicBuckets>"
        "</PublicAccessBlockConfiguration>";
    s3_request r = {.op = "PutPublicAccessBlock", .method = "PUT", .bucket = bucket, .body = xml,
                    .body_len = sizeof xml - 1};
    r.query[r.nquery++] = (es_sigv4_kv){"publicAccessBlock", NULL};
    r.headers[r.nheaders++] = (es_sigv4_kv){"content-type", "application/xml"};
    s3_response resp;
    return s3_perform(c, &r, &resp, err);
}

/* ---- presign --------------------------------------------------------------- */
es_status es_s3_presign(es_s3_client *c, const char *method, const char *bucket, const char *key,
                        int64_t expires_s, char **url, es_error *err)
{
    *url = NULL;
    if (!c->cfg.access_key)
        return es_error_set(err, ES_ERR_CONFIG, "presigning s3://%s/%s needs credentials", bucket,
                            key ? key : "");
    char host[512];
    es_buf path, u;
    es_buf_init(&path, 8192);
    es_buf_init(&u, 16384);
    es_status rc;
    if (s3_use_vhost(c, bucket)) {
        snprintf(host, sizeof host, "%s.%s", bucket, c->authority);
        rc = es_buf_printf(&path, err, "/%s", key ? key : "");
    } else {
        snprintf(host, sizeof host, "%s", c->authority);
        rc = es_buf_printf(&path, err, "/%s/%s", bucket, key ? key : "");
    }
    char date[17];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    es_sigv4_kv h[] = {{"host", host}};
    char *query = NULL;
    if (rc == ES_OK) {
        es_sigv4_request r = {.method = method, .path = path.data, .headers = h, .nheaders = 1,
                              .payload_hash = "UNSIGNED-PAYLOAD", .amz_date = date,
                              .region = c->cfg.region, .service = "s3",
                              .access_key = c->cfg.access_key, .secret_key = c->cfg.secret_key};
        rc = es_sigv4_presign(&r, expires_s, c->cfg.session_token, &query, NULL, err);
    }
    if (rc == ES_OK)
        rc = es_buf_printf(&u, err, "%s://%s", c->scheme, host);
    if (rc == ES_OK)
        rc = es_sigv4_uri_encode(&u, path.data, path.len, 1, err);
    if (rc == ES_OK)
        rc = es_buf_printf(&u, err, "?%s", query);
    if (rc == ES_OK)
        *url = es_buf_steal(&u, NULL);
    free(query);
    es_buf_free(&path);
    es_buf_free(&u);
    return rc;
}
