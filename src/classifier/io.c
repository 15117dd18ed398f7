/*
 * io.c: the head's file format (documented in ecosight/classifier.h): a
 * magic, a version, the configuration, the float32 tensors and a SHA-256
 * trailer, little-endian, written atomically. Loading checks everything that
 * comes from disk: sizes are capped before anything is allocated and the hash
 * must match, so a truncated or corrupted file is an error, never a model.
 */
#include "head_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[8] = {'E', 'S', 'H', 'E', 'A', 'D', 0, 1};
#define ES_HEAD_FILE_MAX (512u * 1024u * 1024u)

/* The build only supports little-endian hosts; the format is defined as LE. */
static int host_is_le(void)
{
    uint16_t one = 1;
    return *(uint8_t *)&one == 1;
}

static es_status put(es_buf *b, const void *p, size_t n, es_error *err)
{
    return es_buf_append(b, p, n, err);
}

static es_status put_u32(es_buf *b, uint32_t v, es_error *err) { return put(b, &v, 4, err); }

es_status es_head_save(const es_head *h, const char *path, es_error *err)
{
    if (!host_is_le())
        return es_error_set(err, ES_ERR_UNSUPPORTED, "head: big-endian hosts are not supported");
    es_buf b;
    es_buf_init(&b, ES_HEAD_FILE_MAX);
    const es_head_config *c = &h->cfg;
    es_status rc = put(&b, MAGIC, 8, err);
    if (rc == ES_OK)
        rc = put_u32(&b, ES_HEAD_FILE_VERSION, err);
    if (rc == ES_OK)
        rc = put_u32(&b, (uint32_t)c->input_dim, err);
    if (rc == ES_OK)
        rc = put_u32(&b, (uint32_t)c->num_classes, err);
    if (rc == ES_OK)
        rc = put_u32(&b, (uint32_t)c->num_hidden, err);
    for (int i = 0; i < c->num_hidden && rc == ES_OK; i++)
        rc = put_u32(&b, (uint32_t)c->hidden[i], err);
    if (rc == ES_OK)
        rc = put(&b, c->dropout, sizeof(float) * (size_t)c->num_hidden, err);
    if (rc == ES_OK)
        rc = put(&b, &c->bn_momentum, 4, err);
    if (rc == ES_OK)
        rc = put(&b, &c->bn_eps, 4, err);
    if (rc == ES_OK)
        rc = put_u32(&b, (uint32_t)h->has_norm, err);
    uint64_t np = h->nparams;
    if (rc == ES_OK)
        rc = put(&b, &np, 8, err);
    if (rc == ES_OK)
        rc = put(&b, h->params, h->nparams * sizeof(float), err);
    if (rc == ES_OK)
        rc = put(&b, h->bn, h->nbn * sizeof(float), err);
    if (rc == ES_OK && h->has_norm) {
        rc = put(&b, h->norm_mean, (size_t)c->input_dim * sizeof(float), err);
        if (rc == ES_OK)
            rc = put(&b, h->norm_std, (size_t)c->input_dim * sizeof(float), err);
    }
    if (rc == ES_OK) {
        uint8_t dig[ES_SHA256_LEN];
        es_sha256(b.data, b.len, dig);
        rc = put(&b, dig, sizeof dig, err);
    }
    if (rc == ES_OK)
        rc = es_write_file_atomic(path, b.data, b.len, err);
    es_buf_free(&b);
    if (rc != ES_OK)
        es_error_prefix(err, "saving head %s", path);
    return rc;
}

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
} rd;

static int take(rd *r, void *out, size_t n)
{
    if (r->len - r->off < n)
        return -1;
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return 0;
}

