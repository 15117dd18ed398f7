/*
 * xml.c: bounded expat parsing of S3 replies (see xml.h). One small state
 * machine collects the text of leaf elements by local name (namespace
 * prefixes and xmlns are ignored) and hands each closing element to a
 * per-document handler.
 */
#include "xml.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>

typedef struct xml_state {
    XML_Parser p;
    int depth;
    int too_deep;
    int refused;           /* entity declaration or other refused construct */
    char path[ES_S3_XML_MAX_DEPTH][64]; /* local names of open elements */
    char text[ES_S3_XML_MAX_TEXT + 1];
    size_t text_len;
    int text_overflow;
    /* what we collect */
    void (*on_end)(struct xml_state *s, const char *name);
    void *ud;
    es_status cb_status;   /* a handler's failure (e.g. too many objects) */
    es_error *err;
} xml_state;

static const char *local_name(const char *n)
{
    const char *c = strrchr(n, ':');
    return c ? c + 1 : n;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    xml_state *s = ud;
    if (s->depth >= ES_S3_XML_MAX_DEPTH) {
        s->too_deep = 1;
        XML_StopParser(s->p, XML_FALSE);
        return;
    }
    snprintf(s->path[s->depth], sizeof s->path[0], "%s", local_name(name));
    s->depth++;
    s->text_len = 0;
    s->text_overflow = 0;
    s->text[0] = '\0';
}

static void XMLCALL on_text(void *ud, const XML_Char *t, int len)
{
    xml_state *s = ud;
    if (len <= 0)
        return;
    if (s->text_len + (size_t)len > ES_S3_XML_MAX_TEXT) {
        s->text_overflow = 1;
        return;
    }
    memcpy(s->text + s->text_len, t, (size_t)len);
    s->text_len += (size_t)len;
    s->text[s->text_len] = '\0';
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    xml_state *s = ud;
    if (s->depth <= 0)
        return;
    if (s->on_end && s->cb_status == ES_OK)
        s->on_end(s, local_name(name));
    s->depth--;
    s->text_len = 0;
    s->text[0] = '\0';
    if (s->cb_status != ES_OK)
        XML_StopParser(s->p, XML_FALSE);
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *n, int pe, const XML_Char *v,
                                   int vl, const XML_Char *b, const XML_Char *sid,
                                   const XML_Char *pid, const XML_Char *nn)
{
    (void)n; (void)pe; (void)v; (void)vl; (void)b; (void)sid; (void)pid; (void)nn;
    xml_state *s = ud;
    s->refused = 1;
    XML_StopParser(s->p, XML_FALSE);
}

/* The parent element's local name (depth counts the element being closed). */
static const char *parent(const xml_state *s)
{
    return s->depth >= 2 ? s->path[s->depth - 2] : "";
}

static es_status run(xml_state *s, const char *xml, size_t len, es_error *err)
{
    if (len > ES_S3_XML_MAX_DOC)
        return es_error_set(err, ES_ERR_TOO_LARGE, "S3 XML reply of %zu bytes exceeds %u", len,
                            ES_S3_XML_MAX_DOC);
    s->p = XML_ParserCreate("UTF-8");
    if (!s->p)
        return es_error_set(err, ES_ERR_NOMEM, "cannot create an XML parser");
    s->err = err;
    XML_SetUserData(s->p, s);
    XML_SetElementHandler(s->p, on_start, on_end);
    XML_SetCharacterDataHandler(s->p, on_text);
    XML_SetEntityDeclHandler(s->p, on_entity_decl);
    enum XML_Status st = XML_Parse(s->p, xml, (int)len, XML_TRUE);
    es_status rc = ES_OK;
    if (s->cb_status != ES_OK) {
        rc = s->cb_status;
    } else if (s->too_deep) {
        rc = es_error_set(err, ES_ERR_FORMAT, "S3 XML reply nests deeper than %d elements",
                          ES_S3_XML_MAX_DEPTH);
    } else if (s->refused) {
        rc = es_error_set(err, ES_ERR_FORMAT, "S3 XML reply declares entities (refused)");
    } else if (st != XML_STATUS_OK) {
        rc = es_error_set(err, ES_ERR_FORMAT, "malformed S3 XML reply at line %lu: %s",
                          (unsigned long)XML_GetCurrentLineNumber(s->p),
                          XML_ErrorString(XML_GetErrorCode(s->p)));
    }
    XML_ParserFree(s->p);
    s->p = NULL;
    return rc;
}

