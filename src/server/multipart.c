/*
 * multipart.c: the streaming multipart/form-data parser (see multipart.h).
 *
 * The body is scanned for the delimiter "\r\n--<boundary>" with a
 * Knuth-Morris-Pratt matcher, one byte at a time only where a '\r' could
 * start a delimiter (memchr skips the rest), so part data is handed to the
 * caller in place, whatever the chunking, and a delimiter split across two
 * network reads is still found. The bytes held while a partial match is
 * pending are always a prefix of the delimiter itself, so nothing needs to
 * be copied: when the match fails they are re-emitted from the delimiter.
 */
#include "multipart.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mp_state { ST_BODY, ST_AFTER_DELIM, ST_HEADERS, ST_DONE, ST_ERROR };

struct es_mp {
    es_mp_callbacks cb;
    void *ud;
    char delim[4 + ES_MP_BOUNDARY_MAX]; /* "\r\n--" + boundary */
    size_t dlen;
    size_t fail[4 + ES_MP_BOUNDARY_MAX]; /* KMP failure function of delim */
    size_t j;                            /* delimiter bytes matched so far */
    enum mp_state st;
    int in_part;                         /* 0 in the preamble */
    int ad_dash;                         /* AFTER_DELIM: saw one '-' */
    int ad_cr;                           /* AFTER_DELIM: saw '\r' */
    char line[ES_MP_HEADER_LINE_MAX + 1];
    size_t line_len;
    int nheaders;
    es_mp_part part;
    es_status err_code;
    char err_msg[160];
};

static es_status mp_fail(es_mp *p, es_error *err, es_status code, const char *msg)
{
    if (p->st != ST_ERROR) {
        p->st = ST_ERROR;
        p->err_code = code;
        snprintf(p->err_msg, sizeof p->err_msg, "%s", msg);
    }
    return es_error_set(err, p->err_code, "multipart body: %s", p->err_msg);
}

static int valid_boundary_char(unsigned char c)
{
    /* RFC 2046 bchars: DIGIT / ALPHA / "'()+_,-./:=?" and space (not last). */
    return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

es_status es_mp_boundary(const char *ct, char out[ES_MP_BOUNDARY_MAX + 1], es_error *err)
{
    if (!ct)
        return es_error_set(err, ES_ERR_UNSUPPORTED, "no Content-Type; expected multipart/form-data");
    while (*ct == ' ' || *ct == '\t')
        ct++;
    static const char mt[] = "multipart/form-data";
    if (strncasecmp(ct, mt, sizeof mt - 1) != 0 ||
        (ct[sizeof mt - 1] != '\0' && ct[sizeof mt - 1] != ';' && ct[sizeof mt - 1] != ' '))
        return es_error_set(err, ES_ERR_UNSUPPORTED,
                            "Content-Type must be multipart/form-data with a 'file' field");
    const char *s = ct + sizeof mt - 1;
    while (*s) {
        while (*s == ';' || *s == ' ' || *s == '\t')
            s++;
        const char *key = s;
        while (*s && *s != '=' && *s != ';')
            s++;
        size_t klen = (size_t)(s - key);
        while (klen > 0 && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
            klen--;
        if (*s != '=') {
            continue;
        }
        s++;
        char val[ES_MP_BOUNDARY_MAX + 2];
        size_t vlen = 0;
        int too_long = 0;
        if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1])
                    s++;
                if (vlen < ES_MP_BOUNDARY_MAX + 1)
                    val[vlen++] = *s;
                else
                    too_long = 1;
                s++;
            }
            if (*s == '"')
                s++;
        } else {
            while (*s && *s != ';' && *s != ' ' && *s != '\t') {
                if (vlen < ES_MP_BOUNDARY_MAX + 1)
                    val[vlen++] = *s;
                else
                    too_long = 1;
                s++;
            }
        }
        if (klen == 8 && strncasecmp(key, "boundary", 8) == 0) {
            if (too_long || vlen == 0 || vlen > ES_MP_BOUNDARY_MAX || val[vlen - 1] == ' ')
                return es_error_set(err, ES_ERR_FORMAT,
                                    "multipart boundary must be 1-70 characters");
            for (size_t i = 0; i < vlen; i++)
                if (!valid_boundary_char((unsigned char)val[i]))
                    return es_error_set(err, ES_ERR_FORMAT,
                                        "multipart boundary has an invalid character");
            memcpy(out, val, vlen);
            out[vlen] = '\0';
            return ES_OK;
        }
    }
    return es_error_set(err, ES_ERR_FORMAT, "multipart/form-data without a boundary");
}

