/*
 * bench_timeline.c: `predict --timeline` speed, windows scored one YAMNet call
 * at a time (batch 1, the former path) next to batched calls, on one
 * recording, in the same run. The head is a default-shaped random one (its
 * cost is negligible next to YAMNet's; the timeline does the same work for
 * any weights).
 *
 *   bench_timeline YAMNET MINUTES THREADS BATCHES CLIP...
 *
 * Decodes the clips at 16 kHz mono and concatenates them (cycling) into one
 * MINUTES-long WAV, then one line per batch size in BATCHES ("1,16").
 */
#include "ecosight/audio.h"
#include "ecosight/classifier.h"
#include "ecosight/pipeline_train.h"
#include "ecosight/yamnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int die(const es_error *err)
{
    fprintf(stderr, "bench_timeline: %s\n", es_error_text(err));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_timeline YAMNET MINUTES THREADS BATCHES CLIP...\n");
        return 2;
    }
    es_error err;
    es_yamnet *y;
    if (es_yamnet_open(argv[1], &y, &err) != ES_OK)
        return die(&err);
    /* a model version in a temporary directory */
    char dir[] = "/tmp/bench_timeline.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    es_head_config c = es_head_default_config(ES_EMBED_DIM, 4);
    es_head *h;
    static float mean[ES_EMBED_DIM], sd[ES_EMBED_DIM];
    for (int i = 0; i < ES_EMBED_DIM; i++)
        sd[i] = 1.0f;
    char p[256];
    snprintf(p, sizeof p, "%s/head.esh", dir);
    if (es_head_new(&c, 1, &h, &err) != ES_OK || es_head_set_norm(h, mean, sd, &err) != ES_OK ||
        es_head_save(h, p, &err) != ES_OK)
        return die(&err);
    es_head_free(h);
    const char *cn = "[\"clips\", \"dog_bark\", \"engine_idling\", \"gun_shot\"]";
    const char *md = "{\"max_seconds\": 4}";
    snprintf(p, sizeof p, "%s/class_names.json", dir);
    if (es_write_file_atomic(p, cn, strlen(cn), &err) != ES_OK)
        return die(&err);
    snprintf(p, sizeof p, "%s/model_metadata.json", dir);
    if (es_write_file_atomic(p, md, strlen(md), &err) != ES_OK)
        return die(&err);
    es_model *m;
    if (es_model_open(dir, &m, &err) != ES_OK)
        return die(&err);
    /* the long recording */
    size_t want = (size_t)(atof(argv[2]) * 60.0 * ES_YAMNET_SAMPLE_RATE), have = 0;
    float *wave = malloc(want * sizeof(float));
    if (!wave)
        return 1;
    for (int a = 5; have < want; a = a + 1 < argc ? a + 1 : 5) {
        es_audio au = {0};
        es_audio_load_opts lo = es_audio_load_default_opts();
        lo.sample_rate = ES_YAMNET_SAMPLE_RATE;
        if (es_audio_load_file(argv[a], &lo, &au, &err) != ES_OK)
            return die(&err);
        size_t k = (size_t)au.frames < want - have ? (size_t)au.frames : want - have;
        memcpy(wave + have, au.samples, k * sizeof(float));
        have += k;
        es_audio_clear(&au);
    }
    char wav[300];
    snprintf(wav, sizeof wav, "%s/long.wav", dir);
    if (es_audio_write_wav(wav, wave, (int64_t)have, ES_YAMNET_SAMPLE_RATE, ES_WAV_PCM16, NULL,
                           &err) != ES_OK)
        return die(&err);
    free(wave);
    int threads = atoi(argv[3]);
    char *batches = argv[4];
    for (char *tok = strtok(batches, ","); tok; tok = strtok(NULL, ",")) {
        es_timeline_opts o = es_timeline_default_opts();
        o.threads = threads;
        o.batch = atoi(tok);
        es_timeline_result res;
        double w0 = es_monotonic_s(), c0 = cpu_s();
        if (es_timeline_file(m, y, wav, &o, NULL, NULL, &res, &err) != ES_OK)
            return die(&err);
        double wall = es_monotonic_s() - w0, cpu = cpu_s() - c0;
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("batch=%-3d threads=%d audio_s=%.1f windows=%zu events=%zu wall_s=%.2f cpu_s=%.2f "
               "windows_per_cpu_s=%.1f max_rss_mb=%.1f\n",
               o.batch ? o.batch : ES_TIMELINE_DEFAULT_BATCH, threads, res.duration_s,
               res.windows, res.count, wall, cpu, (double)res.windows / cpu,
               (double)ru.ru_maxrss / 1024.0);
        fflush(stdout);
        es_timeline_result_clear(&res);
    }
    es_model_free(m);
    es_yamnet_free(y);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    if (system(p) != 0)
        return 1;
    return 0;
}
