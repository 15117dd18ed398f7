/*
 * dashboard.c: serve the embedded web/ files by URL. "/dashboard", "/dashboard/"
 * and "/" are the page (index.html); "/dashboard/<file>" is any other file.
 * Lookups are exact-match over the generated table: no file system access, so
 * no path traversal is possible whatever the URL holds.
 */
#include "server/dashboard.h"

#include <string.h>

#include "server/dashboard_assets.h"

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n >= e && strcmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static const es_web_asset *find_asset(const char *name, size_t name_len)
{
    for (size_t i = 0; i < es_web_assets_count; i++) {
        const es_web_asset *a = &es_web_assets[i];
        if (strlen(a->path) == name_len && memcmp(a->path, name, name_len) == 0)
            return a;
    }
    return NULL;
}

const unsigned char *es_dashboard_file(const char *name, size_t *len)
{
    if (!name)
        return NULL;
    const es_web_asset *a = find_asset(name, strlen(name));
    if (!a)
        return NULL;
    if (len)
        *len = a->len;
    return a->data;
}

int es_dashboard_asset(const char *url, const unsigned char **body, size_t *len,
                       const char **content_type)
{
    if (!url)
        return 0;
    size_t n = strcspn(url, "?#");
    static const char prefix[] = "/dashboard";
    const size_t plen = sizeof prefix - 1;
    const char *name;
    size_t name_len;
    if ((n == 1 && url[0] == '/') || (n == plen && memcmp(url, prefix, plen) == 0) ||
        (n == plen + 1 && memcmp(url, "/dashboard/", plen + 1) == 0)) {
        name = "index.html";
        name_len = strlen(name);
    } else if (n > plen + 1 && memcmp(url, "/dashboard/", plen + 1) == 0) {
        name = url + plen + 1;
        name_len = n - plen - 1;
    } else {
        return 0;
    }
    const es_web_asset *a = find_asset(name, name_len);
    if (!a)
        return 0;
    if (body)
        *body = a->data;
    if (len)
        *len = a->len;
    if (content_type)
        *content_type = content_type_of(a->path);
    return 1;
}