es_status es_head_load_memory(const void *data, size_t len, const char *name, es_head **out,
                              es_error *err)
{
    if (!host_is_le())
        return es_error_set(err, ES_ERR_UNSUPPORTED, "head: big-endian hosts are not supported");
    rd r = {data, len, 0};
    char magic[8];
    uint32_t ver, u;
    if (len < 8 + 4 + ES_SHA256_LEN || take(&r, magic, 8) || memcmp(magic, MAGIC, 8) != 0)
        return es_error_set(err, ES_ERR_MODEL, "%s: not an EcoSight head file (bad magic)", name);
    uint8_t dig[ES_SHA256_LEN];
    es_sha256(data, len - ES_SHA256_LEN, dig);
    if (memcmp(dig, (const uint8_t *)data + len - ES_SHA256_LEN, ES_SHA256_LEN) != 0)
        return es_error_set(err, ES_ERR_MODEL, "%s: checksum mismatch (corrupt or truncated)",
                            name);
    r.len = len - ES_SHA256_LEN;
    if (take(&r, &ver, 4))
        goto trunc;
    if (ver != ES_HEAD_FILE_VERSION)
        return es_error_set(err, ES_ERR_MODEL, "%s: head format version %u (this build reads %d)",
                            name, ver, ES_HEAD_FILE_VERSION);
    es_head_config c = {0};
    if (take(&r, &u, 4))
        goto trunc;
    c.input_dim = (int)(u > ES_HEAD_MAX_DIM ? 0 : u);
    if (take(&r, &u, 4))
        goto trunc;
    c.num_classes = (int)(u > ES_HEAD_MAX_CLASSES ? 0 : u);
    if (take(&r, &u, 4))
        goto trunc;
    if (u > ES_HEAD_MAX_HIDDEN)
        return es_error_set(err, ES_ERR_MODEL, "%s: %u hidden layers", name, u);
    c.num_hidden = (int)u;
    for (int i = 0; i < c.num_hidden; i++) {
        if (take(&r, &u, 4))
            goto trunc;
        c.hidden[i] = (int)(u > ES_HEAD_MAX_DIM ? 0 : u);
    }
    if (take(&r, c.dropout, sizeof(float) * (size_t)c.num_hidden) || take(&r, &c.bn_momentum, 4) ||
        take(&r, &c.bn_eps, 4))
        goto trunc;
    es_error e2;
    if (es_head_config_check(&c, &e2) != ES_OK)
        return es_error_set(err, ES_ERR_MODEL, "%s: %s", name, es_error_text(&e2));
    uint32_t has_norm;
    uint64_t np;
    if (take(&r, &has_norm, 4) || take(&r, &np, 8))
        goto trunc;
    /* Check the declared sizes against the bytes present before allocating:
     * a small hostile header must not make us allocate gigabytes. */
    size_t want_np, want_bn;
    es_head_config_sizes(&c, &want_np, &want_bn);
    if (np != want_np || has_norm > 1)
        return es_error_set(err, ES_ERR_MODEL, "%s: parameter count %llu does not fit the layers",
                            name, (unsigned long long)np);
    size_t floats = want_np + want_bn + (has_norm ? 2 * (size_t)c.input_dim : 0);
    if ((r.len - r.off) / sizeof(float) != floats || (r.len - r.off) % sizeof(float) != 0)
        return es_error_set(err, ES_ERR_MODEL, "%s: %zu bytes of tensors, the layers need %zu",
                            name, r.len - r.off, floats * sizeof(float));
    es_head *h;
    es_status rc = es_head_alloc(&c, &h, err);
    if (rc != ES_OK)
        return rc;
    h->has_norm = (int)has_norm;
    size_t D = (size_t)c.input_dim;
    if (take(&r, h->params, h->nparams * sizeof(float)) || take(&r, h->bn, h->nbn * sizeof(float)) ||
        (has_norm && (take(&r, h->norm_mean, D * sizeof(float)) ||
                      take(&r, h->norm_std, D * sizeof(float))))) {
        es_head_free(h);
        goto trunc;
    }
    if (!has_norm)
        for (size_t i = 0; i < D; i++)
            h->norm_std[i] = 1.0f;
    if (r.off != r.len) {
        es_head_free(h);
        return es_error_set(err, ES_ERR_MODEL, "%s: %zu unexpected trailing bytes", name,
                            r.len - r.off);
    }
    for (size_t i = 0; i < h->nparams; i++)
        if (!isfinite(h->params[i])) {
            es_head_free(h);
            return es_error_set(err, ES_ERR_MODEL, "%s: non-finite weight", name);
        }
    *out = h;
    return ES_OK;
trunc:
    return es_error_set(err, ES_ERR_MODEL, "%s: truncated head file", name);
}

es_status es_head_load(const char *path, es_head **out, es_error *err)
{
    char *data;
    size_t len;
    es_status rc = es_read_file(path, ES_HEAD_FILE_MAX, &data, &len, err);
    if (rc != ES_OK)
        return rc;
    rc = es_head_load_memory(data, len, path, out, err);
    free(data);
    return rc;
}
