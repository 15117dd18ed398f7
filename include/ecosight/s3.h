/*
 * ecosight/s3.h: a native S3 client (Signature V4, libcurl) and the directory
 * sync behind `ecosight upload`, `ecosight download` and retraining.
 *
 *   es_s3_config cfg;
 *   es_s3_client *c;
 *   if (es_s3_config_from_env(&cfg, &err) != ES_OK) ...;   // AWS_* variables, profiles
 *   if (es_s3_client_new(&cfg, log, &c, &err) != ES_OK) ...;
 *   es_s3_config_clear(&cfg);                               // the client keeps a copy
 *   es_s3_sync_opts o = es_s3_sync_default_opts();
 *   es_s3_sync_summary s;
 *   es_s3_download_prefix(c, "ecosight-training-data", "extracted_audio/", "data", &o, &s, &err);
 *   es_s3_sync_summary_clear(&s);
 *   es_s3_client_free(c);
 *
 * A client is thread-safe: any number of threads may call operations on it at
 * once (it keeps a pool of connections). Every failed call fills `err` with
 * the operation, the bucket/key, the HTTP status and S3's error code and
 * message ("GetObject s3://b/k: HTTP 403 SignatureDoesNotMatch: ..."). Secrets
 * (secret key, session token, signatures) never appear in errors or logs.
 * Transient failures (5xx, 429, SlowDown, timeouts, dropped connections) are
 * retried with exponential backoff and full jitter, up to max_attempts.
 */
#ifndef ECOSIGHT_S3_H
#define ECOSIGHT_S3_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ES_S3_DEFAULT_BUCKET "ecosight-training-data"
#define ES_S3_DEFAULT_PREFIX "extracted_audio/"
#define ES_S3_MULTIPART_THRESHOLD (8 * 1024 * 1024) /* objects above this go multipart */
#define ES_S3_PART_SIZE (8 * 1024 * 1024)

/* ------------------------------------------------------------------------ */
/* Configuration, the way the AWS tools read it:                             */
/*   credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 *     else the [AWS_PROFILE or "default"] section of AWS_SHARED_CREDENTIALS_FILE
 *     (~/.aws/credentials), else of AWS_CONFIG_FILE (~/.aws/config, section
 *     "profile NAME"); no credentials at all = anonymous (unsigned) requests;
 *   region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, us-east-1;
 *   endpoint: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url,
 *     else https://s3.<region>.amazonaws.com;
 *   addressing: path-style when ES_S3_PATH_STYLE=1 / AWS_S3_FORCE_PATH_STYLE=1
 *     or when a custom endpoint is set (S3-compatible stores), else virtual-host;
 *   bucket: S3_BUCKET, else ES_S3_DEFAULT_BUCKET.
 * All strings are malloc'd and owned by the struct (es_s3_config_clear).   */
typedef struct es_s3_config {
    char *access_key;    /* NULL: anonymous */
    char *secret_key;
    char *session_token; /* NULL unless temporary credentials */
    char *region;        /* "us-east-1" */
    char *endpoint;      /* "https://host[:port]" without trailing slash */
    char *bucket;        /* default bucket for the CLI */
    int path_style;      /* 1: https://host/bucket/key, 0: https://bucket.host/key */
    int max_attempts;    /* total tries per request (default 5, env AWS_MAX_ATTEMPTS) */
    double connect_timeout_s; /* default 10 */
    double stall_timeout_s;   /* abort a transfer that moves < 1 byte/s this long (default 30) */
    double backoff_base_s;    /* first retry waits up to this (default 0.2); doubles each try */
    double backoff_max_s;     /* cap of one wait (default 10) */
    int64_t multipart_threshold; /* ES_S3_MULTIPART_THRESHOLD */
    int64_t part_size;           /* ES_S3_PART_SIZE (>= 5 MiB) */
    int part_jobs;               /* parallel parts of one multipart upload (default 4) */
    int64_t max_bytes_per_s;     /* per-transfer speed cap each way (0 = none) */
} es_s3_config;

/* Defaults without reading anything (no credentials, us-east-1, AWS endpoint). */
es_status es_s3_config_default(es_s3_config *cfg, es_error *err);
/* Defaults, then the environment and profile files as described above. */
es_status es_s3_config_from_env(es_s3_config *cfg, es_error *err);
void es_s3_config_clear(es_s3_config *cfg);