/* ---- ListObjectsV2 ------------------------------------------------------ */
typedef struct list_ctx {
    es_s3_object_list *list;
    size_t max_total;
    es_s3_list_page *page;
    es_s3_object cur;
    int have_key;
} list_ctx;

static void strip_quotes(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= 2 && src[0] == '"' && src[len - 1] == '"') {
        src++;
        len -= 2;
    } else if (len >= 12 && strncmp(src, "&quot;", 6) == 0) { /* double-escaped by some servers */
        src += 6;
        len -= 12;
    }
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void list_end(xml_state *s, const char *name)
{
    list_ctx *c = s->ud;
    const char *par = parent(s);
    if (strcmp(par, "Contents") == 0) {
        if (s->text_overflow) {
            s->cb_status = es_error_set(s->err, ES_ERR_FORMAT,
                                        "S3 listing: <%s> longer than %d bytes", name,
                                        ES_S3_XML_MAX_TEXT);
            return;
        }
        if (strcmp(name, "Key") == 0) {
            free(c->cur.key);
            c->cur.key = strdup(s->text);
            if (!c->cur.key)
                s->cb_status = es_error_set(s->err, ES_ERR_NOMEM, "out of memory");
            c->have_key = 1;
        } else if (strcmp(name, "Size") == 0) {
            char *end;
            long long v = strtoll(s->text, &end, 10);
            if (end == s->text || *end || v < 0) {
                s->cb_status = es_error_set(s->err, ES_ERR_FORMAT,
                                            "S3 listing: bad <Size> '%.40s'", s->text);
                return;
            }
            c->cur.size = v;
        } else if (strcmp(name, "ETag") == 0) {
            strip_quotes(c->cur.etag, sizeof c->cur.etag, s->text);
        } else if (strcmp(name, "LastModified") == 0) {
            snprintf(c->cur.last_modified, sizeof c->cur.last_modified, "%s", s->text);
        }
        return;
    }
    if (strcmp(name, "Contents") == 0) {
        if (!c->have_key) {
            s->cb_status = es_error_set(s->err, ES_ERR_FORMAT, "S3 listing: <Contents> without <Key>");
            return;
        }
        es_s3_object_list *l = c->list;
        if (l->count >= c->max_total) {
            s->cb_status = es_error_set(s->err, ES_ERR_TOO_LARGE,
                                        "S3 listing has more than %zu objects", c->max_total);
            return;
        }
        if (l->count == l->cap) {
            size_t ncap = l->cap ? l->cap * 2 : 256;
            es_s3_object *n = realloc(l->items, ncap * sizeof *n);
            if (!n) {
                s->cb_status = es_error_set(s->err, ES_ERR_NOMEM, "out of memory");
                return;
            }
            l->items = n;
            l->cap = ncap;
        }
        l->items[l->count++] = c->cur;
        c->page->added++;
        memset(&c->cur, 0, sizeof c->cur);
        c->have_key = 0;
        return;
    }
    if (strcmp(par, "ListBucketResult") == 0) {
        if (strcmp(name, "IsTruncated") == 0) {
            c->page->is_truncated = strcmp(s->text, "true") == 0;
        } else if (strcmp(name, "NextContinuationToken") == 0) {
            if (s->text_overflow) {
                s->cb_status = es_error_set(s->err, ES_ERR_FORMAT,
                                            "S3 listing: continuation token too long");
                return;
            }
            free(c->page->next_token);
            c->page->next_token = strdup(s->text);
            if (!c->page->next_token)
                s->cb_status = es_error_set(s->err, ES_ERR_NOMEM, "out of memory");
        }
    }
}

