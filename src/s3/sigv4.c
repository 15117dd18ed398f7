/*
 * sigv4.c: AWS Signature Version 4 signing (header and query-string forms),
 * a pure function over the request (see sigv4.h). Crypto is core's
 * SHA-256/HMAC (OpenSSL underneath).
 */
#include "sigv4.h"

#include <stdlib.h>
#include <string.h>

#define SIGV4_TEXT_LIMIT (1u << 20) /* canonical requests are small; cap them anyway */

es_status es_sigv4_uri_encode(es_buf *b, const char *s, size_t n, int keep_slash, es_error *err)
{
    static const char hexd[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
                    ch == '~' || (keep_slash && ch == '/');
        es_status rc;
        if (plain) {
            rc = es_buf_append(b, &s[i], 1, err);
        } else {
            char e[3] = {'%', hexd[ch >> 4], hexd[ch & 15]};
            rc = es_buf_append(b, e, 3, err);
        }
        if (rc != ES_OK)
            return rc;
    }
    return ES_OK;
}

/* ---- canonical query ---------------------------------------------------- */
typedef struct enc_pair {
    char *name;
    char *value;
} enc_pair;

static int cmp_pair(const void *a, const void *b)
{
    const enc_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s, es_error *err)
{
    es_buf b;
    es_buf_init(&b, SIGV4_TEXT_LIMIT);
    if (es_buf_append(&b, "", 0, err) != ES_OK ||
        es_sigv4_uri_encode(&b, s ? s : "", s ? strlen(s) : 0, 0, err) != ES_OK) {
        es_buf_free(&b);
        return NULL;
    }
    return es_buf_steal(&b, NULL);
}

static es_status canonical_query(es_buf *out, const es_sigv4_kv *q, size_t n, es_error *err)
{
    if (n == 0)
        return ES_OK;
    enc_pair *p = calloc(n, sizeof *p);
    if (!p)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory signing a request");
    es_status rc = ES_OK;
    for (size_t i = 0; i < n && rc == ES_OK; i++) {
        p[i].name = encode_dup(q[i].name, err);
        p[i].value = encode_dup(q[i].value, err);
        if (!p[i].name || !p[i].value)
            rc = err && err->code ? err->code : ES_ERR_NOMEM;
    }
    if (rc == ES_OK) {
        qsort(p, n, sizeof *p, cmp_pair);
        for (size_t i = 0; i < n && rc == ES_OK; i++)
            rc = es_buf_printf(out, err, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value);
    }
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
    return rc;
}

/* ---- canonical headers -------------------------------------------------- */
typedef struct canon_hdr {
    char *name;   /* lower case */
    es_buf value; /* canonical value (joined with ',') */
    size_t order; /* first appearance, for a stable sort */
} canon_hdr;

