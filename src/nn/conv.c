/*
 * conv.c: the general and depthwise convolutions (NHWC, SAME padding) used
 * by YAMNet. The innermost loop always runs over channels, which are
 * contiguous in NHWC, so the compiler vectorises it; padding is handled by
 * clipping the kernel window per output pixel, never by padded copies.
 * The pointwise (1x1) convolution is a GEMM and lives in conv_gemm.c.
 */
#include "ecosight/nn_conv.h"

#include <string.h>

int es_conv_same_out(int in, int stride)
{
    return (in + stride - 1) / stride;
}

/* TensorFlow SAME: total padding max((out-1)*s + k - in, 0), the smaller half before. */
static int same_pad_before(int in, int k, int stride)
{
    int out = es_conv_same_out(in, stride);
    int total = (out - 1) * stride + k - in;
    if (total < 0)
        total = 0;
    return total / 2;
}

void es_conv2d_pack_weights(float *dst, const float *src, int Cout, int kh, int kw, int Cin)
{
    for (int o = 0; o < Cout; o++)
        for (int y = 0; y < kh; y++)
            for (int x = 0; x < kw; x++)
                for (int i = 0; i < Cin; i++)
                    dst[(((size_t)y * kw + x) * Cin + i) * Cout + o] =
                        src[(((size_t)o * kh + y) * kw + x) * Cin + i];
}

void es_conv2d_forward(float *out, const float *in, const float *w, const float *bias, int B,
                       int H, int W, int Cin, int Cout, int kh, int kw, int stride, int relu)
{
    int Ho = es_conv_same_out(H, stride), Wo = es_conv_same_out(W, stride);
    int py = same_pad_before(H, kh, stride), px = same_pad_before(W, kw, stride);
    for (int b = 0; b < B; b++) {
        const float *img = in + (size_t)b * H * W * Cin;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                float *o = out + (((size_t)b * Ho + oy) * Wo + ox) * Cout;
                for (int c = 0; c < Cout; c++)
                    o[c] = bias ? bias[c] : 0.0f;
                for (int y = 0; y < kh; y++) {
                    int iy = oy * stride - py + y;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int x = 0; x < kw; x++) {
                        int ix = ox * stride - px + x;
                        if (ix < 0 || ix >= W)
                            continue;
                        const float *ip = img + ((size_t)iy * W + ix) * Cin;
                        const float *wp = w + ((size_t)y * kw + x) * Cin * Cout;
                        for (int i = 0; i < Cin; i++) {
                            float v = ip[i];
                            const float *wr = wp + (size_t)i * Cout;
                            for (int c = 0; c < Cout; c++)
                                o[c] += v * wr[c];
                        }
                    }
                }
                if (relu)
                    for (int c = 0; c < Cout; c++)
                        o[c] = o[c] > 0.0f ? o[c] : 0.0f;
            }
    }
}

void es_conv_depthwise3x3_forward(float *out, const float *in, const float *w, const float *bias,
                                  int B, int H, int W, int C, int stride, int relu)
{
    int Ho = es_conv_same_out(H, stride), Wo = es_conv_same_out(W, stride);
    int py = same_pad_before(H, 3, stride), px = same_pad_before(W, 3, stride);
    for (int b = 0; b < B; b++) {
        const float *img = in + (size_t)b * H * W * C;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                float *o = out + (((size_t)b * Ho + oy) * Wo + ox) * C;
                if (bias)
                    memcpy(o, bias, sizeof(float) * (size_t)C);
                else
                    memset(o, 0, sizeof(float) * (size_t)C);
                for (int y = 0; y < 3; y++) {
                    int iy = oy * stride - py + y;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int x = 0; x < 3; x++) {
                        int ix = ox * stride - px + x;
                        if (ix < 0 || ix >= W)
                            continue;
                        const float *ip = img + ((size_t)iy * W + ix) * C;
                        const float *wp = w + ((size_t)y * 3 + x) * C;
                        for (int c = 0; c < C; c++)
                            o[c] += ip[c] * wp[c];
                    }
                }
                if (relu)
                    for (int c = 0; c < C; c++)
                        o[c] = o[c] > 0.0f ? o[c] : 0.0f;
            }
    }
}
