/*
 * dashboard.h: the web dashboard, embedded in the binary (web/ is compiled in
 * by cmake/embed.cmake), and the static report built from the same JS/CSS.
 *
 * The server routes GET /dashboard* (and GET / when the client prefers
 * text/html) to es_dashboard_asset(); the page itself polls the JSON endpoints
 * of the API (/status, /metrics, /training-history, /models, /retrain/status).
 */
#ifndef ES_SERVER_DASHBOARD_H
#define ES_SERVER_DASHBOARD_H

#include <stddef.h>

#include "ecosight/core.h"
#include "ecosight/server_report.h"

/* An embedded dashboard asset by URL path ("/dashboard", "/dashboard/",
 * "/dashboard/app.js", ...; a query string is ignored): returns 1 and fills
 * the out-params when found, 0 otherwise. The body is static storage (never
 * freed) and is followed by a NUL byte that len does not count. Thread-safe. */
int es_dashboard_asset(const char *url, const unsigned char **body, size_t *len,
                       const char **content_type);

/* The same lookup by file name relative to web/ ("app.js"); NULL when absent. */
const unsigned char *es_dashboard_file(const char *name, size_t *len);

#endif
