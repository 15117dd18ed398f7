/*
 * bench_audio.c: decode + mix to mono + resample to 16 kHz float, the
 * front half of every EcoSight prediction, timed over a list of files.
 * Prints audio-seconds decoded per wall-second on the calling thread (pin
 * it to one core with taskset). Run by bench/audio.sh next to ffmpeg and
 * sox doing the same job on the same files.
 *
 *   bench_audio [-r REPEATS] [-l LABEL] FILE...
 */
#include "ecosight/audio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int repeats = 3, first = 1;
    const char *label = "ecosight";
    while (first + 1 < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "-r") == 0)
            repeats = atoi(argv[first + 1]);
        else if (strcmp(argv[first], "-l") == 0)
            label = argv[first + 1];
        else
            break;
        first += 2;
    }
    if (first >= argc || repeats < 1) {
        fprintf(stderr, "usage: bench_audio [-r REPEATS] [-l LABEL] FILE...\n");
        return 2;
    }
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = 16000;
    double best = INFINITY, audio_s = 0;
    int64_t frames_out = 0;
    double checksum = 0;
    for (int r = 0; r < repeats; r++) {
        double t0 = es_monotonic_s();
        double a_s = 0;
        int64_t fo = 0;
        for (int i = first; i < argc; i++) {
            es_audio a = {0};
            es_error err;
            if (es_audio_load_file(argv[i], &o, &a, &err) != ES_OK) {
                fprintf(stderr, "bench_audio: %s\n", es_error_text(&err));
                return 1;
            }
            a_s += (double)a.frames / a.sample_rate;
            fo += a.frames;
            if (r == 0)
                for (int64_t k = 0; k < a.frames; k += 997)
                    checksum += a.samples[k];
            es_audio_clear(&a);
        }
        double el = es_monotonic_s() - t0;
        if (el < best)
            best = el;
        audio_s = a_s;
        frames_out = fo;
    }
    /* one machine-readable line: label files audio_s wall_s rate */
    printf("%s\t%d\t%.2f\t%.4f\t%.1f\t(frames %lld, checksum %.6f, best of %d)\n", label,
           argc - first, audio_s, best, audio_s / best, (long long)frames_out, checksum, repeats);
    return 0;
}
