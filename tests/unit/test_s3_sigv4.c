/*
 * test_s3_sigv4.c: our SigV4 signer against AWS's published vectors.
 *
 * Every case of ../shared/sigv4/aws-sig-v4-test-suite/ except normalize-path/
 * (S3 signs paths as given) is parsed from its raw .req file and must give the
 * .creq, .sts and .authz byte for byte; the five S3 examples from the S3
 * documentation (../shared/sigv4/s3-examples/) are built from their described
 * requests and must give the .creq, .sts and .sig. The presigned-GET example
 * checks query-string signing.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/sigv4.h"

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    es_error err;
    if (es_read_file(path, 1 << 20, &data, &len, &err) != ES_OK)
        fail_msg("cannot read %s: %s", path, es_error_text(&err));
    return data;
}

/* A request parsed from a .req file. */
typedef struct parsed_req {
    char method[16];
    char *path;
    es_sigv4_kv query[16];
    size_t nquery;
    es_sigv4_kv headers[16];
    size_t nheaders;
    char payload_hash[ES_SHA256_HEX_LEN];
    char *text; /* owns the strings */
} parsed_req;

static void parse_req(const char *path, parsed_req *r)
{
    memset(r, 0, sizeof *r);
    r->text = slurp(path);
    char *s = r->text;
    /* request line: METHOD SP target SP HTTP/1.1 */
    char *eol = strchr(s, '\n');
    assert_non_null(eol);
    *eol = '\0';
    char *sp1 = strchr(s, ' ');
    char *sp2 = strrchr(s, ' ');
    assert_true(sp1 && sp2 && sp2 > sp1);
    *sp1 = '\0';
    *sp2 = '\0';
    snprintf(r->method, sizeof r->method, "%s", s);
    r->path = sp1 + 1;
    char *qm = strchr(r->path, '?');
    if (qm) {
        *qm = '\0';
        char *q = qm + 1;
        while (*q) {
            char *amp = strchr(q, '&');
            if (amp)
                *amp = '\0';
            char *eq = strchr(q, '=');
            if (eq)
                *eq = '\0';
            assert_true(r->nquery < 16);
            r->query[r->nquery++] = (es_sigv4_kv){q, eq ? eq + 1 : NULL};
            if (!amp)
                break;
            q = amp + 1;
        }
    }
    /* headers until an empty line; lines starting with blanks fold into the
     * previous header (kept as "\n" + line so the signer sees the fold). */
    char *line = eol + 1;
    char *body = NULL;
    char *prev_value_end = NULL;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line == '\0') {
            body = nl ? nl + 1 : NULL;
            break;
        }
        if ((*line == ' ' || *line == '\t') && r->nheaders > 0) {
            /* re-join the fold: restore the newline that ended the previous line */
            assert_non_null(prev_value_end);
            *prev_value_end = '\n';
            prev_value_end = nl;
        } else {
            char *colon = strchr(line, ':');
            assert_non_null(colon);
            *colon = '\0';
            assert_true(r->nheaders < 16);
            r->headers[r->nheaders++] = (es_sigv4_kv){line, colon + 1};
            prev_value_end = nl;
        }
        line = nl ? nl + 1 : NULL;
    }
    uint8_t h[ES_SHA256_LEN];
    es_sha256(body ? body : "", body ? strlen(body) : 0, h);
    es_hex(h, sizeof h, r->payload_hash);
}

