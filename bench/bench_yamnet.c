/*
 * bench_yamnet.c: YAMNet throughput (a benchmark, never a test).
 *
 *   bench_yamnet net  [--model P] [--batches 1,8,64] [--threads 1,2] [--seconds S]
 *   bench_yamnet path [--model P] [--threads 1,2] [--seconds S] FILE
 *   bench_yamnet layers [--model P] [--batch N] [--seconds S]
 *   bench_yamnet frontend [--seconds S]
 *
 * net: the network alone on log-mel patches (the same pseudo-random patches
 * as the ONNX Runtime peer's harness), patches/s at each batch size; best and
 * median of repeated runs. path: decode + resample + front end + network
 * (es_yamnet_embed_mean) on FILE, audio-seconds per second. layers: time per
 * layer on one thread (where the time goes), calling the same nn kernels the
 * network uses. frontend: the log-mel front end alone (es_yamnet_logmel on
 * 60 s of pseudo-random audio), microseconds per frame in CPU time.
 */
#include "ecosight/audio.h"
#include "ecosight/nn_conv.h"
#include "ecosight/yamnet.h"
#include "yamnet/yamnet_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of the whole process (all threads): robust to a loaded machine. */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define FLOP_PER_PATCH (2 * 69.2e6)

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        const char *c = strchr(s, ',');
        if (!c)
            break;
        s = c + 1;
    }
    return n;
}

static void die(const char *what, const es_error *err)
{
    fprintf(stderr, "bench_yamnet: %s: %s\n", what, es_error_text(err));
    exit(1);
}

static void fill_patches(float *x, size_t n)
{
    uint32_t s = 12345; /* as bench_ort.js */
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = -6.9f + 8.0f * (float)(s / 4294967296.0);
    }
}

static void bench_net(const es_yamnet *m, const int *batches, int nb, const int *threads, int nt,
                      double seconds)
{
    printf("%-4s %5s %10s %10s %14s %14s %10s %16s\n", "thr", "N", "best ms", "median ms",
           "patches/s best", "(median)", "GFLOP/s", "patches/CPU-s");
    for (int ti = 0; ti < nt; ti++)
        for (int bi = 0; bi < nb; bi++) {
            int N = batches[bi];
            float *p = malloc(sizeof(float) * (size_t)N * ES_YAMNET_PATCH_FLOATS);
            float *e = malloc(sizeof(float) * (size_t)N * ES_YAMNET_EMBED_DIM);
            float *s = malloc(sizeof(float) * (size_t)N * ES_YAMNET_NUM_CLASSES);
            fill_patches(p, (size_t)N * ES_YAMNET_PATCH_FLOATS);
            es_error err;
            for (int w = 0; w < 2; w++)
                if (es_yamnet_run_patches(m, p, (size_t)N, threads[ti], e, s, &err))
                    die("run", &err);
            double t[1000], c[1000];
            int runs = 0;
            double start = es_monotonic_s();
            while (runs < 1000 && (runs < 5 || es_monotonic_s() - start < seconds)) {
                double t0 = es_monotonic_s(), c0 = cpu_s();
                if (es_yamnet_run_patches(m, p, (size_t)N, threads[ti], e, s, &err))
                    die("run", &err);
                c[runs] = cpu_s() - c0;
                t[runs++] = es_monotonic_s() - t0;
            }
            qsort(t, (size_t)runs, sizeof t[0], cmp_d);
            qsort(c, (size_t)runs, sizeof c[0], cmp_d);
            double best = t[0], med = t[runs / 2];
            printf("%-4d %5d %10.2f %10.2f %14.1f %14.1f %10.1f %16.1f\n", threads[ti], N,
                   best * 1e3, med * 1e3, N / best, N / med, N * FLOP_PER_PATCH / best / 1e9,
                   N / c[runs / 2]);
            free(p);
            free(e);
            free(s);
        }
}

