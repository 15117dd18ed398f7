/*
 * dashboard_assets.h: the table of web/ files that cmake/embed.cmake generates
 * at build time (${CMAKE_BINARY_DIR}/generated/es_web_assets.c). Private to the
 * server module; the rest of the program uses es_dashboard_asset().
 */
#ifndef ES_SERVER_DASHBOARD_ASSETS_H
#define ES_SERVER_DASHBOARD_ASSETS_H

#include <stddef.h>

typedef struct es_web_asset {
    const char *path;            /* relative to web/, e.g. "app.js" */
    const unsigned char *data;   /* len bytes followed by a NUL */
    size_t len;
} es_web_asset;

extern const es_web_asset es_web_assets[];
extern const size_t es_web_assets_count;

#endif
