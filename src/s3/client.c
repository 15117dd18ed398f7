/*
 * client.c: the S3 client's engine. One signed HTTP request at a time per
 * libcurl easy handle, handles pooled so connections are reused across
 * threads, retries with exponential backoff and full jitter, and errors that
 * name the operation, the object, the HTTP status and S3's code. Nothing
 * here logs or returns a secret: Authorization headers and the secret key
 * stay inside the request being built.
 */
#include "internal.h"
#include "xml.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- retry policy (pure) -------------------------------------------------- */
int es_s3_should_retry(long http_status, const char *code, int transport)
{
    if (transport)
        return 1;
    if (http_status == 501 || (code && strcmp(code, "NotImplemented") == 0))
        return 0; /* a missing feature does not appear on retry */
    if (http_status >= 500 || http_status == 429 || http_status == 408)
        return 1;
    if (code && (strcmp(code, "SlowDown") == 0 || strcmp(code, "Throttling") == 0 ||
                 strcmp(code, "ThrottlingException") == 0 ||
                 strcmp(code, "RequestTimeout") == 0 || strcmp(code, "InternalError") == 0 ||
                 strcmp(code, "ServiceUnavailable") == 0 ||
                 strcmp(code, "RequestTimeTooSkewed") == 0))
        return 1;
    return 0;
}

double es_s3_backoff_s(double base, double cap, int attempt, double u)
{
    if (attempt < 1)
        attempt = 1;
    double d = base;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    if (u < 0)
        u = 0;
    if (u >= 1)
        u = 0.999999;
    return u * d;
}

es_status es_s3_status_for(long http_status, const char *code)
{
    static const char *const auth_codes[] = {"SignatureDoesNotMatch", "InvalidAccessKeyId",
                                             "AccessDenied", "ExpiredToken", "InvalidToken",
                                             "TokenRefreshRequired", "AuthorizationHeaderMalformed"};
    if (code && *code) {
        for (size_t i = 0; i < sizeof auth_codes / sizeof auth_codes[0]; i++)
            if (strcmp(code, auth_codes[i]) == 0)
                return ES_ERR_AUTH;
        if (strcmp(code, "NoSuchKey") == 0 || strcmp(code, "NoSuchBucket") == 0 ||
            strcmp(code, "NoSuchUpload") == 0)
            return ES_ERR_NOT_FOUND;
        if (strcmp(code, "NotImplemented") == 0)
            return ES_ERR_UNSUPPORTED;
    }
    if (http_status == 401 || http_status == 403)
        return ES_ERR_AUTH;
    if (http_status == 404)
        return ES_ERR_NOT_FOUND;
    if (http_status == 501)
        return ES_ERR_UNSUPPORTED;
    return ES_ERR_REMOTE;
}

void s3_url_for_msg(char *out, size_t n, const char *bucket, const char *key)
{
    if (!bucket)
        snprintf(out, n, "s3://");
    else if (!key)
        snprintf(out, n, "s3://%s", bucket);
    else
        snprintf(out, n, "s3://%s/%.*s", bucket, 400, key);
}

/* ---- client ---------------------------------------------------------------- */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const es_s3_config *es_s3_client_config(const es_s3_client *c)
{
    return &c->cfg;
}

