/*
 * ecosight/audio.h: decode audio from a path or a memory buffer (WAV PCM
 * 8/16/24/32-bit and float 32/64, FLAC, OGG/Vorbis, MP3), mix to mono,
 * resample with libsoxr (high quality, as librosa's default), keep the first N
 * seconds, stream long files with bounded memory, and write WAV.
 *
 * Usage:
 *     es_audio a = {0};
 *     es_audio_load_opts o = es_audio_load_default_opts();
 *     o.sample_rate = 16000;            // resample to 16 kHz mono
 *     o.max_seconds = 4.0;              // first 4 s only
 *     if (es_audio_load_file("x.mp3", &o, &a, &err) == ES_OK) { ...; es_audio_clear(&a); }
 */
#ifndef ECOSIGHT_AUDIO_H
#define ECOSIGHT_AUDIO_H

#include "ecosight/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hard caps on what a decode may produce, so a hostile header cannot make us
 * allocate without bound. */
#define ES_AUDIO_MAX_CHANNELS 64
#define ES_AUDIO_MIN_RATE 1000
#define ES_AUDIO_MAX_RATE 768000

typedef struct es_audio_info {
    char format[16];     /* "WAV", "FLAC", "OGG", "MP3", ... */
    char subtype[24];    /* "PCM_16", "FLOAT", "VORBIS", "MPEG_LAYER_III", ... */
    int channels;
    int sample_rate;
    int64_t frames;      /* as the container states; -1 when unknown */
    double duration_s;   /* frames / sample_rate */
} es_audio_info;

/* Mono float samples in [-1, 1] (values outside are kept, not clipped). */
typedef struct es_audio {
    float *samples;
    int64_t frames;
    int sample_rate;
} es_audio;

typedef struct es_audio_load_opts {
    int sample_rate;       /* target rate; 0 keeps the file's own rate */
    double max_seconds;    /* keep only the first N seconds (of the output); 0 = all */
    int64_t max_frames;    /* hard cap on decoded output frames (0 = default cap) */
} es_audio_load_opts;

/* Default cap on decoded output: 3 hours at the output rate. Longer input
 * must use the streaming interface. */
#define ES_AUDIO_DEFAULT_MAX_SECONDS (3.0 * 3600.0)

es_audio_load_opts es_audio_load_default_opts(void);

/* Inspect a file or buffer without decoding all of it (MP3s without a
 * length header are counted by decoding, with bounded memory). `name` is
 * used in messages only: the format is always detected from the content. */
es_status es_audio_probe_file(const char *path, es_audio_info *info, es_error *err);
es_status es_audio_probe_memory(const void *data, size_t len, const char *name,
                                es_audio_info *info, es_error *err);

/* Decode, mix to mono, resample, truncate. On success `out` owns samples. */
es_status es_audio_load_file(const char *path, const es_audio_load_opts *opts, es_audio *out,
                             es_error *err);
es_status es_audio_load_memory(const void *data, size_t len, const char *name,
                               const es_audio_load_opts *opts, es_audio *out, es_error *err);
void es_audio_clear(es_audio *a);

/* Streaming: read mono, resampled blocks with bounded memory. */
typedef struct es_audio_stream es_audio_stream;
es_status es_audio_stream_open_file(const char *path, int sample_rate, es_audio_stream **out,
                                    es_error *err);
es_status es_audio_stream_open_memory(const void *data, size_t len, const char *name,
                                      int sample_rate, es_audio_stream **out, es_error *err);
/* Source information (format, channels, source rate, frames). */
const es_audio_info *es_audio_stream_info(const es_audio_stream *s);
int es_audio_stream_rate(const es_audio_stream *s); /* output rate */
/* Up to `max` frames into buf; *got = 0 at end of stream. */
es_status es_audio_stream_read(es_audio_stream *s, float *buf, int64_t max, int64_t *got,
                               es_error *err);
void es_audio_stream_close(es_audio_stream *s);

/* Resample a mono buffer with soxr HQ (librosa's default "soxr_hq"). The
 * output has exactly ceil(n * out_rate / in_rate) frames, as librosa makes it. */
es_status es_resample(const float *in, int64_t n, double in_rate, double out_rate, float **out,
                      int64_t *out_n, es_error *err);

typedef enum es_wav_format {
    ES_WAV_PCM16 = 0, /* scaled by 32768, saturated; PCM16 read+write is bit-exact */
    ES_WAV_FLOAT32 = 1
} es_wav_format;

/* Write mono WAV atomically (temp + fsync + rename). *clipped (if non-NULL)
 * receives the number of samples clipped when writing PCM16. */
es_status es_audio_write_wav(const char *path, const float *samples, int64_t frames,
                             int sample_rate, es_wav_format fmt, int64_t *clipped,
                             es_error *err);
/* The same bytes in memory; *out is malloc'd. */
es_status es_audio_encode_wav(const float *samples, int64_t frames, int sample_rate,
                              es_wav_format fmt, void **out, size_t *len, int64_t *clipped,
                              es_error *err);

/* Is this file name one the decoder takes (.wav .flac .ogg .oga .mp3, any case)? */
int es_audio_is_supported_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif
