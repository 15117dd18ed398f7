/*
 * internal.h: what the server's files share: the server object, one
 * request's state while its body streams in, and the helpers the endpoint
 * handlers use to answer. Only server/ includes it.
 */
#ifndef ES_SERVER_INTERNAL_H
#define ES_SERVER_INTERNAL_H

#include "ecosight/server.h"
#include "ecosight/s3.h"
#include "ecosight/store.h"

#include "holder.h"
#include "metrics.h"
#include "multipart.h"

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#define ES_SRV_JSON_BODY_MAX (64 * 1024)
#define ES_SRV_FIELD_MAX 1024 /* text form fields (class_name) */

/* Request bodies a route accepts. */
enum { ES_BODY_NONE = 0, ES_BODY_JSON, ES_BODY_MULTIPART };

typedef struct es_req es_req;

/* Workers for the heavy handlers (pool.c). */
typedef struct es_srv_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    es_req *head, *tail;
    size_t len, max_queue;
    pthread_t *threads;
    int nthreads;
    int stop;
} es_srv_pool;

es_status es_srv_pool_start(es_srv_pool *p, int threads, size_t max_queue, es_error *err);
/* Suspend c and queue q for a worker: 1 queued, 0 the queue is full/stopping. */
int es_srv_pool_submit(es_srv_pool *p, es_req *q, struct MHD_Connection *c);
/* Let the workers finish the queue, then join them. */
void es_srv_pool_stop(es_srv_pool *p);

/* One loaded model version as the server shares it (held through es_ref). */
typedef struct es_srv_model {
    void *model;              /* the version's predictor (es_model) */
    char *version;            /* the version directory's name */
    char *dir;                /* resolved version directory */
    char *training_date;      /* ISO 8601, "" when unknown */
    double test_accuracy;     /* < 0 when unknown */
    size_t nclasses;
    char **classes;
    char *metrics_json;       /* performance_metrics.json as stored, or NULL */
    char *history_json;       /* training_history.json as stored, or NULL */
    /* For GET /status (read-only once opened; NULL when the files lack them):
     * decision_thresholds{class: t} and gun_shot_min_recall from
     * model_metadata.json, threshold_metrics{class: {threshold, precision,
     * recall}} from performance_metrics.json, per class {train, val, test,
     * training_examples} from split.json, and training_config's
     * augmentations_per_file{class: k}. */
    cJSON *thresholds;
    double gun_shot_min_recall; /* < 0 when unknown */
    cJSON *threshold_metrics;
    cJSON *split_classes;
    cJSON *aug_per_file;
} es_srv_model;

/* The background retrain: one at a time, its progress readable by
 * GET /retrain/status while it runs. All fields under mu. */
typedef struct es_srv_job {
    pthread_mutex_t mu;
    pthread_t thread;
    int has_thread;           /* a thread to join */
    int running;
    char state[16];           /* idle, running, completed, failed, cancelled, skipped */
    char stage[32];
    double progress;          /* 0..1 */
    char message[256];
    double started_at, finished_at; /* unix time, 0 = never */
    char last_error[ES_ERROR_MSG_MAX];
    char trigger_reason[256];
    long min_new_samples;
    char new_version[128];
    volatile int cancel;
} es_srv_job;

struct es_server {
    es_server_config cfg;   /* strings below are owned copies */
    char *host, *models_dir, *data_dir, *yamnet_path, *token, *cors;
    struct MHD_Daemon *d;
    int port;
    es_log *log;
    FILE *access_log;
    es_metrics metrics;
    es_holder holder;       /* es_ref -> es_srv_model */
    double started;
    atomic_int stopping;
    pthread_mutex_t upload_mu; /* picks unique upload file names */
    /* The catalog's per-class summary for GET /status, cached briefly so a
     * polled /status does not query SQLite every time; an upload bumps
     * data_gen to refresh it at once. Under data_mu. */
    pthread_mutex_t data_mu;
    cJSON *data_cache;
    double data_cache_t;
    unsigned data_cache_gen;
    atomic_uint data_gen;
    es_srv_job job;
    es_srv_pool pool;
    void *yamnet;              /* es_yamnet *, shared by every version; NULL: none */
    es_store *store;           /* the catalog (NULL when it cannot be opened) */
    es_s3_client *s3;          /* uploads and model pulls; NULL when S3 is not configured */
    const char *s3_bucket;     /* owned by the S3 configuration */
};

