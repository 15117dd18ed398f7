/*
 * tflite.c: the bounds-checked TFLite flatbuffer reader (see tflite.h).
 *
 * A flatbuffer is a graph of tables reached through 32-bit offsets; a table
 * starts with a signed offset to its vtable, which lists each field's offset
 * inside the table (0 = absent, default value). Every read below goes
 * through fb_* helpers that check the position against the buffer size
 * first; nothing trusts a count or offset from the file. Field numbers follow
 * tensorflow/lite/schema/schema.fbs.
 */
#include "tflite.h"

#include <stdlib.h>
#include <string.h>

typedef struct fb {
    const uint8_t *p;
    size_t n;
    es_error *err;
    const char *where; /* what we are reading, for messages */
} fb;

static es_status fb_fail(fb *b, size_t pos, const char *what)
{
    return es_error_set(b->err, ES_ERR_MODEL,
                        "model file is malformed: %s%s%s at byte %zu (file has %zu bytes)", what,
                        b->where ? " in " : "", b->where ? b->where : "", pos, b->n);
}

static int fb_has(const fb *b, size_t pos, size_t len)
{
    return pos <= b->n && len <= b->n - pos;
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* A table at `pos`: its vtable's position and length, and the object size. */
typedef struct fb_table {
    size_t pos;
    size_t vt;
    size_t vtlen;
    size_t objlen;
} fb_table;

static es_status fb_table_at(fb *b, size_t pos, fb_table *t)
{
    if (!fb_has(b, pos, 4))
        return fb_fail(b, pos, "table outside the file");
    int32_t soff = (int32_t)rd_u32(b->p + pos);
    int64_t vt = (int64_t)pos - (int64_t)soff;
    if (vt < 0 || !fb_has(b, (size_t)vt, 4))
        return fb_fail(b, pos, "vtable outside the file");
    size_t vtlen = rd_u16(b->p + vt);
    size_t objlen = rd_u16(b->p + vt + 2);
    if (vtlen < 4 || (vtlen & 1) || !fb_has(b, (size_t)vt, vtlen))
        return fb_fail(b, (size_t)vt, "bad vtable length");
    if (objlen < 4 || !fb_has(b, pos, objlen))
        return fb_fail(b, pos, "table extends past the end");
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vtlen = vtlen;
    t->objlen = objlen;
    return ES_OK;
}

/* Position of field `idx` of size `sz` in the table, 0 when absent. */
static es_status fb_field(fb *b, const fb_table *t, int idx, size_t sz, size_t *pos)
{
    size_t slot = 4 + 2 * (size_t)idx;
    *pos = 0;
    if (slot + 2 > t->vtlen)
        return ES_OK;
    size_t off = rd_u16(b->p + t->vt + slot);
    if (off == 0)
        return ES_OK;
    if (off < 4 || off + sz > t->objlen)
        return fb_fail(b, t->pos, "field outside its table");
    *pos = t->pos + off;
    return ES_OK;
}

static es_status fb_scalar_u32(fb *b, const fb_table *t, int idx, uint32_t def, uint32_t *v)
{
    size_t pos = 0;
    es_status rc = fb_field(b, t, idx, 4, &pos);
    if (rc)
        return rc;
    *v = pos ? rd_u32(b->p + pos) : def;
    return ES_OK;
}

static es_status fb_scalar_u8(fb *b, const fb_table *t, int idx, uint8_t def, uint8_t *v)
{
    size_t pos = 0;
    es_status rc = fb_field(b, t, idx, 1, &pos);
    if (rc)
        return rc;
    *v = pos ? b->p[pos] : def;
    return ES_OK;
}

static es_status fb_scalar_u64(fb *b, const fb_table *t, int idx, uint64_t *v)
{
    size_t pos = 0;
    es_status rc = fb_field(b, t, idx, 8, &pos);
    if (rc)
        return rc;
    *v = 0;
    if (pos)
        *v = (uint64_t)rd_u32(b->p + pos) | (uint64_t)rd_u32(b->p + pos + 4) << 32;
    return ES_OK;
}

/* Follow the uoffset stored at `pos`. */
static es_status fb_deref(fb *b, size_t pos, size_t *target)
{
    if (!fb_has(b, pos, 4))
        return fb_fail(b, pos, "offset outside the file");
    uint32_t off = rd_u32(b->p + pos);
    if (off == 0 || (size_t)off > b->n - pos)
        return fb_fail(b, pos, "offset points outside the file");
    *target = pos + off;
    return ES_OK;
}

/* A vector field: start of its elements and count (0/NULL-equivalent when absent). */
static es_status fb_vector(fb *b, const fb_table *t, int idx, size_t elem, size_t *start,
                           size_t *count)
{
    size_t pos = 0, v = 0;
    *start = 0;
    *count = 0;
    es_status rc = fb_field(b, t, idx, 4, &pos);
    if (rc || !pos)
        return rc;
    if ((rc = fb_deref(b, pos, &v)))
        return rc;
    if (!fb_has(b, v, 4))
        return fb_fail(b, v, "vector length outside the file");
    size_t cnt = rd_u32(b->p + v);
    if (cnt > (b->n - v - 4) / elem)
        return fb_fail(b, v, "vector extends past the end");
    *start = v + 4;
    *count = cnt;
    return ES_OK;
}

/* Element k of a vector of tables. */
static es_status fb_vector_table(fb *b, size_t start, size_t k, fb_table *t)
{
    size_t pos = 0;
    es_status rc = fb_deref(b, start + 4 * k, &pos);
    if (rc)
        return rc;
    return fb_table_at(b, pos, t);
}

/* A sub-table field; *present = 0 when absent. */
static es_status fb_subtable(fb *b, const fb_table *t, int idx, fb_table *sub, int *present)
{
    size_t pos = 0, tp = 0;
    *present = 0;
    es_status rc = fb_field(b, t, idx, 4, &pos);
    if (rc || !pos)
        return rc;
    if ((rc = fb_deref(b, pos, &tp)))
        return rc;
    if ((rc = fb_table_at(b, tp, sub)))
        return rc;
    *present = 1;
    return ES_OK;
}

int32_t tfl_op_input(const tfl_op *op, int i)
{
    if (i < 0 || i >= op->ninputs)
        return -1;
    return (int32_t)rd_u32(op->inputs + 4 * (size_t)i);
}

int32_t tfl_op_output(const tfl_op *op, int i)
{
    if (i < 0 || i >= op->noutputs)
        return -1;
    return (int32_t)rd_u32(op->outputs + 4 * (size_t)i);
}

float tfl_scale(const tfl_tensor *t, size_t i)
{
    if (!t->scale || i >= t->nscale)
        return 0.0f;
    uint32_t u = rd_u32(t->scale + 4 * i);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int64_t tfl_zero_point(const tfl_tensor *t, size_t i)
{
    if (!t->zero_point || i >= t->nzero)
        return 0;
    const uint8_t *p = t->zero_point + 8 * i;
    return (int64_t)((uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32);
}

int64_t tfl_numel(const tfl_tensor *t)
{
    const int64_t cap = INT64_C(1) << 40;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->shape[i] < 0)
            return -1;
        if (t->shape[i] != 0 && n > cap / t->shape[i])
            return -1;
        n *= t->shape[i];
    }
    return n;
}

void tfl_model_clear(tfl_model *m)
{
    if (!m)
        return;
    free(m->tensors);
    free(m->ops);
    memset(m, 0, sizeof *m);
}

/* Buffers: where each one's bytes are. */
typedef struct buf_ref {
    size_t pos, len;
} buf_ref;

static es_status parse_buffers(fb *b, const fb_table *root, buf_ref **out, size_t *nout)
{
    size_t start, count;
    b->where = "the buffer list";
    es_status rc = fb_vector(b, root, 4, 4, &start, &count);
    if (rc)
        return rc;
    buf_ref *bufs = calloc(count ? count : 1, sizeof *bufs);
    if (!bufs)
        return es_error_set(b->err, ES_ERR_NOMEM, "out of memory reading %zu model buffers", count);
    for (size_t k = 0; k < count; k++) {
        fb_table t;
        size_t ds, dn;
        if ((rc = fb_vector_table(b, start, k, &t)) || (rc = fb_vector(b, &t, 0, 1, &ds, &dn)))
            goto fail;
        if (dn == 0) {
            /* Large models keep the bytes after the flatbuffer: offset + size. */
            uint64_t off, sz;
            if ((rc = fb_scalar_u64(b, &t, 1, &off)) || (rc = fb_scalar_u64(b, &t, 2, &sz)))
                goto fail;
            if (off > 1) {
                if (off > b->n || sz > b->n - off) {
                    rc = fb_fail(b, t.pos, "buffer offset/size past the end");
                    goto fail;
                }
                ds = (size_t)off;
                dn = (size_t)sz;
            }
        }
        bufs[k].pos = ds;
        bufs[k].len = dn;
    }
    *out = bufs;
    *nout = count;
    return ES_OK;
fail:
    free(bufs);
    return rc;
}

static es_status parse_tensor(fb *b, const fb_table *t, const buf_ref *bufs, size_t nbufs,
                              tfl_tensor *out)
{
    es_status rc;
    size_t s, n;
    memset(out, 0, sizeof *out);
    if ((rc = fb_vector(b, t, 0, 4, &s, &n)))
        return rc;
    if (n > TFL_MAX_RANK)
        return fb_fail(b, t->pos, "tensor rank above 8");
    out->rank = (int)n;
    for (size_t i = 0; i < n; i++)
        out->shape[i] = (int32_t)rd_u32(b->p + s + 4 * i);
    uint8_t type;
    uint32_t bi;
    if ((rc = fb_scalar_u8(b, t, 1, 0, &type)) || (rc = fb_scalar_u32(b, t, 2, 0, &bi)))
        return rc;
    out->type = type;
    if (bi >= nbufs && !(bi == 0 && nbufs == 0))
        return fb_fail(b, t->pos, "tensor refers to a buffer that does not exist");
    if (nbufs && bufs[bi].len) {
        out->data = b->p + bufs[bi].pos;
        out->data_len = bufs[bi].len;
    }
    if ((rc = fb_vector(b, t, 3, 1, &s, &n)))
        return rc;
    if (n) {
        size_t c = n < sizeof out->name - 1 ? n : sizeof out->name - 1;
        memcpy(out->name, b->p + s, c);
        out->name[c] = 0;
        for (size_t i = 0; i < c; i++)
            if ((unsigned char)out->name[i] < 32)
                out->name[i] = '?';
    }
    fb_table q;
    int present;
    if ((rc = fb_subtable(b, t, 4, &q, &present)))
        return rc;
    if (present) {
        if ((rc = fb_vector(b, &q, 2, 4, &s, &n)))
            return rc;
        out->scale = n ? b->p + s : NULL;
        out->nscale = n;
        if ((rc = fb_vector(b, &q, 3, 8, &s, &n)))
            return rc;
        out->zero_point = n ? b->p + s : NULL;
        out->nzero = n;
        uint32_t qd;
        if ((rc = fb_scalar_u32(b, &q, 6, 0, &qd)))
            return rc;
        out->quantized_dim = (int)qd;
    }
    return ES_OK;
}

static es_status parse_op(fb *b, const fb_table *t, const int32_t *codes, size_t ncodes,
                          tfl_op *op)
{
    es_status rc;
    size_t s, n;
    uint32_t idx;
    memset(op, 0, sizeof *op);
    if ((rc = fb_scalar_u32(b, t, 0, 0, &idx)))
        return rc;
    if (idx >= ncodes)
        return fb_fail(b, t->pos, "operator code index out of range");
    op->code = codes[idx];
    if ((rc = fb_vector(b, t, 1, 4, &s, &n)))
        return rc;
    if (n > 64)
        return fb_fail(b, t->pos, "operator with more than 64 inputs");
    op->inputs = b->p + s;
    op->ninputs = (int)n;
    if ((rc = fb_vector(b, t, 2, 4, &s, &n)))
        return rc;
    if (n > 64)
        return fb_fail(b, t->pos, "operator with more than 64 outputs");
    op->outputs = b->p + s;
    op->noutputs = (int)n;
    if (op->code != TFL_OP_CONV_2D && op->code != TFL_OP_DEPTHWISE_CONV_2D &&
        op->code != TFL_OP_FULLY_CONNECTED)
        return ES_OK;
    fb_table o;
    int present;
    if ((rc = fb_subtable(b, t, 4, &o, &present)))
        return rc;
    op->has_options = present;
    op->stride_w = op->stride_h = op->dilation_w = op->dilation_h = op->depth_multiplier = 1;
    if (!present)
        return ES_OK;
    uint8_t pad = 0, act = 0;
    uint32_t sw = 0, sh = 0, dw = 1, dh = 1, dm = 1;
    if (op->code == TFL_OP_CONV_2D) {
        /* Conv2DOptions: padding, stride_w, stride_h, fused_activation_function,
         * dilation_w_factor, dilation_h_factor */
        if ((rc = fb_scalar_u8(b, &o, 0, 0, &pad)) || (rc = fb_scalar_u32(b, &o, 1, 0, &sw)) ||
            (rc = fb_scalar_u32(b, &o, 2, 0, &sh)) || (rc = fb_scalar_u8(b, &o, 3, 0, &act)) ||
            (rc = fb_scalar_u32(b, &o, 4, 1, &dw)) || (rc = fb_scalar_u32(b, &o, 5, 1, &dh)))
            return rc;
    } else if (op->code == TFL_OP_DEPTHWISE_CONV_2D) {
        /* DepthwiseConv2DOptions: padding, stride_w, stride_h, depth_multiplier,
         * fused_activation_function, dilation_w_factor, dilation_h_factor */
        if ((rc = fb_scalar_u8(b, &o, 0, 0, &pad)) || (rc = fb_scalar_u32(b, &o, 1, 0, &sw)) ||
            (rc = fb_scalar_u32(b, &o, 2, 0, &sh)) || (rc = fb_scalar_u32(b, &o, 3, 0, &dm)) ||
            (rc = fb_scalar_u8(b, &o, 4, 0, &act)) || (rc = fb_scalar_u32(b, &o, 5, 1, &dw)) ||
            (rc = fb_scalar_u32(b, &o, 6, 1, &dh)))
            return rc;
    } else {
        /* FullyConnectedOptions: fused_activation_function first */
        if ((rc = fb_scalar_u8(b, &o, 0, 0, &act)))
            return rc;
        sw = sh = 1;
    }
    op->padding = pad;
    op->activation = act;
    op->stride_w = (int)(sw > 1000 ? 1000 : sw);
    op->stride_h = (int)(sh > 1000 ? 1000 : sh);
    op->dilation_w = (int)(dw > 1000 ? 1000 : dw);
    op->dilation_h = (int)(dh > 1000 ? 1000 : dh);
    op->depth_multiplier = (int)(dm > 1000 ? 1000 : dm);
    return ES_OK;
}

es_status tfl_parse(const uint8_t *data, size_t len, tfl_model *m, es_error *err)
{
    memset(m, 0, sizeof *m);
    fb b = {data, len, err, "the header"};
    if (len < 8)
        return es_error_set(err, ES_ERR_MODEL,
                            "model file is malformed: %zu bytes is too short for a TFLite file", len);
    if (memcmp(data + 4, "TFL3", 4) != 0)
        return es_error_set(err, ES_ERR_MODEL,
                            "not a TFLite model: the file identifier is not \"TFL3\"");
    es_status rc;
    size_t rootpos = 0;
    fb_table root;
    if ((rc = fb_deref(&b, 0, &rootpos)) || (rc = fb_table_at(&b, rootpos, &root)))
        return rc;
    if ((rc = fb_scalar_u32(&b, &root, 0, 0, &m->version)))
        return rc;

    /* Operator codes. */
    size_t cs, cn;
    b.where = "the operator codes";
    if ((rc = fb_vector(&b, &root, 1, 4, &cs, &cn)))
        return rc;
    int32_t *codes = calloc(cn ? cn : 1, sizeof *codes);
    buf_ref *bufs = NULL;
    size_t nbufs = 0;
    if (!codes)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < cn; k++) {
        fb_table t;
        uint8_t dep;
        uint32_t code;
        if ((rc = fb_vector_table(&b, cs, k, &t)) || (rc = fb_scalar_u8(&b, &t, 0, 0, &dep)) ||
            (rc = fb_scalar_u32(&b, &t, 3, 0, &code)))
            goto done;
        int32_t c = (int32_t)code;
        codes[k] = c > (int8_t)dep ? c : (int8_t)dep;
    }
    if ((rc = parse_buffers(&b, &root, &bufs, &nbufs)))
        goto done;

    /* The first subgraph. */
    size_t ss, sn;
    b.where = "the subgraphs";
    if ((rc = fb_vector(&b, &root, 2, 4, &ss, &sn)))
        goto done;
    if (sn < 1) {
        rc = es_error_set(err, ES_ERR_MODEL, "model file has no subgraph");
        goto done;
    }
    fb_table sg;
    if ((rc = fb_vector_table(&b, ss, 0, &sg)))
        goto done;
    size_t ts, tn, os, on;
    b.where = "the tensor list";
    if ((rc = fb_vector(&b, &sg, 0, 4, &ts, &tn)))
        goto done;
    b.where = "the operator list";
    if ((rc = fb_vector(&b, &sg, 3, 4, &os, &on)))
        goto done;
    m->tensors = calloc(tn ? tn : 1, sizeof *m->tensors);
    m->ops = calloc(on ? on : 1, sizeof *m->ops);
    if (!m->tensors || !m->ops) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory for %zu tensors and %zu operators",
                          tn, on);
        goto done;
    }
    m->ntensors = tn;
    m->nops = on;
    b.where = "a tensor";
    for (size_t k = 0; k < tn; k++) {
        fb_table t;
        if ((rc = fb_vector_table(&b, ts, k, &t)) ||
            (rc = parse_tensor(&b, &t, bufs, nbufs, &m->tensors[k])))
            goto done;
    }
    b.where = "an operator";
    for (size_t k = 0; k < on; k++) {
        fb_table t;
        if ((rc = fb_vector_table(&b, os, k, &t)) ||
            (rc = parse_op(&b, &t, codes, cn, &m->ops[k])))
            goto done;
        for (int i = 0; i < m->ops[k].ninputs + m->ops[k].noutputs; i++) {
            int32_t ti = i < m->ops[k].ninputs ? tfl_op_input(&m->ops[k], i)
                                               : tfl_op_output(&m->ops[k], i - m->ops[k].ninputs);
            if (ti < -1 || (ti >= 0 && (size_t)ti >= tn)) {
                rc = es_error_set(err, ES_ERR_MODEL,
                                  "model file is malformed: operator %zu refers to tensor %d of %zu",
                                  k, (int)ti, tn);
                goto done;
            }
        }
    }
    rc = ES_OK;
done:
    free(codes);
    free(bufs);
    if (rc != ES_OK)
        tfl_model_clear(m);
    return rc;
}
