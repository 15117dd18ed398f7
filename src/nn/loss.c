/*
 * loss.c: softmax and categorical cross-entropy (Keras' loss with integer
 * labels and optional per-sample weights from class weighting).
 */
#include "ecosight/nn_dense.h"

#include <math.h>

void es_softmax_forward(float *probs, const float *logits, int B, int K)
{
    for (int i = 0; i < B; i++) {
        const float *l = logits + (size_t)i * K;
        float *p = probs + (size_t)i * K;
        float mx = l[0];
        for (int k = 1; k < K; k++)
            if (l[k] > mx)
                mx = l[k];
        double s = 0.0;
        for (int k = 0; k < K; k++) {
            p[k] = expf(l[k] - mx);
            s += p[k];
        }
        float inv = (float)(1.0 / s);
        for (int k = 0; k < K; k++)
            p[k] *= inv;
    }
}

double es_softmax_xent(float *dlogits, const float *probs, const int *labels,
                       const float *weights, int B, int K)
{
    double total = 0.0;
    for (int i = 0; i < B; i++) {
        const float *p = probs + (size_t)i * K;
        float w = weights ? weights[i] : 1.0f;
        double py = p[labels[i]];
        if (py < 1e-7)
            py = 1e-7;
        if (py > 1.0 - 1e-7)
            py = 1.0 - 1e-7;
        total += -w * log(py);
        if (dlogits) {
            float *d = dlogits + (size_t)i * K;
            for (int k = 0; k < K; k++)
                d[k] = w * (p[k] - (k == labels[i] ? 1.0f : 0.0f)) / (float)B;
        }
    }
    return B > 0 ? total / B : 0.0;
}
