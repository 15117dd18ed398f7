/*
 * cmd_augment.c: `ecosight augment IN_DIR OUT_DIR`: write the original and K
 * augmentations of every recording of every class folder as 16-bit WAV, the
 * way the seed's augmentation step did, but reproducibly (seeded by the
 * content of each recording), in parallel, atomically, and re-runnable: an
 * output that already holds the right bytes is left alone.
 *
 * Durability: each WAV is written to a hidden temporary file and renamed into
 * place, so a killed run never leaves a truncated WAV under a final name; but
 * instead of an fsync per file (thousands of journal commits, which doubled
 * the run time) the run ends with one syncfs() of OUT_DIR. After a power loss
 * before that point a file could be empty or short; the next run compares
 * every output's bytes and rewrites it. Leftover temporaries of a killed run
 * are removed at the start of the next one.
 *
 * Files are independent work items; each one's outputs depend only on (seed,
 * its decoded samples, augmentation name), so any thread count or file order
 * gives byte-identical results. Results are collected per item and reported
 * in sorted order after the parallel part, so the report is stable too.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct aug_class {
    char *name;
    size_t files;      /* audio files found */
    size_t ok;         /* originals read */
    size_t outputs;    /* WAVs present after the run (original + augmentations) */
    size_t failed;
    size_t stale;      /* outputs of augmentations this run's plan does not include */
    int64_t clipped;
} aug_class;

typedef struct aug_task {
    size_t cls;
    char *in_path;
    char *stem;
    int k;
    /* results */
    es_status rc;
    char *msg;          /* error text when rc != ES_OK */
    int outputs;
    int written;
    int unchanged;
    int stale;
    int64_t clipped;
    double audio_s;
} aug_task;

typedef struct aug_job {
    const char *out_dir;
    aug_class *classes;
    aug_task *tasks;
    int sample_rate;
    uint64_t seed;
    uint32_t pool;
    es_progress *progress;
} aug_job;

static void augment_usage(FILE *out)
{
    fprintf(out,
            "usage: ecosight augment IN_DIR OUT_DIR [--per-file N|auto] [--seed S]\n"
            "                        [--sample-rate HZ] [--augmentations a,b,...] [--threads N]\n"
            "                        [--json]\n"
            "\n"
            "IN_DIR holds one folder per class with recordings (WAV, MP3, FLAC, OGG). OUT_DIR\n"
            "gets the same folders with <stem>_original.wav and <stem>_<augmentation>.wav,\n"
            "16-bit PCM mono. Every choice and every noise sample is seeded by (seed, SHA-256 of\n"
            "the decoded recording, augmentation name): the same inputs give byte-identical\n"
            "outputs whatever the thread count or file order. Existing outputs with the right\n"
            "content are left untouched; writes are atomic.\n"
            "\n"
            "  --per-file N|auto     augmentations per recording (default 5; at most 11); auto:\n"
            "                        by class size, <50 files 10, <200 7, <500 5, else 3\n"
            "  --seed S              seed (default 42)\n"
            "  --sample-rate HZ      output sample rate (default 16000)\n"
            "  --augmentations LIST  restrict the pool (comma-separated names, below)\n"
            "  --threads N           worker threads (default 0 = all cores)\n"
            "  --json                print {class: {original_files, augmented_files,\n"
            "                        increase_factor, clipped_samples, failed_files,\n"
            "                        stale_files}}\n"
            "\n"
            "Augmentations:");
    for (int i = 0; i < ES_AUG_COUNT; i++)
        fprintf(out, "%s %s", i ? "," : "", es_augment_name(i));
    fprintf(out, "\n\nA recording that cannot be decoded is reported and skipped; the others are\n"
                 "still written and the exit code is then 1.\n");
}

static es_status parse_pool(const char *list, uint32_t *mask, es_error *err)
{
    char *copy = strdup(list);
    if (!copy)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    uint32_t m = 0;
    es_status rc = ES_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t l = strlen(tok);
        while (l > 0 && tok[l - 1] == ' ')
            tok[--l] = '\0';
        if (!*tok)
            continue;
        int idx = es_augment_find(tok);
        if (idx < 0) {
            rc = es_error_set(err, ES_ERR_INVALID, "unknown augmentation '%s'", tok);
            break;
        }
        m |= 1u << idx;
    }
    free(copy);
    if (rc == ES_OK && m == 0)
        rc = es_error_set(err, ES_ERR_INVALID, "--augmentations names no augmentation");
    if (rc == ES_OK)
        *mask = m;
    return rc;
}