static void check_suite_case(const char *dir, const char *name)
{
    char p[4096];
    parsed_req pr;
    snprintf(p, sizeof p, "%s/%s.req", dir, name);
    parse_req(p, &pr);
    es_sigv4_request r = {
        .method = pr.method, .path = pr.path, .query = pr.query, .nquery = pr.nquery,
        .headers = pr.headers, .nheaders = pr.nheaders, .payload_hash = pr.payload_hash,
        .amz_date = "20150830T123600Z", .region = "us-east-1", .service = "service",
        .access_key = "AKIDEXAMPLE", .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
    es_sigv4_result res;
    es_error err;
    ES_ASSERT_OK(es_sigv4_sign(&r, &res, &err), &err);
    snprintf(p, sizeof p, "%s/%s.creq", dir, name);
    char *creq = slurp(p);
    snprintf(p, sizeof p, "%s/%s.sts", dir, name);
    char *sts = slurp(p);
    snprintf(p, sizeof p, "%s/%s.authz", dir, name);
    char *authz = slurp(p);
    if (strcmp(res.canonical_request, creq) != 0)
        fail_msg("%s: canonical request differs:\n--- got\n%s\n--- want\n%s", name,
                 res.canonical_request, creq);
    if (strcmp(res.string_to_sign, sts) != 0)
        fail_msg("%s: string to sign differs:\n%s\n---\n%s", name, res.string_to_sign, sts);
    if (strcmp(res.authorization, authz) != 0)
        fail_msg("%s: authorization differs:\n%s\n---\n%s", name, res.authorization, authz);
    free(creq);
    free(sts);
    free(authz);
    es_sigv4_result_free(&res);
    free(pr.text);
}

static int walk_suite(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "normalize-path") == 0)
            continue;
        char sub[4096], req[4200];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        if (!es_is_dir(sub))
            continue;
        snprintf(req, sizeof req, "%s/%s.req", sub, e->d_name);
        if (es_is_file(req)) {
            check_suite_case(sub, e->d_name);
            (*count)++;
        } else {
            walk_suite(sub, count); /* grouped cases, e.g. post-sts-token/ */
        }
    }
    closedir(d);
    return 0;
}

static void test_aws_suite(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "sigv4/aws-sig-v4-test-suite");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/sigv4/aws-sig-v4-test-suite", shared);
    int count = 0;
    assert_int_equal(walk_suite(dir, &count), 0);
    /* 31 cases minus the normalize-path group (the suite ships 24 others) */
    fprintf(stderr, "sigv4: %d suite cases matched\n", count);
    assert_true(count >= 24);
}

/* ---- the S3 documentation examples -------------------------------------- */
#define S3_AK "AKIAIOSFODNN7EXAMPLE"
#define S3_SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_DATE "20130524T000000Z"
#define S3_HOST "examplebucket.s3.amazonaws.com"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void check_example(const char *shared, const char *name, const es_sigv4_result *res)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/sigv4/s3-examples/%s.creq", shared, name);
    char *creq = slurp(p);
    snprintf(p, sizeof p, "%s/sigv4/s3-examples/%s.sts", shared, name);
    char *sts = slurp(p);
    snprintf(p, sizeof p, "%s/sigv4/s3-examples/%s.sig", shared, name);
    char *sig = slurp(p);
    size_t n = strlen(sig);
    while (n && (sig[n - 1] == '\n' || sig[n - 1] == '\r'))
        sig[--n] = '\0';
    if (strcmp(res->canonical_request, creq) != 0)
        fail_msg("%s: canonical request differs:\n--- got\n%s\n--- want\n%s", name,
                 res->canonical_request, creq);
    if (strcmp(res->string_to_sign, sts) != 0)
        fail_msg("%s: string to sign differs:\n%s\n---\n%s", name, res->string_to_sign, sts);
    assert_string_equal(res->signature, sig);
    free(creq);
    free(sts);
    free(sig);
}

static void sign_example(const char *shared, const char *name, const char *method,
                         const char *path, const es_sigv4_kv *q, size_t nq,
                         const es_sigv4_kv *h, size_t nh, const char *payload)
{
    es_sigv4_request r = {.method = method, .path = path, .query = q, .nquery = nq,
                          .headers = h, .nheaders = nh, .payload_hash = payload,
                          .amz_date = S3_DATE, .region = "us-east-1", .service = "s3",
                          .access_key = S3_AK, .secret_key = S3_SK};
    es_sigv4_result res;
    es_error err;
    ES_ASSERT_OK(es_sigv4_sign(&r, &res, &err), &err);
    check_example(shared, name, &res);
    es_sigv4_result_free(&res);
}

