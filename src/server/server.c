/*
 * server.c: the HTTP front of `ecosight serve` on libmicrohttpd.
 *
 * libmicrohttpd runs an epoll event loop per worker thread (a thread pool),
 * so a slow client (slowloris) costs a socket and a little memory, never a
 * thread; idle connections time out. Each request gets an es_req on its
 * first callback; its body is streamed into capped buffers (a multipart
 * parser for uploads, a 64 KiB buffer for JSON), so an oversized body is
 * refused while it arrives, not after it was stored. Errors found while the
 * body streams are remembered and answered once it ends; a body that lies
 * about its size beyond the cap makes us drop the connection.
 *
 * The completion callback records metrics and writes the access-log line.
 */
#include "internal.h"

#include "dashboard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

es_server_config es_server_default_config(void)
{
    es_server_config c;
    memset(&c, 0, sizeof c);
    c.host = NULL;
    c.port = 8000;
    c.models_dir = "models";
    c.data_dir = "extracted_audio";
    c.threads = 0;
    c.max_upload_bytes = 25u * 1024 * 1024;
    c.cors_origins = "*";
    c.connection_timeout_s = 30;
    c.max_connections = 1024;
    /* One address holding slow connections must not take every slot; a
     * browser opens about 6, so 64 leaves room for offices behind one NAT. */
    c.max_connections_per_ip = 64;
    c.retrain_per_file = -2;
    return c;
}

/* ------------------------------------------------------------------------ */
/* Responses                                                                */

static int origin_allowed(const es_server *s, const char *origin)
{
    if (!origin[0] || !s->cors || !s->cors[0])
        return 0;
    size_t ol = strlen(origin);
    const char *p = s->cors;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        if ((n == 1 && p[0] == '*') || (n == ol && strncasecmp(p, origin, n) == 0))
            return 1;
        p = e;
    }
    return 0;
}

static enum MHD_Result queue(es_req *q, struct MHD_Connection *c, int status,
                             struct MHD_Response *r, const char *ctype)
{
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (origin_allowed(q->srv, q->origin)) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", q->origin);
        MHD_add_response_header(r, "Vary", "Origin");
    }
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    if (ok == MHD_YES) {
        q->status = status;
        q->queued = 1;
    }
    return ok;
}

enum MHD_Result es_srv_raw(es_req *q, struct MHD_Connection *c, int status, const char *ctype,
                           const void *body, size_t len, int is_static)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)body, is_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
    return queue(q, c, status, r, ctype);
}

enum MHD_Result es_srv_json(es_req *q, struct MHD_Connection *c, int status, cJSON *doc)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) {
        static const char oom[] = "{\"detail\":\"out of memory\"}";
        return es_srv_raw(q, c, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", oom,
                          sizeof oom - 1, 1);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r)
        free(text);
    return queue(q, c, status, r, "application/json");
}

enum MHD_Result es_srv_error(es_req *q, struct MHD_Connection *c, int status, const char *fmt,
                             ...)
{
    char msg[ES_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *doc = cJSON_CreateObject();
    if (doc)
        cJSON_AddStringToObject(doc, "detail", msg);
    return es_srv_json(q, c, status, doc);
}

/* ------------------------------------------------------------------------ */
/* Routing                                                                  */

typedef struct route_def {
    const char *path;
    const char *method;
    es_route route;
    int body;
    int auth; /* needs the bearer token when one is configured */
} route_def;

static const route_def ROUTES[] = {
    {"/", "GET", ES_ROUTE_ROOT, ES_BODY_NONE, 0},
    {"/health", "GET", ES_ROUTE_HEALTH, ES_BODY_NONE, 0},
    {"/status", "GET", ES_ROUTE_STATUS, ES_BODY_NONE, 0},
    {"/predict", "POST", ES_ROUTE_PREDICT, ES_BODY_MULTIPART, 0},
    {"/upload", "POST", ES_ROUTE_UPLOAD, ES_BODY_MULTIPART, 1},
    {"/retrain", "POST", ES_ROUTE_RETRAIN, ES_BODY_JSON, 1},
    {"/retrain/status", "GET", ES_ROUTE_RETRAIN_STATUS, ES_BODY_NONE, 0},
    {"/metrics", "GET", ES_ROUTE_METRICS, ES_BODY_NONE, 0},
    {"/training-history", "GET", ES_ROUTE_TRAINING_HISTORY, ES_BODY_NONE, 0},
    {"/models", "GET", ES_ROUTE_MODELS, ES_BODY_NONE, 0},
    {"/models/rollback", "POST", ES_ROUTE_ROLLBACK, ES_BODY_JSON, 1},
    {"/metrics/prometheus", "GET", ES_ROUTE_PROMETHEUS, ES_BODY_NONE, 0},
    {"/openapi.json", "GET", ES_ROUTE_OPENAPI, ES_BODY_NONE, 0},
};
#define NROUTES (sizeof ROUTES / sizeof ROUTES[0])

/* Exact path match, ignoring one trailing slash ("/health/"). */
static int path_is(const char *url, const char *path)
{
    size_t n = strlen(path);
    if (strncmp(url, path, n) != 0)
        return 0;
    return url[n] == '\0' || (url[n] == '/' && url[n + 1] == '\0' && n > 1);
}

/* ------------------------------------------------------------------------ */
/* Multipart callbacks: route the parts into capped buffers.               */

static void req_fail(es_req *q, int status, const char *fmt, ...) ES_PRINTF(3, 4);
static void req_fail(es_req *q, int status, const char *fmt, ...)
{
    if (q->err_status)
        return; /* keep the first error */
    q->err_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->err_detail, sizeof q->err_detail, fmt, ap);
    va_end(ap);
}

