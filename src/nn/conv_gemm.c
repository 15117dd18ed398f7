/*
 * conv_gemm.c: the pointwise (1x1) convolution as a GEMM,
 * out[M, N] = act(in[M, K] . W[K, N] + bias), which is ~83% of YAMNet's work.
 *
 * Weights are packed once into panels of 32 output channels ([N/32][K][32]),
 * so the kernel streams them contiguously. The loops block K (KC) so a
 * panel slice stays in L1 while the kernel sweeps MC rows of activations
 * held in L2 (GotoBLAS's order; NHWC rows are already contiguous in K, so
 * A is repacked only where its row stride would alias in L1). The register kernel is chosen once per process by CPU
 * features: AVX-512F (14x32 tile), AVX2+FMA (3x32) or portable C. The
 * build uses no -march flag: ISA-specific functions carry target
 * attributes, so one binary runs on any x86-64 (and elsewhere, generic C).
 */
#include "ecosight/nn_conv.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ES_X86 1
#endif

#define NR 32
#define KC 256
#define MC_ROWS 168 /* a multiple of every kernel's tile height (14, 3, 4 -> 168) */
_Static_assert(MC_ROWS * KC == ES_CONV_PW_SCRATCH_FLOATS, "scratch size");

/* A register kernel: C[mr, nr] (+)= A[mr, kc] . B[kc, 32], B a packed
 * panel; A either rows of stride lda, or (lda == 0) packed k-major
 * ([kc][MR], MR the kernel's tile height). */
typedef void (*ukr_fn)(int mr, int kc, const float *A, int64_t lda, const float *Bp, float *C,
                       int64_t ldc, int nr, const float *bias, int first, int relu);
#define A_AT(MR, r, k) (PACKED ? A[(k) * (MR) + (r)] : A[(r) * lda + (k)])

/* ---- portable C ---- */
#define MR_GENERIC 4
static void ukr_generic(int mr, int kc, const float *A, int64_t lda, const float *Bp, float *C,
                        int64_t ldc, int nr, const float *bias, int first, int relu)
{
    const int PACKED = lda == 0;
    for (int r = 0; r < mr; r++) {
        float acc[NR];
        float *c = C + r * ldc;
        for (int j = 0; j < NR; j++)
            acc[j] = first ? (bias && j < nr ? bias[j] : 0.0f) : (j < nr ? c[j] : 0.0f);
        for (int k = 0; k < kc; k++) {
            float av = A_AT(MR_GENERIC, r, k);
            const float *b = Bp + (size_t)k * NR;
            for (int j = 0; j < NR; j++)
                acc[j] += av * b[j];
        }
        for (int j = 0; j < nr; j++)
            c[j] = relu && acc[j] < 0.0f ? 0.0f : acc[j];
    }
}

#ifdef ES_X86
/* ---- AVX-512: MR rows x 32 columns in 2*MR zmm accumulators ---- */
#define MR_AVX512 14
__attribute__((target("avx512f"), always_inline)) static inline void
ukr512_body(const int MR, const int PACKED, int kc, const float *A, const int64_t lda,
            const float *Bp, float *C, int64_t ldc, int nr, const float *bias, int first, int relu)
{
    __m512 c0[MR_AVX512], c1[MR_AVX512];
    __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    if (first) {
        __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
        __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
            c0[r] = b0;
            c1[r] = b1;
        }
    } else {
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
            c0[r] = _mm512_maskz_loadu_ps(m0, C + r * ldc);
            c1[r] = _mm512_maskz_loadu_ps(m1, C + r * ldc + 16);
        }
    }
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(Bp + (size_t)k * NR);
        __m512 b1 = _mm512_load_ps(Bp + (size_t)k * NR + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
            __m512 a = _mm512_set1_ps(A_AT(MR_AVX512, r, k));
            c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
        }
    }
    if (relu) {
        __m512 z = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
            c0[r] = _mm512_max_ps(c0[r], z);
            c1[r] = _mm512_max_ps(c1[r], z);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
        _mm512_mask_storeu_ps(C + r * ldc, m0, c0[r]);
        _mm512_mask_storeu_ps(C + r * ldc + 16, m1, c1[r]);
    }
}

