/*
 * bn.c: BatchNorm over the batch axis with Keras' semantics (biased batch
 * variance, moving averages with `momentum`, epsilon inside the square root).
 * Statistics are accumulated in double so a batch of 64 near-constant values
 * does not lose the variance to cancellation.
 */
#include "ecosight/nn_dense.h"

#include <math.h>

void es_batchnorm_forward_train(float *out, float *mean_out, float *rstd_out, float *moving_mean,
                                float *moving_var, const float *inp, const float *gamma,
                                const float *beta, float momentum, float eps, int B, int C)
{
    for (int c = 0; c < C; c++) {
        double s = 0.0;
        for (int i = 0; i < B; i++)
            s += inp[(size_t)i * C + c];
        double mu = s / B;
        double v = 0.0;
        for (int i = 0; i < B; i++) {
            double d = inp[(size_t)i * C + c] - mu;
            v += d * d;
        }
        v /= B;
        float rstd = (float)(1.0 / sqrt(v + eps));
        mean_out[c] = (float)mu;
        rstd_out[c] = rstd;
        moving_mean[c] = momentum * moving_mean[c] + (1.0f - momentum) * (float)mu;
        moving_var[c] = momentum * moving_var[c] + (1.0f - momentum) * (float)v;
        float g = gamma[c], bt = beta[c], m = (float)mu;
        for (int i = 0; i < B; i++) {
            size_t k = (size_t)i * C + c;
            out[k] = g * (inp[k] - m) * rstd + bt;
        }
    }
}

void es_batchnorm_forward_infer(float *out, const float *inp, const float *gamma,
                                const float *beta, const float *moving_mean,
                                const float *moving_var, float eps, int B, int C)
{
    for (int c = 0; c < C; c++) {
        float scale = gamma[c] / sqrtf(moving_var[c] + eps);
        float shift = beta[c] - moving_mean[c] * scale;
        for (int i = 0; i < B; i++) {
            size_t k = (size_t)i * C + c;
            out[k] = inp[k] * scale + shift;
        }
    }
}

/* With xhat = (x - mu) * rstd and dxhat = dout * gamma:
 * dx = rstd / B * (B * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)). */
void es_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *gamma, const float *mean,
                           const float *rstd, int B, int C)
{
    for (int c = 0; c < C; c++) {
        double sum_d = 0.0, sum_dx = 0.0;
        float mu = mean[c], r = rstd[c];
        for (int i = 0; i < B; i++) {
            size_t k = (size_t)i * C + c;
            float xhat = (inp[k] - mu) * r;
            sum_d += dout[k];
            sum_dx += (double)dout[k] * xhat;
        }
        dgamma[c] += (float)sum_dx;
        dbeta[c] += (float)sum_d;
        if (!dinp)
            continue;
        float g = gamma[c];
        float a = (float)(sum_d * g), bsum = (float)(sum_dx * g);
        for (int i = 0; i < B; i++) {
            size_t k = (size_t)i * C + c;
            float xhat = (inp[k] - mu) * r;
            float dxhat = dout[k] * g;
            dinp[k] += r / (float)B * ((float)B * dxhat - a - xhat * bsum);
        }
    }
}
