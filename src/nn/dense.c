/*
 * dense.c: fully connected layers and ReLU for the classifier head. The
 * matrix products go through OpenBLAS (cblas_sgemm): on the head's shapes
 * (batch 64 x 1024 -> 512) it is several times faster than plain loops, and
 * it is already a dependency of the nn module.
 */
#include "ecosight/nn_dense.h"

#include <cblas.h>
#include <pthread.h>
#include <string.h>

/* OpenBLAS' own thread pool is one process-wide setting, by default one
 * thread per core for every call. Our parallelism comes from our own threads
 * (the server's request workers, es_parallel_for in training), so a pool
 * under each of them oversubscribes the cores: on the 2-core box, two
 * request threads predicting at once did 34 % more predictions per second
 * with 1 BLAS thread, and a training step was no faster with 2 (the head is
 * small; docs/TRAINING.md has the figures, bench/nn.sh measures them). So
 * the product chooses 1 thread here, once, at the first dense call, instead of
 * depending on OPENBLAS_NUM_THREADS in each deployment's environment. Nothing
 * else in ecosight calls BLAS. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_single_thread(void)
{
    openblas_set_num_threads(1);
}

static void blas_init(void)
{
    pthread_once(&blas_once, blas_single_thread);
}

void es_dense_forward(float *out, const float *inp, const float *w, const float *b, int B, int C,
                      int OC)
{
    blas_init();
    if (b) {
        for (int i = 0; i < B; i++)
            memcpy(out + (size_t)i * OC, b, sizeof(float) * (size_t)OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, OC, C, 1.0f, inp, C, w, OC,
                b ? 1.0f : 0.0f, out, OC);
}

void es_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                       const float *w, int B, int C, int OC)
{
    blas_init();
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, C, OC, 1.0f, dout, OC, w, OC,
                    1.0f, dinp, C);
    if (dw)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, OC, B, 1.0f, inp, C, dout, OC,
                    1.0f, dw, OC);
    if (db) {
        for (int i = 0; i < B; i++) {
            const float *d = dout + (size_t)i * OC;
            for (int o = 0; o < OC; o++)
                db[o] += d[o];
        }
    }
}

void es_relu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void es_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] > 0.0f)
            dinp[i] += dout[i];
}