/* Two instantiations per tile height: packed A (lda 0, a constant) and rows. */
#define UKR512(n)                                                                                 \
    case n:                                                                                       \
        if (lda)                                                                                  \
            ukr512_body(n, 0, kc, A, lda, Bp, C, ldc, nr, bias, first, relu);                     \
        else                                                                                      \
            ukr512_body(n, 1, kc, A, 0, Bp, C, ldc, nr, bias, first, relu);                       \
        break;
__attribute__((target("avx512f"))) static void ukr_avx512(int mr, int kc, const float *A,
                                                          int64_t lda, const float *Bp, float *C,
                                                          int64_t ldc, int nr, const float *bias,
                                                          int first, int relu)
{
    switch (mr) {
        UKR512(1) UKR512(2) UKR512(3) UKR512(4) UKR512(5) UKR512(6) UKR512(7)
        UKR512(8) UKR512(9) UKR512(10) UKR512(11) UKR512(12) UKR512(13) UKR512(14)
        default: break;
    }
}

/* ---- AVX2 + FMA: MR rows x 32 columns in 4*MR ymm accumulators ---- */
#define MR_AVX2 3
__attribute__((target("avx2,fma"), always_inline)) static inline void
ukr256_body(const int MR, const int PACKED, int kc, const float *A, const int64_t lda,
            const float *Bp, float *C, int64_t ldc, int nr, const float *bias, int first, int relu)
{
    __m256 c[MR_AVX2][4];
    float tmp[NR];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
        const float *src;
        if (first) {
            for (int j = 0; j < NR; j++)
                tmp[j] = bias && j < nr ? bias[j] : 0.0f;
            src = tmp;
        } else if (nr < NR) {
            for (int j = 0; j < NR; j++)
                tmp[j] = j < nr ? C[r * ldc + j] : 0.0f;
            src = tmp;
        } else {
            src = C + r * ldc;
        }
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            c[r][q] = _mm256_loadu_ps(src + 8 * q);
    }
    for (int k = 0; k < kc; k++) {
        const float *b = Bp + (size_t)k * NR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
            __m256 a = _mm256_set1_ps(A_AT(MR_AVX2, r, k));
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
                c[r][q] = _mm256_fmadd_ps(a, _mm256_load_ps(b + 8 * q), c[r][q]);
        }
    }
    __m256 z = _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            __m256 v = relu ? _mm256_max_ps(c[r][q], z) : c[r][q];
            if (nr == NR)
                _mm256_storeu_ps(C + r * ldc + 8 * q, v);
            else
                _mm256_storeu_ps(tmp + 8 * q, v);
        }
        if (nr < NR)
            memcpy(C + r * ldc, tmp, sizeof(float) * (size_t)nr);
    }
}

__attribute__((target("avx2,fma"))) static void ukr_avx2(int mr, int kc, const float *A,
                                                        int64_t lda, const float *Bp, float *C,
                                                        int64_t ldc, int nr, const float *bias,
                                                        int first, int relu)
{
#define UKR256(n)                                                                                 \
    case n:                                                                                       \
        if (lda)                                                                                  \
            ukr256_body(n, 0, kc, A, lda, Bp, C, ldc, nr, bias, first, relu);                     \
        else                                                                                      \
            ukr256_body(n, 1, kc, A, 0, Bp, C, ldc, nr, bias, first, relu);                       \
        break;
    switch (mr) {
        UKR256(1) UKR256(2) UKR256(3)
    default: break;
    }
}
#endif

typedef struct gemm_kernel {
    ukr_fn fn;
    int mr;
    const char *name;
} gemm_kernel;

int es_nn_isa_level(void)
{
    int level = 0;
#ifdef ES_X86
    if (__builtin_cpu_supports("avx512f"))
        level = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        level = 1;
#endif
    const char *cap = getenv("ECOSIGHT_ISA");
    if (cap && *cap) {
        int c = strcmp(cap, "generic") == 0 ? 0 : strcmp(cap, "avx2") == 0 ? 1 : 2;
        if (c < level)
            level = c;
    }
    return level;
}

