/*
 * ecosight/core.h: the ground every other module stands on.
 *
 * Status codes and error details, levelled logging, progress reporting, bounded
 * buffers, atomic file writes, SHA-256/HMAC, a counter-based RNG, small
 * filesystem helpers and a parallel-for. Nothing here keeps global mutable
 * state: a logger, a progress bar or an RNG stream is an object the caller owns
 * and passes down.
 *
 * Conventions used by every module of libecosight:
 *   - A fallible function returns es_status and fills out-parameters only on
 *     success. Its last parameter is `es_error *err` (may be NULL), which
 *     receives the code and a message with context (file, key, HTTP status).
 *   - x_new/x_free and x_open/x_close pair up; every free/close accepts NULL.
 *   - Sample counts are int64_t frames.
 */
#ifndef ECOSIGHT_CORE_H
#define ECOSIGHT_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ES_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ES_NODISCARD __attribute__((warn_unused_result))
#else
#define ES_PRINTF(a, b)
#define ES_NODISCARD
#endif

/* ------------------------------------------------------------------------ */
/* Status codes. The numbers never change; new codes go last.               */
typedef enum es_status {
    ES_OK = 0,
    ES_ERR_NOMEM = 1,        /* out of memory */
    ES_ERR_INVALID = 2,      /* invalid argument or usage */
    ES_ERR_IO = 3,           /* read/write/filesystem failure */
    ES_ERR_NOT_FOUND = 4,    /* file, key, object or class not found */
    ES_ERR_FORMAT = 5,       /* malformed or corrupt data */
    ES_ERR_UNSUPPORTED = 6,  /* valid but unsupported format or feature */
    ES_ERR_TOO_LARGE = 7,    /* a size cap was exceeded */
    ES_ERR_MODEL = 8,        /* model file invalid or incompatible */
    ES_ERR_NETWORK = 9,      /* connection, DNS, timeout, dropped transfer */
    ES_ERR_AUTH = 10,        /* credentials missing or rejected */
    ES_ERR_REMOTE = 11,      /* a remote service answered with an error */
    ES_ERR_BUSY = 12,        /* a lock is held by someone else */
    ES_ERR_CANCELLED = 13,   /* stopped on request */
    ES_ERR_DB = 14,          /* database error */
    ES_ERR_TIMEOUT = 15,     /* an operation took longer than allowed */
    ES_ERR_CONFIG = 16,      /* missing or contradictory configuration */
    ES_ERR_INTERNAL = 17,    /* a bug: an invariant did not hold */
    ES_ERR_EMPTY = 18,       /* input holds no usable data (e.g. no audio) */
    ES_ERR_EXISTS = 19       /* something already exists where it must not */
} es_status;

/* Text for a status code; never NULL, static storage. */
const char *es_strerror(es_status code);

/* Error detail. `msg` holds a complete sentence with context. */
#define ES_ERROR_MSG_MAX 512
typedef struct es_error {
    es_status code;
    char msg[ES_ERROR_MSG_MAX];
} es_error;

/* Fill `err` (if non-NULL) and return `code`, so callers can write
 * `return es_error_set(err, ES_ERR_IO, "cannot open %s: %s", p, strerror(e));` */
es_status es_error_set(es_error *err, es_status code, const char *fmt, ...) ES_PRINTF(3, 4);
es_status es_error_setv(es_error *err, es_status code, const char *fmt, va_list ap);
/* Prefix the existing message with more context ("X: <old message>") and
 * return err->code. With a NULL err it returns ES_ERR_INTERNAL (never ES_OK):
 * prefer `es_error_prefix(err, ...); return rc;`. */
es_status es_error_prefix(es_error *err, const char *fmt, ...) ES_PRINTF(2, 3);
void es_error_clear(es_error *err);
/* The message, or es_strerror(code) when no message was set. */
const char *es_error_text(const es_error *err);

/* ------------------------------------------------------------------------ */
/* Logging. A logger is a level plus a sink; lines are written whole, from  */
/* any thread. A NULL logger is silent.                                      */
typedef enum es_log_level {
    ES_LOG_QUIET = 0, /* nothing at all, not even errors (the caller prints them) */
    ES_LOG_ERROR = 1,
    ES_LOG_WARN = 2,
    ES_LOG_INFO = 3,
    ES_LOG_DEBUG = 4,
    ES_LOG_TRACE = 5
} es_log_level;

typedef struct es_log es_log;

