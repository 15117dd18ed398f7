/*
 * timeline.c: predictions window by window over a long recording, streamed
 * from the decoder so an hour-long file needs one window of memory, and
 * consecutive detections of one class merged into events with start and end
 * times (what a ranger wants from a night of audio: "gunshot 02:13:05-02:13:09").
 * The last window ends with the recording, so a tail shorter than the hop is
 * still scored.
 */
#include "pipeline_internal.h"

#include "ecosight/audio.h"
#include "ecosight/yamnet.h"

#include <stdlib.h>
#include <string.h>

es_timeline_opts es_timeline_default_opts(void)
{
    es_timeline_opts o = {4.0, 1.0, 0, 0.0, 0};
    return o;
}

void es_timeline_result_clear(es_timeline_result *res)
{
    if (!res)
        return;
    free(res->events);
    memset(res, 0, sizeof *res);
}

static es_status add_window(es_timeline_result *res, const es_timeline_window *w, int detected,
                            int *open, es_error *err)
{
    if (!detected) {
        *open = 0;
        return ES_OK;
    }
    es_timeline_event *last = res->count ? &res->events[res->count - 1] : NULL;
    if (*open && last && last->cls == w->cls) {
        last->end_s = w->end_s;
        last->mean_confidence =
            (last->mean_confidence * (float)last->windows + w->confidence) / (float)(last->windows + 1);
        last->windows++;
        if (w->confidence > last->max_confidence)
            last->max_confidence = w->confidence;
        return ES_OK;
    }
    if (res->count == res->cap) {
        size_t nc = res->cap ? res->cap * 2 : 16;
        es_timeline_event *ne = realloc(res->events, nc * sizeof *ne);
        if (!ne)
            return es_error_set(err, ES_ERR_NOMEM, "timeline: out of memory");
        res->events = ne;
        res->cap = nc;
    }
    res->events[res->count++] = (es_timeline_event){w->cls, w->start_s, w->end_s, 1,
                                                    w->confidence, w->confidence};
    *open = 1;
    return ES_OK;
}

typedef struct tl_state {
    const es_model *m;
    const es_yamnet *y;
    const es_timeline_opts *o;
    es_timeline_window_fn on_window;
    void *ud;
    es_timeline_result *res;
    float *probs;
    float *emb;      /* batch x 1024 */
    int open;
} tl_state;

/* Score `count` windows (waves[i] of lens[i] samples starting at sample
 * starts[i]) with one batched YAMNet call, then report them in time order. */
static es_status score_batch(tl_state *t, const float *const *waves, const size_t *lens,
                             const int64_t *starts, size_t count, es_error *err)
{
    const double sr = ES_YAMNET_SAMPLE_RATE;
    size_t K = es_model_num_classes(t->m);
    if (count == 0)
        return ES_OK;
    es_status rc = es_yamnet_embed_mean_batch(t->y, waves, lens, count, t->o->threads, t->emb, err);
    if (rc != ES_OK)
        return rc;
    for (size_t i = 0; i < count; i++) {
        if ((rc = es_model_predict_embedding(t->m, t->emb + i * ES_EMBED_DIM, t->probs, err)) !=
            ES_OK)
            return rc;
        size_t best = 0;
        for (size_t k = 1; k < K; k++)
            if (t->probs[k] > t->probs[best])
                best = k;
        es_timeline_window w = {(double)starts[i] / sr,
                                ((double)starts[i] + (double)lens[i]) / sr, (int)best,
                                t->probs[best], t->probs};
        t->res->windows++;
        if (t->on_window && t->on_window(t->ud, &w) != 0)
            return es_error_set(err, ES_ERR_CANCELLED, "timeline: stopped by the caller");
        if ((rc = add_window(t->res, &w, t->probs[best] >= t->o->min_confidence, &t->open, err)) !=
            ES_OK)
            return rc;
    }
    return ES_OK;
}

/* Read up to n samples (fewer only at the end of the stream). */
static es_status read_full(es_audio_stream *s, float *buf, size_t n, size_t *got_out, int *eof,
                           es_error *err)
{
    size_t have = 0;
    while (have < n && !*eof) {
        int64_t got = 0;
        es_status rc = es_audio_stream_read(s, buf + have, (int64_t)(n - have), &got, err);
        if (rc != ES_OK)
            return rc;
        if (got == 0)
            *eof = 1;
        have += (size_t)got;
    }
    *got_out = have;
    return ES_OK;
}

/* Windows of W samples every H samples; the last window is moved back to end
 * with the recording when a tail shorter than the hop remains, so every
 * sample is scored. Windows go to YAMNet in batches of about B (one batched
 * call costs much less than B single ones). They overlap, so a batch needs
 * one span of W + B*H samples (the last scored window stays in it for the
 * next batch and the tail): memory is constant (1.3 MB for 4 s / 1 s / 16)
 * whatever the recording's length. */
