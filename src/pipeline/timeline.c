/*
 * timeline.c: predictions window by window over a long recording, streamed
 * from the decoder so an hour-long file needs one window of memory, and
 * consecutive detections of one class merged into events with start and end
 * times (what a ranger wants from a night of audio: "gunshot 02:13:05-02:13:09").
 */
#include "pipeline_internal.h"

#include "ecosight/audio.h"
#include "ecosight/yamnet.h"

#include <stdlib.h>
#include <string.h>

es_timeline_opts es_timeline_default_opts(void)
{
    es_timeline_opts o = {4.0, 1.0, 0, 0.0};
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
    const double sr = ES_YAMNET_SAMPLE_RATE;
    size_t W = (size_t)(o.window_s * sr), H = (size_t)(o.hop_s * sr);
    size_t K = es_model_num_classes(m);
    float *buf = malloc(W * sizeof(float));
    float *probs = malloc(K * sizeof(float));
    if (!buf || !probs) {
        free(buf);
        free(probs);
        return es_error_set(err, ES_ERR_NOMEM, "timeline: out of memory");
    }
    size_t have = 0;
    int64_t pos = 0; /* sample index of buf[0] */
    int eof = 0, open = 0;
    es_status rc = ES_OK;
    for (;;) {
        while (have < W && !eof) {
            int64_t got = 0;
            rc = es_audio_stream_read(s, buf + have, (int64_t)(W - have), &got, err);
            if (rc != ES_OK)
                goto done;
            if (got == 0)
                eof = 1;
            have += (size_t)got;
            res->duration_s = ((double)pos + (double)have) / sr;
        }
        /* A full window, or the only (short) window of a short recording. */
        if (have == W || (eof && res->windows == 0 && have > 0)) {
            float emb[ES_EMBED_DIM];
            if ((rc = es_yamnet_embed_mean(y, buf, have, o.threads, emb, err)) != ES_OK ||
                (rc = es_model_predict_embedding(m, emb, probs, err)) != ES_OK)
                goto done;
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (probs[k] > probs[best])
                    best = k;
            es_timeline_window w = {(double)pos / sr, ((double)pos + (double)have) / sr,
                                    (int)best, probs[best], probs};
            res->windows++;
            if (on_window && on_window(ud, &w) != 0) {
                rc = es_error_set(err, ES_ERR_CANCELLED, "timeline: stopped by the caller");
                goto done;
            }
            if ((rc = add_window(res, &w, probs[best] >= o.min_confidence, &open, err)) != ES_OK)
                goto done;
        }
        if (eof || have < W)
            break;
        memmove(buf, buf + H, (W - H) * sizeof(float));
        have = W - H;
        pos += (int64_t)H;
    }
    if (res->windows == 0)
        rc = es_error_set(err, ES_ERR_EMPTY, "timeline: the recording holds no audio");
done:
    free(buf);
    free(probs);
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