static int mp_begin(void *ud, const es_mp_part *p)
{
    es_req *q = ud;
    q->field = 0;
    if (strcmp(p->name, "file") == 0) {
        if (q->have_file) {
            req_fail(q, 422, "more than one 'file' field");
            return 1;
        }
        q->field = 1;
        q->have_file = 1;
        snprintf(q->filename, sizeof q->filename, "%s", p->filename);
    } else if (strcmp(p->name, "class_name") == 0 && q->route == ES_ROUTE_UPLOAD) {
        q->field = 2;
        q->have_class = 1;
        es_buf_reset(&q->class_name);
    }
    return 0;
}

static int mp_data(void *ud, const char *d, size_t n)
{
    es_req *q = ud;
    es_error err;
    if (q->field == 1 && es_buf_append(&q->file, d, n, &err) != ES_OK) {
        req_fail(q, 413, "the file is larger than the upload limit of %zu bytes",
                 q->srv->cfg.max_upload_bytes);
        return 1;
    }
    if (q->field == 2 && es_buf_append(&q->class_name, d, n, &err) != ES_OK) {
        req_fail(q, 422, "class_name is longer than %d bytes", ES_SRV_FIELD_MAX);
        return 1;
    }
    return 0;
}

static int mp_end(void *ud)
{
    es_req *q = ud;
    q->field = 0;
    return 0;
}

static const es_mp_callbacks MP_CB = {mp_begin, mp_data, mp_end};

/* ------------------------------------------------------------------------ */
/* The access handler                                                       */

static void req_free(es_req *q)
{
    if (!q)
        return;
    es_mp_free(q->mp);
    es_buf_free(&q->json);
    es_buf_free(&q->file);
    es_buf_free(&q->class_name);
    free(q);
}

static int authorized(const es_server *s, struct MHD_Connection *c)
{
    if (!s->token || !s->token[0])
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    size_t hl = strlen(h), tl = strlen(s->token);
    /* Compare a fixed-length digest of each so the time depends on neither
     * the token's length nor where the first difference is. */
    uint8_t a[ES_SHA256_LEN], b[ES_SHA256_LEN];
    es_sha256(h, hl, a);
    es_sha256(s->token, tl, b);
    return es_ct_equal(a, b, sizeof a) && hl == tl;
}

/* Does the client prefer HTML to JSON (a browser)? */
static int prefers_html(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    if (!a)
        return 0;
    const char *h = strstr(a, "text/html"), *j = strstr(a, "application/json");
    return h && (!j || h < j);
}

