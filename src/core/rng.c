/*
 * rng.c: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
 * 1, 2, 3", SC'11), a counter-based generator. A stream's key is derived
 * from (seed, key bytes, name) with SHA-256, so every augmentation of every
 * file has its own sequence: results never depend on which thread ran first
 * or in which order files were listed.
 */
#include "ecosight/core.h"

#include <math.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox_round(uint32_t ctr[4], const uint32_t key[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t n0 = hi1 ^ ctr[1] ^ key[0];
    uint32_t n1 = lo1;
    uint32_t n2 = hi0 ^ ctr[3] ^ key[1];
    uint32_t n3 = lo0;
    ctr[0] = n0;
    ctr[1] = n1;
    ctr[2] = n2;
    ctr[3] = n3;
}

static void philox_block(es_rng *r)
{
    uint32_t c[4], k[2];
    memcpy(c, r->ctr, sizeof c);
    memcpy(k, r->key, sizeof k);
    for (int i = 0; i < 10; i++) {
        philox_round(c, k);
        k[0] += PHILOX_W0;
        k[1] += PHILOX_W1;
    }
    memcpy(r->out, c, sizeof c);
    r->avail = 4;
    /* 128-bit counter increment */
    for (int i = 0; i < 4; i++)
        if (++r->ctr[i] != 0)
            break;
}

void es_rng_init(es_rng *r, uint64_t seed, const void *key, size_t keylen, const char *name)
{
    /* Key derivation: SHA-256 over a fixed-layout message, so that (seed,
     * key, name) triples can never collide by concatenation. */
    unsigned char msg[8 + 8 + 256 + 8 + 256];
    size_t n = 0;
    for (int i = 0; i < 8; i++)
        msg[n++] = (unsigned char)(seed >> (8 * i));
    uint64_t kl = keylen > 256 ? 256 : keylen;
    for (int i = 0; i < 8; i++)
        msg[n++] = (unsigned char)(kl >> (8 * i));
    if (kl)
        memcpy(msg + n, key, kl);
    n += kl;
    uint64_t nl = name ? strlen(name) : 0;
    if (nl > 256)
        nl = 256;
    for (int i = 0; i < 8; i++)
        msg[n++] = (unsigned char)(nl >> (8 * i));
    if (nl)
        memcpy(msg + n, name, nl);
    n += nl;
    uint8_t h[ES_SHA256_LEN];
    es_sha256(msg, n, h);
    memset(r, 0, sizeof *r);
    r->key[0] = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    r->key[1] = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
    r->ctr[2] = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 | (uint32_t)h[11] << 24;
    r->ctr[3] = (uint32_t)h[12] | (uint32_t)h[13] << 8 | (uint32_t)h[14] << 16 | (uint32_t)h[15] << 24;
}

uint32_t es_rng_u32(es_rng *r)
{
    if (r->avail == 0)
        philox_block(r);
    return r->out[4 - r->avail--];
}

uint64_t es_rng_u64(es_rng *r)
{
    uint64_t hi = es_rng_u32(r);
    return hi << 32 | es_rng_u32(r);
}

double es_rng_uniform(es_rng *r)
{
    return (double)(es_rng_u64(r) >> 11) * 0x1.0p-53;
}

double es_rng_uniform_range(es_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * es_rng_uniform(r);
}

uint64_t es_rng_below(es_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    /* Lemire-style rejection for an unbiased result. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = es_rng_u64(r);
        if (x >= threshold)
            return x % n;
    }
}

double es_rng_normal(es_rng *r)
{
    if (r->has_gauss) {
        r->has_gauss = 0;
        return r->gauss;
    }
    double u1, u2;
    do {
        u1 = es_rng_uniform(r);
    } while (u1 <= 0.0);
    u2 = es_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 2.0 * M_PI * u2;
    r->gauss = rad * sin(th);
    r->has_gauss = 1;
    return rad * cos(th);
}

/* Value at position `pos` of the virtual permutation, given the positions
 * changed so far (pos_k[t] holds val_k[t]). */
static size_t perm_get(const size_t *pos_k, const size_t *val_k, size_t m, size_t pos)
{
    for (size_t t = m; t-- > 0;)
        if (pos_k[t] == pos)
            return val_k[t];
    return pos;
}

void es_rng_sample(es_rng *r, size_t n, size_t k, size_t *out)
{
    /* Partial Fisher-Yates over a virtual identity permutation of [0, n),
     * remembering only the swapped positions: O(k^2) time, no O(n) memory. */
    if (k > n)
        k = n;
    size_t pos_k[2 * 64], val_k[2 * 64];
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)es_rng_below(r, n - i);
        size_t vi = perm_get(pos_k, val_k, m, i);
        size_t vj = perm_get(pos_k, val_k, m, j);
        out[i] = vj;
        if (m + 2 > sizeof pos_k / sizeof pos_k[0]) {
            /* compact: positions < i+1 are final and never read again */
            size_t w = 0;
            for (size_t t = 0; t < m; t++)
                if (pos_k[t] > i) {
                    pos_k[w] = pos_k[t];
                    val_k[w++] = val_k[t];
                }
            m = w;
        }
        pos_k[m] = i;
        val_k[m++] = vj;
        pos_k[m] = j;
        val_k[m++] = vi;
    }
}

void es_rng_shuffle(es_rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)es_rng_below(r, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
