/*
 * bench_nn.c: the classifier head's cost under OpenBLAS thread counts: one
 * training step (batch 64, 1024 -> 512-256-128-64 -> 4) and one single-row
 * prediction, first on the calling thread alone, then with 2 caller threads
 * at once (the server's request threads, training's es_parallel_for). The
 * OpenBLAS thread count is set explicitly (openblas_set_num_threads, declared
 * here: the bench compares both settings in one process, whatever the nn
 * module chose at its first call).
 *
 *   bench_nn SECONDS     prints "blas_threads=N  step_ms=...  predict_us=...  ..."
 */
#include "ecosight/classifier.h"
#include "ecosight/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

void openblas_set_num_threads(int num_threads);
int openblas_get_num_procs(void);

#define D 1024
#define K 4
#define BATCH 64

typedef struct job {
    es_head *h;
    const float *x;
    double seconds;
    long n;
} job;

static void *predict_loop(void *arg)
{
    job *j = arg;
    float probs[K];
    es_error err;
    double t0 = es_monotonic_s();
    j->n = 0;
    while (es_monotonic_s() - t0 < j->seconds) {
        if (es_head_predict(j->h, j->x + (j->n % BATCH) * D, 1, probs, &err) != ES_OK) {
            fprintf(stderr, "predict: %s\n", es_error_text(&err));
            exit(1);
        }
        j->n++;
    }
    j->seconds = es_monotonic_s() - t0;
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    es_error err;
    es_head_config hc = es_head_default_config(D, K);
    es_head *h;
    es_head_trainer *tr;
    if (es_head_new(&hc, 42, &h, &err) != ES_OK || es_head_trainer_new(h, BATCH, &tr, &err) != ES_OK) {
        fprintf(stderr, "%s\n", es_error_text(&err));
        return 1;
    }
    float *x = malloc(sizeof(float) * BATCH * D);
    int y[BATCH];
    es_rng r;
    es_rng_init(&r, 1, NULL, 0, "bench_nn");
    for (int i = 0; i < BATCH * D; i++)
        x[i] = (float)es_rng_normal(&r);
    for (int i = 0; i < BATCH; i++)
        y[i] = i % K;
    int procs = openblas_get_num_procs();
    int settings[2] = {procs, 1};
    for (int s = 0; s < 2; s++) {
        openblas_set_num_threads(settings[s]);
        /* training steps */
        double loss;
        int correct;
        long steps = 0;
        double t0 = es_monotonic_s();
        while (es_monotonic_s() - t0 < seconds) {
            if (es_head_train_step(tr, x, y, NULL, BATCH, 1e-3f, 0.9f, 0.999f, 1e-7f, 42, &loss,
                                   &correct, &err) != ES_OK) {
                fprintf(stderr, "%s\n", es_error_text(&err));
                return 1;
            }
            steps++;
        }
        double step_ms = (es_monotonic_s() - t0) * 1e3 / (double)steps;
        /* single predictions, one caller thread */
        job j1 = {h, x, seconds, 0};
        predict_loop(&j1);
        double pred_us = j1.seconds * 1e6 / (double)j1.n;
        /* two caller threads at once */
        job j2[2] = {{h, x, seconds, 0}, {h, x, seconds, 0}};
        pthread_t th[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&th[i], NULL, predict_loop, &j2[i]);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        double per_s = (double)j2[0].n / j2[0].seconds + (double)j2[1].n / j2[1].seconds;
        printf("blas_threads=%d  train_step_ms=%.2f  predict_1caller_us=%.1f  "
               "predict_2callers_total_per_s=%.0f\n",
               settings[s], step_ms, pred_us, per_s);
        fflush(stdout);
    }
    es_head_trainer_free(tr);
    es_head_free(h);
    free(x);
    return 0;
}