/* One request, from its first header callback to its completion. */
struct es_req {
    es_server *srv;
    struct MHD_Connection *conn; /* while queued for a worker */
    es_req *next;                /* the pool's queue */
    es_route route;
    int body_kind;
    char method[16];
    char path[256];
    char remote[64];
    char origin[256];
    double t0;
    int status;             /* status queued (0 = none yet) */
    int queued;
    int handled;            /* a worker ran its handler */
    size_t body_len;
    /* JSON body */
    es_buf json;
    /* multipart body */
    es_mp *mp;
    int field;              /* the part being received: 0 ignored, 1 file, 2 class_name */
    es_buf file;
    char filename[ES_MP_NAME_MAX];
    int have_file;
    es_buf class_name;
    int have_class;
    /* the first error found while the body streamed; answered at its end */
    int err_status;
    char err_detail[ES_ERROR_MSG_MAX];
};

/* Answer with a JSON document (takes ownership of doc). */
enum MHD_Result es_srv_json(es_req *q, struct MHD_Connection *c, int status, cJSON *doc);
/* Answer {"detail": "..."}. */
enum MHD_Result es_srv_error(es_req *q, struct MHD_Connection *c, int status, const char *fmt,
                             ...) ES_PRINTF(4, 5);
/* Answer with raw bytes; `body` is copied unless is_static. */
enum MHD_Result es_srv_raw(es_req *q, struct MHD_Connection *c, int status, const char *ctype,
                           const void *body, size_t len, int is_static);

/* Load the live model at start (a missing model is logged, not fatal), and
 * stop background jobs (a running retrain is cancelled and joined). */
void es_srv_load_initial(es_server *s);
void es_srv_shutdown_jobs(es_server *s);
void es_srv_close_resources(es_server *s); /* after the workers stopped */

/* Jobs (jobs.c). */
void es_srv_job_init(es_srv_job *j);
void es_srv_job_destroy(es_srv_job *j);
/* Start a retrain unless one runs: 1 started, 0 already running, -1 error. */
int es_srv_job_start(es_server *s, const char *reason, long min_new_samples, es_error *err);
cJSON *es_srv_job_status(es_srv_job *j);
/* Model versions (model.c): open one whole for serving, as an es_ref
 * holding an es_srv_model. */
es_status es_srv_model_open(const char *dir, es_ref **out, es_error *err);
enum MHD_Result es_srv_predict(es_req *q, struct MHD_Connection *c);
/* Models (models.c). */
cJSON *es_srv_models_list(es_server *s);
cJSON *es_srv_training_history(es_server *s);
/* The catalog per class {originals, bad, new_since_training} (status.c); a
 * new object the caller owns, NULL without a catalog. */
cJSON *es_srv_catalog_summary(es_server *s);

/* Endpoint handlers (handlers.c): called once the whole body arrived. */
enum MHD_Result es_srv_handle(es_req *q, struct MHD_Connection *c);

/* A safe file name: the last path component, only [A-Za-z0-9._-] kept
 * (others become '_'), no leading dots, at most 100 bytes, never empty. */
void es_srv_sanitize_filename(const char *in, char *out, size_t cap);
/* A class name is 1..64 of [a-z0-9_-], starting with a letter or digit. */
int es_srv_valid_class_name(const char *s);
/* The HTTP status for a library error from decoding what a client sent. */
int es_srv_status_for(es_status code);

extern const char es_openapi_json[];

#endif