static void bench_path(const es_yamnet *m, const char *file, const int *threads, int nt,
                       double seconds)
{
    es_audio_info info;
    es_error err;
    if (es_audio_probe_file(file, &info, &err))
        die(file, &err);
    printf("file %s: %.1f s, %d Hz, %d ch\n", file, info.duration_s, info.sample_rate,
           info.channels);
    printf("%-4s %12s %12s %16s %16s %18s\n", "thr", "best s", "median s", "audio-s/s best",
           "(median)", "audio-s/CPU-s");
    for (int ti = 0; ti < nt; ti++) {
        double t[200], c[200];
        int runs = 0;
        double start = es_monotonic_s();
        double dur = 0;
        while (runs < 200 && (runs < 3 || es_monotonic_s() - start < seconds)) {
            double t0 = es_monotonic_s(), c0 = cpu_s();
            es_audio a = {0};
            es_audio_load_opts o = es_audio_load_default_opts();
            o.sample_rate = ES_YAMNET_SAMPLE_RATE;
            if (es_audio_load_file(file, &o, &a, &err))
                die(file, &err);
            float emb[ES_YAMNET_EMBED_DIM];
            if (es_yamnet_embed_mean(m, a.samples, (size_t)a.frames, threads[ti], emb, &err))
                die("embed", &err);
            dur = (double)a.frames / ES_YAMNET_SAMPLE_RATE;
            es_audio_clear(&a);
            c[runs] = cpu_s() - c0;
            t[runs++] = es_monotonic_s() - t0;
        }
        qsort(t, (size_t)runs, sizeof t[0], cmp_d);
        qsort(c, (size_t)runs, sizeof c[0], cmp_d);
        printf("%-4d %12.4f %12.4f %16.1f %16.1f %18.1f\n", threads[ti], t[0], t[runs / 2],
               dur / t[0], dur / t[runs / 2], dur / c[runs / 2]);
    }
}

static double best_of(double *t, int n)
{
    qsort(t, (size_t)n, sizeof t[0], cmp_d);
    return t[0];
}

static void bench_layers(const es_yamnet *m, int N, double seconds)
{
    size_t act = (size_t)N * 48 * 32 * 64;
    float *a = es_yam_aligned_alloc(sizeof(float) * act);
    float *b = es_yam_aligned_alloc(sizeof(float) * act);
    float *p = malloc(sizeof(float) * (size_t)N * ES_YAMNET_PATCH_FLOATS);
    float *scratch = es_yam_aligned_alloc(sizeof(float) * ES_CONV_PW_SCRATCH_FLOATS);
    fill_patches(p, (size_t)N * ES_YAMNET_PATCH_FLOATS);
    fill_patches(a, act);
    fill_patches(b, act);
    double total = 0;
    printf("batch %d, one thread, kernel %s; best CPU time of runs over %.1f s per layer\n", N,
           es_conv_kernel_name(), seconds);
    printf("%-22s %10s %10s %8s\n", "layer", "us/patch", "GFLOP/s", "share");
    double times[2 * YAM_LAYERS + 1];
    double flops[2 * YAM_LAYERS + 1];
    char names[2 * YAM_LAYERS + 1][32];
    for (int li = 0; li < 2 * YAM_LAYERS + 1; li++) {
        double t[500];
        int runs = 0;
        double start = es_monotonic_s();
        const yam_layer *L = li ? &m->layers[(li - 1) / 2] : NULL;
        while (runs < 500 && (runs < 3 || es_monotonic_s() - start < seconds)) {
            double t0 = cpu_s();
            if (li == 0)
                es_conv2d_forward(a, p, m->conv1_w, m->conv1_b, N, 96, 64, 1, 32, 3, 3, 2, 1);
            else if (li % 2 == 1)
                es_conv_depthwise3x3_forward(b, a, L->dw_w, L->dw_b, N, L->h_in, L->w_in, L->cin,
                                             L->stride, 1);
            else
                es_conv_pointwise_forward(a, b, L->pw_packed, L->pw_b,
                                          (int64_t)N * L->h_out * L->w_out, L->cin, L->cout, 1,
                                          scratch);
            t[runs++] = cpu_s() - t0;
        }
        times[li] = best_of(t, runs);
        if (li == 0) {
            flops[li] = 2.0 * 48 * 32 * 32 * 9;
            snprintf(names[li], sizeof names[li], "conv1 3x3/2");
        } else if (li % 2 == 1) {
            flops[li] = 2.0 * L->h_out * L->w_out * L->cin * 9;
            snprintf(names[li], sizeof names[li], "L%d dw/%d %dx%dx%d", (li - 1) / 2 + 2,
                     L->stride, L->h_out, L->w_out, L->cin);
        } else {
            flops[li] = 2.0 * L->h_out * L->w_out * L->cin * L->cout;
            snprintf(names[li], sizeof names[li], "L%d pw %d->%d", (li - 1) / 2 + 2, L->cin,
                     L->cout);
        }
        total += times[li];
    }
    for (int li = 0; li < 2 * YAM_LAYERS + 1; li++)
        printf("%-22s %10.1f %10.1f %7.1f%%\n", names[li], times[li] / N * 1e6,
               flops[li] * N / times[li] / 1e9, 100 * times[li] / total);
    printf("%-22s %10.1f  -> %.1f patches/s (network without the dense layer)\n", "total",
           total / N * 1e6, N / total);
    es_yam_aligned_free(a);
    es_yam_aligned_free(b);
    es_yam_aligned_free(scratch);
    free(p);
}

