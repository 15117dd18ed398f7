/*
 * progress.c: progress for long stages. On a terminal it redraws one bar
 * with rate and ETA (at most ~8 times a second); in a log file or a pipe it
 * prints a plain line every few seconds, so CI logs and journald stay
 * readable; below INFO it prints nothing. Workers call es_progress_add from
 * any thread.
 */
#include "ecosight/core.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ES_PROGRESS_TTY_INTERVAL 0.125
#define ES_PROGRESS_LINE_INTERVAL 5.0

struct es_progress {
    pthread_mutex_t mu;
    FILE *sink;
    int tty;
    char label[64];
    char unit[16];
    int64_t total;
    int64_t done;
    double start;
    double last_draw;
};

es_progress *es_progress_new(const es_log *log, const char *label, int64_t total,
                             const char *unit)
{
    if (!es_log_enabled(log, ES_LOG_INFO))
        return NULL;
    es_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->sink = es_log_sink(log);
    p->tty = isatty(fileno(p->sink));
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->total = total;
    p->start = es_monotonic_s();
    p->last_draw = p->start;
    return p;
}

static void fmt_count(char *out, size_t n, double v, const char *unit)
{
    if (strcmp(unit, "B") == 0) {
        const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int i = 0;
        while (v >= 1024.0 && i < 4) {
            v /= 1024.0;
            i++;
        }
        snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
    } else {
        snprintf(out, n, "%.0f", v);
    }
}

static void fmt_eta(char *out, size_t n, double s)
{
    if (s < 0 || s > 360000) {
        snprintf(out, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

static void draw(es_progress *p, double now, int final)
{
    double el = now - p->start;
    double rate = el > 0 ? (double)p->done / el : 0.0;
    char done[32], total[32], eta[32];
    fmt_count(done, sizeof done, (double)p->done, p->unit);
    fmt_count(total, sizeof total, (double)p->total, p->unit);
    const char *u = strcmp(p->unit, "B") == 0 ? "" : p->unit;
    char rs[32];
    fmt_count(rs, sizeof rs, rate, p->unit);
    const char *sp = *u ? " " : "";
    if (final) {
        char r[32];
        fmt_count(r, sizeof r, rate, p->unit);
        /* bytes carry their unit inside the number ("3.0 MiB") */
        const char *sep = *u ? " " : "";
        fprintf(p->sink, "%s%s: %s%s%s in %.1f s (%s%s%s/s)\n", p->tty ? "\r\033[K" : "",
                p->label, done, sep, u, el, r, sep, u);
    } else if (p->tty) {
        char bar[32];
        int width = 24;
        int fill = p->total > 0 ? (int)((double)width * (double)p->done / (double)p->total) : 0;
        if (fill > width)
            fill = width;
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fmt_eta(eta, sizeof eta, p->total > 0 && rate > 0 ? (double)(p->total - p->done) / rate : -1);
        if (p->total > 0)
            fprintf(p->sink, "\r\033[K%s [%s] %s/%s%s%s  %s/s  ETA %s", p->label, bar, done,
                    total, sp, u, rs, eta);
        else
            fprintf(p->sink, "\r\033[K%s %s%s%s  %s/s", p->label, done, sp, u, rs);
    } else {
        if (p->total > 0) {
            fmt_eta(eta, sizeof eta, rate > 0 ? (double)(p->total - p->done) / rate : -1);
            fprintf(p->sink, "%s: %s/%s%s%s (%.0f%%), %s%s%s/s, ETA %s\n", p->label, done, total,
                    sp, u, 100.0 * (double)p->done / (double)p->total, rs, sp, u, eta);
        } else {
            fprintf(p->sink, "%s: %s%s%s, %s%s%s/s\n", p->label, done, sp, u, rs, sp, u);
        }
    }
    fflush(p->sink);
    p->last_draw = now;
}

void es_progress_add(es_progress *p, int64_t n)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->done += n;
    double now = es_monotonic_s();
    double interval = p->tty ? ES_PROGRESS_TTY_INTERVAL : ES_PROGRESS_LINE_INTERVAL;
    if (now - p->last_draw >= interval)
        draw(p, now, 0);
    pthread_mutex_unlock(&p->mu);
}

void es_progress_set_total(es_progress *p, int64_t total)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->total = total;
    pthread_mutex_unlock(&p->mu);
}

void es_progress_done(es_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    draw(p, es_monotonic_s(), 1);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
