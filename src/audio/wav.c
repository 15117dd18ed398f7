/*
 * wav.c: WAV output through libsndfile's virtual I/O into memory, then one
 * atomic write. PCM16 is what the seed's soundfile.write produced; unlike
 * libsndfile's unclipped default (which wraps out-of-range values around), we
 * saturate and count the clipped samples so the augmentation summary can report them.
 * Float WAV is written without a PEAK chunk, whose timestamp would make
 * identical audio produce different bytes.
 */
#include "ecosight/audio.h"

#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

typedef struct membuf {
    es_buf b;
    sf_count_t pos;
    int failed;
} membuf;

static sf_count_t mb_len(void *u)
{
    return (sf_count_t)((membuf *)u)->b.len;
}

static sf_count_t mb_seek(sf_count_t off, int whence, void *u)
{
    membuf *m = u;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : (sf_count_t)m->b.len;
    sf_count_t p = base + off;
    if (p < 0)
        p = 0;
    m->pos = p;
    return p;
}

static sf_count_t mb_read(void *ptr, sf_count_t count, void *u)
{
    membuf *m = u;
    if (count <= 0 || m->pos >= (sf_count_t)m->b.len)
        return 0;
    sf_count_t left = (sf_count_t)m->b.len - m->pos;
    if (count > left)
        count = left;
    memcpy(ptr, m->b.data + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mb_write(const void *ptr, sf_count_t count, void *u)
{
    membuf *m = u;
    if (count <= 0)
        return 0;
    size_t end = (size_t)m->pos + (size_t)count;
    if (end > m->b.len) {
        if (es_buf_reserve(&m->b, end - m->b.len, NULL) != ES_OK) {
            m->failed = 1;
            return 0;
        }
        if ((size_t)m->pos > m->b.len)
            memset(m->b.data + m->b.len, 0, (size_t)m->pos - m->b.len);
        m->b.len = end;
        m->b.data[end] = '\0';
    }
    memcpy(m->b.data + m->pos, ptr, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mb_tell(void *u)
{
    return ((membuf *)u)->pos;
}

es_status es_audio_encode_wav(const float *samples, int64_t frames, int sample_rate,
                              es_wav_format fmt, void **out, size_t *len, int64_t *clipped,
                              es_error *err)
{
    if (frames < 0 || sample_rate < ES_AUDIO_MIN_RATE || sample_rate > ES_AUDIO_MAX_RATE)
        return es_error_set(err, ES_ERR_INVALID, "WAV write: bad arguments (%lld frames, %d Hz)",
                            (long long)frames, sample_rate);
    membuf m;
    memset(&m, 0, sizeof m);
    es_buf_init(&m.b, 0);
    SF_INFO fi;
    memset(&fi, 0, sizeof fi);
    fi.samplerate = sample_rate;
    fi.channels = 1;
    fi.format = SF_FORMAT_WAV | (fmt == ES_WAV_FLOAT32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16);
    SF_VIRTUAL_IO vio = {mb_len, mb_seek, mb_read, mb_write, mb_tell};
    SNDFILE *sf = sf_open_virtual(&vio, SFM_WRITE, &fi, &m);
    if (!sf) {
        es_buf_free(&m.b);
        return es_error_set(err, ES_ERR_INTERNAL, "WAV write: %s", sf_strerror(NULL));
    }
    sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
    int64_t nclip = 0;
    es_status rc = ES_OK;
    if (fmt == ES_WAV_PCM16) {
        /* Our own conversion: scale by 32768 (the inverse of libsndfile's
         * PCM16 read normalisation, so a PCM16 file read and written again is
         * bit-identical), round to nearest, saturate. Values beyond +-1.0 are
         * counted as clipped. */
        short chunk[4096];
        for (int64_t i = 0; i < frames && rc == ES_OK;) {
            int64_t k = frames - i < 4096 ? frames - i : 4096;
            for (int64_t j = 0; j < k; j++) {
                float v = samples[i + j];
                if (v > 1.0f || v < -1.0f)
                    nclip++;
                long q = lrintf(v * 32768.0f);
                if (q > 32767)
                    q = 32767;
                else if (q < -32768)
                    q = -32768;
                chunk[j] = (short)q;
            }
            if (sf_write_short(sf, chunk, k) != k)
                rc = es_error_set(err, ES_ERR_IO, "WAV write failed: %s", sf_strerror(sf));
            i += k;
        }
    } else {
        if (frames && sf_write_float(sf, samples, frames) != frames)
            rc = es_error_set(err, ES_ERR_IO, "WAV write failed: %s", sf_strerror(sf));
    }
    if (sf_close(sf) != 0 && rc == ES_OK)
        rc = es_error_set(err, ES_ERR_IO, "WAV write: cannot finish the file");
    if (rc == ES_OK && m.failed)
        rc = es_error_set(err, ES_ERR_NOMEM, "WAV write: out of memory");
    if (rc) {
        es_buf_free(&m.b);
        return rc;
    }
    *out = es_buf_steal(&m.b, len);
    if (clipped)
        *clipped = nclip;
    return ES_OK;
}

es_status es_audio_write_wav(const char *path, const float *samples, int64_t frames,
                             int sample_rate, es_wav_format fmt, int64_t *clipped, es_error *err)
{
    void *data = NULL;
    size_t len = 0;
    es_status rc = es_audio_encode_wav(samples, frames, sample_rate, fmt, &data, &len, clipped,
                                       err);
    if (rc) {
        es_error_prefix(err, "%s", path);
        return rc;
    }
    rc = es_write_file_atomic(path, data, len, err);
    free(data);
    return rc;
}
