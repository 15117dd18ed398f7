/*
 * hash.c: SHA-256, HMAC-SHA256 and MD5 over OpenSSL's EVP interface, plus hex
 * helpers and a constant-time compare. Only core/ includes OpenSSL, so the
 * rest of the library (S3 signing, catalog keys, API tokens) goes through
 * these functions.
 */
#include "ecosight/core.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct es_sha256_ctx {
    EVP_MD_CTX *md;
};

es_status es_sha256_new(es_sha256_ctx **out, es_error *err)
{
    es_sha256_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        es_sha256_free(c);
        return es_error_set(err, ES_ERR_INTERNAL, "cannot initialise SHA-256");
    }
    *out = c;
    return ES_OK;
}

void es_sha256_update(es_sha256_ctx *c, const void *data, size_t n)
{
    if (n)
        EVP_DigestUpdate(c->md, data, n);
}

void es_sha256_final(es_sha256_ctx *c, uint8_t out[ES_SHA256_LEN])
{
    unsigned int len = 0;
    EVP_DigestFinal_ex(c->md, out, &len);
    EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
}

void es_sha256_free(es_sha256_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

void es_sha256(const void *data, size_t n, uint8_t out[ES_SHA256_LEN])
{
    unsigned int len = 0;
    EVP_Digest(n ? data : "", n, out, &len, EVP_sha256(), NULL);
}

void es_md5(const void *data, size_t n, uint8_t out[16])
{
    unsigned int len = 0;
    EVP_Digest(n ? data : "", n, out, &len, EVP_md5(), NULL);
}

es_status es_sha256_file(const char *path, uint8_t out[ES_SHA256_LEN], es_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return es_error_set(err, e == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO, "cannot open %s: %s",
                            path, strerror(e));
    }
    es_sha256_ctx *c;
    es_status rc = es_sha256_new(&c, err);
    if (rc) {
        close(fd);
        return rc;
    }
    unsigned char *chunk = malloc(1 << 16);
    if (!chunk) {
        close(fd);
        es_sha256_free(c);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    for (;;) {
        ssize_t r = read(fd, chunk, 1 << 16);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = es_error_set(err, ES_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        es_sha256_update(c, chunk, (size_t)r);
    }
    if (rc == ES_OK)
        es_sha256_final(c, out);
    free(chunk);
    close(fd);
    es_sha256_free(c);
    return rc;
}

void es_hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                    uint8_t out[ES_SHA256_LEN])
{
    unsigned int len = ES_SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)(n ? data : ""), n, out, &len);
}

void es_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int es_unhex(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int es_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}
