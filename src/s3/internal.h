/*
 * internal.h: what the s3 module's files share: the client struct, one
 * signed request with retries (client.c), and the retry policy as pure
 * functions so the unit tests can check it.
 */
#ifndef ES_S3_INTERNAL_H
#define ES_S3_INTERNAL_H

#include "ecosight/s3.h"
#include "sigv4.h"

#include <pthread.h>
#include <stdio.h>

#define S3_POOL_MAX 32
#define S3_ERR_BODY_MAX (64u << 10)

struct es_s3_client {
    es_s3_config cfg;
    const es_log *log;
    char scheme[8];      /* "http" or "https" */
    char authority[256]; /* host[:port] of the endpoint */
    pthread_mutex_t mu;  /* guards the idle handle pool */
    void *idle[S3_POOL_MAX];
    int nidle;
    /* a bucket S3 said lives in another region (guarded by mu): later
     * requests for it are signed for that region straight away */
    char moved_bucket[64];
    char moved_region[64];
};

typedef struct s3_request {
    const char *op;       /* "GetObject": for messages */
    const char *method;   /* "GET", "PUT", ... */
    const char *bucket;   /* NULL: the service itself */
    const char *key;      /* NULL: the bucket itself */
    es_sigv4_kv query[8];
    size_t nquery;
    es_sigv4_kv headers[8]; /* extra headers, signed too */
    size_t nheaders;
    const void *body;     /* request body (may be NULL) */
    size_t body_len;
    /* or the body is body_len bytes of file body_fd from body_off, read with
     * pread as libcurl asks (a multipart part: memory stays constant) */
    int body_from_fd;
    int body_fd;
    int64_t body_off;
    const char *payload_sha256; /* hex SHA-256 of the body; NULL: computed here */
    int head;             /* HEAD: no response body */
    /* success body: into `out` (bounded) or appended to out_file */
    es_buf *out;
    FILE *out_file;
    int64_t out_pos;      /* bytes already in out_file (the Range start); updated */
    int resumable;        /* out_file: resume with Range after a dropped transfer */
    es_s3_bytes_fn bytes_cb;
    void *bytes_ud;
    /* out_file: hashes fed every byte written to it (reset when the file starts
     * over), so the download is verified without reading it again */
    es_hash_ctx *out_hash[2];
} s3_request;

typedef struct s3_response {
    long status;
    char etag[72];
    char sha256[ES_SHA256_HEX_LEN];
    char content_type[128];
    char bucket_region[64];  /* x-amz-bucket-region (a wrong-region answer names the right one) */
    int64_t content_length;  /* -1 when absent */
    int64_t total_size;      /* from Content-Range "bytes a-b/total", else -1 */
    char code[64];           /* S3 error code */
    char message[256];
    int attempts;
} s3_response;

/* The download file starts over: forget what out_hash has seen. */
void s3_out_hash_reset(s3_request *r);

/* Sign and send with retries. ES_OK only for a 2xx answer; otherwise err
 * names op, s3://bucket/key, HTTP status, S3 code and message. resp is
 * filled either way (status 0 when no answer came). */
es_status s3_perform(es_s3_client *c, s3_request *r, s3_response *resp, es_error *err);

/* The retry policy. Retry 5xx, 429, the throttling/timeout codes, and
 * transport failures (transport = 1: timeouts, refused/dropped connections). */
int es_s3_should_retry(long http_status, const char *s3_code, int transport);
/* Full jitter: u * min(cap, base * 2^(attempt-1)), u in [0,1). attempt >= 1. */
double es_s3_backoff_s(double base, double cap, int attempt, double u);
/* Our status for an S3 answer: AUTH, NOT_FOUND, UNSUPPORTED, REMOTE... */
es_status es_s3_status_for(long http_status, const char *s3_code);

/* The ETag S3 gives a multipart upload of this file in parts of psz bytes:
 * hex MD5 of the concatenated part MD5s, "-", part count (sync.c). */
es_status s3_file_multipart_etag(const char *path, int64_t size, int64_t psz, char *out,
                                 size_t outn, es_error *err);

/* 1 when requests for bucket go to bucket.<endpoint host> (client.c). */
int s3_use_vhost(const es_s3_client *c, const char *bucket);

/* Raw key → "s3://bucket/key" for messages (never contains secrets). */
void s3_url_for_msg(char *out, size_t n, const char *bucket, const char *key);

#endif