static char *dup_opt(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

es_status es_s3_client_new(const es_s3_config *cfg, const es_log *log, es_s3_client **out,
                           es_error *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return es_error_set(err, ES_ERR_NETWORK, "cannot initialise libcurl: %s",
                            curl_easy_strerror(curl_init_rc));
    if (!cfg || !cfg->endpoint || !cfg->region)
        return es_error_set(err, ES_ERR_CONFIG, "S3 configuration without endpoint or region");
    if (!!cfg->access_key != !!cfg->secret_key)
        return es_error_set(err, ES_ERR_CONFIG, "S3 credentials need both access key and secret");
    es_s3_client *c = calloc(1, sizeof *c);
    if (!c)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    int fail = 0;
    c->cfg = *cfg;
    c->cfg.access_key = dup_opt(cfg->access_key, &fail);
    c->cfg.secret_key = dup_opt(cfg->secret_key, &fail);
    c->cfg.session_token = dup_opt(cfg->session_token, &fail);
    c->cfg.region = dup_opt(cfg->region, &fail);
    c->cfg.endpoint = dup_opt(cfg->endpoint, &fail);
    c->cfg.bucket = dup_opt(cfg->bucket ? cfg->bucket : ES_S3_DEFAULT_BUCKET, &fail);
    c->log = log;
    if (fail) {
        es_s3_config_clear(&c->cfg);
        free(c);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    /* sane bounds whatever the caller filled in */
    if (c->cfg.max_attempts < 1)
        c->cfg.max_attempts = 1;
    if (c->cfg.max_attempts > 20)
        c->cfg.max_attempts = 20;
    if (c->cfg.part_size < 5 * 1024 * 1024)
        c->cfg.part_size = 5 * 1024 * 1024;
    if (c->cfg.multipart_threshold < c->cfg.part_size)
        c->cfg.multipart_threshold = c->cfg.part_size;
    if (c->cfg.part_jobs < 1)
        c->cfg.part_jobs = 1;
    if (c->cfg.connect_timeout_s <= 0)
        c->cfg.connect_timeout_s = 10;
    if (c->cfg.stall_timeout_s <= 0)
        c->cfg.stall_timeout_s = 30;
    if (c->cfg.backoff_max_s <= 0)
        c->cfg.backoff_max_s = 10;
    if (c->cfg.backoff_base_s < 0)
        c->cfg.backoff_base_s = 0;

    const char *ep = cfg->endpoint; /* the caller's copy: still valid on every error path */
    const char *sep = strstr(ep, "://");
    if (!sep || (size_t)(sep - ep) >= sizeof c->scheme || !sep[3] ||
        strlen(sep + 3) >= sizeof c->authority || strchr(sep + 3, '/') ||
        !((sep - ep == 4 && strncmp(ep, "http", 4) == 0) ||
          (sep - ep == 5 && strncmp(ep, "https", 5) == 0))) {
        es_s3_config_clear(&c->cfg);
        free(c);
        return es_error_set(err, ES_ERR_CONFIG,
                            "S3 endpoint '%s' is not http(s)://host[:port]", ep);
    }
    memcpy(c->scheme, ep, (size_t)(sep - ep));
    c->scheme[sep - ep] = '\0';
    snprintf(c->authority, sizeof c->authority, "%s", sep + 3);
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        es_s3_config_clear(&c->cfg);
        free(c);
        return es_error_set(err, ES_ERR_INTERNAL, "cannot create a mutex");
    }
    *out = c;
    return ES_OK;
}

void es_s3_client_free(es_s3_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nidle; i++)
        curl_easy_cleanup(c->idle[i]);
    if (c->scheme[0])
        pthread_mutex_destroy(&c->mu);
    es_s3_config_clear(&c->cfg);
    free(c);
}

static CURL *acquire(es_s3_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->nidle > 0)
        h = c->idle[--c->nidle];
    pthread_mutex_unlock(&c->mu);
    if (h) {
        curl_easy_reset(h); /* keeps the connection cache */
        return h;
    }
    return curl_easy_init();
}

static void release(es_s3_client *c, CURL *h, int reusable)
{
    if (!h)
        return;
    if (reusable) {
        pthread_mutex_lock(&c->mu);
        if (c->nidle < S3_POOL_MAX) {
            c->idle[c->nidle++] = h;
            h = NULL;
        }
        pthread_mutex_unlock(&c->mu);
    }
    if (h)
        curl_easy_cleanup(h);
}

/* ---- one attempt --------------------------------------------------------------- */
typedef struct xfer {
    s3_request *r;
    s3_response *resp;
    es_buf errbody;     /* error replies */
    const char *body;
    size_t body_pos;
    int64_t range_start;/* -1: no Range sent */
    int first_write;
    es_status sink_rc;  /* a local failure inside a callback (disk full, cap) */
    es_error sink_err;
} xfer;

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    s3_response *resp = x->resp;
    if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* a new response (after 100-continue or a redirect): start over */
        const char *sp = memchr(buf, ' ', len);
        resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        resp->etag[0] = resp->sha256[0] = resp->content_type[0] = resp->bucket_region[0] = '\0';
        resp->content_length = -1;
        resp->total_size = -1;
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (!colon)
        return len;
    size_t nlen = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    char val[512];
    if (vlen >= sizeof val)
        vlen = sizeof val - 1;
    memcpy(val, v, vlen);
    val[vlen] = '\0';