es_status es_mp_new(const char *boundary, const es_mp_callbacks *cb, void *ud, es_mp **out,
                    es_error *err)
{
    size_t blen = boundary ? strlen(boundary) : 0;
    if (blen == 0 || blen > ES_MP_BOUNDARY_MAX || !cb)
        return es_error_set(err, ES_ERR_INVALID, "multipart parser: bad boundary or callbacks");
    es_mp *p = calloc(1, sizeof *p);
    if (!p)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    p->cb = *cb;
    p->ud = ud;
    memcpy(p->delim, "\r\n--", 4);
    memcpy(p->delim + 4, boundary, blen);
    p->dlen = 4 + blen;
    p->fail[0] = 0;
    for (size_t i = 1, k = 0; i < p->dlen; i++) {
        while (k > 0 && p->delim[i] != p->delim[k])
            k = p->fail[k - 1];
        if (p->delim[i] == p->delim[k])
            k++;
        p->fail[i] = k;
    }
    /* The first boundary may open the body without a preceding CRLF: start
     * as if the CRLF had been seen (the preamble is discarded anyway). */
    p->j = 2;
    p->st = ST_BODY;
    *out = p;
    return ES_OK;
}

void es_mp_free(es_mp *p)
{
    free(p);
}

static int emit(es_mp *p, const char *d, size_t n)
{
    if (n == 0 || !p->in_part || !p->cb.part_data)
        return 0;
    return p->cb.part_data(p->ud, d, n);
}

/* Copy a header parameter value (quoted-string or token) into out. */
static const char *param_value(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            if (n + 1 < cap)
                out[n++] = *s;
            s++;
        }
        if (*s == '"')
            s++;
    } else {
        while (*s && *s != ';') {
            if (n + 1 < cap)
                out[n++] = *s;
            s++;
        }
        while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
            n--;
    }
    out[n] = '\0';
    return s;
}

