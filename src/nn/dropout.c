/*
 * dropout.c: inverted dropout (Keras' Dropout): at training time each unit is
 * zeroed with probability `rate` and the survivors are scaled by 1/(1-rate),
 * so inference is the identity and needs no call at all. The mask comes from
 * a Philox stream the caller keys (seed, step, layer), so a run is
 * reproducible whatever the thread count.
 */
#include "ecosight/nn_dense.h"

void es_dropout_forward(float *out, float *mask, const float *inp, float rate, size_t n,
                        struct es_rng *rng)
{
    float keep = 1.0f - rate;
    float scale = keep > 0.0f ? 1.0f / keep : 0.0f;
    for (size_t i = 0; i < n; i++) {
        float m = (rate <= 0.0f || es_rng_uniform(rng) >= (double)rate) ? scale : 0.0f;
        if (rate <= 0.0f)
            m = 1.0f;
        mask[i] = m;
        out[i] = inp[i] * m;
    }
}

void es_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dinp[i] += dout[i] * mask[i];
}
