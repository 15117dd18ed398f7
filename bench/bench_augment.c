/*
 * bench_augment.c: throughput of the augmentations on real files, for
 * bench/augment.sh to print next to rubberband and sox. For each file:
 * decode at its own rate, apply the operation, encode a 16-bit WAV in memory
 * (what a command-line tool does, minus the disk). Prints audio seconds,
 * wall and CPU seconds of the whole loop and of the operation alone.
 *
 *   bench_augment OP FILE...     OP: time_stretch_fast | pitch_up | any augmentation name
 */
#include "ecosight/audio.h"
#include "ecosight/augment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_augment AUGMENTATION FILE...\n");
        return 2;
    }
    int idx = es_augment_find(argv[1]);
    if (idx < 0) {
        fprintf(stderr, "unknown augmentation %s\n", argv[1]);
        return 2;
    }
    double audio = 0, op_wall = 0, op_cpu = 0;
    double w0 = es_monotonic_s(), c0 = cpu_s();
    for (int i = 2; i < argc; i++) {
        es_audio a = {0};
        es_error err;
        es_audio_load_opts o = es_audio_load_default_opts();
        if (es_audio_load_file(argv[i], &o, &a, &err) != ES_OK) {
            fprintf(stderr, "%s\n", es_error_text(&err));
            return 1;
        }
        uint8_t key[32];
        es_audio_key(a.samples, (size_t)a.frames, key);
        float *y = NULL;
        size_t ny = 0;
        double ow = es_monotonic_s(), oc = cpu_s();
        if (es_augment_apply(a.samples, (size_t)a.frames, a.sample_rate, idx, 42, key, &y, &ny,
                             &err) != ES_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], es_error_text(&err));
            return 1;
        }
        op_wall += es_monotonic_s() - ow;
        op_cpu += cpu_s() - oc;
        void *wav = NULL;
        size_t len = 0;
        if (es_audio_encode_wav(y, (int64_t)ny, a.sample_rate, ES_WAV_PCM16, &wav, &len, NULL,
                                &err) != ES_OK) {
            fprintf(stderr, "%s\n", es_error_text(&err));
            return 1;
        }
        audio += (double)a.frames / a.sample_rate;
        free(wav);
        free(y);
        es_audio_clear(&a);
    }
    double wall = es_monotonic_s() - w0, cpu = cpu_s() - c0;
    printf("%s files=%d audio_s=%.1f wall_s=%.3f cpu_s=%.3f op_wall_s=%.3f op_cpu_s=%.3f\n",
           argv[1], argc - 2, audio, wall, cpu, op_wall, op_cpu);
    return 0;
}