static void parse_disposition(es_mp_part *part, const char *v)
{
    /* form-data; name="x"; filename="y" */
    const char *s = strchr(v, ';');
    while (s && *s) {
        while (*s == ';' || *s == ' ' || *s == '\t')
            s++;
        const char *key = s;
        while (*s && *s != '=' && *s != ';')
            s++;
        size_t klen = (size_t)(s - key);
        while (klen > 0 && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
            klen--;
        if (*s != '=')
            continue;
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        char tmp[ES_MP_NAME_MAX];
        s = param_value(s, tmp, sizeof tmp);
        if (klen == 4 && strncasecmp(key, "name", 4) == 0) {
            memcpy(part->name, tmp, sizeof tmp);
        } else if (klen == 8 && strncasecmp(key, "filename", 8) == 0) {
            memcpy(part->filename, tmp, sizeof tmp);
            part->has_filename = 1;
        }
        while (*s && *s != ';')
            s++;
    }
}

/* One complete header line (without CRLF). Returns 1 at the blank line. */
static int header_line(es_mp *p)
{
    p->line[p->line_len] = '\0';
    if (p->line_len == 0)
        return 1;
    char *colon = memchr(p->line, ':', p->line_len);
    if (!colon)
        return -1;
    *colon = '\0';
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (strcasecmp(p->line, "Content-Disposition") == 0) {
        parse_disposition(&p->part, v);
    } else if (strcasecmp(p->line, "Content-Type") == 0) {
        snprintf(p->part.content_type, sizeof p->part.content_type, "%s", v);
    }
    return 0;
}

es_status es_mp_feed(es_mp *p, const char *data, size_t n, es_error *err)
{
    if (p->st == ST_ERROR)
        return es_error_set(err, p->err_code, "multipart body: %s", p->err_msg);
    size_t i = 0;
    while (i < n) {
        switch (p->st) {
        case ST_BODY: {
            if (p->j == 0) {
                /* Fast path: everything before the next '\r' is data. */
                const char *cr = memchr(data + i, '\r', n - i);
                size_t run = cr ? (size_t)(cr - (data + i)) : n - i;
                if (emit(p, data + i, run))
                    return mp_fail(p, err, ES_ERR_CANCELLED, "stopped by the receiver");
                i += run;
                if (i >= n)
                    break;
            }
            char c = data[i++];
            size_t j = p->j, k = j;
            while (k > 0 && p->delim[k] != c)
                k = p->fail[k - 1];
            if (p->delim[k] == c)
                k++;
            size_t e = j + 1 - k; /* bytes that can no longer be delimiter */
            if (e > 0) {
                int stop;
                if (e <= j) {
                    stop = emit(p, p->delim, e);
                } else {
                    stop = emit(p, p->delim, j) || emit(p, &c, 1);
                }
                if (stop)
                    return mp_fail(p, err, ES_ERR_CANCELLED, "stopped by the receiver");
            }
            p->j = k;
            if (k == p->dlen) {
                if (p->in_part && p->cb.part_end && p->cb.part_end(p->ud))
                    return mp_fail(p, err, ES_ERR_CANCELLED, "stopped by the receiver");
                p->in_part = 0;
                p->j = 0;
                p->st = ST_AFTER_DELIM;
                p->ad_dash = p->ad_cr = 0;
            }
            break;
        }
        case ST_AFTER_DELIM: {
            char c = data[i++];
            if (p->ad_dash) {
                if (c != '-')
                    return mp_fail(p, err, ES_ERR_FORMAT, "bad characters after a boundary");
                p->st = ST_DONE;
            } else if (p->ad_cr) {
                if (c != '\n')
                    return mp_fail(p, err, ES_ERR_FORMAT, "bad characters after a boundary");
                p->st = ST_HEADERS;
                p->line_len = 0;
                p->nheaders = 0;
                memset(&p->part, 0, sizeof p->part);
            } else if (c == '-') {
                p->ad_dash = 1;
            } else if (c == '\r') {
                p->ad_cr = 1;
            } else if (c != ' ' && c != '\t') {
                return mp_fail(p, err, ES_ERR_FORMAT, "bad characters after a boundary");
            }
            break;
        }
        case ST_HEADERS: {
            char c = data[i++];
            if (c == '\n') {
                if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
                    p->line_len--;
                int r = header_line(p);
                p->line_len = 0;
                if (r < 0)
                    return mp_fail(p, err, ES_ERR_FORMAT, "a part header without ':'");
                if (r == 1) {
                    if (p->cb.part_begin && p->cb.part_begin(p->ud, &p->part))
                        return mp_fail(p, err, ES_ERR_CANCELLED, "stopped by the receiver");
                    p->in_part = 1;
                    p->st = ST_BODY;
                    p->j = 0;
                } else if (++p->nheaders > ES_MP_HEADERS_MAX) {
                    return mp_fail(p, err, ES_ERR_TOO_LARGE, "too many part headers");
                }
            } else {
                if (p->line_len >= ES_MP_HEADER_LINE_MAX)
                    return mp_fail(p, err, ES_ERR_TOO_LARGE, "a part header line is too long");
                p->line[p->line_len++] = c;
            }
            break;
        }
        case ST_DONE:
            return ES_OK; /* the epilogue is ignored */
        case ST_ERROR:
            return es_error_set(err, p->err_code, "multipart body: %s", p->err_msg);
        }
    }
    return ES_OK;
}

es_status es_mp_finish(es_mp *p, es_error *err)
{
    if (p->st == ST_ERROR)
        return es_error_set(err, p->err_code, "multipart body: %s", p->err_msg);
    if (p->st != ST_DONE)
        return mp_fail(p, err, ES_ERR_FORMAT, "the body ended before the closing boundary");
    return ES_OK;
}