/* sink: where lines go (stderr if NULL); not closed by es_log_free. */
es_status es_log_new(es_log_level level, FILE *sink, es_log **out, es_error *err);
void es_log_free(es_log *log);
es_log_level es_log_get_level(const es_log *log);
FILE *es_log_sink(const es_log *log);
/* Parse "quiet|error|warn|info|debug|trace" (or 0..5). */
es_status es_log_level_parse(const char *s, es_log_level *out);
int es_log_enabled(const es_log *log, es_log_level level);
void es_logf(const es_log *log, es_log_level level, const char *fmt, ...) ES_PRINTF(3, 4);
#define es_log_error(l, ...) es_logf((l), ES_LOG_ERROR, __VA_ARGS__)
#define es_log_warn(l, ...) es_logf((l), ES_LOG_WARN, __VA_ARGS__)
#define es_log_info(l, ...) es_logf((l), ES_LOG_INFO, __VA_ARGS__)
#define es_log_debug(l, ...) es_logf((l), ES_LOG_DEBUG, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Progress. A bar with rate and ETA when the logger's sink is a terminal,  */
/* a plain line every few seconds otherwise, nothing when the logger is     */
/* below INFO or NULL. Thread-safe: workers call es_progress_add.           */
typedef struct es_progress es_progress;

/* unit: what is counted ("files", "patches", "B" for bytes); total <= 0 when
 * unknown. Returns NULL only when out of memory; a NULL progress is a no-op. */
es_progress *es_progress_new(const es_log *log, const char *label, int64_t total,
                             const char *unit);
void es_progress_add(es_progress *p, int64_t n);
void es_progress_set_total(es_progress *p, int64_t total);
/* Print the final line ("label: N units in T s (R/s)") and free. */
void es_progress_done(es_progress *p);

/* ------------------------------------------------------------------------ */
/* Bounded buffer: grows up to `limit` bytes and no further (ES_ERR_TOO_LARGE).
 * Always NUL-terminated past `len` so text can be read as a C string.       */
typedef struct es_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
} es_buf;

void es_buf_init(es_buf *b, size_t limit);
es_status es_buf_append(es_buf *b, const void *data, size_t n, es_error *err);
es_status es_buf_printf(es_buf *b, es_error *err, const char *fmt, ...) ES_PRINTF(3, 4);
es_status es_buf_reserve(es_buf *b, size_t n, es_error *err);
void es_buf_reset(es_buf *b);   /* len = 0, keeps memory */
void es_buf_free(es_buf *b);    /* releases memory; b can be reused after init */
/* Hand the data over to the caller (free() it); the buffer becomes empty. */
char *es_buf_steal(es_buf *b, size_t *len);

/* ------------------------------------------------------------------------ */
/* Files. Writes are atomic: a temporary file in the same directory, fsync, */
/* rename over the target, fsync of the directory. A crash leaves the old   */
/* file or the new one, never a half-written one.                           */
typedef struct es_afile es_afile;

es_status es_afile_open(const char *path, es_afile **out, es_error *err);
es_status es_afile_write(es_afile *f, const void *data, size_t n, es_error *err);
FILE *es_afile_stream(es_afile *f); /* for fprintf-style writers; check es_afile_commit */
/* Flush, fsync, rename into place, fsync the directory, free. */
es_status es_afile_commit(es_afile *f, es_error *err);
/* Remove the temporary file and free; accepts NULL. */
void es_afile_abort(es_afile *f);

es_status es_write_file_atomic(const char *path, const void *data, size_t n, es_error *err);
/* Read a whole file of at most `limit` bytes; *out is NUL-terminated, free() it. */
es_status es_read_file(const char *path, size_t limit, char **out, size_t *len, es_error *err);
/* fsync a directory (after rename/unlink within it). */
es_status es_fsync_dir(const char *dir, es_error *err);

/* mkdir -p */
es_status es_mkdirs(const char *path, es_error *err);
int es_is_dir(const char *path);
int es_is_file(const char *path);
es_status es_file_size(const char *path, int64_t *size, es_error *err);
/* Join two path parts with exactly one '/'; returns malloc'd string or NULL. */
char *es_path_join(const char *a, const char *b);
/* Pointers into `path`: the last component, and its extension without the dot
 * ("" when none). es_path_stem copies the last component without extension. */
const char *es_path_base(const char *path);
const char *es_path_ext(const char *path);
char *es_path_stem(const char *path);

/* A sorted list of names in a directory (no "." or ".."; hidden files
 * skipped). kind: 0 everything, 1 regular files only, 2 directories only. */
typedef struct es_strlist {
    char **items;
    size_t count;
    size_t cap;
} es_strlist;

es_status es_strlist_push(es_strlist *l, const char *s, es_error *err);
void es_strlist_sort(es_strlist *l);
void es_strlist_free(es_strlist *l);
es_status es_list_dir(const char *dir, int kind, es_strlist *out, es_error *err);

/* Remove a directory tree (like rm -rf); missing is not an error. */
es_status es_remove_tree(const char *path, es_error *err);