static int cmp_hdr(const void *a, const void *b)
{
    const canon_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Trim, collapse runs of spaces/tabs to one space, and turn folded lines
 * into comma-separated values. */
static es_status append_canon_value(es_buf *b, const char *v, es_error *err)
{
    int first_line = 1;
    const char *line = v ? v : "";
    for (;;) {
        const char *nl = strpbrk(line, "\r\n");
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t s = 0, e = len;
        while (s < e && (line[s] == ' ' || line[s] == '\t'))
            s++;
        while (e > s && (line[e - 1] == ' ' || line[e - 1] == '\t'))
            e--;
        if (e > s || first_line) {
            if (!first_line && es_buf_append(b, ",", 1, err) != ES_OK)
                return err ? err->code : ES_ERR_NOMEM;
            int in_space = 0;
            for (size_t i = s; i < e; i++) {
                char ch = line[i];
                if (ch == ' ' || ch == '\t') {
                    in_space = 1;
                    continue;
                }
                if (in_space && es_buf_append(b, " ", 1, err) != ES_OK)
                    return err ? err->code : ES_ERR_NOMEM;
                in_space = 0;
                if (es_buf_append(b, &ch, 1, err) != ES_OK)
                    return err ? err->code : ES_ERR_NOMEM;
            }
            first_line = 0;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return ES_OK;
}

static es_status canonical_headers(es_buf *creq, es_buf *signed_hdrs, const es_sigv4_kv *h,
                                   size_t n, es_error *err)
{
    canon_hdr *c = calloc(n ? n : 1, sizeof *c);
    if (!c)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory signing a request");
    size_t nc = 0;
    es_status rc = ES_OK;
    for (size_t i = 0; i < n && rc == ES_OK; i++) {
        if (!h[i].name || !*h[i].name) {
            rc = es_error_set(err, ES_ERR_INVALID, "SigV4: empty header name");
            break;
        }
        size_t len = strlen(h[i].name);
        char *lname = malloc(len + 1);
        if (!lname) {
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory signing a request");
            break;
        }
        for (size_t k = 0; k <= len; k++) {
            char ch = h[i].name[k];
            lname[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        }
        canon_hdr *slot = NULL;
        for (size_t k = 0; k < nc; k++)
            if (strcmp(c[k].name, lname) == 0)
                slot = &c[k];
        if (slot) {
            free(lname);
            rc = es_buf_append(&slot->value, ",", 1, err);
        } else {
            slot = &c[nc];
            slot->name = lname;
            slot->order = nc;
            es_buf_init(&slot->value, SIGV4_TEXT_LIMIT);
            rc = es_buf_append(&slot->value, "", 0, err);
            nc++;
        }
        if (rc == ES_OK)
            rc = append_canon_value(&slot->value, h[i].value, err);
    }
    if (rc == ES_OK) {
        qsort(c, nc, sizeof *c, cmp_hdr);
        for (size_t k = 0; k < nc && rc == ES_OK; k++) {
            rc = es_buf_printf(creq, err, "%s:%s\n", c[k].name, c[k].value.data);
            if (rc == ES_OK)
                rc = es_buf_printf(signed_hdrs, err, "%s%s", k ? ";" : "", c[k].name);
        }
    }
    for (size_t k = 0; k < nc; k++) {
        free(c[k].name);
        es_buf_free(&c[k].value);
    }
    free(c);
    return rc;
}

void es_sigv4_result_free(es_sigv4_result *r)
{
    if (!r)
        return;
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->signed_headers);
    free(r->credential);
    free(r->authorization);
    memset(r, 0, sizeof *r);
}

static es_status check_request(const es_sigv4_request *r, es_error *err)
{
    if (!r || !r->method || !r->path || r->path[0] != '/' || !r->payload_hash || !r->amz_date ||
        strlen(r->amz_date) != 16 || !r->region || !r->service || !r->access_key ||
        !r->secret_key)
        return es_error_set(err, ES_ERR_INVALID,
                            "SigV4: incomplete request (method, path starting with '/', "
                            "payload hash, 16-character date, region, service, credentials)");
    return ES_OK;
}

/* Derive the signing key and sign the string: kSecret → date → region →
 * service → "aws4_request" → HMAC(string to sign). */
static void sign_string(const es_sigv4_request *r, const char *sts, char sig_hex[65])
{
    uint8_t k[ES_SHA256_LEN], k2[ES_SHA256_LEN];
    size_t slen = strlen(r->secret_key);
    char *secret = malloc(slen + 5);
    if (secret) {
        memcpy(secret, "AWS4", 4);
        memcpy(secret + 4, r->secret_key, slen + 1);
        es_hmac_sha256(secret, slen + 4, r->amz_date, 8, k);
        /* wipe the secret copy: it must not linger in freed memory */
        volatile char *vs = secret;
        for (size_t i = 0; i < slen + 4; i++)
            vs[i] = 0;
        free(secret);
    } else {
        memset(k, 0, sizeof k); /* unreachable in practice; yields a wrong signature, not UB */
    }
    es_hmac_sha256(k, sizeof k, r->region, strlen(r->region), k2);
    es_hmac_sha256(k2, sizeof k2, r->service, strlen(r->service), k);
    es_hmac_sha256(k, sizeof k, "aws4_request", 12, k2);
    es_hmac_sha256(k2, sizeof k2, sts, strlen(sts), k);
    es_hex(k, sizeof k, sig_hex);
    memset(k2, 0, sizeof k2);
}

static es_status build_and_sign(const es_sigv4_request *r, es_sigv4_result *out, es_error *err)
{
    es_buf creq, sh, sts, cred;
    es_buf_init(&creq, SIGV4_TEXT_LIMIT);
    es_buf_init(&sh, SIGV4_TEXT_LIMIT);
    es_buf_init(&sts, SIGV4_TEXT_LIMIT);
    es_buf_init(&cred, SIGV4_TEXT_LIMIT);
    memset(out, 0, sizeof *out);
    es_status rc = es_buf_printf(&creq, err, "%s\n", r->method);
    if (rc == ES_OK)
        rc = es_sigv4_uri_encode(&creq, r->path, strlen(r->path), 1, err);
    if (rc == ES_OK)
        rc = es_buf_append(&creq, "\n", 1, err);
    if (rc == ES_OK)
        rc = canonical_query(&creq, r->query, r->nquery, err);
    if (rc == ES_OK)
        rc = es_buf_append(&creq, "\n", 1, err);
    if (rc == ES_OK)
        rc = es_buf_append(&sh, "", 0, err);
    if (rc == ES_OK)
        rc = canonical_headers(&creq, &sh, r->headers, r->nheaders, err);
    if (rc == ES_OK)
        rc = es_buf_printf(&creq, err, "\n%s\n%s", sh.data, r->payload_hash);
    if (rc == ES_OK)
        rc = es_buf_printf(&cred, err, "%s/%.8s/%s/%s/aws4_request", r->access_key, r->amz_date,
                           r->region, r->service);
    if (rc == ES_OK) {
        uint8_t h[ES_SHA256_LEN];
        char hx[ES_SHA256_HEX_LEN];
        es_sha256(creq.data, creq.len, h);
        es_hex(h, sizeof h, hx);
        rc = es_buf_printf(&sts, err, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s",
                           r->amz_date, r->amz_date, r->region, r->service, hx);
    }
    if (rc == ES_OK) {
        sign_string(r, sts.data, out->signature);
        out->canonical_request = es_buf_steal(&creq, NULL);
        out->string_to_sign = es_buf_steal(&sts, NULL);
        out->signed_headers = es_buf_steal(&sh, NULL);
        out->credential = es_buf_steal(&cred, NULL);
    }
    es_buf_free(&creq);
    es_buf_free(&sh);
    es_buf_free(&sts);
    es_buf_free(&cred);
    return rc;
}

es_status es_sigv4_sign(const es_sigv4_request *r, es_sigv4_result *out, es_error *err)
{
    es_status rc = check_request(r, err);
    if (rc != ES_OK)
        return rc;
    rc = build_and_sign(r, out, err);
    if (rc != ES_OK)
        return rc;
    es_buf a;
    es_buf_init(&a, SIGV4_TEXT_LIMIT);
    rc = es_buf_printf(&a, err, "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s",
                       out->credential, out->signed_headers, out->signature);
    if (rc != ES_OK) {
        es_buf_free(&a);
        es_sigv4_result_free(out);
        return rc;
    }
    out->authorization = es_buf_steal(&a, NULL);
    return ES_OK;
}

es_status es_sigv4_presign(const es_sigv4_request *r, int64_t expires_s,
                           const char *session_token, char **query_out,
                           es_sigv4_result *out, es_error *err)
{
    es_status rc = check_request(r, err);
    if (rc != ES_OK)
        return rc;
    if (expires_s < 1 || expires_s > 604800)
        return es_error_set(err, ES_ERR_INVALID,
                            "presigned URL lifetime must be 1..604800 s, not %lld",
                            (long long)expires_s);
    /* The signed headers of a presigned URL are its headers' names. */
    es_buf sh, cred;
    es_buf_init(&sh, SIGV4_TEXT_LIMIT);
    es_buf_init(&cred, SIGV4_TEXT_LIMIT);
    es_sigv4_result tmp = {0};
    es_sigv4_kv *q = NULL;
    char expires[24];
    snprintf(expires, sizeof expires, "%lld", (long long)expires_s);
    rc = es_buf_append(&sh, "", 0, err);
    if (rc == ES_OK) {
        es_buf scratch;
        es_buf_init(&scratch, SIGV4_TEXT_LIMIT);
        rc = canonical_headers(&scratch, &sh, r->headers, r->nheaders, err);
        es_buf_free(&scratch);
    }
    if (rc == ES_OK)
        rc = es_buf_printf(&cred, err, "%s/%.8s/%s/%s/aws4_request", r->access_key, r->amz_date,
                           r->region, r->service);
    if (rc == ES_OK) {
        q = calloc(r->nquery + 6, sizeof *q);
        if (!q)
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory presigning");
    }
    size_t nq = 0;
    if (rc == ES_OK) {
        for (size_t i = 0; i < r->nquery; i++)
            q[nq++] = r->query[i];
        q[nq++] = (es_sigv4_kv){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
        q[nq++] = (es_sigv4_kv){"X-Amz-Credential", cred.data};
        q[nq++] = (es_sigv4_kv){"X-Amz-Date", r->amz_date};
        q[nq++] = (es_sigv4_kv){"X-Amz-Expires", expires};
        if (session_token)
            q[nq++] = (es_sigv4_kv){"X-Amz-Security-Token", session_token};
        q[nq++] = (es_sigv4_kv){"X-Amz-SignedHeaders", sh.data};
        es_sigv4_request r2 = *r;
        r2.query = q;
        r2.nquery = nq;
        rc = build_and_sign(&r2, &tmp, err);
    }
    if (rc == ES_OK) {
        es_buf qs;
        es_buf_init(&qs, SIGV4_TEXT_LIMIT);
        /* The canonical query line is exactly the URL's query, sorted. */
        const char *line = strchr(tmp.canonical_request, '\n');
        line = line ? strchr(line + 1, '\n') : NULL;
        const char *end = line ? strchr(line + 1, '\n') : NULL;
        if (!line || !end) {
            rc = es_error_set(err, ES_ERR_INTERNAL, "SigV4: malformed canonical request");
        } else {
            rc = es_buf_append(&qs, line + 1, (size_t)(end - line - 1), err);
            if (rc == ES_OK)
                rc = es_buf_printf(&qs, err, "&X-Amz-Signature=%s", tmp.signature);
        }
        if (rc == ES_OK) {
            *query_out = es_buf_steal(&qs, NULL);
            if (out) {
                *out = tmp;
                memset(&tmp, 0, sizeof tmp);
            }
        }
        es_buf_free(&qs);
    }
    es_sigv4_result_free(&tmp);
    free(q);
    es_buf_free(&sh);
    es_buf_free(&cred);
    return rc;
}
