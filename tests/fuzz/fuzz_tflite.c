/*
 * fuzz_tflite.c: libFuzzer target for the YAMNet model reader: arbitrary
 * bytes must give a model or a clean error, never a crash, leak or
 * out-of-bounds read. Seeds (tests/fuzz/corpus/tflite/) are synthetic models
 * with YAMNet's first layers, made by tests/fuzz/gen_tflite_seeds.py.
 */
#include "ecosight/yamnet.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_yamnet *m = NULL;
    es_error err;
    if (es_yamnet_open_memory(data, size, &m, &err) == ES_OK)
        es_yamnet_free(m);
    return 0;
}
