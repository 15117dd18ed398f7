/*
 * fuzz_decode.c: libFuzzer target for the audio decoder's memory path (what
 * the server uses on uploads). Every input goes through probe and through a
 * whole load resampled to 16 kHz with a cap of 4 s, so header parsing,
 * block decoding, mono mixing and the soxr path all see hostile bytes. The
 * first byte picks the name (.wav/.flac/.ogg/.mp3) the decoder reports in its
 * errors; the format itself is detected from the content.
 * A failure must be a clean es_status with a message naming the input; a
 * success must produce finite samples at the requested rate.
 */
#include "ecosight/audio.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, es_status rc, const es_error *err)
{
    fprintf(stderr, "fuzz_decode: %s (status %d, err.code %d: %s)\n", what, (int)rc,
            (int)err->code, err->msg);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[] = {"fuzz.wav", "fuzz.flac", "fuzz.ogg", "fuzz.mp3"};
    if (size < 1)
        return 0;
    const char *name = names[data[0] & 3];
    data++;
    size--;

    es_error err;
    es_error_clear(&err);
    es_audio_info info;
    es_status rc = es_audio_probe_memory(data, size, name, &info, &err);
    if (rc != ES_OK) {
        if (err.code != rc || strstr(err.msg, name) == NULL)
            die("probe error without code or name", rc, &err);
    } else if (info.channels < 1 || info.channels > ES_AUDIO_MAX_CHANNELS ||
               info.sample_rate < ES_AUDIO_MIN_RATE || info.sample_rate > ES_AUDIO_MAX_RATE ||
               info.frames < 0) {
        die("probe returned impossible info", rc, &err);
    }

    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = 16000;
    o.max_seconds = 4.0;
    es_audio a = {0};
    es_error_clear(&err);
    rc = es_audio_load_memory(data, size, name, &o, &a, &err);
    if (rc == ES_OK) {
        if (a.sample_rate != 16000 || a.frames <= 0 || a.frames > 4 * 16000) {
            fprintf(stderr, "rate %d frames %lld\n", a.sample_rate, (long long)a.frames);
            die("load returned a bad shape", rc, &err);
        }
        for (int64_t i = 0; i < a.frames; i++)
            if (!isfinite(a.samples[i]))
                die("load returned a non-finite sample", rc, &err);
        es_audio_clear(&a);
    } else if (err.code != rc || strstr(err.msg, name) == NULL) {
        die("load error without code or name", rc, &err);
    }
    return 0;
}
