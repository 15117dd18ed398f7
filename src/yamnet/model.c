/*
 * model.c: finding and loading YAMNet from the official yamnet.tflite.
 *
 * The weights are found by walking the operator graph, not by tensor names
 * (the converter gives several fused tensors the names of more than one
 * layer): the first CONV_2D with a [32,3,3,1] filter starts the network,
 * then 13 DEPTHWISE_CONV_2D + CONV_2D(1x1) pairs must follow, each consuming
 * the previous op's output, then MEAN and FULLY_CONNECTED. Depthwise filters
 * of later layers reach their op through DEQUANTIZE, which we follow. Every
 * shape, stride, padding and activation is checked against YAMNet's
 * architecture; int8 weights are dequantized as (q - zero_point) * scale,
 * per tensor or per channel as the file says.
 */
#include "yamnet_internal.h"
#include "tflite.h"
#include "frontend.h"

#include "ecosight/nn_conv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define YAM_MODEL_MAX_BYTES (64u << 20)

const int es_yam_strides[YAM_LAYERS] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
const int es_yam_couts[YAM_LAYERS] = {64, 128, 128, 256, 256, 512, 512,
                                      512, 512, 512, 512, 1024, 1024};

void *es_yam_aligned_alloc(size_t bytes)
{
    size_t n = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, n ? n : 64);
}

void es_yam_aligned_free(void *p)
{
    free(p);
}

/* ---- finding the file ---- */

static char *try_candidate(const char *p)
{
    if (!p || !*p)
        return NULL;
    if (es_is_dir(p)) {
        char *f = es_path_join(p, "yamnet.tflite");
        if (f && es_is_file(f))
            return f;
        free(f);
        return NULL;
    }
    return es_is_file(p) ? strdup(p) : NULL;
}

es_status es_yamnet_find(const char *explicit_path, char **path_out, es_error *err)
{
    char *found = NULL;
    if (explicit_path && *explicit_path) {
        found = try_candidate(explicit_path);
        if (!found)
            return es_error_set(err, ES_ERR_NOT_FOUND, "YAMNet model not found at %s",
                                explicit_path);
        *path_out = found;
        return ES_OK;
    }
    const char *env = getenv("ECOSIGHT_YAMNET");
    if (env && *env) {
        found = try_candidate(env);
        if (!found)
            return es_error_set(err, ES_ERR_NOT_FOUND,
                                "YAMNet model not found at ECOSIGHT_YAMNET=%s", env);
        *path_out = found;
        return ES_OK;
    }
    /* The project's model directory: models/yamnet/ under the working
     * directory, then beside the executable (build trees sit one or two
     * levels below the project). */
    const char *rel[] = {"models/yamnet/yamnet.tflite"};
    if ((found = try_candidate(rel[0]))) {
        *path_out = found;
        return ES_OK;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        const char *ups[] = {"/../models/yamnet/yamnet.tflite",
                             "/../../models/yamnet/yamnet.tflite",
                             "/../share/ecosight/models/yamnet/yamnet.tflite"};
        for (size_t i = 0; i < sizeof ups / sizeof ups[0] && !found; i++) {
            char buf[4200];
            snprintf(buf, sizeof buf, "%s%s", exe, ups[i]);
            found = try_candidate(buf);
        }
        if (found) {
            *path_out = found;
            return ES_OK;
        }
    }
    const char *shared = getenv("ECOSIGHT_SHARED");
    if (shared && *shared) {
        char *dir = es_path_join(shared, "models");
        found = dir ? try_candidate(dir) : NULL;
        free(dir);
        if (found) {
            *path_out = found;
            return ES_OK;
        }
    }
    return es_error_set(err, ES_ERR_NOT_FOUND,
                        "YAMNet model not found: pass --yamnet PATH, set ECOSIGHT_YAMNET, run "
                        "scripts/fetch-models.sh (models/yamnet/), or set ECOSIGHT_SHARED");
}

/* ---- weights ---- */