static es_status run_stream(const es_model *m, const es_yamnet *y, es_audio_stream *s,
                            const es_timeline_opts *opts_in, es_timeline_window_fn on_window,
                            void *ud, es_timeline_result *res, es_error *err)
{
    es_timeline_opts o = opts_in ? *opts_in : es_timeline_default_opts();
    memset(res, 0, sizeof *res);
    if (!(o.window_s >= 0.5 && o.window_s <= 60) || !(o.hop_s >= 0.1 && o.hop_s <= o.window_s))
        return es_error_set(err, ES_ERR_INVALID,
                            "timeline: window %.3g s / hop %.3g s (window 0.5..60, hop 0.1..window)",
                            o.window_s, o.hop_s);
    if (o.batch < 0 || o.batch > ES_TIMELINE_MAX_BATCH)
        return es_error_set(err, ES_ERR_INVALID, "timeline: batch %d (0..%d)", o.batch,
                            ES_TIMELINE_MAX_BATCH);
    const double sr = ES_YAMNET_SAMPLE_RATE;
    size_t W = (size_t)(o.window_s * sr), H = (size_t)(o.hop_s * sr);
    size_t B = o.batch > 0 ? (size_t)o.batch : ES_TIMELINE_DEFAULT_BATCH;
    size_t S = W + B * H;
    size_t K = es_model_num_classes(m);
    size_t maxw = B + 2; /* first batch: B+1 windows, plus the end-aligned tail */
    float *buf = malloc(S * sizeof(float));
    const float **waves = malloc(maxw * sizeof *waves);
    size_t *lens = malloc(maxw * sizeof *lens);
    int64_t *starts = malloc(maxw * sizeof *starts);
    tl_state t = {m, y, &o, on_window, ud, res, malloc(K * sizeof(float)),
                  malloc(maxw * ES_EMBED_DIM * sizeof(float)), 0};
    es_status rc = ES_OK;
    if (!buf || !waves || !lens || !starts || !t.probs || !t.emb) {
        rc = es_error_set(err, ES_ERR_NOMEM, "timeline: out of memory");
        goto done;
    }
    size_t have = 0; /* samples in buf */
    int64_t pos = 0; /* sample index of buf[0] */
    int eof = 0, first = 1;
    for (;;) {
        size_t g;
        if ((rc = read_full(s, buf + have, S - have, &g, &eof, err)) != ES_OK)
            goto done;
        have += g;
        res->duration_s = ((double)pos + (double)have) / sr;
        if (first && have == 0) {
            rc = es_error_set(err, ES_ERR_EMPTY, "timeline: the recording holds no audio");
            goto done;
        }
        if (first && have < W) {
            /* the only, shorter window of a recording below W */
            waves[0] = buf;
            lens[0] = have;
            starts[0] = 0;
            rc = score_batch(&t, waves, lens, starts, 1, err);
            goto done;
        }
        /* buf[0..W) is the window scored last, except before the first batch */
        size_t j = first ? 0 : 1, count = 0, last_j = 0, end = first ? 0 : W;
        for (; j * H + W <= have; j++, count++) {
            waves[count] = buf + j * H;
            lens[count] = W;
            starts[count] = pos + (int64_t)(j * H);
            last_j = j;
            end = j * H + W;
        }
        if (eof && end < have) {
            /* a tail shorter than the hop: one window ending with the recording */
            waves[count] = buf + (have - W);
            lens[count] = W;
            starts[count] = pos + (int64_t)(have - W);
            count++;
        }
        if ((rc = score_batch(&t, waves, lens, starts, count, err)) != ES_OK || eof)
            goto done;
        /* not at the end: buf was full, so last_j >= 1 window was new */
        size_t drop = last_j * H;
        memmove(buf, buf + drop, (have - drop) * sizeof(float));
        have -= drop;
        pos += (int64_t)drop;
        first = 0;
    }
done:
    free(buf);
    free(waves);
    free(lens);
    free(starts);
    free(t.probs);
    free(t.emb);
    if (rc != ES_OK)
        es_timeline_result_clear(res);
    return rc;
}

es_status es_timeline_file(const es_model *m, const es_yamnet *y, const char *path,
                           const es_timeline_opts *opts, es_timeline_window_fn on_window,
                           void *ud, es_timeline_result *res, es_error *err)
{
    es_audio_stream *s;
    es_status rc = es_audio_stream_open_file(path, ES_YAMNET_SAMPLE_RATE, &s, err);
    if (rc != ES_OK)
        return rc;
    rc = run_stream(m, y, s, opts, on_window, ud, res, err);
    es_audio_stream_close(s);
    return rc;
}

es_status es_timeline_memory(const es_model *m, const es_yamnet *y, const void *data,
                             size_t len, const char *name, const es_timeline_opts *opts,
                             es_timeline_window_fn on_window, void *ud,
                             es_timeline_result *res, es_error *err)
{
    es_audio_stream *s;
    es_status rc = es_audio_stream_open_memory(data, len, name, ES_YAMNET_SAMPLE_RATE, &s, err);
    if (rc != ES_OK)
        return rc;
    rc = run_stream(m, y, s, opts, on_window, ud, res, err);
    es_audio_stream_close(s);
    return rc;
}
