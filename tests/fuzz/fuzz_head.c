/*
 * fuzz_head.c: the classifier head's file loader (head.esh comes from disk
 * and, through model pulls, from S3). Any input must load or fail with
 * ES_ERR_MODEL and a message; a loaded head must predict without crashing and
 * survive save -> load unchanged. The first input byte picks the mode: odd =
 * the rest is a file body whose SHA-256 trailer the harness appends (so the
 * mutations reach the parser behind the checksum), even = the rest is the
 * whole file as is.
 */
#include "ecosight/classifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fix = data[0] & 1;
    data++;
    size--;
    uint8_t *buf = malloc(size + ES_SHA256_LEN);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (fix) {
        es_sha256(data, size, buf + size);
        size += ES_SHA256_LEN;
    }
    es_head *h = NULL;
    es_error err;
    es_error_clear(&err);
    es_status rc = es_head_load_memory(buf, size, "fuzz", &h, &err);
    free(buf);
    if (rc != ES_OK) {
        if (h || (rc != ES_ERR_MODEL && rc != ES_ERR_NOMEM) || !err.msg[0])
            abort();
        return 0;
    }
    const es_head_config *c = es_head_get_config(h);
    if (c->input_dim <= 4096 && c->num_classes <= 64) {
        float *x = calloc((size_t)c->input_dim * 2, sizeof(float));
        float *p = calloc((size_t)c->num_classes * 2, sizeof(float));
        if (x && p && es_head_predict(h, x, 2, p, &err) != ES_OK && err.code != ES_ERR_NOMEM)
            abort();
        free(x);
        free(p);
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_head.%ld.esh", (long)getpid());
    if (es_head_save(h, path, &err) == ES_OK) {
        es_head *h2 = NULL;
        if (es_head_load(path, &h2, &err) != ES_OK)
            abort();
        if (es_head_num_params(h2) != es_head_num_params(h) ||
            memcmp(es_head_params(h2), es_head_params(h), es_head_num_params(h) * sizeof(float)))
            abort();
        es_head_free(h2);
        unlink(path);
    }
    es_head_free(h);
    return 0;
}
