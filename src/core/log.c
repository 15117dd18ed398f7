/*
 * log.c: levelled logging to a stream. Each line is formatted whole and
 * written under the logger's own mutex, so lines from worker threads never
 * interleave. The logger is an object the caller owns: no global level.
 */
#include "ecosight/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct es_log {
    es_log_level level;
    FILE *sink;
    pthread_mutex_t mu;
};

es_status es_log_new(es_log_level level, FILE *sink, es_log **out, es_error *err)
{
    es_log *l = calloc(1, sizeof *l);
    if (!l)
        return es_error_set(err, ES_ERR_NOMEM, "cannot allocate logger");
    l->level = level;
    l->sink = sink ? sink : stderr;
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    return ES_OK;
}

void es_log_free(es_log *log)
{
    if (!log)
        return;
    pthread_mutex_destroy(&log->mu);
    free(log);
}

es_log_level es_log_get_level(const es_log *log)
{
    return log ? log->level : ES_LOG_QUIET;
}

FILE *es_log_sink(const es_log *log)
{
    return log ? log->sink : NULL;
}

es_status es_log_level_parse(const char *s, es_log_level *out)
{
    static const char *names[] = {"quiet", "error", "warn", "info", "debug", "trace"};
    if (!s || !*s)
        return ES_ERR_INVALID;
    for (int i = 0; i < 6; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (es_log_level)i;
            return ES_OK;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = ES_LOG_WARN;
        return ES_OK;
    }
    if (s[0] >= '0' && s[0] <= '5' && s[1] == '\0') {
        *out = (es_log_level)(s[0] - '0');
        return ES_OK;
    }
    return ES_ERR_INVALID;
}

int es_log_enabled(const es_log *log, es_log_level level)
{
    return log && level != ES_LOG_QUIET && level <= log->level;
}

void es_logf(const es_log *log, es_log_level level, const char *fmt, ...)
{
    if (!es_log_enabled(log, level))
        return;
    static const char *tags[] = {"", "error: ", "warning: ", "", "debug: ", "trace: "};
    char line[2048];
    int n = snprintf(line, sizeof line, "%s", tags[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    if (len == 0 || line[len - 1] != '\n')
        line[len++] = '\n';
    es_log *mut = (es_log *)log; /* the mutex is the only mutable part */
    pthread_mutex_lock(&mut->mu);
    fwrite(line, 1, len, log->sink);
    fflush(log->sink);
    pthread_mutex_unlock(&mut->mu);
}
