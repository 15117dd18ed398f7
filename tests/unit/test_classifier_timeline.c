/*
 * test_classifier_timeline.c: the timeline scores windows in batches through
 * es_yamnet_embed_mean_batch; whatever the batch size (1, an odd size that
 * splits the windows unevenly, the default), the windows are the same ones
 * (count, start/end, the end-aligned tail window), in time order, with the
 * same probabilities, and merge into the same events. Real YAMNet, a small
 * head written here, a synthetic recording. Needs ../shared (skips loudly).
 */
#include "testutil.h"

#include "ecosight/audio.h"
#include "ecosight/classifier.h"
#include "ecosight/pipeline_train.h"
#include "ecosight/yamnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXW 64

typedef struct seen {
    size_t n;
    double start[MAXW], end[MAXW];
    float probs[MAXW][4];
} seen;

static int on_window(void *ud, const es_timeline_window *w)
{
    seen *s = ud;
    assert_true(s->n < MAXW);
    s->start[s->n] = w->start_s;
    s->end[s->n] = w->end_s;
    memcpy(s->probs[s->n], w->probs, sizeof s->probs[0]);
    s->n++;
    return 0;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char *p = es_test_path(dir, name);
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(p, text, strlen(text), &err), &err);
    free(p);
}

/* A version directory with a small random head (its outputs vary with the
 * embedding, which is all this test needs). */
static void make_version(const char *vdir)
{
    es_head_config c = es_head_default_config(ES_EMBED_DIM, 4);
    c.num_hidden = 1;
    c.hidden[0] = 16;
    es_head *h;
    es_error err;
    ES_ASSERT_OK(es_head_new(&c, 7, &h, &err), &err);
    static float mean[ES_EMBED_DIM], sd[ES_EMBED_DIM];
    for (int i = 0; i < ES_EMBED_DIM; i++) {
        mean[i] = 0.1f;
        sd[i] = 0.2f;
    }
    ES_ASSERT_OK(es_head_set_norm(h, mean, sd, &err), &err);
    ES_ASSERT_OK(es_mkdirs(vdir, &err), &err);
    char *hp = es_test_path(vdir, "head.esh");
    ES_ASSERT_OK(es_head_save(h, hp, &err), &err);
    free(hp);
    es_head_free(h);
    write_text(vdir, "class_names.json", "[\"clips\", \"dog_bark\", \"engine_idling\", \"gun_shot\"]");
    write_text(vdir, "model_metadata.json", "{\"max_seconds\": 4}");
}

static void test_batches_match_single_windows(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "models/yamnet.tflite");
    char *ypath = es_test_path(shared, "models/yamnet.tflite");
    es_error err;
    es_yamnet *y;
    ES_ASSERT_OK(es_yamnet_open(ypath, &y, &err), &err);
    int sanitized = getenv("ES_SANITIZED") && atoi(getenv("ES_SANITIZED"));
    char *root = es_test_tmpdir("classifier_timeline");
    char *vdir = es_test_path(root, "v1");
    make_version(vdir);
    es_model *m;
    ES_ASSERT_OK(es_model_open(vdir, &m, &err), &err);

    /* 12.3 s (ASan) or 23.3 s: tones, chirps and noise bursts changing every
     * second, so windows differ; the .3 leaves a tail shorter than the hop */
    const int sr = ES_YAMNET_SAMPLE_RATE;
    size_t n = (size_t)((sanitized ? 12.3 : 23.3) * sr);
    float *wave = malloc(n * sizeof(float));
    uint32_t x = 99;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / sr;
        int sec = (int)t;
        x = x * 1664525u + 1013904223u;
        double noise = ((double)(x >> 8) / 16777216.0 - 0.5);
        double f = 200.0 + 150.0 * (sec % 7) + 40.0 * t * (sec % 3);
        wave[i] = (float)((sec % 2 ? 0.3 : 0.05) * sin(2 * M_PI * f * t) +
                          (sec % 3 == 0 ? 0.2 : 0.01) * noise);
    }
    char *wav = es_test_path(root, "long.wav");
    ES_ASSERT_OK(es_audio_write_wav(wav, wave, (int64_t)n, sr, ES_WAV_FLOAT32, NULL, &err), &err);
    free(wave);

    /* expected windows: every second while a full 4 s fits, then the tail */
    size_t W = 4 * (size_t)sr, H = (size_t)sr;
    size_t full = (n - W) / H + 1, expect = full + ((n - W) % H ? 1 : 0);

    int batches[3] = {1, 5, 0};
    static seen s[3];
    es_timeline_result res[3];
    for (int b = 0; b < 3; b++) {
        es_timeline_opts o = es_timeline_default_opts();
        o.threads = 1;
        o.batch = batches[b];
        memset(&s[b], 0, sizeof s[b]);
        ES_ASSERT_OK(es_timeline_file(m, y, wav, &o, on_window, &s[b], &res[b], &err), &err);
        assert_int_equal(s[b].n, expect);
        assert_int_equal(res[b].windows, expect);
        assert_true(fabs(res[b].duration_s - (double)n / sr) < 1e-9);
        for (size_t i = 0; i < s[b].n; i++) {
            double want = i < full ? (double)i : (double)(n - W) / sr;
            assert_true(fabs(s[b].start[i] - want) < 1e-9);
            assert_true(fabs(s[b].end[i] - s[b].start[i] - 4.0) < 1e-9);
        }
    }
    /* batch 1 vs 5 vs default: the same probabilities and events */
    for (int b = 1; b < 3; b++) {
        for (size_t i = 0; i < expect; i++)
            for (int k = 0; k < 4; k++)
                if (fabsf(s[b].probs[i][k] - s[0].probs[i][k]) > 1e-5f)
                    fail_msg("batch %d window %zu class %d: %g vs %g", batches[b], i, k,
                             (double)s[b].probs[i][k], (double)s[0].probs[i][k]);
        assert_int_equal(res[b].count, res[0].count);
        for (size_t e = 0; e < res[0].count; e++) {
            assert_int_equal(res[b].events[e].cls, res[0].events[e].cls);
            assert_true(res[b].events[e].start_s == res[0].events[e].start_s);
            assert_true(res[b].events[e].end_s == res[0].events[e].end_s);
            assert_int_equal(res[b].events[e].windows, res[0].events[e].windows);
        }
    }
    /* the windows really differ (the comparison above is not vacuous) */
    int differ = 0;
    for (size_t i = 1; i < expect; i++)
        differ |= fabsf(s[0].probs[i][0] - s[0].probs[0][0]) > 1e-4f;
    assert_true(differ);
    /* a batch size out of range is refused */
    es_timeline_opts bad = es_timeline_default_opts();
    bad.batch = ES_TIMELINE_MAX_BATCH + 1;
    es_timeline_result r;
    assert_int_equal(es_timeline_file(m, y, wav, &bad, NULL, NULL, &r, &err), ES_ERR_INVALID);

    for (int b = 0; b < 3; b++)
        es_timeline_result_clear(&res[b]);
    free(wav);
    es_model_free(m);
    free(vdir);
    free(root);
    es_yamnet_free(y);
    free(ypath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_match_single_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