/* ------------------------------------------------------------------------ */
/* Hashing (OpenSSL underneath).                                            */
#define ES_SHA256_LEN 32
#define ES_SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

typedef struct es_sha256_ctx es_sha256_ctx;
es_status es_sha256_new(es_sha256_ctx **out, es_error *err);
void es_sha256_update(es_sha256_ctx *c, const void *data, size_t n);
void es_sha256_final(es_sha256_ctx *c, uint8_t out[ES_SHA256_LEN]); /* also resets */
void es_sha256_free(es_sha256_ctx *c);

void es_sha256(const void *data, size_t n, uint8_t out[ES_SHA256_LEN]);
es_status es_sha256_file(const char *path, uint8_t out[ES_SHA256_LEN], es_error *err);
void es_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    uint8_t out[ES_SHA256_LEN]);
void es_md5(const void *data, size_t n, uint8_t out[16]);
/* Lower-case hex of n bytes into out (2n+1 chars). */
void es_hex(const uint8_t *bytes, size_t n, char *out);
/* Parse 2n hex digits; returns 0 on success, -1 on a bad digit or length. */
int es_unhex(const char *hex, uint8_t *out, size_t n);
/* Constant-time comparison; 1 when equal. */
int es_ct_equal(const void *a, const void *b, size_t n);

/* ------------------------------------------------------------------------ */
/* Counter-based RNG (Philox4x32-10). A stream is keyed by (seed, key bytes, */
/* name): the same triple always gives the same sequence, whatever thread,  */
/* order or machine draws it. Streams are cheap values, not shared objects. */
typedef struct es_rng {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t out[4];
    int avail;              /* unread words left in out[] */
    int has_gauss;
    double gauss;
} es_rng;

/* key may be NULL with keylen 0; name may be NULL. */
void es_rng_init(es_rng *r, uint64_t seed, const void *key, size_t keylen, const char *name);
uint32_t es_rng_u32(es_rng *r);
uint64_t es_rng_u64(es_rng *r);
double es_rng_uniform(es_rng *r);               /* [0, 1), 53 bits */
double es_rng_uniform_range(es_rng *r, double lo, double hi);
uint64_t es_rng_below(es_rng *r, uint64_t n);    /* unbiased [0, n) */
double es_rng_normal(es_rng *r);                 /* N(0, 1) */
/* Pick k distinct indices of [0, n) uniformly (partial Fisher-Yates); the
 * result keeps draw order. k <= n and k <= 64. */
void es_rng_sample(es_rng *r, size_t n, size_t k, size_t *out);
void es_rng_shuffle(es_rng *r, size_t *idx, size_t n);

/* ------------------------------------------------------------------------ */
/* Threads and time.                                                        */
int es_cpu_count(void);
/* Run fn(ctx, i) for i in [0, n) on `threads` threads (<= 0: all cores).
 * Items are handed out in order; fn must not depend on which thread runs it.
 * Returns the first non-OK status any call returned (work already started
 * finishes; remaining items are skipped). */
typedef es_status (*es_parallel_fn)(void *ctx, int64_t i, int thread_index, es_error *err);
es_status es_parallel_for(int threads, int64_t n, es_parallel_fn fn, void *ctx, es_error *err);

double es_monotonic_s(void);              /* seconds, monotonic clock */
/* "2026-11-24T03:33:39Z" (ISO 8601, UTC) into out[32]. */
void es_utc_iso8601(double unix_time, char out[32]);
/* "20261124T033339Z" (compact, sortable; used for version names) into out[32]. */
void es_utc_compact(double unix_time, char out[32]);
double es_unix_time(void);                /* wall clock, seconds since epoch */

/* The library version ("0.1.0"). */
const char *es_version(void);


/* ------------------------------------------------------------------------ */
/* Incremental hashing of any supported digest (hash_stream.c), for data    */
/* that streams through (S3 downloads and multipart parts): no second pass. */
#define ES_HASH_MAX_LEN 32
typedef enum es_hash_alg { ES_HASH_MD5 = 1, ES_HASH_SHA256 = 2 } es_hash_alg;
typedef struct es_hash_ctx es_hash_ctx;
es_status es_hash_new(es_hash_alg alg, es_hash_ctx **out, es_error *err);
void es_hash_update(es_hash_ctx *h, const void *data, size_t n);
/* Writes the digest (16 bytes for MD5, 32 for SHA-256), returns its length,
 * and starts the context over (as after es_hash_new). */
size_t es_hash_final(es_hash_ctx *h, uint8_t out[ES_HASH_MAX_LEN]);
void es_hash_reset(es_hash_ctx *h);  /* forget what was hashed so far */
size_t es_hash_len(const es_hash_ctx *h);
void es_hash_free(es_hash_ctx *h);

#ifdef __cplusplus
}
#endif
#endif