/* The constant behind tensor t: itself, or the input of the DEQUANTIZE that made it. */
static const tfl_tensor *const_tensor(const tfl_model *tm, const int32_t *dq_src, int32_t t)
{
    if (t < 0 || (size_t)t >= tm->ntensors)
        return NULL;
    if (!tm->tensors[t].data && dq_src[t] >= 0)
        t = dq_src[t];
    return tm->tensors[t].data ? &tm->tensors[t] : NULL;
}

static int shape_is(const tfl_tensor *t, int rank, const int32_t *dims)
{
    if (t->rank != rank)
        return 0;
    for (int i = 0; i < rank; i++)
        if (t->shape[i] != dims[i])
            return 0;
    return 1;
}

static void shape_str(const tfl_tensor *t, char *buf, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int i = 0; i < t->rank && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%d", i ? "," : "", (int)t->shape[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

/* Dequantize (or copy) a constant of the given shape into a new float array. */
static es_status load_weights(const tfl_model *tm, const int32_t *dq_src, int32_t ti,
                              const char *what, int rank, const int32_t *dims, float **out,
                              es_error *err)
{
    const tfl_tensor *t = const_tensor(tm, dq_src, ti);
    if (!t)
        return es_error_set(err, ES_ERR_MODEL, "model file: %s (tensor %d) has no constant data",
                            what, (int)ti);
    if (!shape_is(t, rank, dims)) {
        char got[128], want[128];
        tfl_tensor tmp = {0};
        tmp.rank = rank;
        memcpy(tmp.shape, dims, sizeof(int32_t) * (size_t)rank);
        shape_str(t, got, sizeof got);
        shape_str(&tmp, want, sizeof want);
        return es_error_set(err, ES_ERR_MODEL, "model file: %s has shape %s, expected %s", what,
                            got, want);
    }
    int64_t n = tfl_numel(t);
    float *w = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (!w)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory for %s", what);
    if (t->type == TFL_FLOAT32) {
        if (t->data_len != (size_t)n * 4) {
            free(w);
            return es_error_set(err, ES_ERR_MODEL,
                                "model file: %s holds %zu bytes, expected %lld float32 values",
                                what, t->data_len, (long long)n);
        }
        memcpy(w, t->data, (size_t)n * 4); /* little-endian file, little-endian host */
    } else if (t->type == TFL_INT8) {
        if (t->data_len != (size_t)n) {
            free(w);
            return es_error_set(err, ES_ERR_MODEL,
                                "model file: %s holds %zu bytes, expected %lld int8 values", what,
                                t->data_len, (long long)n);
        }
        int qd = t->quantized_dim;
        size_t nch = 1, inner = 1;
        if (t->nscale > 1) {
            if (qd < 0 || qd >= t->rank || (size_t)t->shape[qd] != t->nscale) {
                free(w);
                return es_error_set(err, ES_ERR_MODEL,
                                    "model file: %s has %zu scales for quantized dimension %d",
                                    what, t->nscale, qd);
            }
            nch = t->nscale;
            for (int i = qd + 1; i < t->rank; i++)
                inner *= (size_t)t->shape[i];
        } else if (t->nscale != 1) {
            free(w);
            return es_error_set(err, ES_ERR_MODEL, "model file: int8 %s has no scale", what);
        }
        if (t->nzero != 0 && t->nzero != t->nscale) {
            free(w);
            return es_error_set(err, ES_ERR_MODEL,
                                "model file: %s has %zu zero points for %zu scales", what,
                                t->nzero, t->nscale);
        }
        for (size_t c = 0; c < t->nzero; c++) {
            int64_t z = tfl_zero_point(t, c);
            if (z < -128 || z > 127) {
                free(w);
                return es_error_set(err, ES_ERR_MODEL,
                                    "model file: %s has zero point %lld outside int8", what,
                                    (long long)z);
            }
        }
        for (size_t c = 0; c < nch; c++) {
            float s = tfl_scale(t, c);
            if (!(s > 0.0f) || s > 1e30f) {
                free(w);
                return es_error_set(err, ES_ERR_MODEL, "model file: %s has scale %g", what,
                                    (double)s);
            }
        }
        for (int64_t e = 0; e < n; e++) {
            size_t ch = nch > 1 ? ((size_t)e / inner) % nch : 0;
            int64_t q = (int8_t)t->data[e];
            w[e] = (float)(q - tfl_zero_point(t, ch)) * tfl_scale(t, ch);
        }
    } else {
        free(w);
        return es_error_set(err, ES_ERR_MODEL, "model file: %s has unsupported type %d", what,
                            t->type);
    }
    for (int64_t e = 0; e < n; e++)
        if (!(w[e] == w[e]) || w[e] > 1e30f || w[e] < -1e30f) {
            free(w);
            return es_error_set(err, ES_ERR_MODEL, "model file: %s holds a non-finite value",
                                what);
        }
    *out = w;
    return ES_OK;
}

void es_yamnet_free(es_yamnet *m)
{
    if (!m)
        return;
    yam_frontend_free(m->fe);
    free(m->conv1_w);
    free(m->conv1_b);
    for (int i = 0; i < YAM_LAYERS; i++) {
        free(m->layers[i].dw_w);
        free(m->layers[i].dw_b);
        es_yam_aligned_free(m->layers[i].pw_packed);
        free(m->layers[i].pw_b);
    }
    es_yam_aligned_free(m->fc_packed);
    free(m->fc_q);
    free(m->fc_scale);
    free(m->fc_b);
    free(m);
}

const char *es_yamnet_sha256(const es_yamnet *m)
{
    return m ? m->sha256 : "";
}

/* The next op after *pos that is not a DEQUANTIZE, or -1. */
static long next_op(const tfl_model *tm, size_t *pos)
{
    while (*pos < tm->nops && tm->ops[*pos].code == TFL_OP_DEQUANTIZE)
        (*pos)++;
    if (*pos >= tm->nops)
        return -1;
    return (long)(*pos)++;
}

static es_status check_conv_op(const tfl_op *op, const char *what, int stride, int act,
                               es_error *err)
{
    if (!op->has_options)
        return es_error_set(err, ES_ERR_MODEL, "model file: %s has no options", what);
    if (op->padding != TFL_PAD_SAME)
        return es_error_set(err, ES_ERR_MODEL, "model file: %s is not SAME-padded", what);
    if (op->stride_h != stride || op->stride_w != stride)
        return es_error_set(err, ES_ERR_MODEL, "model file: %s has stride %dx%d, expected %d",
                            what, op->stride_h, op->stride_w, stride);
    if (op->dilation_h != 1 || op->dilation_w != 1)
        return es_error_set(err, ES_ERR_MODEL, "model file: %s is dilated", what);
    if (op->activation != act)
        return es_error_set(err, ES_ERR_MODEL, "model file: %s has activation %d, expected %d",
                            what, op->activation, act);
    if (op->ninputs < 3 || op->noutputs < 1)
        return es_error_set(err, ES_ERR_MODEL,
                            "model file: %s needs input, filter and bias tensors", what);
    return ES_OK;
}

static es_status check_act_shape(const tfl_model *tm, int32_t ti, int h, int w, int c,
                                 const char *what, es_error *err)
{
    if (ti < 0 || (size_t)ti >= tm->ntensors)
        return es_error_set(err, ES_ERR_MODEL, "model file: %s is missing (tensor %d)", what,
                            (int)ti);
    const tfl_tensor *t = &tm->tensors[ti];
    if (t->rank == 4 && t->shape[1] == h && t->shape[2] == w && t->shape[3] == c &&
        t->shape[0] >= 1)
        return ES_OK;
    char got[128];
    shape_str(t, got, sizeof got);
    return es_error_set(err, ES_ERR_MODEL, "model file: %s has shape %s, expected [1,%d,%d,%d]",
                        what, got, h, w, c);
}

static es_status build(const tfl_model *tm, es_yamnet *m, es_error *err)
{
    es_status rc;
    int32_t *dq_src = malloc(sizeof(int32_t) * (tm->ntensors ? tm->ntensors : 1));
    if (!dq_src)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < tm->ntensors; i++)
        dq_src[i] = -1;
    for (size_t i = 0; i < tm->nops; i++) {
        const tfl_op *op = &tm->ops[i];
        if (op->code == TFL_OP_DEQUANTIZE && op->ninputs >= 1 && op->noutputs >= 1) {
            int32_t in = tfl_op_input(op, 0), out = tfl_op_output(op, 0);
            if (in >= 0 && out >= 0 && tm->tensors[in].data)
                dq_src[out] = in;
        }
    }

    /* The first convolution: 3x3/2, 1 -> 32 channels, on the [1,96,64,1] patch. */
    static const int32_t conv1_dims[4] = {YAM_CONV1_OUT, 3, 3, 1};
    size_t pos = 0;
    long oi = -1;
    for (size_t i = 0; i < tm->nops && oi < 0; i++) {
        const tfl_op *op = &tm->ops[i];
        if (op->code != TFL_OP_CONV_2D || op->ninputs < 2)
            continue;
        const tfl_tensor *f = const_tensor(tm, dq_src, tfl_op_input(op, 1));
        if (f && shape_is(f, 4, conv1_dims)) {
            oi = (long)i;
            pos = i + 1;
        }
    }
    if (oi < 0) {
        rc = es_error_set(err, ES_ERR_MODEL,
                          "model file: no CONV_2D with a [32,3,3,1] filter (not YAMNet?)");
        goto done;
    }
    const tfl_op *op = &tm->ops[oi];
    if ((rc = check_conv_op(op, "layer 1 conv", 2, TFL_ACT_RELU, err)) ||
        (rc = check_act_shape(tm, tfl_op_input(op, 0), ES_YAMNET_PATCH_FRAMES,
                              ES_YAMNET_MEL_BANDS, 1, "the network input", err)))
        goto done;
    float *raw = NULL;
    if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 1), "layer 1 conv filter", 4, conv1_dims,
                           &raw, err)))
        goto done;
    m->conv1_w = malloc(sizeof(float) * 9 * YAM_CONV1_OUT);
    if (!m->conv1_w) {
        free(raw);
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto done;
    }
    es_conv2d_pack_weights(m->conv1_w, raw, YAM_CONV1_OUT, 3, 3, 1);
    free(raw);
    int32_t bdim[1] = {YAM_CONV1_OUT};
    if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 2), "layer 1 conv bias", 1, bdim,
                           &m->conv1_b, err)))
        goto done;
    int h = es_conv_same_out(ES_YAMNET_PATCH_FRAMES, 2), w = es_conv_same_out(ES_YAMNET_MEL_BANDS, 2);
    int c = YAM_CONV1_OUT;
    int32_t cur = tfl_op_output(op, 0);
    if ((rc = check_act_shape(tm, cur, h, w, c, "layer 1 output", err)))
        goto done;

    for (int l = 0; l < YAM_LAYERS; l++) {
        yam_layer *L = &m->layers[l];
        char what[96];
        int s = es_yam_strides[l], co = es_yam_couts[l];
        L->cin = c;
        L->cout = co;
        L->stride = s;
        L->h_in = h;
        L->w_in = w;
        L->h_out = es_conv_same_out(h, s);
        L->w_out = es_conv_same_out(w, s);
        /* depthwise */
        long di = next_op(tm, &pos);
        snprintf(what, sizeof what, "layer %d depthwise conv", l + 2);
        if (di < 0 || tm->ops[di].code != TFL_OP_DEPTHWISE_CONV_2D) {
            rc = es_error_set(err, ES_ERR_MODEL, "model file: expected %s as operator %ld", what,
                              di);
            goto done;
        }
        op = &tm->ops[di];
        if ((rc = check_conv_op(op, what, s, TFL_ACT_RELU, err)))
            goto done;
        if (op->depth_multiplier != 1 || tfl_op_input(op, 0) != cur) {
            rc = es_error_set(err, ES_ERR_MODEL,
                              "model file: %s does not consume the previous layer's output", what);
            goto done;
        }
        int32_t dwd[4] = {1, 3, 3, c};
        snprintf(what, sizeof what, "layer %d depthwise filter", l + 2);
        if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 1), what, 4, dwd, &L->dw_w, err)))
            goto done;
        int32_t cd[1] = {c};
        snprintf(what, sizeof what, "layer %d depthwise bias", l + 2);
        if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 2), what, 1, cd, &L->dw_b, err)))
            goto done;
        cur = tfl_op_output(op, 0);
        snprintf(what, sizeof what, "layer %d depthwise output", l + 2);
        if ((rc = check_act_shape(tm, cur, L->h_out, L->w_out, c, what, err)))
            goto done;
        /* pointwise */
        long pi = next_op(tm, &pos);
        snprintf(what, sizeof what, "layer %d pointwise conv", l + 2);
        if (pi < 0 || tm->ops[pi].code != TFL_OP_CONV_2D) {
            rc = es_error_set(err, ES_ERR_MODEL, "model file: expected %s as operator %ld", what,
                              pi);
            goto done;
        }
        op = &tm->ops[pi];
        if ((rc = check_conv_op(op, what, 1, TFL_ACT_RELU, err)))
            goto done;
        if (tfl_op_input(op, 0) != cur) {
            rc = es_error_set(err, ES_ERR_MODEL,
                              "model file: %s does not consume the previous layer's output", what);
            goto done;
        }
        int32_t pwd[4] = {co, 1, 1, c};
        float *pw = NULL;
        snprintf(what, sizeof what, "layer %d pointwise filter", l + 2);
        if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 1), what, 4, pwd, &pw, err)))
            goto done;
        L->pw_packed = es_yam_aligned_alloc(sizeof(float) * es_conv_pw_packed_floats(c, co));
        if (!L->pw_packed) {
            free(pw);
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto done;
        }
        es_conv_pw_pack(L->pw_packed, pw, c, co);
        free(pw);
        int32_t cod[1] = {co};
        snprintf(what, sizeof what, "layer %d pointwise bias", l + 2);
        if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 2), what, 1, cod, &L->pw_b, err)))
            goto done;
        cur = tfl_op_output(op, 0);
        snprintf(what, sizeof what, "layer %d output", l + 2);
        if ((rc = check_act_shape(tm, cur, L->h_out, L->w_out, co, what, err)))
            goto done;
        h = L->h_out;
        w = L->w_out;
        c = co;
    }
    if (c != ES_YAMNET_EMBED_DIM || h != 3 || w != 2) {
        rc = es_error_set(err, ES_ERR_INTERNAL, "YAMNet architecture table is inconsistent");
        goto done;
    }
    /* Global mean, then the classifier. */
    long mi = next_op(tm, &pos);
    if (mi < 0 || tm->ops[mi].code != TFL_OP_MEAN || tfl_op_input(&tm->ops[mi], 0) != cur ||
        tm->ops[mi].noutputs < 1) {
        rc = es_error_set(err, ES_ERR_MODEL,
                          "model file: expected the global MEAN after layer 14 (operator %ld)", mi);
        goto done;
    }
    cur = tfl_op_output(&tm->ops[mi], 0);
    long fi = next_op(tm, &pos);
    if (fi < 0 || tm->ops[fi].code != TFL_OP_FULLY_CONNECTED ||
        tfl_op_input(&tm->ops[fi], 0) != cur || tm->ops[fi].ninputs < 3) {
        rc = es_error_set(err, ES_ERR_MODEL,
                          "model file: expected the FULLY_CONNECTED classifier after the mean");
        goto done;
    }
    op = &tm->ops[fi];
    if (op->has_options && op->activation != TFL_ACT_NONE) {
        rc = es_error_set(err, ES_ERR_MODEL, "model file: classifier has a fused activation");
        goto done;
    }
    int32_t fcd[2] = {ES_YAMNET_NUM_CLASSES, ES_YAMNET_EMBED_DIM};
    float *fw = NULL;
    if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 1), "classifier weights", 2, fcd, &fw,
                           err)))
        goto done;
    /* The classifier runs on a few embeddings at a time, where it is bound
     * by reading its weights: keep them as the file's int8 (4x smaller,
     * exact: q * scale) when they are symmetric int8, float otherwise. */
    const tfl_tensor *fct = const_tensor(tm, dq_src, tfl_op_input(op, 1));
    int q8 = fct && fct->type == TFL_INT8 && (fct->nscale == 1 ||
                                              (fct->nscale == ES_YAMNET_NUM_CLASSES &&
                                               fct->quantized_dim == 0));
    for (size_t z = 0; q8 && fct && z < fct->nzero; z++)
        if (tfl_zero_point(fct, z) != 0)
            q8 = 0;
    if (q8) {
        size_t nw = (size_t)ES_YAMNET_NUM_CLASSES * ES_YAMNET_EMBED_DIM;
        m->fc_q = malloc(nw);
        m->fc_scale = malloc(sizeof(float) * ES_YAMNET_NUM_CLASSES);
        if (!m->fc_q || !m->fc_scale) {
            free(fw);
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto done;
        }
        memcpy(m->fc_q, fct->data, nw); /* load_weights checked the size */
        for (int n = 0; n < ES_YAMNET_NUM_CLASSES; n++)
            m->fc_scale[n] = tfl_scale(fct, fct->nscale == 1 ? 0 : (size_t)n);
    } else {
        m->fc_packed = es_yam_aligned_alloc(
            sizeof(float) * es_conv_pw_packed_floats(ES_YAMNET_EMBED_DIM, ES_YAMNET_NUM_CLASSES));
        if (!m->fc_packed) {
            free(fw);
            rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            goto done;
        }
        es_conv_pw_pack(m->fc_packed, fw, ES_YAMNET_EMBED_DIM, ES_YAMNET_NUM_CLASSES);
    }
    free(fw);
    int32_t fbd[1] = {ES_YAMNET_NUM_CLASSES};
    if ((rc = load_weights(tm, dq_src, tfl_op_input(op, 2), "classifier bias", 1, fbd, &m->fc_b,
                           err)))
        goto done;
    rc = ES_OK;