/* First callback of a request: route it and decide whether to read a body. */
static enum MHD_Result req_begin(es_server *s, struct MHD_Connection *c, const char *url,
                                 const char *method, es_req *q)
{
    const route_def *rd = NULL;
    int path_known = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_is(url, ROUTES[i].path))
            continue;
        path_known = 1;
        if (strcmp(method, ROUTES[i].method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(ROUTES[i].method, "GET") == 0)) {
            rd = &ROUTES[i];
            break;
        }
    }
    if (!rd && strncmp(url, "/dashboard", 10) == 0 && (url[10] == '\0' || url[10] == '/'))
        path_known = 1, q->route = ES_ROUTE_DASHBOARD;
    if (strcmp(method, "OPTIONS") == 0 && path_known) {
        /* CORS preflight */
        struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        if (origin_allowed(s, q->origin)) {
            MHD_add_response_header(r, "Access-Control-Allow-Origin", q->origin);
            MHD_add_response_header(r, "Vary", "Origin");
            MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                    "Authorization, Content-Type");
            MHD_add_response_header(r, "Access-Control-Max-Age", "600");
        }
        enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
        MHD_destroy_response(r);
        q->status = MHD_HTTP_NO_CONTENT;
        q->queued = 1;
        return ok;
    }
    /* The dashboard: its own paths, and / for browsers (JSON clients keep
     * the original GET /). */
    if ((rd && rd->route == ES_ROUTE_ROOT && prefers_html(c)) ||
        (!rd && q->route == ES_ROUTE_DASHBOARD && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))) {
        const unsigned char *body = NULL;
        size_t len = 0;
        const char *ctype = NULL;
        q->route = ES_ROUTE_DASHBOARD;
        if (!es_dashboard_asset(rd ? "/dashboard" : url, &body, &len, &ctype))
            return es_srv_error(q, c, MHD_HTTP_NOT_FOUND, "no dashboard asset %s", url);
        return es_srv_raw(q, c, MHD_HTTP_OK, ctype, body, len, 1);
    }
    if (!rd) {
        if (q->route == ES_ROUTE_DASHBOARD)
            return es_srv_error(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed on %s",
                                method, url);
        q->route = ES_ROUTE_OTHER;
        if (path_known)
            return es_srv_error(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed on %s",
                                method, url);
        return es_srv_error(q, c, MHD_HTTP_NOT_FOUND, "not found: %s", url);
    }
    q->route = rd->route;
    q->body_kind = rd->body;
    if (rd->auth && !authorized(s, c))
        return es_srv_error(q, c, MHD_HTTP_UNAUTHORIZED,
                            "this endpoint needs 'Authorization: Bearer <token>'");
    if (rd->body == ES_BODY_NONE)
        return MHD_YES;

    /* A declared length over the cap is refused before any of it is read. */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t cap = rd->body == ES_BODY_JSON ? ES_SRV_JSON_BODY_MAX : s->cfg.max_upload_bytes + 65536;
    if (cl) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno == 0 && end != cl && (v > cap))
            return es_srv_error(q, c, MHD_HTTP_CONTENT_TOO_LARGE,
                                "request body of %llu bytes is over the limit of %zu bytes", v,
                                rd->body == ES_BODY_JSON ? (size_t)ES_SRV_JSON_BODY_MAX
                                                         : s->cfg.max_upload_bytes);
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    es_error err;
    if (rd->body == ES_BODY_MULTIPART) {
        char boundary[ES_MP_BOUNDARY_MAX + 1];
        es_status rc = es_mp_boundary(ct, boundary, &err);
        if (rc == ES_ERR_UNSUPPORTED)
            return es_srv_error(q, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "%s", es_error_text(&err));
        if (rc != ES_OK)
            return es_srv_error(q, c, MHD_HTTP_BAD_REQUEST, "%s", es_error_text(&err));
        es_buf_init(&q->file, s->cfg.max_upload_bytes);
        es_buf_init(&q->class_name, ES_SRV_FIELD_MAX);
        if (es_mp_new(boundary, &MP_CB, q, &q->mp, &err) != ES_OK)
            return es_srv_error(q, c, MHD_HTTP_BAD_REQUEST, "%s", es_error_text(&err));
    } else {
        /* JSON: an empty body is allowed (defaults); otherwise it must say JSON. */
        if (ct && strncasecmp(ct, "application/json", 16) != 0 && cl && strcmp(cl, "0") != 0)
            return es_srv_error(q, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                "Content-Type must be application/json");
        es_buf_init(&q->json, ES_SRV_JSON_BODY_MAX);
    }
    return MHD_YES;
}