/* Chosen per call from the CPU's features (and ECOSIGHT_ISA); nothing is
 * cached, so there is no shared mutable state. */
static gemm_kernel pick_kernel(void)
{
#ifdef ES_X86
    int level = es_nn_isa_level();
    if (level == 2)
        return (gemm_kernel){ukr_avx512, MR_AVX512, "avx512"};
    if (level == 1)
        return (gemm_kernel){ukr_avx2, MR_AVX2, "avx2"};
#endif
    return (gemm_kernel){ukr_generic, MR_GENERIC, "generic"};
}

const char *es_conv_kernel_name(void)
{
    return pick_kernel().name;
}

size_t es_conv_pw_packed_floats(int K, int N)
{
    size_t panels = ((size_t)N + NR - 1) / NR;
    return panels * (size_t)K * NR;
}

void es_conv_pw_pack(float *packed, const float *w_nk, int K, int N)
{
    size_t panels = ((size_t)N + NR - 1) / NR;
    for (size_t p = 0; p < panels; p++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < NR; j++) {
                size_t n = p * NR + (size_t)j;
                packed[(p * (size_t)K + (size_t)k) * NR + (size_t)j] =
                    n < (size_t)N ? w_nk[n * (size_t)K + (size_t)k] : 0.0f;
            }
}

void es_conv_pointwise_forward_cols(float *out, const float *in, const float *packed,
                                    const float *bias, int64_t M, int K, int N, int n0, int n1,
                                    int relu, float *scratch)
{
    gemm_kernel kern = pick_kernel();
    /* When rows are 4 KB apart (K = 1024) the 14 rows of a tile fall into
     * the same L1 sets and evict each other; then each MC x KC block of
     * activations is repacked k-major per tile (one contiguous stream) into
     * the caller's scratch. Otherwise the rows are read in place. */
    int pack = scratch && K >= 1024 && ((size_t)K * sizeof(float)) % 4096 == 0;
    float *apack = scratch;
    int p0 = n0 / NR, p1 = (n1 + NR - 1) / NR;
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC;
        int first = k0 == 0, last = k0 + kc == K;
        for (int64_t m0 = 0; m0 < M; m0 += MC_ROWS) {
            int64_t mc = M - m0 < MC_ROWS ? M - m0 : MC_ROWS;
            for (int64_t i = 0; pack && i < mc; i += kern.mr) {
                int mr = mc - i < kern.mr ? (int)(mc - i) : kern.mr;
                float *ap = apack + (size_t)i * kc;
                for (int r = 0; r < mr; r++) {
                    const float *src = in + (m0 + i + r) * K + k0;
                    for (int k = 0; k < kc; k++)
                        ap[k * kern.mr + r] = src[k];
                }
            }
            for (int p = p0; p < p1; p++) {
                int nr = N - p * NR < NR ? N - p * NR : NR;
                const float *bp = packed + ((size_t)p * K + (size_t)k0) * NR;
                const float *bb = bias ? bias + (size_t)p * NR : NULL;
                for (int64_t i = 0; i < mc; i += kern.mr) {
                    int mr = mc - i < kern.mr ? (int)(mc - i) : kern.mr;
                    const float *a = pack ? apack + (size_t)i * kc : in + (m0 + i) * K + k0;
                    kern.fn(mr, kc, a, pack ? 0 : K, bp, out + (m0 + i) * N + (size_t)p * NR, N,
                            nr, bb, first, last && relu);
                }
            }
        }
    }
}

void es_conv_pointwise_forward(float *out, const float *in, const float *packed,
                               const float *bias, int64_t M, int K, int N, int relu,
                               float *scratch)
{
    es_conv_pointwise_forward_cols(out, in, packed, bias, M, K, N, 0, N, relu, scratch);
}

/* ---- int8-weight GEMV-like kernel (the classifier on a few embeddings) ---- */

