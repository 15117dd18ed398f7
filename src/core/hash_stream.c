/*
 * hash_stream.c: incremental MD5 / SHA-256 over OpenSSL's EVP interface, so
 * a caller that sees data once (a download streaming to disk, a multipart
 * part read in chunks) can hash it in the same pass instead of rereading.
 */
#include "ecosight/core.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct es_hash_ctx {
    EVP_MD_CTX *md;
    const EVP_MD *alg;
};

es_status es_hash_new(es_hash_alg alg, es_hash_ctx **out, es_error *err)
{
    *out = NULL;
    const EVP_MD *md = alg == ES_HASH_MD5 ? EVP_md5() : alg == ES_HASH_SHA256 ? EVP_sha256() : NULL;
    if (!md)
        return es_error_set(err, ES_ERR_INVALID, "unknown hash algorithm %d", (int)alg);
    es_hash_ctx *h = calloc(1, sizeof *h);
    if (!h)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    h->alg = md;
    h->md = EVP_MD_CTX_new();
    if (!h->md || EVP_DigestInit_ex(h->md, md, NULL) != 1) {
        es_hash_free(h);
        return es_error_set(err, ES_ERR_INTERNAL, "cannot initialise the %s digest",
                            alg == ES_HASH_MD5 ? "MD5" : "SHA-256");
    }
    *out = h;
    return ES_OK;
}

void es_hash_update(es_hash_ctx *h, const void *data, size_t n)
{
    if (n)
        EVP_DigestUpdate(h->md, data, n);
}

size_t es_hash_final(es_hash_ctx *h, uint8_t out[ES_HASH_MAX_LEN])
{
    unsigned int len = 0;
    EVP_DigestFinal_ex(h->md, out, &len);
    EVP_DigestInit_ex(h->md, h->alg, NULL);
    return len;
}

void es_hash_reset(es_hash_ctx *h)
{
    EVP_DigestInit_ex(h->md, h->alg, NULL);
}

size_t es_hash_len(const es_hash_ctx *h)
{
    return (size_t)EVP_MD_get_size(h->alg);
}

void es_hash_free(es_hash_ctx *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    free(h);
}
