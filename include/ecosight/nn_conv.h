/*
 * ecosight/nn_conv.h: convolution kernels for inference (YAMNet): a general
 * small convolution, the 3x3 depthwise convolution and the 1x1 (pointwise)
 * convolution as a GEMM on pre-packed weights. Tensors are NHWC, float32,
 * row-major; padding is TensorFlow's SAME (for stride 2 on an even size: 0
 * before, 1 after). Kernels are stateless and allocate nothing: callers own
 * every buffer, so one packed weight set serves any number of threads.
 *
 * The pointwise GEMM picks an AVX-512 or AVX2/FMA kernel at run time
 * (__builtin_cpu_supports), falling back to portable C.
 */
#ifndef ECOSIGHT_NN_CONV_H
#define ECOSIGHT_NN_CONV_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Output size of a SAME-padded convolution: ceil(in / stride). */
int es_conv_same_out(int in, int stride);

/* General convolution, SAME padding.
 * out: [B, Ho, Wo, Cout]; in: [B, H, W, Cin];
 * w: [kh, kw, Cin, Cout] (see es_conv2d_pack_weights); bias: [Cout] or NULL. */
void es_conv2d_forward(float *out, const float *in, const float *w, const float *bias, int B,
                       int H, int W, int Cin, int Cout, int kh, int kw, int stride, int relu);
/* Reorder TFLite's [Cout, kh, kw, Cin] into [kh, kw, Cin, Cout]. */
void es_conv2d_pack_weights(float *dst, const float *src, int Cout, int kh, int kw, int Cin);

/* Depthwise 3x3 convolution (depth multiplier 1), SAME padding.
 * out: [B, Ho, Wo, C]; in: [B, H, W, C]; w: [3, 3, C]; bias: [C] or NULL.
 * Images [b0, b1) only, so callers can split a batch between threads. */
void es_conv_depthwise3x3_forward(float *out, const float *in, const float *w, const float *bias,
                                  int B, int H, int W, int C, int stride, int relu);

/* Pointwise (1x1) convolution as GEMM: out[M, N] = act(in[M, K] . W + bias),
 * W given as TFLite's [N, K] (out, in) and packed once by es_conv_pw_pack.
 * scratch: ES_CONV_PW_SCRATCH_FLOATS floats (64-byte aligned) the kernel may
 * use to repack activations (it does when K = 1024, whose rows alias in L1),
 * or NULL to always read them in place. */
#define ES_CONV_PW_SCRATCH_FLOATS (168 * 256)
size_t es_conv_pw_packed_floats(int K, int N);
void es_conv_pw_pack(float *packed, const float *w_nk, int K, int N);
void es_conv_pointwise_forward(float *out, const float *in, const float *packed,
                               const float *bias, int64_t M, int K, int N, int relu,
                               float *scratch);
/* Columns [n0, n1) of the output only (n0, n1 multiples of 32, or n1 = N), so a
 * layer can be split between threads by output channel as well as by rows. */
void es_conv_pointwise_forward_cols(float *out, const float *in, const float *packed,
                                    const float *bias, int64_t M, int K, int N, int n0, int n1,
                                    int relu, float *scratch);
/* A 1x1 convolution / dense layer on int8 weights, for one or a few rows
 * (memory-bound there, so 4x smaller weights win): out[M, N] =
 * act(scale[n] * (in[M, K] . q[n, :]) + bias[n]), q row-major [N, K]
 * (TFLite's layout), scale per output channel. Deterministic: each output's
 * sum runs in the same order whatever M. */
void es_conv_pw_q8_forward(float *out, const float *in, const int8_t *q, const float *scale,
                           const float *bias, int64_t M, int K, int N, int relu);

/* The instruction set the kernels use: 2 = AVX-512F, 1 = AVX2+FMA, 0 = portable C.
 * The CPU's best, capped by the environment variable ECOSIGHT_ISA
 * (avx512|avx2|generic) so tests and benchmarks can exercise every path. */
int es_nn_isa_level(void);
/* The kernel the GEMM dispatches to: "avx512", "avx2" or "generic". */
const char *es_conv_kernel_name(void);

#ifdef __cplusplus
}
#endif
#endif
