/*
 * conv.c: the general and depthwise convolutions (NHWC, SAME padding) used
 * by YAMNet. The innermost loop always runs over channels, which are
 * contiguous in NHWC, so the compiler vectorises it; padding is handled by
 * clipping the kernel window per output pixel, never by padded copies.
 * The pointwise (1x1) convolution is a GEMM and lives in conv_gemm.c.
 *
 * The depthwise convolution and the first layer (Cin 1 -> Cout 32) also have
 * AVX-512 and AVX2 versions picked at run time (target attributes, no
 * -march flag): weights for a block of channels stay in registers while the
 * kernel sweeps a row of output pixels; border pixels take the checked path.
 */
#include "ecosight/nn_conv.h"

#include <stddef.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ES_X86 1
#endif

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

static void conv2d_generic(float *out, const float *in, const float *w, const float *bias, int B,
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

static void dw3x3_generic(float *out, const float *in, const float *w, const float *bias,
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

#ifdef ES_X86
/* The depthwise conv, one block of VW channels at a time over the whole
 * image (so the block's slice of the input, one cache line per pixel, stays
 * in L1 while the three rows of taps reuse it), the block's nine weight
 * vectors held in registers. Interior pixels (all nine taps inside the
 * image) take a straight-line path; border pixels loop over their valid
 * taps. VEC/LOAD/STORE_/FMA/SET0/MAX are the ISA's. */
#define DW_BODY(VW, VEC, LOAD, STORE_, FMA, SET0, MAX, ADD)                                            \
    int Ho = es_conv_same_out(H, stride), Wo = es_conv_same_out(W, stride);                       \
    int py = same_pad_before(H, 3, stride), px = same_pad_before(W, 3, stride);                   \
    /* Output columns whose three taps are all inside the image. */                               \
    int ox_lo = (px + stride - 1) / stride, ox_hi = (W - 3 + px) / stride + 1;                    \
    if (ox_hi > Wo)                                                                               \
        ox_hi = Wo;                                                                               \
    if (ox_lo > ox_hi)                                                                            \
        ox_lo = ox_hi;                                                                            \
    size_t rs = (size_t)W * C;                                                                    \
    for (int b = 0; b < B; b++) {                                                                 \
        const float *img = in + (size_t)b * H * W * C;                                            \
        float *oimg = out + (size_t)b * Ho * Wo * C;                                              \
        for (int c0 = 0; c0 < C; c0 += VW) {                                                      \
            VEC wv[9];                                                                            \
            for (int t = 0; t < 9; t++)                                                           \
                wv[t] = LOAD(w + (size_t)t * C + c0);                                             \
            VEC bv = bias ? LOAD(bias + c0) : SET0();                                             \
            for (int oy = 0; oy < Ho; oy++) {                                                     \
                float *orow = oimg + (size_t)oy * Wo * C + c0;                                    \
                int y0 = oy * stride - py;                                                        \
                int rows_ok = y0 >= 0 && y0 + 2 < H;                                              \
                int in_lo = rows_ok ? ox_lo : 0, in_hi = rows_ok ? ox_hi : 0;                     \
                int ylo = y0 < 0 ? -y0 : 0, yhi = y0 + 3 > H ? H - y0 : 3;                        \
                for (int ox = 0; ox < Wo; ox++) {                                                 \
                    float *o = orow + (size_t)ox * C;                                             \
                    int x0 = ox * stride - px;                                                    \
                    const float *ip = img + (y0 * (ptrdiff_t)W + x0) * (ptrdiff_t)C + c0;         \
                    VEC acc = bv;                                                                 \
                    if (ox >= in_lo && ox < in_hi) {                                              \
                        /* Three short chains (one per tap row), then summed. */                  \
                        VEC a1 = SET0(), a2 = SET0();                                             \
                        acc = FMA(LOAD(ip), wv[0], acc);                                          \
                        a1 = FMA(LOAD(ip + rs), wv[3], a1);                                       \
                        a2 = FMA(LOAD(ip + 2 * rs), wv[6], a2);                                   \
                        acc = FMA(LOAD(ip + C), wv[1], acc);                                      \
                        a1 = FMA(LOAD(ip + rs + C), wv[4], a1);                                   \
                        a2 = FMA(LOAD(ip + 2 * rs + C), wv[7], a2);                               \
                        acc = FMA(LOAD(ip + 2 * C), wv[2], acc);                                  \
                        a1 = FMA(LOAD(ip + rs + 2 * C), wv[5], a1);                               \
                        a2 = FMA(LOAD(ip + 2 * rs + 2 * C), wv[8], a2);                           \
                        acc = ADD(acc, ADD(a1, a2));                                              \
                    } else {                                                                      \
                        int xlo = x0 < 0 ? -x0 : 0, xhi = x0 + 3 > W ? W - x0 : 3;                \
                        for (int y = ylo; y < yhi; y++)                                           \
                            for (int x = xlo; x < xhi; x++)                                       \
                                acc = FMA(LOAD(ip + (ptrdiff_t)y * (ptrdiff_t)rs + x * C),        \
                                          wv[y * 3 + x], acc);                                    \
                    }                                                                             \
                    if (relu)                                                                     \
                        acc = MAX(acc, SET0());                                                   \
                    STORE_(o, acc);                                                               \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

#define STORE _mm512_storeu_ps
__attribute__((target("avx512f"))) static void dw3x3_avx512(float *out, const float *in,
                                                            const float *w, const float *bias,
                                                            int B, int H, int W, int C,
                                                            int stride, int relu)
{
    DW_BODY(16, __m512, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_setzero_ps,
            _mm512_max_ps, _mm512_add_ps)
}
#undef STORE
#define STORE _mm256_storeu_ps
__attribute__((target("avx2,fma"))) static void dw3x3_avx2(float *out, const float *in,
                                                          const float *w, const float *bias,
                                                          int B, int H, int W, int C, int stride,
                                                          int relu)
{
    DW_BODY(8, __m256, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_setzero_ps,
            _mm256_max_ps, _mm256_add_ps)
}
#undef STORE

/* conv2d for Cout == 32: two zmm accumulators per output pixel. */
__attribute__((target("avx512f"))) static void conv2d_c32_avx512(
    float *out, const float *in, const float *w, const float *bias, int B, int H, int W, int Cin,
    int kh, int kw, int stride, int relu)
{
    int Ho = es_conv_same_out(H, stride), Wo = es_conv_same_out(W, stride);
    int py = same_pad_before(H, kh, stride), px = same_pad_before(W, kw, stride);
    __m512 b0 = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    __m512 b1 = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
    for (int b = 0; b < B; b++) {
        const float *img = in + (size_t)b * H * W * Cin;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                __m512 a0 = b0, a1 = b1;
                for (int y = 0; y < kh; y++) {
                    int iy = oy * stride - py + y;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int x = 0; x < kw; x++) {
                        int ix = ox * stride - px + x;
                        if (ix < 0 || ix >= W)
                            continue;
                        const float *ip = img + ((size_t)iy * W + ix) * Cin;
                        const float *wp = w + ((size_t)y * kw + x) * Cin * 32;
                        for (int i = 0; i < Cin; i++) {
                            __m512 v = _mm512_set1_ps(ip[i]);
                            a0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(wp + 32 * i), a0);
                            a1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(wp + 32 * i + 16), a1);
                        }
                    }
                }
                if (relu) {
                    a0 = _mm512_max_ps(a0, _mm512_setzero_ps());
                    a1 = _mm512_max_ps(a1, _mm512_setzero_ps());
                }
                float *o = out + (((size_t)b * Ho + oy) * Wo + ox) * 32;
                _mm512_storeu_ps(o, a0);
                _mm512_storeu_ps(o + 16, a1);
            }
    }
}

__attribute__((target("avx2,fma"))) static void conv2d_c32_avx2(
    float *out, const float *in, const float *w, const float *bias, int B, int H, int W, int Cin,
    int kh, int kw, int stride, int relu)
{
    int Ho = es_conv_same_out(H, stride), Wo = es_conv_same_out(W, stride);
    int py = same_pad_before(H, kh, stride), px = same_pad_before(W, kw, stride);
    for (int b = 0; b < B; b++) {
        const float *img = in + (size_t)b * H * W * Cin;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                __m256 a[4];
                for (int q = 0; q < 4; q++)
                    a[q] = bias ? _mm256_loadu_ps(bias + 8 * q) : _mm256_setzero_ps();
                for (int y = 0; y < kh; y++) {
                    int iy = oy * stride - py + y;
                    if (iy < 0 || iy >= H)
                        continue;
                    for (int x = 0; x < kw; x++) {
                        int ix = ox * stride - px + x;
                        if (ix < 0 || ix >= W)
                            continue;
                        const float *ip = img + ((size_t)iy * W + ix) * Cin;
                        const float *wp = w + ((size_t)y * kw + x) * Cin * 32;
                        for (int i = 0; i < Cin; i++) {
                            __m256 v = _mm256_set1_ps(ip[i]);
                            for (int q = 0; q < 4; q++)
                                a[q] = _mm256_fmadd_ps(v, _mm256_loadu_ps(wp + 32 * i + 8 * q), a[q]);
                        }
                    }
                }
                float *o = out + (((size_t)b * Ho + oy) * Wo + ox) * 32;
                for (int q = 0; q < 4; q++)
                    _mm256_storeu_ps(o + 8 * q,
                                     relu ? _mm256_max_ps(a[q], _mm256_setzero_ps()) : a[q]);
            }
    }
}

static int cpu_level(void)
{
    return es_nn_isa_level();
}
#endif

void es_conv2d_forward(float *out, const float *in, const float *w, const float *bias, int B,
                       int H, int W, int Cin, int Cout, int kh, int kw, int stride, int relu)
{
#ifdef ES_X86
    if (Cout == 32) {
        int lvl = cpu_level();
        if (lvl == 2) {
            conv2d_c32_avx512(out, in, w, bias, B, H, W, Cin, kh, kw, stride, relu);
            return;
        }
        if (lvl == 1) {
            conv2d_c32_avx2(out, in, w, bias, B, H, W, Cin, kh, kw, stride, relu);
            return;
        }
    }
#endif
    conv2d_generic(out, in, w, bias, B, H, W, Cin, Cout, kh, kw, stride, relu);
}

void es_conv_depthwise3x3_forward(float *out, const float *in, const float *w, const float *bias,
                                  int B, int H, int W, int C, int stride, int relu)
{
#ifdef ES_X86
    int lvl = cpu_level();
    if (lvl == 2 && C % 16 == 0) {
        dw3x3_avx512(out, in, w, bias, B, H, W, C, stride, relu);
        return;
    }
    if (lvl >= 1 && C % 8 == 0) {
        dw3x3_avx2(out, in, w, bias, B, H, W, C, stride, relu);
        return;
    }
#endif
    dw3x3_generic(out, in, w, bias, B, H, W, C, stride, relu);
}