/* 1 when `path` already holds exactly `len` bytes equal to `data`. */
static int same_content(const char *path, const void *data, size_t len)
{
    int64_t size;
    if (!es_is_file(path) || es_file_size(path, &size, NULL) != ES_OK || size != (int64_t)len)
        return 0;
    char *old = NULL;
    size_t olen = 0;
    if (es_read_file(path, len + 1, &old, &olen, NULL) != ES_OK)
        return 0;
    int same = olen == len && memcmp(old, data, len) == 0;
    free(old);
    return same;
}

/* Temp file + rename without fsync (see the top of the file for why). */
static es_status write_renamed(const char *path, const void *data, size_t len, es_error *err)
{
    const char *base = es_path_base(path);
    size_t dl = (size_t)(base - path);
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    snprintf(tmp, n, "%.*s.%s.tmp.XXXXXX", (int)dl, path, base);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        es_status rc = es_error_set(err, ES_ERR_IO, "cannot create a temporary file for %s: %s",
                                    path, strerror(errno));
        free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    es_status rc = ES_OK;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = es_error_set(err, ES_ERR_IO, "cannot write %s: %s", path,
                              w < 0 ? strerror(errno) : "short write");
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 && rc == ES_OK)
        rc = es_error_set(err, ES_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (rc == ES_OK && rename(tmp, path) != 0)
        rc = es_error_set(err, ES_ERR_IO, "cannot rename into %s: %s", path, strerror(errno));
    if (rc != ES_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Remove ".<name>.wav.tmp.XXXXXX" files a killed run left in `dir`. */
static void remove_stale_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        const char *tag = strstr(nm, ".wav.tmp.");
        if (nm[0] != '.' || !tag || strlen(tag) != strlen(".wav.tmp.XXXXXX"))
            continue;
        char *p = es_path_join(dir, nm);
        if (p)
            unlink(p);
        free(p);
    }
    closedir(d);
}

