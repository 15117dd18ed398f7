/*
 * adam.c: one Adam update over a flat parameter array (the llm.c layout: the
 * moments mirror the parameters, so the step is one loop). Keras' form, with
 * the bias corrections folded into the learning rate and epsilon outside the
 * square root.
 */
#include "ecosight/nn_dense.h"

#include <math.h>

void es_adam_step(float *params, float *m, float *v, const float *grads, size_t n, float lr,
                  float beta1, float beta2, float eps, int64_t t)
{
    double alpha = lr * sqrt(1.0 - pow(beta2, (double)t)) / (1.0 - pow(beta1, (double)t));
    float a = (float)alpha;
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        params[i] -= a * m[i] / (sqrtf(v[i]) + eps);
    }
}