static void bench_frontend(double seconds)
{
    size_t n = 60 * ES_YAMNET_SAMPLE_RATE;
    float *w = malloc(sizeof(float) * n);
    if (!w) {
        fprintf(stderr, "bench_yamnet: out of memory\n");
        exit(1);
    }
    fill_patches(w, n);
    for (size_t i = 0; i < n; i++)
        w[i] = (w[i] + 2.9f) / 8.0f; /* roughly [-0.5, 0.5) */
    double c[200];
    int runs = 0;
    size_t frames = 0;
    double start = es_monotonic_s();
    while (runs < 200 && (runs < 5 || es_monotonic_s() - start < seconds)) {
        es_error err;
        float *lm = NULL;
        double c0 = cpu_s();
        if (es_yamnet_logmel(w, n, &lm, &frames, &err))
            die("logmel", &err);
        c[runs++] = cpu_s() - c0;
        free(lm);
    }
    qsort(c, (size_t)runs, sizeof c[0], cmp_d);
    printf("front end: %zu frames, %.3f us/frame CPU (best), %.3f (median), %d runs\n", frames,
           c[0] / (double)frames * 1e6, c[runs / 2] / (double)frames * 1e6, runs);
    free(w);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_yamnet net|path|layers|frontend [options] [FILE]\n");
        return 2;
    }
    const char *mode = argv[1], *model = NULL, *file = NULL;
    int batches[8] = {1, 8, 64}, nb = 3, threads[8] = {1, 2}, nt = 2, batch = 64;
    double seconds = 3.0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--batches") && i + 1 < argc)
            nb = parse_list(argv[++i], batches, 8);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nt = parse_list(argv[++i], threads, 8);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else
            file = argv[i];
    }
    if (!strcmp(mode, "frontend")) {
        bench_frontend(seconds);
        return 0;
    }
    es_error err;
    char *path = NULL;
    if (es_yamnet_find(model, &path, &err))
        die("model", &err);
    es_yamnet *m = NULL;
    if (es_yamnet_open(path, &m, &err))
        die(path, &err);
    free(path);
    printf("# ecosight YAMNet, GEMM kernel %s, %d CPUs\n", es_conv_kernel_name(), es_cpu_count());
    if (!strcmp(mode, "net"))
        bench_net(m, batches, nb, threads, nt, seconds);
    else if (!strcmp(mode, "path") && file)
        bench_path(m, file, threads, nt, seconds);
    else if (!strcmp(mode, "layers"))
        bench_layers(m, batch, seconds);
    else {
        fprintf(stderr, "bench_yamnet: unknown mode or missing FILE\n");
        es_yamnet_free(m);
        return 2;
    }
    es_yamnet_free(m);
    return 0;
}