static void test_s3_examples(void **state)
{
    (void)state;
    ES_TEST_SHARED_OR_SKIP(shared, "sigv4/s3-examples");
    {
        es_sigv4_kv h[] = {{"Host", S3_HOST}, {"Range", "bytes=0-9"},
                           {"x-amz-content-sha256", EMPTY_SHA}, {"x-amz-date", S3_DATE}};
        sign_example(shared, "get-object-range", "GET", "/test.txt", NULL, 0, h, 4, EMPTY_SHA);
    }
    {
        const char *body = "Welcome to Amazon S3.";
        uint8_t hb[32];
        char hx[65];
        es_sha256(body, strlen(body), hb);
        es_hex(hb, 32, hx);
        es_sigv4_kv h[] = {{"Host", S3_HOST},
                           {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                           {"x-amz-date", S3_DATE},
                           {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                           {"x-amz-content-sha256", hx}};
        sign_example(shared, "put-object", "PUT", "/test$file.text", NULL, 0, h, 5, hx);
    }
    {
        es_sigv4_kv q[] = {{"lifecycle", NULL}};
        es_sigv4_kv h[] = {{"Host", S3_HOST}, {"x-amz-content-sha256", EMPTY_SHA},
                           {"x-amz-date", S3_DATE}};
        sign_example(shared, "get-bucket-lifecycle", "GET", "/", q, 1, h, 3, EMPTY_SHA);
    }
    {
        es_sigv4_kv q[] = {{"prefix", "J"}, {"max-keys", "2"}};
        es_sigv4_kv h[] = {{"Host", S3_HOST}, {"x-amz-content-sha256", EMPTY_SHA},
                           {"x-amz-date", S3_DATE}};
        sign_example(shared, "list-objects", "GET", "/", q, 2, h, 3, EMPTY_SHA);
    }
    {
        es_sigv4_kv h[] = {{"Host", S3_HOST}};
        es_sigv4_request r = {.method = "GET", .path = "/test.txt", .headers = h, .nheaders = 1,
                              .payload_hash = "UNSIGNED-PAYLOAD", .amz_date = S3_DATE,
                              .region = "us-east-1", .service = "s3", .access_key = S3_AK,
                              .secret_key = S3_SK};
        es_sigv4_result res;
        char *query = NULL;
        es_error err;
        ES_ASSERT_OK(es_sigv4_presign(&r, 86400, NULL, &query, &res, &err), &err);
        check_example(shared, "presigned-get", &res);
        /* the URL's query is the canonical query plus the signature */
        assert_non_null(strstr(query, "X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                                      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f99533"
                                      "0da4c265957d157751f604d404"));
        free(query);
        es_sigv4_result_free(&res);
    }
}

static void test_encoding_and_errors(void **state)
{
    (void)state;
    es_buf b;
    es_error err;
    es_buf_init(&b, 0);
    ES_ASSERT_OK(es_sigv4_uri_encode(&b, "a b/c+d%é~", strlen("a b/c+d%é~"), 1, &err), &err);
    assert_string_equal(b.data, "a%20b/c%2Bd%25%C3%A9~");
    es_buf_reset(&b);
    ES_ASSERT_OK(es_sigv4_uri_encode(&b, "a/b", 3, 0, &err), &err);
    assert_string_equal(b.data, "a%2Fb");
    es_buf_free(&b);

    /* S3 paths are not normalised: dot segments are signed as given */
    es_sigv4_kv h[] = {{"host", "h"}};
    es_sigv4_request r = {.method = "GET", .path = "/b/a/../c//d", .headers = h, .nheaders = 1,
                          .payload_hash = EMPTY_SHA, .amz_date = S3_DATE, .region = "r",
                          .service = "s3", .access_key = "k", .secret_key = "s"};
    es_sigv4_result res;
    ES_ASSERT_OK(es_sigv4_sign(&r, &res, &err), &err);
    assert_non_null(strstr(res.canonical_request, "GET\n/b/a/../c//d\n"));
    /* the secret never appears in anything the signer returns */
    assert_null(strstr(res.authorization, "AWS4s"));
    es_sigv4_result_free(&res);

    r.path = "no-slash";
    assert_int_equal(es_sigv4_sign(&r, &res, &err), ES_ERR_INVALID);
    r.path = "/";
    char *q = NULL;
    assert_int_equal(es_sigv4_presign(&r, 0, NULL, &q, NULL, &err), ES_ERR_INVALID);
    assert_int_equal(es_sigv4_presign(&r, 604801, NULL, &q, NULL, &err), ES_ERR_INVALID);
    ES_ASSERT_OK(es_sigv4_presign(&r, 60, "TOKEN/+=", &q, NULL, &err), &err);
    assert_non_null(strstr(q, "X-Amz-Security-Token=TOKEN%2F%2B%3D"));
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_suite),
        cmocka_unit_test(test_s3_examples),
        cmocka_unit_test(test_encoding_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
