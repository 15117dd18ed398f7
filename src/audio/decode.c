/*
 * decode.c: every audio read in EcoSight goes through here. libsndfile
 * decodes (it reads MP3 through mpg123), from a path or, through its virtual
 * I/O, from a memory buffer so that HTTP uploads and S3 bodies need no temp
 * files. Channels are averaged to mono (librosa's to_mono) and libsoxr
 * resamples at high quality (librosa's default "soxr_hq").
 *
 * One streaming path serves both whole-file loads and long recordings:
 * decode a block, mix, resample, hand out. Memory stays bounded by the block
 * size; a header that lies about its length cannot make us allocate more
 * than we actually decode (and never more than the caller's cap).
 */
#include "ecosight/audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <ogg/ogg.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vorbis/codec.h>

#define ES_DECODE_BLOCK 8192 /* input frames per block */

struct es_audio_stream {
    SNDFILE *sf;
    SF_INFO sfi;
    int fd;         /* our descriptor for path sources (-1 otherwise), lent to sf */
    es_audio_info info;
    char name[ES_ERROR_MSG_MAX]; /* for messages; a longer path could not fit in one anyway */
    /* memory source (virtual I/O) */
    const unsigned char *mem;
    sf_count_t mem_len;
    sf_count_t mem_pos;
    /* resampling */
    soxr_t soxr;
    int out_rate;
    /* buffers */
    float *inter;   /* ES_DECODE_BLOCK * channels */
    float *mono;    /* ES_DECODE_BLOCK */
    float *out;     /* resampler output */
    size_t out_cap;
    size_t out_len;
    size_t out_pos;
    int eof_in;
    int drained;
    int64_t frames_in;
};

/* ---- virtual I/O over a read-only buffer ---- */
static sf_count_t vio_len(void *user)
{
    return ((es_audio_stream *)user)->mem_len;
}

static sf_count_t vio_seek(sf_count_t off, int whence, void *user)
{
    es_audio_stream *s = user;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->mem_pos : s->mem_len;
    sf_count_t pos = base + off;
    if (pos < 0)
        pos = 0;
    if (pos > s->mem_len)
        pos = s->mem_len;
    s->mem_pos = pos;
    return pos;
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    es_audio_stream *s = user;
    if (count <= 0)
        return 0;
    sf_count_t left = s->mem_len - s->mem_pos;
    if (count > left)
        count = left;
    memcpy(ptr, s->mem + s->mem_pos, (size_t)count);
    s->mem_pos += count;
    return count;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    (void)ptr;
    (void)count;
    (void)user;
    return 0;
}

static sf_count_t vio_tell(void *user)
{
    return ((es_audio_stream *)user)->mem_pos;
}

/* ---- format names ---- */
static const char *major_name(int fmt)
{
    switch (fmt & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
    case SF_FORMAT_RF64: return "WAV";
    case SF_FORMAT_FLAC: return "FLAC";
    case SF_FORMAT_OGG: return "OGG";
    case SF_FORMAT_MPEG: return "MP3";
    case SF_FORMAT_AIFF: return "AIFF";
    case SF_FORMAT_AU: return "AU";
    case SF_FORMAT_CAF: return "CAF";
    case SF_FORMAT_W64: return "W64";
    default: return "OTHER";
    }
}

static const char *sub_name(int fmt)
{
    switch (fmt & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: return "PCM_S8";
    case SF_FORMAT_PCM_U8: return "PCM_U8";
    case SF_FORMAT_PCM_16: return "PCM_16";
    case SF_FORMAT_PCM_24: return "PCM_24";
    case SF_FORMAT_PCM_32: return "PCM_32";
    case SF_FORMAT_FLOAT: return "FLOAT";
    case SF_FORMAT_DOUBLE: return "DOUBLE";
    case SF_FORMAT_VORBIS: return "VORBIS";
    case SF_FORMAT_OPUS: return "OPUS";
    case SF_FORMAT_MPEG_LAYER_I: return "MPEG_LAYER_I";
    case SF_FORMAT_MPEG_LAYER_II: return "MPEG_LAYER_II";
    case SF_FORMAT_MPEG_LAYER_III: return "MPEG_LAYER_III";
    case SF_FORMAT_ULAW: return "ULAW";
    case SF_FORMAT_ALAW: return "ALAW";
    case SF_FORMAT_IMA_ADPCM: return "IMA_ADPCM";
    case SF_FORMAT_MS_ADPCM: return "MS_ADPCM";
    default: return "OTHER";
    }
}

