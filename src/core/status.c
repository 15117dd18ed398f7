/*
 * status.c: status codes as text, and the error-detail record that every
 * fallible function fills. Detail lives in the caller's es_error, never in a
 * global, so concurrent callers cannot see each other's messages.
 */
#include "ecosight/core.h"

#include <stdio.h>
#include <string.h>

const char *es_strerror(es_status code)
{
    switch (code) {
    case ES_OK: return "success";
    case ES_ERR_NOMEM: return "out of memory";
    case ES_ERR_INVALID: return "invalid argument";
    case ES_ERR_IO: return "input/output error";
    case ES_ERR_NOT_FOUND: return "not found";
    case ES_ERR_FORMAT: return "malformed or corrupt data";
    case ES_ERR_UNSUPPORTED: return "unsupported format or feature";
    case ES_ERR_TOO_LARGE: return "size limit exceeded";
    case ES_ERR_MODEL: return "invalid or incompatible model";
    case ES_ERR_NETWORK: return "network error";
    case ES_ERR_AUTH: return "authentication failed";
    case ES_ERR_REMOTE: return "remote service error";
    case ES_ERR_BUSY: return "resource is busy (locked by another process)";
    case ES_ERR_CANCELLED: return "cancelled";
    case ES_ERR_DB: return "database error";
    case ES_ERR_TIMEOUT: return "timed out";
    case ES_ERR_CONFIG: return "configuration error";
    case ES_ERR_INTERNAL: return "internal error";
    case ES_ERR_EMPTY: return "no usable data";
    case ES_ERR_EXISTS: return "already exists";
    }
    return "unknown status code";
}

es_status es_error_setv(es_error *err, es_status code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        if (fmt)
            vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        else
            snprintf(err->msg, sizeof err->msg, "%s", es_strerror(code));
    }
    return code;
}

es_status es_error_set(es_error *err, es_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    es_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

es_status es_error_prefix(es_error *err, const char *fmt, ...)
{
    /* Callers write `return es_error_prefix(err, ...)` on a failure path:
     * without a record we cannot know the code, but must never say ES_OK. */
    if (!err)
        return ES_ERR_INTERNAL;
    char prefix[ES_ERROR_MSG_MAX];
    char old[ES_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    if (old[0])
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    else
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, es_strerror(err->code));
    return err->code;
}

void es_error_clear(es_error *err)
{
    if (err) {
        err->code = ES_OK;
        err->msg[0] = '\0';
    }
}

const char *es_error_text(const es_error *err)
{
    if (!err)
        return "unknown error";
    if (err->msg[0])
        return err->msg;
    return es_strerror(err->code);
}

const char *es_version(void)
{
#ifdef ES_VERSION_STRING
    return ES_VERSION_STRING;
#else
    return "0.0.0";
#endif
}