void es_s3_list_page_clear(es_s3_list_page *page)
{
    if (!page)
        return;
    free(page->next_token);
    memset(page, 0, sizeof *page);
}

es_status es_s3_xml_parse_list(const char *xml, size_t len, es_s3_object_list *list,
                               size_t max_total, es_s3_list_page *page, es_error *err)
{
    memset(page, 0, sizeof *page);
    list_ctx c = {.list = list, .max_total = max_total, .page = page};
    xml_state *s = calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    s->on_end = list_end;
    s->ud = &c;
    size_t before = list->count;
    es_status rc = run(s, xml, len, err);
    free(c.cur.key);
    free(s);
    if (rc == ES_OK && page->is_truncated && (!page->next_token || !*page->next_token))
        rc = es_error_set(err, ES_ERR_FORMAT,
                          "S3 listing is truncated but has no NextContinuationToken");
    if (rc != ES_OK) {
        /* leave the list as it was before this page */
        for (size_t i = before; i < list->count; i++)
            free(list->items[i].key);
        list->count = before;
        es_s3_list_page_clear(page);
    }
    return rc;
}

/* ---- Error and single values ------------------------------------------- */
typedef struct find_ctx {
    const char *name;     /* element to find */
    const char *parent;   /* required parent, or NULL */
    char *out;
    size_t out_size;
    int found;
    /* error document */
    int is_error;
    char *code, *msg;
    size_t code_size, msg_size;
} find_ctx;

static void copy_text(char *dst, size_t n, const char *src)
{
    if (n)
        snprintf(dst, n, "%s", src);
}

static void find_end(xml_state *s, const char *name)
{
    find_ctx *c = s->ud;
    if (c->name && !c->found && strcmp(name, c->name) == 0 &&
        (!c->parent || strcmp(parent(s), c->parent) == 0)) {
        copy_text(c->out, c->out_size, s->text);
        c->found = 1;
    }
    if (c->code) {
        if (s->depth == 1 && strcmp(name, "Error") == 0)
            c->is_error = 1;
        if (strcmp(parent(s), "Error") == 0 && s->depth == 2) {
            if (strcmp(name, "Code") == 0)
                copy_text(c->code, c->code_size, s->text);
            else if (strcmp(name, "Message") == 0)
                copy_text(c->msg, c->msg_size, s->text);
        }
    }
}

int es_s3_xml_parse_error(const char *xml, size_t len, char *code, size_t code_size,
                          char *message, size_t message_size)
{
    if (code_size)
        code[0] = '\0';
    if (message_size)
        message[0] = '\0';
    if (!xml || len == 0)
        return 0;
    char dummy_c[1], dummy_m[1];
    find_ctx c = {.code = code_size ? code : dummy_c, .msg = message_size ? message : dummy_m,
                  .code_size = code_size ? code_size : 1,
                  .msg_size = message_size ? message_size : 1};
    xml_state *s = calloc(1, sizeof *s);
    if (!s)
        return 0;
    s->on_end = find_end;
    s->ud = &c;
    es_status rc = run(s, xml, len, NULL);
    free(s);
    return rc == ES_OK && c.is_error;
}

es_status es_s3_xml_find(const char *xml, size_t len, const char *name, char *out,
                         size_t out_size, es_error *err)
{
    if (out_size)
        out[0] = '\0';
    find_ctx c = {.name = name, .out = out, .out_size = out_size};
    xml_state *s = calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    s->on_end = find_end;
    s->ud = &c;
    es_status rc = run(s, xml, len, err);
    free(s);
    if (rc != ES_OK)
        return rc;
    if (!c.found)
        return es_error_set(err, ES_ERR_NOT_FOUND, "S3 XML reply has no <%s>", name);
    return ES_OK;
}

es_status es_s3_xml_escape(es_buf *b, const char *s, es_error *err)
{
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        default: break;
        }
        es_status rc = rep ? es_buf_append(b, rep, strlen(rep), err) : es_buf_append(b, s, 1, err);
        if (rc != ES_OK)
            return rc;
    }
    return ES_OK;
}