#define HDR_IS(name) (nlen == sizeof(name) - 1 && strncasecmp(buf, name, nlen) == 0)
    if (HDR_IS("etag")) {
        const char *e = val;
        size_t el = strlen(e);
        if (el >= 2 && e[0] == '"' && e[el - 1] == '"') {
            e++;
            el -= 2;
        }
        if (el >= sizeof resp->etag)
            el = sizeof resp->etag - 1;
        memcpy(resp->etag, e, el);
        resp->etag[el] = '\0';
    } else if (HDR_IS("content-length")) {
        char *end;
        long long cl = strtoll(val, &end, 10);
        resp->content_length = (end != val && cl >= 0) ? cl : -1;
    } else if (HDR_IS("content-range")) {
        const char *slash = strrchr(val, '/');
        if (slash && slash[1] != '*')
            resp->total_size = strtoll(slash + 1, NULL, 10);
        /* "bytes a-b/t": a must be where we asked to start */
        const char *sp = strchr(val, ' ');
        if (sp && x->range_start >= 0 && strtoll(sp + 1, NULL, 10) != x->range_start) {
            x->sink_rc = es_error_set(&x->sink_err, ES_ERR_FORMAT,
                                      "server answered range '%s' to bytes=%lld-", val,
                                      (long long)x->range_start);
            return 0;
        }
    } else if (HDR_IS("x-amz-meta-sha256")) {
        snprintf(resp->sha256, sizeof resp->sha256, "%s", val);
    } else if (HDR_IS("x-amz-bucket-region")) {
        snprintf(resp->bucket_region, sizeof resp->bucket_region, "%s", val);
    } else if (HDR_IS("content-type")) {
        snprintf(resp->content_type, sizeof resp->content_type, "%s", val);
    }
#undef HDR_IS
    return len;
}

void s3_out_hash_reset(s3_request *r)
{
    for (int i = 0; i < 2; i++)
        if (r->out_hash[i])
            es_hash_reset(r->out_hash[i]);
}

