/*
 * testutil.c: see testutil.h.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *es_test_shared(const char *need)
{
    const char *dir = getenv("ECOSIGHT_SHARED");
    if (!dir || !*dir)
        dir = "../shared";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, need ? need : "");
    struct stat st;
    if (stat(path, &st) == 0)
        return dir;
    const char *req = getenv("ECOSIGHT_REQUIRE_SHARED");
    if (req && strcmp(req, "1") == 0) {
        fail_msg("ECOSIGHT_REQUIRE_SHARED=1 but %s is missing", path);
        return NULL;
    }
    fprintf(stderr, "\n*** SKIPPED: %s not found (set ECOSIGHT_SHARED) ***\n\n", path);
    return NULL;
}

char *es_test_tmpdir(const char *name)
{
    const char *base = getenv("ES_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%ld", base, name, (long)getpid());
    es_error err;
    es_remove_tree(path, &err);
    if (es_mkdirs(path, &err) != ES_OK)
        fail_msg("cannot create %s: %s", path, es_error_text(&err));
    return strdup(path);
}

char *es_test_path(const char *dir, const char *rel)
{
    return es_path_join(dir, rel);
}

char *es_test_source_path(const char *rel)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", __FILE__);
    char *p = strstr(buf, "/tests/unit/");
    if (!p)
        fail_msg("cannot find the source tree from %s", __FILE__);
    *p = '\0';
    char *out = es_path_join(buf, rel);
    if (!out)
        fail_msg("out of memory");
    return out;
}
