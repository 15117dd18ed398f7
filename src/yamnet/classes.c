/*
 * classes.c: YAMNet's class map (yamnet_class_map.csv: index,mid,display_name
 * with a header line; names containing commas are double-quoted, "" escapes
 * a quote). Parsed strictly: the indices must run 0..N-1 in order.
 */
#include "ecosight/yamnet.h"

#include <stdlib.h>
#include <string.h>

#define CLASSMAP_MAX_BYTES (1u << 20)

void es_yamnet_classes_clear(es_yamnet_classes *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++)
        free(c->names[i]);
    free(c->names);
    memset(c, 0, sizeof *c);
}

es_status es_yamnet_classes_find(const char *model_path, char **path_out, es_error *err)
{
    const char *slash = model_path ? strrchr(model_path, '/') : NULL;
    size_t dirlen = slash ? (size_t)(slash - model_path) : 0;
    const char *name = "yamnet_class_map.csv";
    char *p = malloc(dirlen + strlen(name) + 2);
    if (!p)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    if (slash)
        snprintf(p, dirlen + strlen(name) + 2, "%.*s/%s", (int)dirlen, model_path, name);
    else
        snprintf(p, strlen(name) + 1, "%s", name);
    if (!es_is_file(p)) {
        es_error_set(err, ES_ERR_NOT_FOUND, "class map not found at %s (scripts/fetch-models.sh "
                                            "puts it beside the model)", p);
        free(p);
        return ES_ERR_NOT_FOUND;
    }
    *path_out = p;
    return ES_OK;
}

/* One CSV field starting at *s (ends at ',' or end of line); malloc'd. */
static char *csv_field(const char **s)
{
    const char *p = *s;
    es_buf b;
    es_buf_init(&b, 4096);
    if (*p == '"') {
        p++;
        for (;;) {
            if (!*p) {
                es_buf_free(&b);
                return NULL;
            }
            if (*p == '"') {
                if (p[1] == '"') {
                    es_buf_append(&b, "\"", 1, NULL);
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            if (es_buf_append(&b, p, 1, NULL)) {
                es_buf_free(&b);
                return NULL;
            }
            p++;
        }
    } else {
        while (*p && *p != ',' && *p != '\n' && *p != '\r') {
            if (es_buf_append(&b, p, 1, NULL)) {
                es_buf_free(&b);
                return NULL;
            }
            p++;
        }
    }
    *s = p;
    size_t len;
    char *out = es_buf_steal(&b, &len);
    if (!out)
        out = strdup("");
    return out;
}

es_status es_yamnet_classes_load(const char *csv_path, es_yamnet_classes *out, es_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    es_status rc = es_read_file(csv_path, CLASSMAP_MAX_BYTES, &text, &len, err);
    if (rc)
        return rc;
    es_yamnet_classes c = {0};
    size_t cap = 0;
    const char *p = text;
    /* header */
    p = strchr(p, '\n');
    p = p ? p + 1 : text + len;
    size_t line = 1;
    while (*p) {
        line++;
        if (*p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        char *idx = csv_field(&p), *mid = NULL, *name = NULL;
        if (idx && *p == ',') {
            p++;
            mid = csv_field(&p);
            if (mid && *p == ',') {
                p++;
                name = csv_field(&p);
            }
        }
        char *end = NULL;
        long iv = idx ? strtol(idx, &end, 10) : -1;
        int ok = name && end && *end == '\0' && iv == (long)c.count;
        free(idx);
        free(mid);
        if (!ok) {
            size_t want = c.count;
            free(name);
            es_yamnet_classes_clear(&c);
            free(text);
            return es_error_set(err, ES_ERR_FORMAT, "%s:%zu: expected 'index,mid,display_name' "
                                                    "with index %zu", csv_path, line, want);
        }
        if (c.count == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(c.names, cap * sizeof *nn);
            if (!nn) {
                free(name);
                es_yamnet_classes_clear(&c);
                free(text);
                return es_error_set(err, ES_ERR_NOMEM, "out of memory");
            }
            c.names = nn;
        }
        c.names[c.count++] = name;
        while (*p && *p != '\n')
            p++;
    }
    free(text);
    if (c.count != ES_YAMNET_NUM_CLASSES) {
        size_t got = c.count;
        es_yamnet_classes_clear(&c);
        return es_error_set(err, ES_ERR_FORMAT, "%s: %zu classes, expected %d", csv_path, got,
                            ES_YAMNET_NUM_CLASSES);
    }
    *out = c;
    return ES_OK;
}