static size_t on_write(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    s3_request *r = x->r;
    if (x->resp->status < 200 || x->resp->status >= 300) {
        /* an error document: keep the first 64 KiB, drop the rest */
        size_t room = S3_ERR_BODY_MAX - x->errbody.len;
        if (room)
            (void)es_buf_append(&x->errbody, buf, len < room ? len : room, NULL);
        return len;
    }
    if (r->out_file) {
        if (x->first_write) {
            x->first_write = 0;
            if (x->range_start > 0 && x->resp->status == 200) {
                /* the server ignored our Range: start the file over */
                if (fflush(r->out_file) != 0 || ftruncate(fileno(r->out_file), 0) != 0 ||
                    fseeko(r->out_file, 0, SEEK_SET) != 0) {
                    x->sink_rc = es_error_set(&x->sink_err, ES_ERR_IO,
                                              "cannot restart the download file: %s",
                                              strerror(errno));
                    return 0;
                }
                r->out_pos = 0;
                s3_out_hash_reset(r);
            }
        }
        if (fwrite(buf, 1, len, r->out_file) != len) {
            x->sink_rc = es_error_set(&x->sink_err, ES_ERR_IO, "cannot write the download: %s",
                                      strerror(errno));
            return 0;
        }
        r->out_pos += (int64_t)len;
        for (int i = 0; i < 2; i++)
            if (r->out_hash[i])
                es_hash_update(r->out_hash[i], buf, len);
        if (r->bytes_cb)
            r->bytes_cb(r->bytes_ud, (int64_t)len);
        return len;
    }
    if (r->out) {
        es_status rc = es_buf_append(r->out, buf, len, &x->sink_err);
        if (rc != ES_OK) {
            x->sink_rc = rc;
            return 0;
        }
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    s3_request *r = x->r;
    size_t room = size * n;
    size_t left = r->body_len - x->body_pos;
    size_t k = left < room ? left : room;
    if (!k)
        return 0;
    if (r->body_from_fd) {
        /* straight from the file at the part's offset: no copy of the part in memory */
        size_t got = 0;
        while (got < k) {
            ssize_t rd = pread(r->body_fd, buf + got, k - got,
                               (off_t)(r->body_off + (int64_t)(x->body_pos + got)));
            if (rd < 0 && errno == EINTR)
                continue;
            if (rd <= 0) {
                x->sink_rc = es_error_set(&x->sink_err, ES_ERR_IO, "cannot read the body at %lld: %s",
                                          (long long)(r->body_off + (int64_t)(x->body_pos + got)),
                                          rd < 0 ? strerror(errno) : "file shrank");
                return CURL_READFUNC_ABORT;
            }
            got += (size_t)rd;
        }
    } else {
        memcpy(buf, x->body + x->body_pos, k);
    }
    x->body_pos += k;
    return k;
}

/* libcurl rewinds the body when it must resend it (a reused connection that
 * the server closed, an early error answer): a file body is read again from
 * the part's offset, a memory body from its start. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    xfer *x = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->r->body_len)
        return CURL_SEEKFUNC_FAIL;
    x->body_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Build "https://host/path?query" with the same encoding the signer uses. */
static es_status build_url(const es_s3_client *c, const s3_request *r, const char *host,
                           const char *path, es_buf *url, es_error *err)
{
    es_status rc = es_buf_printf(url, err, "%s://%s", c->scheme, host);
    if (rc == ES_OK)
        rc = es_sigv4_uri_encode(url, path, strlen(path), 1, err);
    for (size_t i = 0; i < r->nquery && rc == ES_OK; i++) {
        rc = es_buf_append(url, i ? "&" : "?", 1, err);
        if (rc == ES_OK)
            rc = es_sigv4_uri_encode(url, r->query[i].name, strlen(r->query[i].name), 0, err);
        if (rc == ES_OK && r->query[i].value) {
            rc = es_buf_append(url, "=", 1, err);
            if (rc == ES_OK)
                rc = es_sigv4_uri_encode(url, r->query[i].value, strlen(r->query[i].value), 0,
                                         err);
        }
    }
    return rc;
}

/* Virtual-host addressing unless path-style is asked for, or the bucket name
 * has a dot (bucket.with.dots.s3.amazonaws.com fails the TLS wildcard). */
int s3_use_vhost(const es_s3_client *c, const char *bucket)
{
    return !c->cfg.path_style && !strchr(bucket, '.');
}

/* Host and raw path for bucket/key under the client's addressing style. */
static es_status host_and_path(const es_s3_client *c, const char *authority, const char *bucket,
                               const char *key, char *host, size_t hn, es_buf *path, es_error *err)
{
    es_status rc;
    if (bucket && s3_use_vhost(c, bucket)) {
        snprintf(host, hn, "%s.%s", bucket, authority);
        rc = es_buf_printf(path, err, "/%s", key ? key : "");
    } else {
        snprintf(host, hn, "%s", authority);
        if (!bucket)
            rc = es_buf_printf(path, err, "/");
        else if (!key)
            rc = es_buf_printf(path, err, "/%s", bucket);
        else
            rc = es_buf_printf(path, err, "/%s/%s", bucket, key);
    }
    return rc;
}

static void amz_now(char out[17])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

typedef enum attempt_result { ATTEMPT_DONE, ATTEMPT_RETRY, ATTEMPT_FAIL } attempt_result;

/* Where a request goes and which region it is signed for. */
typedef struct s3_route {
    char region[64];
    char authority[256];
} s3_route;

static attempt_result attempt(es_s3_client *c, const s3_route *route, s3_request *r,
                              s3_response *resp, es_status *rc_out, es_error *err, int *transport)
{
    *transport = 0;
    char host[512];
    es_buf path, url;
    es_buf_init(&path, 8192);
    es_buf_init(&url, 16384);
    xfer x = {.r = r, .resp = resp, .body = r->body, .range_start = -1, .first_write = 1};
    es_buf_init(&x.errbody, S3_ERR_BODY_MAX);
    struct curl_slist *hl = NULL;
    es_sigv4_result sig = {0};
    CURL *h = NULL;
    attempt_result ar = ATTEMPT_FAIL;
    es_status rc = host_and_path(c, route->authority, r->bucket, r->key, host, sizeof host, &path,
                                 err);
    if (rc == ES_OK)
        rc = build_url(c, r, host, path.data, &url, err);
    if (rc != ES_OK)
        goto out;

    /* payload hash over the body: given for a file body (hashed while it was
     * read once), computed here for a memory one */
    char payload[ES_SHA256_HEX_LEN];
    if (r->payload_sha256) {
        snprintf(payload, sizeof payload, "%s", r->payload_sha256);
    } else {
        uint8_t dig[ES_SHA256_LEN];
        es_sha256(r->body ? r->body : "", r->body ? r->body_len : 0, dig);
        es_hex(dig, sizeof dig, payload);
    }
    char date[17];
    amz_now(date);
    char range[64] = "";
    if (r->out_file && r->out_pos > 0) {
        x.range_start = r->out_pos;
        snprintf(range, sizeof range, "bytes=%lld-", (long long)r->out_pos);
    }

    es_sigv4_kv hdrs[16];
    size_t nh = 0;
    hdrs[nh++] = (es_sigv4_kv){"host", host};
    hdrs[nh++] = (es_sigv4_kv){"x-amz-content-sha256", payload};
    hdrs[nh++] = (es_sigv4_kv){"x-amz-date", date};
    if (c->cfg.session_token)
        hdrs[nh++] = (es_sigv4_kv){"x-amz-security-token", c->cfg.session_token};
    if (range[0])
        hdrs[nh++] = (es_sigv4_kv){"range", range};
    for (size_t i = 0; i < r->nheaders && nh < 16; i++)
        hdrs[nh++] = r->headers[i];

    char line[9000];
    for (size_t i = 0; i < nh; i++) {
        snprintf(line, sizeof line, "%s: %s", hdrs[i].name, hdrs[i].value ? hdrs[i].value : "");
        struct curl_slist *n2 = curl_slist_append(hl, line);
        if (!n2) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto out;
        }
        hl = n2;
    }
    if (c->cfg.access_key) {
        es_sigv4_request sr = {.method = r->method, .path = path.data, .query = r->query,
                               .nquery = r->nquery, .headers = hdrs, .nheaders = nh,
                               .payload_hash = payload, .amz_date = date,
                               .region = route->region, .service = "s3",
                               .access_key = c->cfg.access_key,
                               .secret_key = c->cfg.secret_key};
        rc = es_sigv4_sign(&sr, &sig, err);
        if (rc != ES_OK)
            goto out;
        snprintf(line, sizeof line, "Authorization: %s", sig.authorization);
        struct curl_slist *n2 = curl_slist_append(hl, line);
        memset(line, 0, sizeof line);
        if (!n2) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto out;
        }
        hl = n2;
    }
    /* no 100-continue round trip; no content negotiation */
    struct curl_slist *n3 = curl_slist_append(hl, "Expect:");
    if (!n3) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto out;
    }
    hl = n3;

    h = acquire(c);
    if (!h) {
        rc = es_error_set(err, ES_ERR_NOMEM, "cannot create a libcurl handle");
        goto out;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* S3 keys may hold "..": never squash */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->cfg.connect_timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(c->cfg.stall_timeout_s + 0.5));
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    if (c->cfg.max_bytes_per_s > 0) {
        curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)c->cfg.max_bytes_per_s);
        curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)c->cfg.max_bytes_per_s);
    }
    if (r->head) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (r->body || r->body_from_fd || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
        if (strcmp(r->method, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }

    resp->status = 0;
    resp->code[0] = resp->message[0] = '\0';
    double t0 = es_monotonic_s();
    CURLcode cc = curl_easy_perform(h);
    double dt = es_monotonic_s() - t0;
    if (r->out_file)
        fflush(r->out_file);
    char where[512];
    s3_url_for_msg(where, sizeof where, r->bucket, r->key);
    es_log_debug(c->log, "s3: %s %s%s%s -> %ld (%.3f s, attempt %d)", r->op, where,
                 range[0] ? " " : "", range, resp->status, dt, resp->attempts);

    if (x.sink_rc != ES_OK) {
        /* our side failed (disk, memory, a bad Content-Range): no retry */
        rc = es_error_set(err, x.sink_rc, "%s %s: %s", r->op, where, es_error_text(&x.sink_err));
        ar = ATTEMPT_FAIL;
        goto out;
    }
    if (cc != CURLE_OK) {
        *transport = 1;
        es_status code = (cc == CURLE_OPERATION_TIMEDOUT) ? ES_ERR_TIMEOUT : ES_ERR_NETWORK;
        int transient = cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT ||
                        cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
                        cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
                        cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_SSL_CONNECT_ERROR ||
                        cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM ||
                        cc == CURLE_WEIRD_SERVER_REPLY;
        rc = es_error_set(err, code, "%s %s: %s%s%s", r->op, where, curl_easy_strerror(cc),
                          curl_err[0] ? ": " : "", curl_err);
        ar = transient ? ATTEMPT_RETRY : ATTEMPT_FAIL;
        goto out;
    }
    if (resp->status >= 200 && resp->status < 300) {
        rc = ES_OK;
        ar = ATTEMPT_DONE;
        goto out;
    }
    if (resp->status == 416 && x.range_start > 0) {
        /* our partial file is not a prefix of this object: start over */
        if (fflush(r->out_file) != 0 || ftruncate(fileno(r->out_file), 0) != 0 ||
            fseeko(r->out_file, 0, SEEK_SET) != 0) {
            rc = es_error_set(err, ES_ERR_IO, "%s %s: cannot restart the download: %s", r->op,
                              where, strerror(errno));
            goto out;
        }
        r->out_pos = 0;
        s3_out_hash_reset(r);
        rc = es_error_set(err, ES_ERR_REMOTE, "%s %s: HTTP 416 for a resumed range", r->op, where);
        ar = ATTEMPT_RETRY;
        goto out;
    }
    es_s3_xml_parse_error(x.errbody.data, x.errbody.len, resp->code, sizeof resp->code,
                          resp->message, sizeof resp->message);
    char hint[160] = "";
    if (resp->bucket_region[0] && strcmp(resp->bucket_region, route->region) != 0)
        snprintf(hint, sizeof hint, " (the bucket is in %s, not %s: set AWS_REGION=%s)",
                 resp->bucket_region, route->region, resp->bucket_region);
    rc = es_error_set(err, es_s3_status_for(resp->status, resp->code), "%s %s: HTTP %ld%s%s%s%s%s",
                      r->op, where, resp->status, resp->code[0] ? " " : "", resp->code,
                      resp->message[0] ? ": " : "", resp->message, hint);
    ar = es_s3_should_retry(resp->status, resp->code, 0) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
out:
    if (h)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    release(c, h, 1); /* curl drops dead connections from its cache itself */
    curl_slist_free_all(hl);
    es_sigv4_result_free(&sig);
    es_buf_free(&x.errbody);
    es_buf_free(&path);
    es_buf_free(&url);
    *rc_out = rc;
    return ar;
}

/* A region name as S3 writes them ("eu-west-1"): safe to put in a host name. */
static int region_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* The route for region: the client's endpoint, except that AWS's own regional
 * endpoint (s3.REGION.amazonaws.com, which the config derives from the region)
 * follows the region. Other endpoints (S3-compatible stores) are kept. */
static void route_set(const es_s3_client *c, const char *region, s3_route *rt)
{
    snprintf(rt->region, sizeof rt->region, "%s", region);
    char aws_host[128];
    snprintf(aws_host, sizeof aws_host, "s3.%s.amazonaws.com", c->cfg.region);
    if (strcmp(c->authority, aws_host) == 0 || strcmp(c->authority, "s3.amazonaws.com") == 0)
        snprintf(rt->authority, sizeof rt->authority, "s3.%s.amazonaws.com", region);
    else
        snprintf(rt->authority, sizeof rt->authority, "%s", c->authority);
}

static void route_for(es_s3_client *c, const char *bucket, s3_route *rt)
{
    char region[64] = "";
    if (bucket) {
        pthread_mutex_lock(&c->mu);
        if (c->moved_bucket[0] && strcmp(c->moved_bucket, bucket) == 0)
            snprintf(region, sizeof region, "%s", c->moved_region);
        pthread_mutex_unlock(&c->mu);
    }
    route_set(c, region[0] ? region : c->cfg.region, rt);
}

/* S3's "this bucket is in another region" answers: 301 PermanentRedirect
 * (HEAD: a bare 301) or 400 AuthorizationHeaderMalformed, with
 * x-amz-bucket-region naming the bucket's region. */
static int wrong_region(const s3_response *resp, const s3_route *rt)
{
    if (!resp->bucket_region[0] || strcmp(resp->bucket_region, rt->region) == 0 ||
        !region_ok(resp->bucket_region))
        return 0;
    if (resp->status == 301)
        return !resp->code[0] || strcmp(resp->code, "PermanentRedirect") == 0;
    return resp->status == 400 && strcmp(resp->code, "AuthorizationHeaderMalformed") == 0;
}

es_status s3_perform(es_s3_client *c, s3_request *r, s3_response *resp, es_error *err)
{
    memset(resp, 0, sizeof *resp);
    resp->content_length = resp->total_size = -1;
    es_rng rng;
    /* jitter only needs to differ between clients and threads */
    uint64_t seed = (uint64_t)(es_monotonic_s() * 1e9) ^ (uint64_t)(uintptr_t)r;
    es_rng_init(&rng, seed, NULL, 0, "s3-backoff");
    es_status rc = ES_OK;
    s3_route route;
    route_for(c, r->bucket, &route);
    int redirected = 0;
again:
    for (int a = 1; a <= c->cfg.max_attempts; a++) {
        resp->attempts = a;
        if (r->out && !r->out_file)
            es_buf_reset(r->out); /* a retried reply replaces the partial one */
        int transport = 0;
        attempt_result ar = attempt(c, &route, r, resp, &rc, err, &transport);
        if (ar == ATTEMPT_DONE)
            return ES_OK;
        if (ar == ATTEMPT_FAIL) {
            if (!redirected && r->bucket && wrong_region(resp, &route)) {
                /* follow once: sign for the bucket's region (and remember it for
                 * the bucket's next requests); a second redirect is an error */
                redirected = 1;
                int first = 0;
                pthread_mutex_lock(&c->mu);
                if (strcmp(c->moved_bucket, r->bucket) != 0 ||
                    strcmp(c->moved_region, resp->bucket_region) != 0) {
                    snprintf(c->moved_bucket, sizeof c->moved_bucket, "%s", r->bucket);
                    snprintf(c->moved_region, sizeof c->moved_region, "%s", resp->bucket_region);
                    first = 1;
                }
                pthread_mutex_unlock(&c->mu);
                if (first)
                    es_log_warn(c->log, "s3: bucket %s is in region %s, not %s: following S3's "
                                        "redirect (set AWS_REGION=%s to avoid it)",
                                r->bucket, resp->bucket_region, route.region,
                                resp->bucket_region);
                route_set(c, resp->bucket_region, &route);
                goto again;
            }
            break;
        }
        if (r->out_file && !r->resumable)
            break; /* cannot resume into this sink */
        if (a == c->cfg.max_attempts)
            break;
        double wait = es_s3_backoff_s(c->cfg.backoff_base_s, c->cfg.backoff_max_s, a,
                                      es_rng_uniform(&rng));
        es_log_info(c->log, "s3: retrying in %.2f s (attempt %d of %d): %s", wait, a + 1,
                    c->cfg.max_attempts, es_error_text(err));
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    if (resp->attempts > 1 && err) {
        char msg[ES_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        es_error_set(err, rc, "%s (after %d attempts)", msg, resp->attempts);
    }
    return rc;
}