static void q8_generic(float *out, const float *in, const int8_t *q, const float *scale,
                       const float *bias, int64_t M, int K, int N, int relu)
{
    for (int64_t m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            const float *x = in + m * K;
            const int8_t *w = q + (size_t)n * K;
            /* 16 partial sums reduced in lane order, as the SIMD version. */
            float part[16] = {0};
            for (int k = 0; k < K; k++)
                part[k % 16] += x[k] * (float)w[k];
            float acc = 0.0f;
            for (int j = 0; j < 16; j++)
                acc += part[j];
            float v = acc * scale[n] + (bias ? bias[n] : 0.0f);
            out[m * N + n] = relu && v < 0.0f ? 0.0f : v;
        }
}

#ifdef ES_X86
/* MR rows x 4 outputs at a time: the 4 converted weight vectors serve all
 * MR rows. Each (row, output) has one accumulator whose lane j sums
 * k = j (mod 16) in order, as q8_generic's partial sums. */
__attribute__((target("avx512f"), always_inline)) static inline void
q8_block512(const int MR, float *out, const float *in, const int8_t *q, const float *scale,
            const float *bias, int64_t m0, int K, int N, int n0, int relu)
{
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            acc[r][j] = _mm512_setzero_ps();
    for (int k = 0; k < K; k += 16) {
        __m512 wv[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            wv[j] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                _mm_loadu_si128((const __m128i *)(q + (size_t)(n0 + j) * K + k))));
#pragma GCC unroll 4
        for (int r = 0; r < MR; r++) {
            __m512 xv = _mm512_loadu_ps(in + (m0 + r) * K + k);
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                acc[r][j] = _mm512_fmadd_ps(xv, wv[j], acc[r][j]);
        }
    }
    for (int r = 0; r < MR; r++)
        for (int j = 0; j < 4; j++) {
            float part[16];
            _mm512_storeu_ps(part, acc[r][j]);
            float sum = 0.0f;
            for (int l = 0; l < 16; l++)
                sum += part[l];
            int n = n0 + j;
            float v = sum * scale[n] + (bias ? bias[n] : 0.0f);
            out[(m0 + r) * N + n] = relu && v < 0.0f ? 0.0f : v;
        }
}

__attribute__((target("avx512f"))) static void q8_avx512(float *out, const float *in,
                                                         const int8_t *q, const float *scale,
                                                         const float *bias, int64_t M, int K,
                                                         int N, int relu)
{
    int nfull = N / 4 * 4;
    for (int64_t m0 = 0; m0 < M; m0 += 4) {
        int mr = M - m0 < 4 ? (int)(M - m0) : 4;
        for (int n0 = 0; n0 < nfull; n0 += 4) {
            switch (mr) {
            case 1: q8_block512(1, out, in, q, scale, bias, m0, K, N, n0, relu); break;
            case 2: q8_block512(2, out, in, q, scale, bias, m0, K, N, n0, relu); break;
            case 3: q8_block512(3, out, in, q, scale, bias, m0, K, N, n0, relu); break;
            default: q8_block512(4, out, in, q, scale, bias, m0, K, N, n0, relu); break;
            }
        }
        /* The last N % 4 outputs, one at a time. */
        for (int64_t m = m0; m < m0 + mr; m++)
            for (int n = nfull; n < N; n++) {
                __m512 acc = _mm512_setzero_ps();
                for (int k = 0; k < K; k += 16)
                    acc = _mm512_fmadd_ps(
                        _mm512_loadu_ps(in + m * K + k),
                        _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                            _mm_loadu_si128((const __m128i *)(q + (size_t)n * K + k)))),
                        acc);
                float part[16];
                _mm512_storeu_ps(part, acc);
                float sum = 0.0f;
                for (int l = 0; l < 16; l++)
                    sum += part[l];
                float v = sum * scale[n] + (bias ? bias[n] : 0.0f);
                out[m * N + n] = relu && v < 0.0f ? 0.0f : v;
            }
    }
}
#endif

void es_conv_pw_q8_forward(float *out, const float *in, const int8_t *q, const float *scale,
                           const float *bias, int64_t M, int K, int N, int relu)
{
#ifdef ES_X86
    if (K % 16 == 0 && es_nn_isa_level() == 2) {
        q8_avx512(out, in, q, scale, bias, M, K, N, relu);
        return;
    }
#endif
    q8_generic(out, in, q, scale, bias, M, K, N, relu);
}