int es_audio_is_supported_name(const char *name)
{
    const char *ext = es_path_ext(name);
    static const char *ok[] = {"wav", "flac", "ogg", "oga", "mp3"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcasecmp(ext, ok[i]) == 0)
            return 1;
    return 0;
}

es_audio_load_opts es_audio_load_default_opts(void)
{
    es_audio_load_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

/* ---- stream ---- */
void es_audio_stream_close(es_audio_stream *s)
{
    if (!s)
        return;
    if (s->sf)
        sf_close(s->sf);
    if (s->fd >= 0)
        close(s->fd);
    if (s->soxr)
        soxr_delete(s->soxr);
    free(s->inter);
    free(s->mono);
    free(s->out);
    free(s);
}

static es_status open_common(es_audio_stream *s, int sample_rate, es_error *err)
{
    const SF_INFO *fi = &s->sfi;
    if (fi->channels < 1 || fi->channels > ES_AUDIO_MAX_CHANNELS)
        return es_error_set(err, ES_ERR_FORMAT, "%s: unsupported channel count %d", s->name,
                            fi->channels);
    if (fi->samplerate < ES_AUDIO_MIN_RATE || fi->samplerate > ES_AUDIO_MAX_RATE)
        return es_error_set(err, ES_ERR_FORMAT, "%s: unsupported sample rate %d Hz", s->name,
                            fi->samplerate);
    snprintf(s->info.format, sizeof s->info.format, "%s", major_name(fi->format));
    snprintf(s->info.subtype, sizeof s->info.subtype, "%s", sub_name(fi->format));
    s->info.channels = fi->channels;
    s->info.sample_rate = fi->samplerate;
    s->info.frames = fi->frames >= 0 && fi->frames < SF_COUNT_MAX ? (int64_t)fi->frames : -1;
    s->info.duration_s =
        s->info.frames >= 0 ? (double)s->info.frames / (double)fi->samplerate : -1.0;
    s->out_rate = sample_rate > 0 ? sample_rate : fi->samplerate;
    if (s->out_rate < ES_AUDIO_MIN_RATE || s->out_rate > ES_AUDIO_MAX_RATE)
        return es_error_set(err, ES_ERR_INVALID, "unsupported target sample rate %d Hz",
                            s->out_rate);

    s->inter = malloc(sizeof(float) * ES_DECODE_BLOCK * (size_t)fi->channels);
    s->mono = malloc(sizeof(float) * ES_DECODE_BLOCK);
    double ratio = (double)s->out_rate / (double)fi->samplerate;
    s->out_cap = (size_t)(ES_DECODE_BLOCK * ratio) + 1024;
    s->out = malloc(sizeof(float) * s->out_cap);
    if (!s->inter || !s->mono || !s->out)
        return es_error_set(err, ES_ERR_NOMEM, "%s: out of memory", s->name);

    if (s->out_rate != fi->samplerate) {
        soxr_error_t e;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        soxr_runtime_spec_t rt = soxr_runtime_spec(1);
        s->soxr = soxr_create((double)fi->samplerate, (double)s->out_rate, 1, &e, &io, &q, &rt);
        if (!s->soxr || e)
            return es_error_set(err, ES_ERR_INTERNAL, "%s: cannot create resampler: %s",
                                s->name, e ? e : "unknown");
    }
    return ES_OK;
}

static es_status sf_open_error(const char *name, es_error *err)
{
    /* sf_error(NULL) is libsndfile's last-open error (process-global, so
     * under concurrency it may word another thread's failure); it only words
     * the message, the status is decided here. We open files ourselves, so
     * its "system error" can only mean data it could not make sense of (the
     * MP3 reader reports garbage that way). */
    int e = sf_error(NULL);
    const char *why = e == SF_ERR_SYSTEM || e == SF_ERR_NO_ERROR
                          ? "unrecognised format or corrupt data"
                          : sf_error_number(e);
    return es_error_set(err, ES_ERR_FORMAT, "%s: not a readable audio file (%s)", name, why);
}

/* libsndfile accepts a RIFF/WAVE file whose data chunk claims more bytes
 * than the file holds and reads what is there, as soundfile/librosa do.
 * Real recordings are sometimes a few bytes short (two of the shared
 * sanity clips are), and those we read the same way. But a header that
 * claims more than twice what the file holds (4 GB in a 1 KB upload) is
 * not a slightly short file, it is corrupt or hostile: refused. The
 * "length unknown" marker 0xFFFFFFFF (or 0) that streaming writers such
 * as ffmpeg leave when they cannot seek back is accepted. `rd` reads `n`
 * bytes at `off` and returns how many it got. */
typedef size_t (*riff_read_fn)(void *ud, uint64_t off, void *buf, size_t n);

/* libsndfile skips ID3v2 tags in front of any format (10 bytes plus the
 * syncsafe size, tag after tag) and detects the format where they end; our
 * checks must look at the same place. */
static uint64_t skip_id3(riff_read_fn rd, void *ud, uint64_t total)
{
    uint64_t off = 0;
    for (int i = 0; i < 64 && off + 10 <= total; i++) {
        unsigned char h[10];
        if (rd(ud, off, h, 10) != 10 || memcmp(h, "ID3", 3) != 0)
            break;
        uint64_t size = (uint64_t)(h[6] & 0x7f) << 21 | (uint64_t)(h[7] & 0x7f) << 14 |
                        (uint64_t)(h[8] & 0x7f) << 7 | (uint64_t)(h[9] & 0x7f);
        off += 10 + size;
    }
    return off;
}

static es_status riff_check(const char *name, riff_read_fn rd, void *ud, uint64_t base,
                            uint64_t total, es_error *err)
{
    unsigned char h[12];
    if (base + 12 > total || rd(ud, base, h, 12) != 12 || memcmp(h, "RIFF", 4) != 0 ||
        memcmp(h + 8, "WAVE", 4) != 0)
        return ES_OK; /* not plain RIFF/WAVE (RF64, W64, ...): libsndfile's word stands */
    uint64_t off = base + 12;
    for (int i = 0; i < 4096 && off + 8 <= total; i++) {
        unsigned char c[8];
        if (rd(ud, off, c, 8) != 8)
            break;
        uint64_t size = (uint64_t)c[4] | (uint64_t)c[5] << 8 | (uint64_t)c[6] << 16 |
                        (uint64_t)c[7] << 24;
        if (memcmp(c, "data", 4) == 0) {
            uint64_t avail = total - (off + 8);
            if (size > 2 * avail && size != 0xFFFFFFFFu)
                return es_error_set(err, ES_ERR_FORMAT,
                                    "%s: truncated or corrupt WAV: the data chunk claims %llu "
                                    "bytes but the file holds only %llu",
                                    name, (unsigned long long)size, (unsigned long long)avail);
            return ES_OK;
        }
        off += 8 + size + (size & 1);
    }
    if (off < total && off + 8 > total)
        return es_error_set(err, ES_ERR_FORMAT,
                            "%s: truncated WAV: the file ends inside a chunk header (byte %llu "
                            "of %llu)",
                            name, (unsigned long long)off, (unsigned long long)total);
    return ES_OK;
}

/* Debian's libsndfile leaks libvorbis' codec setup (5784 bytes) whenever a
 * Vorbis header fails to parse after vorbis_info_init, and returns no handle
 * through which it could be freed (found by tests/fuzz/fuzz_decode). A
 * server decoding hostile uploads must not leak per bad request, so Ogg
 * data is checked here first with libvorbis itself: the first logical
 * stream's three header packets must parse. Non-Vorbis Ogg (Opus) passes
 * through. `complete` says the buffer holds the whole file; when it does
 * not (a long file read by prefix), headers that do not fit are left to
 * libsndfile. */
#define ES_OGG_CHECK_PREFIX (4u << 20) /* header bytes we read from a file */

static es_status vorbis_check(const unsigned char *data, size_t len, int complete,
                              const char *name, int *need_more, es_error *err)
{
    if (need_more)
        *need_more = 0;
    if (len < 4 || memcmp(data, "OggS", 4) != 0)
        return ES_OK;
    if (len > ES_OGG_CHECK_PREFIX) { /* headers come first: no need to copy a whole upload */
        len = ES_OGG_CHECK_PREFIX;
        complete = 0;
    }
    ogg_sync_state oy;
    ogg_stream_state os;
    ogg_page og;
    ogg_packet op;
    vorbis_info vi;
    vorbis_comment vc;
    ogg_sync_init(&oy);
    char *buf = ogg_sync_buffer(&oy, (long)len);
    if (!buf) {
        ogg_sync_clear(&oy);
        return es_error_set(err, ES_ERR_NOMEM, "%s: out of memory", name);
    }
    memcpy(buf, data, len);
    ogg_sync_wrote(&oy, (long)len);
    vorbis_info_init(&vi);
    vorbis_comment_init(&vc);
    int have_stream = 0, packets = 0, vorbis = 1, bad = 0;
    while (packets < 3 && !bad && vorbis) {
        int r = ogg_sync_pageout(&oy, &og);
        if (r == 0)
            break; /* no more whole pages */
        if (r < 0)
            continue; /* skipped junk between pages */
        if (!have_stream) {
            if (ogg_stream_init(&os, ogg_page_serialno(&og)) != 0) {
                bad = 1;
                break;
            }
            have_stream = 1;
        }
        if (ogg_stream_pagein(&os, &og) < 0)
            continue; /* another logical stream's page */
        while (packets < 3) {
            int p = ogg_stream_packetout(&os, &op);
            if (p == 0)
                break;
            if (p < 0) {
                bad = 1; /* a hole in the stream before the headers are complete */
                break;
            }
            if (packets == 0 && vorbis_synthesis_idheader(&op) != 1) {
                vorbis = 0; /* Opus or another codec: libsndfile's to judge */
                break;
            }
            if (vorbis_synthesis_headerin(&vi, &vc, &op) < 0) {
                bad = 1;
                break;
            }
            packets++;
        }
    }
    if (!bad && vorbis && packets < 3 && complete)
        bad = 1; /* the whole file is here and its headers are not */
    else if (!bad && vorbis && packets < 3 && need_more)
        *need_more = 1;
    vorbis_comment_clear(&vc);
    vorbis_info_clear(&vi);
    if (have_stream)
        ogg_stream_clear(&os);
    ogg_sync_clear(&oy);
    if (bad)
        return es_error_set(err, ES_ERR_FORMAT,
                            "%s: not a readable audio file (corrupt or truncated Ogg Vorbis "
                            "headers)",
                            name);
    return ES_OK;
}

static es_status vorbis_check_fd(int fd, uint64_t base, uint64_t size, const char *name,
                                 es_error *err)
{
    unsigned char magic[4];
    if (base + 4 > size || pread(fd, magic, 4, (off_t)base) != 4 || memcmp(magic, "OggS", 4) != 0)
        return ES_OK;
    /* headers are usually a few KB: try 64 KiB, read up to the full
     * prefix only when they do not fit (large embedded comments) */
    uint64_t rest = size - base;
    es_status rc = ES_OK;
    for (size_t want = 64u << 10;; want = ES_OGG_CHECK_PREFIX) {
        size_t n = rest < want ? (size_t)rest : want;
        unsigned char *buf = malloc(n);
        if (!buf)
            return es_error_set(err, ES_ERR_NOMEM, "%s: out of memory", name);
        size_t got = 0;
        while (got < n) {
            ssize_t r = pread(fd, buf + got, n - got, (off_t)(base + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        int more = 0;
        rc = vorbis_check(buf, got, got == rest, name, &more, err);
        free(buf);
        if (rc || !more || got < n || want == ES_OGG_CHECK_PREFIX)
            return rc;
    }
}

static size_t riff_read_fd(void *ud, uint64_t off, void *buf, size_t n)
{
    ssize_t r = pread(*(int *)ud, buf, n, (off_t)off);
    return r < 0 ? 0 : (size_t)r;
}

static size_t riff_read_mem(void *ud, uint64_t off, void *buf, size_t n)
{
    const es_audio_stream *s = ud;
    if (off >= (uint64_t)s->mem_len)
        return 0;
    uint64_t left = (uint64_t)s->mem_len - off;
    if (n > left)
        n = (size_t)left;
    memcpy(buf, s->mem + off, n);
    return n;
}

es_status es_audio_stream_open_file(const char *path, int sample_rate, es_audio_stream **out,
                                    es_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return es_error_set(err, e == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO, "%s: %s", path,
                            strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return es_error_set(err, ES_ERR_INVALID, "%s: is a directory, not an audio file", path);
    if (!S_ISREG(st.st_mode))
        return es_error_set(err, ES_ERR_INVALID, "%s: not a regular file", path);
    if (st.st_size == 0)
        return es_error_set(err, ES_ERR_EMPTY, "%s: empty file (0 bytes)", path);
    /* We open the file ourselves so that permission problems get their own
     * words, and lend the descriptor to libsndfile. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return es_error_set(err, e == ENOENT ? ES_ERR_NOT_FOUND : ES_ERR_IO, "%s: %s", path,
                            strerror(e));
    }
    uint64_t base = skip_id3(riff_read_fd, &fd, (uint64_t)st.st_size);
    es_status rc = riff_check(path, riff_read_fd, &fd, base, (uint64_t)st.st_size, err);
    if (rc == ES_OK)
        rc = vorbis_check_fd(fd, base, (uint64_t)st.st_size, path, err);
    if (rc) {
        close(fd);
        return rc;
    }
    es_audio_stream *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return es_error_set(err, ES_ERR_NOMEM, "%s: out of memory", path);
    }
    s->fd = -1;
    snprintf(s->name, sizeof s->name, "%s", path);
    /* libsndfile never closes a descriptor it was told not to, on success
     * or failure: the stream owns it and closes it after sf_close. */
    s->fd = fd;
    s->sf = sf_open_fd(fd, SFM_READ, &s->sfi, SF_FALSE);
    if (!s->sf) {
        es_audio_stream_close(s);
        return sf_open_error(path, err);
    }
    rc = open_common(s, sample_rate, err);
    if (rc) {
        es_audio_stream_close(s);
        return rc;
    }
    *out = s;
    return ES_OK;
}

es_status es_audio_stream_open_memory(const void *data, size_t len, const char *name,
                                      int sample_rate, es_audio_stream **out, es_error *err)
{
    if (!name)
        name = "<memory>";
    if (!data || len == 0)
        return es_error_set(err, ES_ERR_EMPTY, "%s: empty input (0 bytes)", name);
    es_audio_stream *s = calloc(1, sizeof *s);
    if (!s)
        return es_error_set(err, ES_ERR_NOMEM, "%s: out of memory", name);
    s->fd = -1;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->mem = data;
    s->mem_len = (sf_count_t)len;
    uint64_t base = skip_id3(riff_read_mem, s, (uint64_t)len);
    es_status rc = riff_check(s->name, riff_read_mem, s, base, (uint64_t)len, err);
    if (rc == ES_OK && base < len)
        rc = vorbis_check((const unsigned char *)data + base, len - (size_t)base, 1, s->name,
                          NULL, err);
    if (rc) {
        es_audio_stream_close(s);
        return rc;
    }
    SF_VIRTUAL_IO vio = {vio_len, vio_seek, vio_read, vio_write, vio_tell};
    s->sf = sf_open_virtual(&vio, SFM_READ, &s->sfi, s);
    if (!s->sf) {
        es_audio_stream_close(s);
        return sf_open_error(name, err);
    }
    rc = open_common(s, sample_rate, err);
    if (rc) {
        es_audio_stream_close(s);
        return rc;
    }
    *out = s;
    return ES_OK;
}

const es_audio_info *es_audio_stream_info(const es_audio_stream *s)
{
    return &s->info;
}

int es_audio_stream_rate(const es_audio_stream *s)
{
    return s->out_rate;
}

/* Decode one block into s->mono; returns frames (0 at end). */
static es_status decode_block(es_audio_stream *s, size_t *n, es_error *err)
{
    int ch = s->sfi.channels;
    sf_count_t got = sf_readf_float(s->sf, s->inter, ES_DECODE_BLOCK);
    if (got <= 0) {
        int e = sf_error(s->sf);
        if (e != SF_ERR_NO_ERROR)
            return es_error_set(err, ES_ERR_FORMAT, "%s: decode error after %lld frames: %s",
                                s->name, (long long)s->frames_in, sf_error_number(e));
        *n = 0;
        return ES_OK;
    }
    for (sf_count_t i = 0; i < got; i++) {
        const float *fr = s->inter + (size_t)i * (size_t)ch;
        float acc = 0.0f;
        for (int c = 0; c < ch; c++)
            acc += fr[c];
        float v = ch == 1 ? acc : acc / (float)ch;
        if (!isfinite(v))
            return es_error_set(err, ES_ERR_FORMAT,
                                "%s: non-finite sample (NaN or infinity) at frame %lld", s->name,
                                (long long)(s->frames_in + i));
        s->mono[i] = v;
    }
    s->frames_in += got;
    *n = (size_t)got;
    return ES_OK;
}

/* Finite input can still overflow inside the resampler's filter when a
 * float file holds absurd values (1e38): refuse those rather than hand out
 * infinities. */
static es_status check_finite(const es_audio_stream *s, es_error *err)
{
    for (size_t i = 0; i < s->out_len; i++)
        if (!isfinite(s->out[i]))
            return es_error_set(err, ES_ERR_FORMAT,
                                "%s: sample values too large to resample (non-finite output "
                                "near input frame %lld)",
                                s->name, (long long)s->frames_in);
    return ES_OK;
}

/* Refill s->out from the decoder (and resampler). */
static es_status refill(es_audio_stream *s, es_error *err)
{
    s->out_len = s->out_pos = 0;
    while (s->out_len == 0 && !s->drained) {
        size_t n = 0;
        if (!s->eof_in) {
            es_status rc = decode_block(s, &n, err);
            if (rc)
                return rc;
            if (n == 0)
                s->eof_in = 1;
        }
        if (!s->soxr) {
            if (n == 0) {
                s->drained = 1;
                break;
            }
            memcpy(s->out, s->mono, n * sizeof(float));
            s->out_len = n;
            break;
        }
        if (n > 0) {
            size_t idone = 0, odone = 0;
            soxr_error_t e = soxr_process(s->soxr, s->mono, n, &idone, s->out, s->out_cap, &odone);
            if (e)
                return es_error_set(err, ES_ERR_INTERNAL, "%s: resampler error: %s", s->name, e);
            if (idone != n)
                return es_error_set(err, ES_ERR_INTERNAL,
                                    "%s: resampler consumed %zu of %zu frames", s->name, idone, n);
            s->out_len = odone;
            es_status rc = check_finite(s, err);
            if (rc)
                return rc;
        } else {
            /* end of input: flush the resampler's tail */
            size_t odone = 0;
            soxr_error_t e = soxr_process(s->soxr, NULL, 0, NULL, s->out, s->out_cap, &odone);
            if (e)
                return es_error_set(err, ES_ERR_INTERNAL, "%s: resampler error: %s", s->name, e);
            s->out_len = odone;
            if (odone == 0)
                s->drained = 1;
            es_status rc = check_finite(s, err);
            if (rc)
                return rc;
        }
    }
    return ES_OK;
}

es_status es_audio_stream_read(es_audio_stream *s, float *buf, int64_t max, int64_t *got,
                               es_error *err)
{
    int64_t n = 0;
    while (n < max) {
        if (s->out_pos == s->out_len) {
            if (s->drained)
                break;
            es_status rc = refill(s, err);
            if (rc)
                return rc;
            if (s->out_len == 0)
                break;
        }
        size_t take = s->out_len - s->out_pos;
        if ((int64_t)take > max - n)
            take = (size_t)(max - n);
        memcpy(buf + n, s->out + s->out_pos, take * sizeof(float));
        s->out_pos += take;
        n += (int64_t)take;
    }
    *got = n;
    return ES_OK;
}

/* ---- whole loads ---- */
void es_audio_clear(es_audio *a)
{
    if (!a)
        return;
    free(a->samples);
    a->samples = NULL;
    a->frames = 0;
    a->sample_rate = 0;
}

static es_status load_stream(es_audio_stream *s, const es_audio_load_opts *opts, es_audio *out,
                             es_error *err)
{
    es_audio_load_opts o = opts ? *opts : es_audio_load_default_opts();
    int rate = s->out_rate;
    int64_t cap = o.max_frames > 0 ? o.max_frames
                                   : (int64_t)(ES_AUDIO_DEFAULT_MAX_SECONDS * (double)rate);
    int64_t want = cap;
    int truncating = 0;
    if (o.max_seconds > 0) {
        int64_t m = (int64_t)llround(o.max_seconds * (double)rate);
        if (m < want) {
            want = m;
            truncating = 1;
        }
    }
    size_t alloc = 0;
    float *x = NULL;
    int64_t n = 0;
    /* Grow as we decode, never from the header's claimed length. */
    while (n < want) {
        if ((size_t)n == alloc) {
            size_t na = alloc ? alloc * 2 : 65536;
            if ((int64_t)na > want)
                na = (size_t)want;
            float *nx = realloc(x, na * sizeof(float));
            if (!nx) {
                free(x);
                return es_error_set(err, ES_ERR_NOMEM, "%s: out of memory", s->name);
            }
            x = nx;
            alloc = na;
        }
        int64_t g = 0;
        es_status rc = es_audio_stream_read(s, x + n, (int64_t)alloc - n, &g, err);
        if (rc) {
            free(x);
            return rc;
        }
        if (g == 0)
            break;
        n += g;
    }
    if (n == want && !truncating) {
        /* at the cap: refuse rather than silently cut a long recording */
        float probe;
        int64_t g = 0;
        es_status rc = es_audio_stream_read(s, &probe, 1, &g, err);
        if (rc == ES_OK && g > 0)
            rc = es_error_set(err, ES_ERR_TOO_LARGE,
                              "%s: longer than the %.0f s limit for whole-file loads", s->name,
                              (double)cap / rate);
        if (rc) {
            free(x);
            return rc;
        }
    }
    if (!truncating && s->soxr) {
        /* librosa.resample fixes the length to ceil(n_in * ratio). */
        int64_t exact = (int64_t)ceil((double)s->frames_in * rate / (double)s->info.sample_rate);
        if (exact > n) {
            if ((size_t)exact > alloc) {
                float *nx = realloc(x, (size_t)exact * sizeof(float));
                if (!nx) {
                    free(x);
                    return es_error_set(err, ES_ERR_NOMEM, "%s: out of memory", s->name);
                }
                x = nx;
            }
            memset(x + n, 0, (size_t)(exact - n) * sizeof(float));
        }
        n = exact;
    }
    if (n == 0) {
        free(x);
        return es_error_set(err, ES_ERR_EMPTY, "%s: contains no audio frames", s->name);
    }
    out->samples = x;
    out->frames = n;
    out->sample_rate = rate;
    return ES_OK;
}

es_status es_audio_load_file(const char *path, const es_audio_load_opts *opts, es_audio *out,
                             es_error *err)
{
    es_audio_stream *s;
    es_status rc = es_audio_stream_open_file(path, opts ? opts->sample_rate : 0, &s, err);
    if (rc)
        return rc;
    rc = load_stream(s, opts, out, err);
    es_audio_stream_close(s);
    return rc;
}

es_status es_audio_load_memory(const void *data, size_t len, const char *name,
                               const es_audio_load_opts *opts, es_audio *out, es_error *err)
{
    es_audio_stream *s;
    es_status rc =
        es_audio_stream_open_memory(data, len, name, opts ? opts->sample_rate : 0, &s, err);
    if (rc)
        return rc;
    rc = load_stream(s, opts, out, err);
    es_audio_stream_close(s);
    return rc;
}

static es_status probe(es_audio_stream *s, es_audio_info *info, es_error *err)
{
    /* MP3 and some containers do not state the length; count by decoding,
     * with bounded memory. */
    if (s->info.frames < 0) {
        int64_t n = 0;
        for (;;) {
            size_t got = 0;
            es_status rc = decode_block(s, &got, err);
            if (rc)
                return rc;
            if (got == 0)
                break;
            n += (int64_t)got;
        }
        s->info.frames = n;
        s->info.duration_s = (double)n / (double)s->info.sample_rate;
    }
    *info = s->info;
    return ES_OK;
}

es_status es_audio_probe_file(const char *path, es_audio_info *info, es_error *err)
{
    es_audio_stream *s;
    es_status rc = es_audio_stream_open_file(path, 0, &s, err);
    if (rc)
        return rc;
    rc = probe(s, info, err);
    es_audio_stream_close(s);
    return rc;
}

es_status es_audio_probe_memory(const void *data, size_t len, const char *name,
                                es_audio_info *info, es_error *err)
{
    es_audio_stream *s;
    es_status rc = es_audio_stream_open_memory(data, len, name, 0, &s, err);
    if (rc)
        return rc;
    rc = probe(s, info, err);
    es_audio_stream_close(s);
    return rc;
}
