/*
 * ecosight/server.h: the HTTP API (`ecosight serve`): predictions, uploads,
 * retraining, model and training information, Prometheus metrics and the
 * dashboard, served by libmicrohttpd from a pool of worker threads.
 *
 * Usage:
 *     es_server_config c = es_server_default_config();
 *     c.port = 0;                              // ephemeral; es_server_port() tells which
 *     es_server *s;
 *     if (es_server_start(&c, &s, &err) == ES_OK) {
 *         ... wait for SIGTERM ...
 *         es_server_stop(s, 30.0);             // drain: in-flight requests finish
 *         es_server_free(s);
 *     }
 *
 * Every client mistake is a 4xx JSON {"detail": "..."}; the server never
 * answers 5xx to anything a client sent. See docs/API.md.
 */
#ifndef ECOSIGHT_SERVER_H
#define ECOSIGHT_SERVER_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct es_server_config {
    const char *host;          /* address to bind ("0.0.0.0", "127.0.0.1", "::"); NULL = all */
    int port;                  /* 0 = an ephemeral port (see es_server_port) */
    const char *models_dir;    /* versions + latest + retraining_log.json ("models") */
    const char *data_dir;      /* where uploads go: <data_dir>/<class>/... ("extracted_audio") */
    const char *yamnet_path;   /* explicit YAMNet model file, or NULL to search */
    int threads;               /* workers for predict/upload/rollback; <= 0: cores */
    size_t max_upload_bytes;   /* request body cap, enforced while streaming (25 MiB) */
    const char *api_token;     /* when set, /upload, /retrain and model changes need
                                  "Authorization: Bearer <token>" */
    const char *cors_origins;  /* comma-separated allowed origins, "*" = any, "" = none */
    unsigned connection_timeout_s; /* idle connection timeout (slow clients), default 30 */
    unsigned max_connections;  /* concurrent connections, default 1024 */
    unsigned max_connections_per_ip; /* concurrent connections from one client address
                                        (slowloris), default 64; 0 = no limit */
    /* Retraining through POST /retrain (0 / -2 = the training defaults): */
    int retrain_epochs;        /* epochs of the head */
    int retrain_per_file;      /* augmentations per original; -1 = auto; -2 = default */
    int retrain_max_files;     /* use at most N files per class (0 = all) */
    int retrain_threads;       /* threads the retrain may use (0 = half the cores) */
    FILE *access_log;          /* one line per request; NULL = none */
    es_log *log;               /* server events and errors (may be NULL) */
} es_server_config;

es_server_config es_server_default_config(void);

typedef struct es_server es_server;

/* Load the model (when there is one), bind, start the workers. A missing
 * model is not an error: /status then answers 503 until one is trained. */
es_status es_server_start(const es_server_config *cfg, es_server **out, es_error *err);
/* The bound TCP port (useful after port 0). */
int es_server_port(const es_server *s);
/* Stop accepting connections, let requests in flight finish (at most
 * drain_seconds), cancel a running retrain, stop the workers. */
void es_server_stop(es_server *s, double drain_seconds);
/* Stops first when still running; accepts NULL. */
void es_server_free(es_server *s);

#ifdef __cplusplus
}
#endif
#endif