done:
    free(dq_src);
    return rc;
}

es_status es_yamnet_open_memory(const void *data, size_t len, es_yamnet **out, es_error *err)
{
    *out = NULL;
    if (!data && len)
        return es_error_set(err, ES_ERR_INVALID, "es_yamnet_open_memory: NULL data");
    if (len > YAM_MODEL_MAX_BYTES)
        return es_error_set(err, ES_ERR_TOO_LARGE, "model file is %zu bytes (limit %u)", len,
                            YAM_MODEL_MAX_BYTES);
    tfl_model tm;
    es_status rc = tfl_parse(data, len, &tm, err);
    if (rc)
        return rc;
    es_yamnet *m = calloc(1, sizeof *m);
    if (!m) {
        tfl_model_clear(&tm);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    rc = build(&tm, m, err);
    tfl_model_clear(&tm);
    if (rc == ES_OK)
        rc = yam_frontend_new(&m->fe, err);
    if (rc) {
        es_yamnet_free(m);
        return rc;
    }
    uint8_t d[ES_SHA256_LEN];
    es_sha256(data, len, d);
    es_hex(d, ES_SHA256_LEN, m->sha256);
    *out = m;
    return ES_OK;
}

es_status es_yamnet_open(const char *path, es_yamnet **out, es_error *err)
{
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    es_status rc = es_read_file(path, YAM_MODEL_MAX_BYTES, &data, &len, err);
    if (rc)
        return rc;
    rc = es_yamnet_open_memory(data, len, out, err);
    free(data);
    if (rc)
        es_error_prefix(err, "%s", path);
    return rc;
}
