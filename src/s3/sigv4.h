/*
 * sigv4.h: AWS Signature Version 4, as a pure function of the request.
 *
 * No clock, no network, no globals: the caller passes method, path, query,
 * headers, payload hash, time and credentials, and gets back the canonical
 * request, the string to sign, the signature and the Authorization header.
 * That is what lets the unit tests replay AWS's published vectors exactly.
 * S3 flavour: the path is URI-encoded once (every byte but unreserved
 * characters and '/') and never normalised ("a//b/../c" is signed as given).
 */
#ifndef ES_S3_SIGV4_H
#define ES_S3_SIGV4_H

#include "ecosight/core.h"

typedef struct es_sigv4_kv {
    const char *name;
    const char *value; /* NULL means "" (a query key without '=') */
} es_sigv4_kv;

typedef struct es_sigv4_request {
    const char *method;        /* "GET" */
    const char *path;          /* raw UTF-8 path starting with '/', encoded by the signer */
    const es_sigv4_kv *query;  /* raw (decoded) names and values, any order */
    size_t nquery;
    const es_sigv4_kv *headers;/* every header to sign, including host; names any case.
                                  Repeated names are joined with ',' in the given order;
                                  a value with folded lines ("a\n  b") becomes "a,b". */
    size_t nheaders;
    const char *payload_hash;  /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;      /* "20150830T123600Z" */
    const char *region;
    const char *service;       /* "s3" */
    const char *access_key;
    const char *secret_key;
} es_sigv4_request;

typedef struct es_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;      /* "host;x-amz-date" */
    char *credential;          /* "AKID/20150830/us-east-1/s3/aws4_request" */
    char signature[ES_SHA256_HEX_LEN];
    char *authorization;       /* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
} es_sigv4_result;

es_status es_sigv4_sign(const es_sigv4_request *r, es_sigv4_result *out, es_error *err);
void es_sigv4_result_free(es_sigv4_result *r);

/* Query-string signing (presigned URL). r->query holds the request's own
 * parameters; the X-Amz-* ones are added here (X-Amz-Security-Token when
 * session_token is non-NULL). r->payload_hash should be "UNSIGNED-PAYLOAD".
 * *query_out (malloc'd) is the complete encoded query string, ending with
 * X-Amz-Signature, without the leading '?'. out gets the intermediate strings. */
es_status es_sigv4_presign(const es_sigv4_request *r, int64_t expires_s,
                           const char *session_token, char **query_out,
                           es_sigv4_result *out, es_error *err);

/* URI-encode per SigV4 (unreserved A-Z a-z 0-9 - _ . ~ kept; '/' kept when
 * keep_slash) and append to b. */
es_status es_sigv4_uri_encode(es_buf *b, const char *s, size_t n, int keep_slash, es_error *err);

#endif