/* Make everything written under `dir` durable: one syncfs for the whole run. */
static es_status sync_tree(const char *dir, es_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return es_error_set(err, ES_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
    es_status rc = ES_OK;
    if (syncfs(fd) != 0)
        rc = es_error_set(err, ES_ERR_IO, "cannot sync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* OUT_DIR/<class>/<stem>_<suffix>.wav, malloc'd; NULL when out of memory. */
static char *output_path(const aug_job *job, const aug_task *t, const char *suffix)
{
    size_t nlen = strlen(t->stem) + strlen(suffix) + 8;
    char *name = malloc(nlen);
    char *cdir = es_path_join(job->out_dir, job->classes[t->cls].name);
    char *path = NULL;
    if (name && cdir) {
        snprintf(name, nlen, "%s_%s.wav", t->stem, suffix);
        path = es_path_join(cdir, name);
    }
    free(name);
    free(cdir);
    return path;
}

/* Encode one output and write it unless it is already there. */
static es_status emit(const aug_job *job, aug_task *t, const char *suffix, const float *y,
                      size_t n, es_error *err)
{
    void *wav = NULL;
    size_t len = 0;
    int64_t clipped = 0;
    es_status rc = es_audio_encode_wav(y, (int64_t)n, job->sample_rate, ES_WAV_PCM16, &wav, &len,
                                       &clipped, err);
    if (rc != ES_OK)
        return rc;
    char *path = output_path(job, t, suffix);
    if (!path) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
    } else if (same_content(path, wav, len)) {
        t->unchanged++;
    } else {
        rc = write_renamed(path, wav, len, err);
        if (rc == ES_OK)
            t->written++;
    }
    if (rc == ES_OK) {
        t->outputs++;
        t->clipped += clipped;
    }
    free(wav);
    free(path);
    return rc;
}

static es_status augment_one(void *ctx, int64_t i, int thread_index, es_error *unused)
{
    (void)thread_index;
    (void)unused;
    aug_job *job = ctx;
    aug_task *t = &job->tasks[i];
    if (t->rc != ES_OK) { /* already failed while listing (duplicate stem) */
        es_progress_add(job->progress, 1);
        return ES_OK;
    }
    es_error err;
    es_error_clear(&err);
    es_audio a = {0};
    es_audio_load_opts o = es_audio_load_default_opts();
    o.sample_rate = job->sample_rate;
    es_status rc = es_audio_load_file(t->in_path, &o, &a, &err);
    if (rc == ES_OK && a.frames <= 0)
        rc = es_error_set(&err, ES_ERR_EMPTY, "%s: no audio samples", t->in_path);
    if (rc == ES_OK) {
        t->audio_s = (double)a.frames / a.sample_rate;
        uint8_t key[32];
        es_audio_key(a.samples, (size_t)a.frames, key);
        int idx[ES_AUG_COUNT];
        int k = es_augment_plan(key, job->seed, t->k, job->pool, idx);
        rc = emit(job, t, "original", a.samples, (size_t)a.frames, &err);
        for (int j = 0; j < k && rc == ES_OK; j++) {
            float *y = NULL;
            size_t ny = 0;
            rc = es_augment_apply(a.samples, (size_t)a.frames, a.sample_rate, idx[j], job->seed,
                                  key, &y, &ny, &err);
            if (rc == ES_OK)
                rc = emit(job, t, es_augment_name(idx[j]), y, ny, &err);
            else
                es_error_prefix(&err, "%s", t->in_path);
            free(y);
        }
        /* outputs a run with another seed, K or pool left here: counted and
         * reported, never deleted (they are the user's files now) */
        uint32_t planned = 0;
        for (int j = 0; j < k; j++)
            planned |= 1u << idx[j];
        for (int j = 0; j < ES_AUG_COUNT && rc == ES_OK; j++) {
            if (planned & (1u << j))
                continue;
            char *p = output_path(job, t, es_augment_name(j));
            if (p && es_is_file(p))
                t->stale++;
            free(p);
        }
    }
    es_audio_clear(&a);
    t->rc = rc;
    if (rc != ES_OK)
        t->msg = strdup(es_error_text(&err));
    es_progress_add(job->progress, 1);
    /* a bad file is a result, not a reason to stop the others */
    return ES_OK;
}

/* Find the classes and their recordings; duplicated stems in one class are
 * reported as failures instead of overwriting each other. */
static es_status collect(const char *in_dir, aug_class **classes_out, size_t *nclasses,
                         aug_task **tasks_out, size_t *ntasks, es_error *err)
{
    es_strlist dirs = {0};
    es_status rc = es_list_dir(in_dir, 2, &dirs, err);
    if (rc != ES_OK)
        return rc;
    aug_class *classes = calloc(dirs.count ? dirs.count : 1, sizeof *classes);
    aug_task *tasks = NULL;
    size_t nc = 0, nt = 0, cap = 0;
    if (!classes)
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
    for (size_t d = 0; rc == ES_OK && d < dirs.count; d++) {
        char *cdir = es_path_join(in_dir, dirs.items[d]);
        es_strlist files = {0};
        rc = cdir ? es_list_dir(cdir, 1, &files, err)
                  : es_error_set(err, ES_ERR_NOMEM, "out of memory");
        size_t first = nt;
        for (size_t f = 0; rc == ES_OK && f < files.count; f++) {
            if (!es_audio_is_supported_name(files.items[f]))
                continue;
            if (nt == cap) {
                cap = cap ? 2 * cap : 256;
                aug_task *nt2 = realloc(tasks, cap * sizeof *tasks);
                if (!nt2) {
                    rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                    break;
                }
                tasks = nt2;
            }
            aug_task *t = &tasks[nt];
            memset(t, 0, sizeof *t);
            t->cls = nc;
            t->in_path = es_path_join(cdir, files.items[f]);
            t->stem = es_path_stem(files.items[f]);
            nt++;
            if (!t->in_path || !t->stem) {
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
                break;
            }
            for (size_t o = first; o + 1 < nt; o++)
                if (strcmp(tasks[o].stem, t->stem) == 0) {
                    t->rc = ES_ERR_EXISTS;
                    size_t ml = strlen(t->in_path) + strlen(tasks[o].in_path) + 64;
                    t->msg = malloc(ml);
                    if (t->msg)
                        snprintf(t->msg, ml, "%s: skipped, same name stem as %s", t->in_path,
                                 tasks[o].in_path);
                    break;
                }
        }
        if (rc == ES_OK && nt > first) {
            classes[nc].name = strdup(dirs.items[d]);
            classes[nc].files = nt - first;
            if (!classes[nc].name)
                rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
            nc++;
        }
        es_strlist_free(&files);
        free(cdir);
    }
    es_strlist_free(&dirs);
    if (rc != ES_OK) {
        for (size_t i = 0; i < nt; i++) {
            free(tasks[i].in_path);
            free(tasks[i].stem);
            free(tasks[i].msg);
        }
        for (size_t c = 0; c < nc; c++)
            free(classes[c].name);
        free(tasks);
        free(classes);
        return rc;
    }
    *classes_out = classes;
    *nclasses = nc;
    *tasks_out = tasks;
    *ntasks = nt;
    return ES_OK;
}

int es_cmd_augment(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"per-file", required_argument, NULL, 'k'}, {"seed", required_argument, NULL, 's'},
        {"sample-rate", required_argument, NULL, 'r'},
        {"augmentations", required_argument, NULL, 'a'},
        {"threads", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int per_file = 5, per_auto = 0, threads = 0, json = 0, c;
    long sr = 16000;
    uint64_t seed = 42;
    uint32_t pool = 0;
    es_error err;
    es_error_clear(&err);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': {
            long v;
            if (strcmp(optarg, "auto") == 0)
                per_auto = 1;
            else if (es_cli_parse_int(optarg, 0, ES_AUG_COUNT, &v) == 0)
                per_file = (int)v, per_auto = 0;
            else
                return es_cli_usage_error(cli, "augment", "--per-file wants 0..%d or auto, not '%s'",
                                          ES_AUG_COUNT, optarg);
            break;
        }
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || !*optarg || optarg[0] == '-')
                return es_cli_usage_error(cli, "augment", "bad --seed '%s'", optarg);
            seed = v;
            break;
        }
        case 'r':
            if (es_cli_parse_int(optarg, 1000, 192000, &sr) != 0)
                return es_cli_usage_error(cli, "augment", "--sample-rate wants 1000..192000");
            break;
        case 'a':
            if (parse_pool(optarg, &pool, &err) != ES_OK)
                return es_cli_usage_error(cli, "augment", "%s", es_error_text(&err));
            break;
        case 't':
            if (es_cli_parse_threads(optarg, &threads) != 0)
                return es_cli_usage_error(cli, "augment", "bad --threads '%s'", optarg);
            break;
        case 'j': json = 1; break;
        case 'h': augment_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "augment", "bad option");
        }
    }
    if (argc - optind != 2)
        return es_cli_usage_error(cli, "augment", "want IN_DIR and OUT_DIR");
    const char *in_dir = argv[optind], *out_dir = argv[optind + 1];
    if (!es_is_dir(in_dir)) {
        es_cli_error(cli, "%s is not a directory", in_dir);
        return ES_EXIT_FAIL;
    }
    /* writing into the input would make the next run augment the outputs */
    char *rin = realpath(in_dir, NULL), *rout = realpath(out_dir, NULL);
    int same_dir = rin && rout && strcmp(rin, rout) == 0;
    free(rin);
    free(rout);
    if (same_dir)
        return es_cli_usage_error(cli, "augment", "OUT_DIR must not be IN_DIR");

    aug_class *classes = NULL;
    aug_task *tasks = NULL;
    size_t nclasses = 0, ntasks = 0;
    if (collect(in_dir, &classes, &nclasses, &tasks, &ntasks, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        return ES_EXIT_FAIL;
    }
    int exit_code = ES_EXIT_OK;
    if (ntasks == 0) {
        es_cli_error(cli, "%s has no class folders with audio files", in_dir);
        exit_code = ES_EXIT_FAIL;
        goto out;
    }
    for (size_t c2 = 0; c2 < nclasses; c2++) {
        char *d = es_path_join(out_dir, classes[c2].name);
        es_status rc = d ? es_mkdirs(d, &err) : es_error_set(&err, ES_ERR_NOMEM, "out of memory");
        if (rc == ES_OK)
            remove_stale_temps(d);
        free(d);
        if (rc != ES_OK) {
            es_cli_error(cli, "%s", es_error_text(&err));
            exit_code = ES_EXIT_FAIL;
            goto out;
        }
    }
    for (size_t i = 0; i < ntasks; i++)
        tasks[i].k = per_auto ? es_augment_per_file_auto(classes[tasks[i].cls].files) : per_file;

    aug_job job = {.out_dir = out_dir, .classes = classes, .tasks = tasks,
                   .sample_rate = (int)sr, .seed = seed, .pool = pool};
    job.progress = es_progress_new(cli->log, "augment", (int64_t)ntasks, "files");
    double t0 = es_monotonic_s();
    es_status prc = es_parallel_for(threads, (int64_t)ntasks, augment_one, &job, &err);
    double elapsed = es_monotonic_s() - t0;
    es_progress_done(job.progress);
    if (prc != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        exit_code = ES_EXIT_FAIL;
    }
    if (sync_tree(out_dir, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        exit_code = ES_EXIT_FAIL;
    }

    /* per-item results, in sorted order */
    size_t written = 0, unchanged = 0, failed = 0;
    double audio_s = 0;
    for (size_t i = 0; i < ntasks; i++) {
        aug_task *t = &tasks[i];
        aug_class *k = &classes[t->cls];
        k->outputs += (size_t)t->outputs;
        k->stale += (size_t)t->stale;
        k->clipped += t->clipped;
        written += (size_t)t->written;
        unchanged += (size_t)t->unchanged;
        audio_s += t->audio_s;
        if (t->rc != ES_OK) {
            es_cli_error(cli, "%s", t->msg ? t->msg : es_strerror(t->rc));
            k->failed++;
            failed++;
        } else {
            k->ok++;
        }
    }
    if (failed)
        exit_code = ES_EXIT_FAIL;

    size_t tot_in = 0, tot_out = 0;
    int64_t tot_clip = 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        for (size_t c2 = 0; o && c2 < nclasses; c2++) {
            aug_class *k = &classes[c2];
            cJSON *e = cJSON_AddObjectToObject(o, k->name);
            if (!e)
                continue;
            cJSON_AddNumberToObject(e, "original_files", (double)k->ok);
            cJSON_AddNumberToObject(e, "augmented_files", (double)k->outputs);
            cJSON_AddNumberToObject(e, "increase_factor",
                                    k->ok ? (double)k->outputs / (double)k->ok : 0.0);
            cJSON_AddNumberToObject(e, "clipped_samples", (double)k->clipped);
            cJSON_AddNumberToObject(e, "failed_files", (double)k->failed);
            cJSON_AddNumberToObject(e, "stale_files", (double)k->stale);
        }
        char *s = o ? cJSON_Print(o) : NULL;
        if (!s || es_cli_print_line(s) != ES_EXIT_OK) {
            es_cli_error(cli, "cannot write to standard output");
            exit_code = ES_EXIT_FAIL;
        }
        free(s);
        cJSON_Delete(o);
    } else {
        for (size_t c2 = 0; c2 < nclasses; c2++) {
            aug_class *k = &classes[c2];
            printf("%s: %zu \u2192 %zu files (%.1fx)", k->name, k->ok, k->outputs,
                   k->ok ? (double)k->outputs / (double)k->ok : 0.0);
            if (k->clipped)
                printf(", %lld clipped samples", (long long)k->clipped);
            if (k->failed)
                printf(", %zu failed", k->failed);
            if (k->stale)
                printf(", %zu stale (not in this run's plan, kept)", k->stale);
            printf("\n");
            tot_in += k->ok;
            tot_out += k->outputs;
            tot_clip += k->clipped;
        }
        printf("total: %zu \u2192 %zu files (%.1fx), %zu written, %zu already up to date, "
               "%lld clipped samples, %zu failed\n",
               tot_in, tot_out, tot_in ? (double)tot_out / (double)tot_in : 0.0, written,
               unchanged, (long long)tot_clip, failed);
        if (fflush(stdout) != 0) {
            es_cli_error(cli, "cannot write to standard output");
            exit_code = ES_EXIT_FAIL;
        }
    }
    es_log_info(cli->log, "augment: %.1f s of audio in %.2f s (%.0fx real time)", audio_s,
                elapsed, elapsed > 0 ? audio_s / elapsed : 0.0);

out:
    for (size_t i = 0; i < ntasks; i++) {
        free(tasks[i].in_path);
        free(tasks[i].stem);
        free(tasks[i].msg);
    }
    for (size_t c2 = 0; c2 < nclasses; c2++)
        free(classes[c2].name);
    free(tasks);
    free(classes);
    return exit_code;
}