/* "s3://bucket/some/prefix" → bucket and prefix (may be ""); both malloc'd. */
es_status es_s3_parse_url(const char *url, char **bucket, char **prefix, es_error *err);

/* ------------------------------------------------------------------------ */
/* The client.                                                               */
typedef struct es_s3_client es_s3_client;

/* Copies cfg. log may be NULL (silent); it must outlive the client. */
es_status es_s3_client_new(const es_s3_config *cfg, const es_log *log, es_s3_client **out,
                           es_error *err);
void es_s3_client_free(es_s3_client *c);
const es_s3_config *es_s3_client_config(const es_s3_client *c);

/* ------------------------------------------------------------------------ */
/* Object operations. Keys are raw UTF-8 (encoded on the wire by us).        */
typedef struct es_s3_object {
    char *key;
    int64_t size;
    char etag[72];  /* without quotes; "<md5hex>" for single-part, "<hex>-N" for multipart */
    char last_modified[32];
} es_s3_object;

typedef struct es_s3_object_list {
    es_s3_object *items;
    size_t count;
    size_t cap;
} es_s3_object_list;
void es_s3_object_list_free(es_s3_object_list *l);

/* ListObjectsV2 over every page (continuation tokens) of keys under prefix;
 * appends to *out (initialise it to {0}). max_objects caps the total (0 = 10 million). */
es_status es_s3_list(es_s3_client *c, const char *bucket, const char *prefix,
                     size_t max_objects, es_s3_object_list *out, es_error *err);

typedef struct es_s3_head_info {
    int64_t size;
    char etag[72];
    char sha256[ES_SHA256_HEX_LEN]; /* x-amz-meta-sha256, "" when absent */
    char content_type[128];
} es_s3_head_info;
/* HeadObject; ES_ERR_NOT_FOUND when the object (or bucket) does not exist. */
es_status es_s3_head(es_s3_client *c, const char *bucket, const char *key,
                     es_s3_head_info *out, es_error *err);

/* GetObject streamed to `path`: written to the hidden ".<name>.part" beside it,
 * resumed with a Range request when that exists (and after a dropped connection), size
 * checked, MD5 verified against a single-part ETag and SHA-256 against
 * x-amz-meta-sha256 when present, then fsync'd and renamed over `path`.
 * A failure leaves at most the .part file, never a partial file at `path`.
 * info (may be NULL) receives the object's head. bytes_cb (may be NULL) is
 * told each chunk of bytes received. */
typedef void (*es_s3_bytes_fn)(void *ud, int64_t nbytes);
es_status es_s3_get_file(es_s3_client *c, const char *bucket, const char *key, const char *path,
                         es_s3_bytes_fn bytes_cb, void *ud, es_s3_head_info *info, es_error *err);
/* GetObject into memory (at most `limit` bytes, else ES_ERR_TOO_LARGE); free(*data). */
es_status es_s3_get_buffer(es_s3_client *c, const char *bucket, const char *key, size_t limit,
                           char **data, size_t *len, es_error *err);

/* PutObject of a file; multipart (parts in parallel, aborted on failure)
 * above cfg.multipart_threshold. Records the file's SHA-256 as
 * x-amz-meta-sha256. content_type may be NULL (guessed from the extension).
 * sha256_hex may be NULL (computed). etag_out (may be NULL, 72 bytes) gets the ETag. */
es_status es_s3_put_file(es_s3_client *c, const char *bucket, const char *key, const char *path,
                         const char *content_type, const char *sha256_hex,
                         es_s3_bytes_fn bytes_cb, void *ud, char *etag_out, es_error *err);
es_status es_s3_put_buffer(es_s3_client *c, const char *bucket, const char *key,
                           const void *data, size_t len, const char *content_type,
                           es_error *err);
/* DeleteObject (deleting a missing key is not an error, as in S3). */
es_status es_s3_delete(es_s3_client *c, const char *bucket, const char *key, es_error *err);
/* CreateBucket with a LocationConstraint outside us-east-1. *created = 1 when
 * made now, 0 when it already existed and is ours (may be NULL). */
es_status es_s3_create_bucket(es_s3_client *c, const char *bucket, int *created, es_error *err);
/* HeadBucket: ES_OK when it exists and we may use it, ES_ERR_NOT_FOUND when missing. */
es_status es_s3_bucket_exists(es_s3_client *c, const char *bucket, es_error *err);
/* PutPublicAccessBlock with all four blocks on. ES_ERR_UNSUPPORTED when the
 * server answers NotImplemented (callers warn and go on). */
