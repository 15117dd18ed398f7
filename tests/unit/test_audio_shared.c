/*
 * test_audio_shared.c: every recording of ../shared/data (ECOSIGHT_SHARED)
 * decodes, and its duration is the one MANIFEST.tsv states (within
 * 0.1 s), measured twice: from the header/probe and by decoding every
 * sample. Also the 16 kHz load the pipeline uses has the right length.
 * Under the sanitizers (ES_SANITIZED=1) every 10th file is checked.
 */
#include "testutil.h"

#include "ecosight/audio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_manifest_durations(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "data/MANIFEST.tsv");
    char *data_dir = es_path_join(shared, "data");
    char *manifest = es_path_join(data_dir, "MANIFEST.tsv");
    char *text = NULL;
    size_t len = 0;
    es_error err;
    ES_ASSERT_OK(es_read_file(manifest, 16 << 20, &text, &len, &err), &err);
    const char *san = getenv("ES_SANITIZED");
    int stride = san && strcmp(san, "1") == 0 ? 10 : 1;

    int rows = 0, checked = 0, failures = 0, fmt_counts[3] = {0};
    double worst = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "class\t", 6) == 0 || !*line)
            continue; /* header */
        /* class, path, duration_s, sample_rate, format, ... */
        char *f[5] = {0};
        char *p = line;
        for (int k = 0; k < 5 && p; k++) {
            f[k] = p;
            p = strchr(p, '\t');
            if (p)
                *p++ = '\0';
        }
        if (!f[4])
            fail_msg("MANIFEST.tsv row %d has fewer than 5 columns", rows + 1);
        if (rows++ % stride)
            continue;
        double want = strtod(f[2], NULL);
        int want_rate = atoi(f[3]);
        char *path = es_path_join(data_dir, f[1]);
        es_audio_info info;
        es_error_clear(&err);
        es_status rc = es_audio_probe_file(path, &info, &err);
        if (rc != ES_OK) {
            printf("FAIL %s: %s\n", f[1], es_error_text(&err));
            failures++;
            free(path);
            continue;
        }
        /* the whole decode, as training reads it (no resampling) */
        es_audio a = {0};
        rc = es_audio_load_file(path, NULL, &a, &err);
        if (rc != ES_OK) {
            printf("FAIL %s: %s\n", f[1], es_error_text(&err));
            failures++;
            free(path);
            continue;
        }
        double decoded = (double)a.frames / a.sample_rate;
        double d1 = fabs(info.duration_s - want), d2 = fabs(decoded - want);
        if (d1 > worst)
            worst = d1;
        if (d2 > worst)
            worst = d2;
        if (d1 > 0.1 || d2 > 0.1 || info.sample_rate != want_rate) {
            printf("FAIL %s: manifest %.3f s at %d Hz, probe %.3f s at %d Hz, decoded %.3f s\n",
                   f[1], want, want_rate, info.duration_s, info.sample_rate, decoded);
            failures++;
        }
        fmt_counts[strcmp(info.format, "WAV") == 0 ? 0 : strcmp(info.format, "MP3") == 0 ? 1 : 2]++;
        es_audio_clear(&a);

        /* every 10th file also at 16 kHz, the pipeline's first 4 s */
        if ((rows - 1) % (10 * stride) == 0) {
            es_audio_load_opts o = es_audio_load_default_opts();
            o.sample_rate = 16000;
            o.max_seconds = 4.0;
            ES_ASSERT_OK(es_audio_load_file(path, &o, &a, &err), &err);
            int64_t expect = (int64_t)llround(fmin(want, 4.0) * 16000);
            if (llabs(a.frames - expect) > 1600) {
                printf("FAIL %s: %lld frames at 16 kHz, want about %lld\n", f[1],
                       (long long)a.frames, (long long)expect);
                failures++;
            }
            es_audio_clear(&a);
        }
        checked++;
        free(path);
    }
    printf("  %d manifest rows, %d files checked (WAV %d, MP3 %d, other %d), worst duration "
           "error %.4f s, %d failures\n",
           rows, checked, fmt_counts[0], fmt_counts[1], fmt_counts[2], worst, failures);
    assert_true(rows > 0);
    assert_true(checked >= rows / stride);
    assert_int_equal(failures, 0);
    free(text);
    free(manifest);
    free(data_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