/* A chunk of body. */
static enum MHD_Result req_body(es_server *s, es_req *q, const char *data, size_t n)
{
    size_t cap = q->body_kind == ES_BODY_JSON ? ES_SRV_JSON_BODY_MAX : s->cfg.max_upload_bytes + 65536;
    q->body_len += n;
    if (q->body_len > cap) {
        /* Only a chunked body can get here (a declared length was checked):
         * stop reading and drop the connection rather than store more. */
        es_log_info(s->log, "%s %s: body over %zu bytes, connection dropped", q->method, q->path,
                    cap);
        /* (libmicrohttpd 0.9 cannot queue a response in the middle of a body.) */
        q->status = MHD_HTTP_CONTENT_TOO_LARGE;
        return MHD_NO;
    }
    if (q->err_status)
        return MHD_YES; /* already failed: discard the rest (bounded by the cap) */
    es_error err;
    if (q->body_kind == ES_BODY_JSON) {
        if (es_buf_append(&q->json, data, n, &err) != ES_OK)
            req_fail(q, MHD_HTTP_CONTENT_TOO_LARGE, "JSON body over %d bytes", ES_SRV_JSON_BODY_MAX);
        return MHD_YES;
    }
    es_status rc = es_mp_feed(q->mp, data, n, &err);
    if (rc == ES_ERR_TOO_LARGE)
        req_fail(q, MHD_HTTP_BAD_REQUEST, "%s", es_error_text(&err));
    else if (rc != ES_OK && rc != ES_ERR_CANCELLED)
        req_fail(q, MHD_HTTP_BAD_REQUEST, "%s", es_error_text(&err));
    else if (rc == ES_ERR_CANCELLED && !q->err_status)
        req_fail(q, MHD_HTTP_BAD_REQUEST, "%s", es_error_text(&err));
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    es_server *s = cls;
    es_req *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q)
            return MHD_NO;
        *con_cls = q;
        q->srv = s;
        q->t0 = es_monotonic_s();
        q->route = ES_ROUTE_OTHER;
        snprintf(q->method, sizeof q->method, "%s", method);
        snprintf(q->path, sizeof q->path, "%s", url);
        const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        snprintf(q->origin, sizeof q->origin, "%s", o ? o : "");
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                          q->remote, sizeof q->remote);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                          q->remote, sizeof q->remote);
        }
        es_metrics_begin(&s->metrics);
        return req_begin(s, c, url, method, q);
    }
    if (q->queued)
        return MHD_YES; /* answered (early, or by a worker); MHD sends it */
    if (q->handled)
        return MHD_NO;  /* a worker could not queue an answer: close */
    if (*upload_data_size > 0) {
        enum MHD_Result r = req_body(s, q, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return r;
    }
    /* The whole request is here. */
    if (q->body_kind == ES_BODY_MULTIPART && !q->err_status) {
        es_error err;
        if (es_mp_finish(q->mp, &err) != ES_OK)
            req_fail(q, MHD_HTTP_BAD_REQUEST, "%s", es_error_text(&err));
    }
    if (q->err_status)
        return es_srv_error(q, c, q->err_status, "%s", q->err_detail);
    if (q->route == ES_ROUTE_PREDICT || q->route == ES_ROUTE_UPLOAD ||
        q->route == ES_ROUTE_ROLLBACK) {
        /* Heavy: a worker answers, the event loop goes on serving others. */
        if (es_srv_pool_submit(&s->pool, q, c))
            return MHD_YES;
        return es_srv_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                            "the server is busy (%zu requests queued); retry shortly",
                            s->pool.max_queue);
    }
    return es_srv_handle(q, c);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    es_server *s = cls;
    es_req *q = *con_cls;
    if (!q)
        return;
    *con_cls = NULL;
    double dt = es_monotonic_s() - q->t0;
    /* A request that ended without an answer (client gone, timeout, dropped). */
    int status = q->status ? q->status : 499;
    es_metrics_end(&s->metrics, q->route, status, dt);
    if (s->access_log) {
        char ts[32];
        es_utc_iso8601(es_unix_time(), ts);
        char path[128];
        /* never let a client put control characters into our log */
        size_t i = 0;
        for (; q->path[i] && i + 1 < sizeof path; i++)
            path[i] = ((unsigned char)q->path[i] < 0x20 || q->path[i] == 0x7f) ? '?' : q->path[i];
        path[i] = '\0';
        fprintf(s->access_log, "%s %s \"%s %s\" %d %zu %.1fms%s\n", ts,
                q->remote[0] ? q->remote : "-", q->method, path, status, q->body_len, dt * 1e3,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (incomplete)");
        fflush(s->access_log);
    }
    req_free(q);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    es_server *s = cls;
    if (!es_log_enabled(s->log, ES_LOG_DEBUG))
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    es_log_debug(s->log, "http: %s", msg);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

es_status es_server_start(const es_server_config *cfg, es_server **out, es_error *err)
{
    es_server *s = calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    s->host = dup_or_null(cfg->host);
    s->models_dir = dup_or_null(cfg->models_dir ? cfg->models_dir : "models");
    s->data_dir = dup_or_null(cfg->data_dir ? cfg->data_dir : "extracted_audio");
    s->yamnet_path = dup_or_null(cfg->yamnet_path);
    s->token = dup_or_null(cfg->api_token && cfg->api_token[0] ? cfg->api_token : NULL);
    s->cors = dup_or_null(cfg->cors_origins ? cfg->cors_origins : "");
    s->cfg.host = s->host;
    s->cfg.models_dir = s->models_dir;
    s->cfg.data_dir = s->data_dir;
    s->cfg.yamnet_path = s->yamnet_path;
    s->cfg.api_token = s->token;
    s->cfg.cors_origins = s->cors;
    if (!s->cfg.max_upload_bytes)
        s->cfg.max_upload_bytes = 25u * 1024 * 1024;
    if (!s->cfg.connection_timeout_s)
        s->cfg.connection_timeout_s = 30;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = 1024;
    if (s->cfg.threads <= 0)
        s->cfg.threads = es_cpu_count(); /* predictions are CPU-bound */
    s->log = cfg->log;
    s->access_log = cfg->access_log;
    s->started = es_unix_time();
    es_metrics_init(&s->metrics);
    es_holder_init(&s->holder);
    pthread_mutex_init(&s->upload_mu, NULL);
    pthread_mutex_init(&s->data_mu, NULL);
    atomic_init(&s->data_gen, 0u);
    es_srv_job_init(&s->job);
    if (!s->models_dir || !s->data_dir || !s->cors) {
        es_server_free(s);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }

    /* Resolve the bind address. */
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    {
        struct addrinfo hints, *ai = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        char portstr[16];
        snprintf(portstr, sizeof portstr, "%d", cfg->port);
        int g = getaddrinfo(s->host && s->host[0] ? s->host : NULL, portstr, &hints, &ai);
        if (g != 0 || !ai) {
            es_server_free(s);
            return es_error_set(err, ES_ERR_CONFIG, "cannot resolve bind address '%s': %s",
                                cfg->host ? cfg->host : "", gai_strerror(g));
        }
        /* Prefer IPv4 for the wildcard, as uvicorn's 0.0.0.0 does. */
        struct addrinfo *pick = ai;
        if (!s->host || !s->host[0])
            for (struct addrinfo *a = ai; a; a = a->ai_next)
                if (a->ai_family == AF_INET) {
                    pick = a;
                    break;
                }
        memcpy(&ss, pick->ai_addr, pick->ai_addrlen);
        if (pick->ai_family == AF_INET6)
            flags |= MHD_USE_IPv6;
        freeaddrinfo(ai);
    }

    es_srv_load_initial(s);
    if (es_srv_pool_start(&s->pool, s->cfg.threads, 4096, err) != ES_OK) {
        es_server_free(s);
        return ES_ERR_NOMEM;
    }
    /* The event loops only parse and route; two are plenty. */
    unsigned loops = es_cpu_count() > 1 ? 2 : 1;

    s->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, loops,
        MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->cfg.max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_END);
    if (!s->d) {
        int e = errno;
        es_server_free(s);
        return es_error_set(err, ES_ERR_IO, "cannot listen on %s:%d: %s",
                            cfg->host ? cfg->host : "0.0.0.0", cfg->port,
                            e ? strerror(e) : "libmicrohttpd refused to start");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    *out = s;
    return ES_OK;
}

int es_server_port(const es_server *s)
{
    return s ? s->port : 0;
}

void es_server_stop(es_server *s, double drain_seconds)
{
    if (!s || !s->d)
        return;
    atomic_store(&s->stopping, 1);
    /* Stop accepting; requests already accepted run to completion. */
    MHD_quiesce_daemon(s->d);
    double deadline = es_monotonic_s() + drain_seconds;
    while (es_metrics_in_flight(&s->metrics) > 0 && es_monotonic_s() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int64_t left = es_metrics_in_flight(&s->metrics);
    if (left > 0)
        es_log_warn(s->log, "drain timed out with %lld request(s) in flight", (long long)left);
    es_srv_shutdown_jobs(s);
    es_srv_pool_stop(&s->pool); /* answers and resumes whatever is still queued */
    MHD_stop_daemon(s->d);
    s->d = NULL;
}

void es_server_free(es_server *s)
{
    if (!s)
        return;
    if (s->d)
        es_server_stop(s, 0);
    es_srv_shutdown_jobs(s);
    es_srv_pool_stop(&s->pool);
    es_srv_close_resources(s);
    es_holder_destroy(&s->holder);
    pthread_mutex_destroy(&s->upload_mu);
    pthread_mutex_destroy(&s->data_mu);
    cJSON_Delete(s->data_cache);
    es_srv_job_destroy(&s->job);
    es_metrics_destroy(&s->metrics);
    free(s->host);
    free(s->models_dir);
    free(s->data_dir);
    free(s->yamnet_path);
    free(s->token);
    free(s->cors);
    free(s);
}