es_status es_s3_block_public_access(es_s3_client *c, const char *bucket, es_error *err);

/* A presigned URL (query-string SigV4, UNSIGNED-PAYLOAD) for method ("GET",
 * "PUT") on bucket/key, valid `expires_s` seconds (1..604800); *url malloc'd. */
es_status es_s3_presign(es_s3_client *c, const char *method, const char *bucket, const char *key,
                        int64_t expires_s, char **url, es_error *err);

/* ------------------------------------------------------------------------ */
/* Directory sync.                                                           */
typedef enum es_s3_sync_event {
    ES_S3_SYNC_TRANSFERRED = 0, /* uploaded or downloaded */
    ES_S3_SYNC_SKIPPED = 1,     /* already identical on the other side */
    ES_S3_SYNC_FAILED = 2,
    ES_S3_SYNC_DELETED = 3,     /* download --delete removed a local file */
    ES_S3_SYNC_PLANNED = 4,     /* dry run: would transfer (or delete, see `deleting`) */
    ES_S3_SYNC_BYTES = 5        /* bytes moved (only with progress_bytes): `bytes` is this chunk */
} es_s3_sync_event;

typedef struct es_s3_sync_progress {
    es_s3_sync_event event;
    const char *key;        /* the object key */
    const char *path;       /* the local file */
    int64_t bytes;          /* this file's size */
    int deleting;           /* PLANNED: 1 = would delete */
    const char *error;      /* FAILED: the message */
    int64_t files_done;     /* files finished so far (any event), of files_total */
    int64_t files_total;
    int64_t bytes_done;     /* bytes transferred so far, of bytes_total (to transfer) */
    int64_t bytes_total;
} es_s3_sync_progress;

/* Called from worker threads, one call at a time (serialised by the sync). */
typedef void (*es_s3_sync_progress_fn)(void *ud, const es_s3_sync_progress *p);

typedef struct es_s3_sync_opts {
    int jobs;             /* parallel transfers (default 4) */
    int dry_run;          /* plan only: report PLANNED events, change nothing */
    int delete_extra;     /* download: remove local files under DIR gone from the prefix */
    int all_files;        /* upload: every file, not only audio extensions */
    es_s3_sync_progress_fn progress;
    void *progress_ud;
    int progress_bytes;   /* also report ES_S3_SYNC_BYTES events (many; key NULL) */
    const volatile int *cancel; /* set non-zero to stop starting new transfers */
} es_s3_sync_opts;

es_s3_sync_opts es_s3_sync_default_opts(void);

typedef struct es_s3_sync_summary {
    int64_t files;     /* transferred (or, in a dry run, that would be) */
    int64_t bytes;     /* bytes of those files */
    int64_t skipped;   /* already up to date */
    int64_t skipped_bytes;
    int64_t failed;
    int64_t deleted;   /* local files removed by delete_extra (or would be) */
    double seconds;
    es_strlist errors; /* one "key: message" line per failed object */
} es_s3_sync_summary;
void es_s3_sync_summary_clear(es_s3_sync_summary *s);

/* Upload every audio file under dir (class folders kept: dir/dog_bark/a.wav →
 * prefix + "dog_bark/a.wav"), skipping objects already there with the same
 * size and content (x-amz-meta-sha256, or the single-part ETag = MD5).
 * Creates the bucket if missing and blocks public access on it.
 * Every object is attempted; returns ES_OK only when none failed (else the
 * first failure's status, message "N of M objects failed: ..."). *sum is
 * always filled (clear it with es_s3_sync_summary_clear). */
es_status es_s3_upload_dir(es_s3_client *c, const char *dir, const char *bucket,
                           const char *prefix, const es_s3_sync_opts *opts,
                           es_s3_sync_summary *sum, es_error *err);
/* Download every object under prefix into dir (key minus prefix = relative
 * path), skipping local files with the same size and content; parallel,
 * resumable and atomic per file (es_s3_get_file). Keys that would escape dir
 * ("..", absolute) are refused as failures. Same return rules as upload. */
es_status es_s3_download_prefix(es_s3_client *c, const char *bucket, const char *prefix,
                                const char *dir, const es_s3_sync_opts *opts,
                                es_s3_sync_summary *sum, es_error *err);

/* Is this a file the sync uploads (audio extension: wav, mp3, flac, ogg, m4a,...)? */
int es_s3_is_audio_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
