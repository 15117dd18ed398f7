/*
 * test_s3_client.c: the S3 module's parts that need no server: XML replies
 * (listing pages, errors, hostile documents), configuration from the
 * environment and AWS profile files, s3:// URLs, the retry policy and the
 * mapping of S3 answers to our status codes, presigned URLs.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecosight/s3.h"
#include "s3/internal.h"
#include "s3/xml.h"

static const char page1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/a &amp; b.wav</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
    "<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>42</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>p/dog/x.wav</Key><ETag>\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-3\"</ETag>"
    "<Size>25000000</Size></Contents>"
    "<NextContinuationToken>tok+/=1</NextContinuationToken>"
    "</ListBucketResult>";

static void test_xml_list(void **state)
{
    (void)state;
    es_s3_object_list l = {0};
    es_s3_list_page pg;
    es_error err;
    ES_ASSERT_OK(es_s3_xml_parse_list(page1, strlen(page1), &l, 100, &pg, &err), &err);
    assert_int_equal(l.count, 2);
    assert_true(pg.is_truncated);
    assert_string_equal(pg.next_token, "tok+/=1");
    assert_string_equal(l.items[0].key, "p/a & b.wav");
    assert_int_equal(l.items[0].size, 42);
    assert_string_equal(l.items[0].etag, "0123456789abcdef0123456789abcdef");
    assert_string_equal(l.items[0].last_modified, "2026-01-01T00:00:00.000Z");
    assert_string_equal(l.items[1].etag, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-3");
    assert_int_equal(l.items[1].size, 25000000);
    es_s3_list_page_clear(&pg);

    /* the cap on the total is enforced and leaves the list as it was */
    assert_int_equal(es_s3_xml_parse_list(page1, strlen(page1), &l, 3, &pg, &err),
                     ES_ERR_TOO_LARGE);
    assert_int_equal(l.count, 2);
    es_s3_object_list_free(&l);

    /* truncated without a token, bad sizes, malformed XML, entity tricks */
    static const char *bad[] = {
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>12x</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key>",
        "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
        "<ListBucketResult><Contents><Key>&b;</Key><Size>1</Size></Contents></ListBucketResult>",
        "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a>"
        "</a></a></a></a></a></a></a></a></a></a>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        es_s3_object_list l2 = {0};
        es_status rc = es_s3_xml_parse_list(bad[i], strlen(bad[i]), &l2, 100, &pg, &err);
        if (rc == ES_OK)
            fail_msg("bad document %zu was accepted", i);
        assert_int_equal(l2.count, 0);
        es_s3_object_list_free(&l2);
    }
    /* a key longer than S3 allows is refused, not truncated */
    es_buf big;
    es_buf_init(&big, 0);
    es_buf_printf(&big, NULL, "<ListBucketResult><Contents><Key>");
    for (int i = 0; i < 5000; i++)
        es_buf_append(&big, "k", 1, NULL);
    es_buf_printf(&big, NULL, "</Key><Size>1</Size></Contents></ListBucketResult>");
    assert_int_not_equal(es_s3_xml_parse_list(big.data, big.len, &l, 100, &pg, &err), ES_OK);
    es_buf_free(&big);
    es_s3_object_list_free(&l);
}

static void test_xml_error_and_find(void **state)
{
    (void)state;
    const char *e = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
                    "<Message>The request signature we calculated does not match</Message>"
                    "<RequestId>1</RequestId></Error>";
    char code[64], msg[256];
    assert_int_equal(es_s3_xml_parse_error(e, strlen(e), code, sizeof code, msg, sizeof msg), 1);
    assert_string_equal(code, "SignatureDoesNotMatch");
    assert_string_equal(msg, "The request signature we calculated does not match");
    assert_int_equal(es_s3_xml_parse_error(page1, strlen(page1), code, sizeof code, msg,
                                           sizeof msg), 0);
    assert_int_equal(es_s3_xml_parse_error("not xml", 7, code, sizeof code, msg, sizeof msg), 0);
    assert_int_equal(es_s3_xml_parse_error(NULL, 0, code, sizeof code, msg, sizeof msg), 0);

    const char *init = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                       "<UploadId>abc-123</UploadId></InitiateMultipartUploadResult>";
    char id[64];
    es_error err;
    ES_ASSERT_OK(es_s3_xml_find(init, strlen(init), "UploadId", id, sizeof id, &err), &err);
    assert_string_equal(id, "abc-123");
    assert_int_equal(es_s3_xml_find(init, strlen(init), "Nope", id, sizeof id, &err),
                     ES_ERR_NOT_FOUND);
    assert_int_equal(es_s3_xml_find("<a>", 3, "a", id, sizeof id, &err), ES_ERR_FORMAT);

    es_buf b;
    es_buf_init(&b, 0);
    ES_ASSERT_OK(es_s3_xml_escape(&b, "a&<>\"'b", &err), &err);
    assert_string_equal(b.data, "a&amp;&lt;&gt;&quot;&apos;b");
    es_buf_free(&b);
}

static void test_retry_policy(void **state)
{
    (void)state;
    assert_true(es_s3_should_retry(500, "InternalError", 0));
    assert_true(es_s3_should_retry(503, "SlowDown", 0));
    assert_true(es_s3_should_retry(429, "", 0));
    assert_true(es_s3_should_retry(400, "RequestTimeout", 0));
    assert_true(es_s3_should_retry(0, NULL, 1)); /* dropped connection, timeout */
    assert_false(es_s3_should_retry(403, "SignatureDoesNotMatch", 0));
    assert_false(es_s3_should_retry(404, "NoSuchKey", 0));
    assert_false(es_s3_should_retry(501, "NotImplemented", 0));
    assert_false(es_s3_should_retry(400, "InvalidArgument", 0));

    /* full jitter: within [0, min(cap, base*2^(n-1))), growing, capped */
    assert_true(es_s3_backoff_s(0.2, 10, 1, 0.0) == 0.0);
    assert_true(es_s3_backoff_s(0.2, 10, 1, 0.999) < 0.2);
    assert_true(es_s3_backoff_s(0.2, 10, 3, 0.5) > 0.39 && es_s3_backoff_s(0.2, 10, 3, 0.5) < 0.41);
    assert_true(es_s3_backoff_s(0.2, 10, 30, 0.999) <= 10.0);
    assert_true(es_s3_backoff_s(0.2, 10, 30, 0.999) > 9.9);

    assert_int_equal(es_s3_status_for(403, "SignatureDoesNotMatch"), ES_ERR_AUTH);
    assert_int_equal(es_s3_status_for(403, "InvalidAccessKeyId"), ES_ERR_AUTH);
    assert_int_equal(es_s3_status_for(403, ""), ES_ERR_AUTH);
    assert_int_equal(es_s3_status_for(404, "NoSuchBucket"), ES_ERR_NOT_FOUND);
    assert_int_equal(es_s3_status_for(404, ""), ES_ERR_NOT_FOUND);
    assert_int_equal(es_s3_status_for(501, "NotImplemented"), ES_ERR_UNSUPPORTED);
    assert_int_equal(es_s3_status_for(503, "SlowDown"), ES_ERR_REMOTE);
}

static void clear_aws_env(void)
{
    static const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                                 "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
                                 "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                                 "ES_S3_PATH_STYLE", "AWS_S3_FORCE_PATH_STYLE", "S3_BUCKET",
                                 "AWS_MAX_ATTEMPTS", "AWS_SHARED_CREDENTIALS_FILE",
                                 "AWS_CONFIG_FILE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static void write_text(const char *path, const char *text)
{
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(path, text, strlen(text), &err), &err);
}

static void test_config(void **state)
{
    (void)state;
    char *dir = es_test_tmpdir("s3config");
    char *cred = es_path_join(dir, "credentials");
    char *conf = es_path_join(dir, "config");
    write_text(cred, "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = sdef\n"
                     "\n[team]\naws_access_key_id=AKTEAM\naws_secret_access_key=steam\n"
                     "aws_session_token = tok\n");
    write_text(conf, "[default]\nregion = eu-west-1\n"
                     "[profile team]\nregion = eu-central-1\nendpoint_url = http://minio:9000/\n"
                     "s3 =\n    addressing_style = virtual\n");
    clear_aws_env();
    setenv("HOME", dir, 1); /* no ~/.aws there: files come from the variables below */
    setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
    setenv("AWS_CONFIG_FILE", conf, 1);

    es_s3_config c;
    es_error err;
    ES_ASSERT_OK(es_s3_config_from_env(&c, &err), &err);
    assert_string_equal(c.access_key, "AKDEFAULT");
    assert_string_equal(c.secret_key, "sdef");
    assert_null(c.session_token);
    assert_string_equal(c.region, "eu-west-1");
    assert_string_equal(c.endpoint, "https://s3.eu-west-1.amazonaws.com");
    assert_int_equal(c.path_style, 0);
    assert_string_equal(c.bucket, ES_S3_DEFAULT_BUCKET);
    es_s3_config_clear(&c);

    setenv("AWS_PROFILE", "team", 1);
    ES_ASSERT_OK(es_s3_config_from_env(&c, &err), &err);
    assert_string_equal(c.access_key, "AKTEAM");
    assert_string_equal(c.session_token, "tok");
    assert_string_equal(c.region, "eu-central-1");
    assert_string_equal(c.endpoint, "http://minio:9000");
    assert_int_equal(c.path_style, 0); /* the profile asked for virtual hosts */
    es_s3_config_clear(&c);

    /* the environment wins over the profile */
    setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
    setenv("AWS_REGION", "ap-south-1", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4568", 1);
    setenv("ES_S3_PATH_STYLE", "1", 1);
    setenv("S3_BUCKET", "mybucket", 1);
    setenv("AWS_MAX_ATTEMPTS", "3", 1);
    ES_ASSERT_OK(es_s3_config_from_env(&c, &err), &err);
    assert_string_equal(c.access_key, "AKENV");
    assert_null(c.session_token);
    assert_string_equal(c.region, "ap-south-1");
    assert_string_equal(c.endpoint, "http://127.0.0.1:4568");
    assert_int_equal(c.path_style, 1);
    assert_string_equal(c.bucket, "mybucket");
    assert_int_equal(c.max_attempts, 3);
    es_s3_config_clear(&c);

    /* half a key pair, a missing profile, a bad attempt count: clear errors */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(es_s3_config_from_env(&c, &err), ES_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"));
    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_PROFILE", "nobody", 1);
    assert_int_equal(es_s3_config_from_env(&c, &err), ES_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "nobody"));
    setenv("AWS_PROFILE", "team", 1);
    setenv("AWS_MAX_ATTEMPTS", "0", 1);
    assert_int_equal(es_s3_config_from_env(&c, &err), ES_ERR_CONFIG);
    unsetenv("AWS_MAX_ATTEMPTS");
    setenv("AWS_ENDPOINT_URL", "http://host/with/path", 1);
    assert_int_equal(es_s3_config_from_env(&c, &err), ES_ERR_CONFIG);

    /* no credentials anywhere: anonymous */
    clear_aws_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    ES_ASSERT_OK(es_s3_config_from_env(&c, &err), &err);
    assert_null(c.access_key);
    assert_string_equal(c.region, "us-east-1");
    es_s3_config_clear(&c);
    clear_aws_env();

    es_remove_tree(dir, &err);
    free(cred);
    free(conf);
    free(dir);
}

static void test_urls_and_names(void **state)
{
    (void)state;
    char *b = NULL, *p = NULL;
    es_error err;
    ES_ASSERT_OK(es_s3_parse_url("s3://ecosight-training-data/extracted_audio/", &b, &p, &err),
                 &err);
    assert_string_equal(b, "ecosight-training-data");
    assert_string_equal(p, "extracted_audio/");
    free(b);
    free(p);
    ES_ASSERT_OK(es_s3_parse_url("s3://bkt", &b, &p, &err), &err);
    assert_string_equal(b, "bkt");
    assert_string_equal(p, "");
    free(b);
    free(p);
    assert_int_equal(es_s3_parse_url("http://bkt/x", &b, &p, &err), ES_ERR_INVALID);
    assert_int_equal(es_s3_parse_url("s3://ab/x", &b, &p, &err), ES_ERR_INVALID);
    assert_int_equal(es_s3_parse_url("s3://Upper/x", &b, &p, &err), ES_ERR_INVALID);

    assert_true(es_s3_is_audio_name("a/b.WAV"));
    assert_true(es_s3_is_audio_name("x.flac"));
    assert_false(es_s3_is_audio_name("notes.txt"));
    assert_false(es_s3_is_audio_name("wav"));
}

static void test_presign_url(void **state)
{
    (void)state;
    es_s3_config cfg;
    es_error err;
    ES_ASSERT_OK(es_s3_config_default(&cfg, &err), &err);
    cfg.access_key = strdup("AKID");
    cfg.secret_key = strdup("SECRETSECRET");
    free(cfg.endpoint);
    cfg.endpoint = strdup("http://127.0.0.1:9");
    cfg.path_style = 1;
    es_s3_client *c;
    ES_ASSERT_OK(es_s3_client_new(&cfg, NULL, &c, &err), &err);
    es_s3_config_clear(&cfg);
    char *url = NULL;
    ES_ASSERT_OK(es_s3_presign(c, "GET", "bkt", "dog bark/a+b.wav", 3600, &url, &err), &err);
    assert_true(strncmp(url, "http://127.0.0.1:9/bkt/dog%20bark/a%2Bb.wav?X-Amz-Algorithm="
                             "AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F", 76) == 0);
    assert_non_null(strstr(url, "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature="));
    assert_null(strstr(url, "SECRETSECRET"));
    free(url);
    assert_int_equal(es_s3_presign(c, "GET", "bkt", "k", 0, &url, &err), ES_ERR_INVALID);
    assert_false(s3_use_vhost(c, "bkt")); /* path-style client */

    /* no server listening on port 9: a transport failure, retried, then a
     * clear error naming the operation and the object */
    char *data = NULL;
    size_t len = 0;
    es_status rc = es_s3_get_buffer(c, "bkt", "k", 1024, &data, &len, &err);
    assert_true(rc == ES_ERR_NETWORK || rc == ES_ERR_TIMEOUT);
    assert_non_null(strstr(err.msg, "GetObject s3://bkt/k"));
    assert_non_null(strstr(err.msg, "attempts"));
    assert_null(strstr(err.msg, "SECRETSECRET"));
    es_s3_client_free(c);

    /* virtual-host addressing on AWS, except for dotted bucket names */
    ES_ASSERT_OK(es_s3_config_default(&cfg, &err), &err);
    cfg.access_key = strdup("AKID");
    cfg.secret_key = strdup("SECRETSECRET");
    ES_ASSERT_OK(es_s3_client_new(&cfg, NULL, &c, &err), &err);
    es_s3_config_clear(&cfg);
    ES_ASSERT_OK(es_s3_presign(c, "GET", "bkt", "a b", 60, &url, &err), &err);
    assert_true(strncmp(url, "https://bkt.s3.us-east-1.amazonaws.com/a%20b?", 45) == 0);
    free(url);
    ES_ASSERT_OK(es_s3_presign(c, "GET", "my.bkt", "a", 60, &url, &err), &err);
    assert_true(strncmp(url, "https://s3.us-east-1.amazonaws.com/my.bkt/a?", 44) == 0);
    free(url);
    es_s3_client_free(c);

    /* a client needs both halves of a key pair and a real endpoint */
    ES_ASSERT_OK(es_s3_config_default(&cfg, &err), &err);
    cfg.access_key = strdup("AKID");
    assert_int_equal(es_s3_client_new(&cfg, NULL, &c, &err), ES_ERR_CONFIG);
    free(cfg.access_key);
    cfg.access_key = NULL;
    free(cfg.endpoint);
    cfg.endpoint = strdup("ftp://x");
    assert_int_equal(es_s3_client_new(&cfg, NULL, &c, &err), ES_ERR_CONFIG);
    es_s3_config_clear(&cfg);
}

/* The multipart ETag we recompute to skip unchanged objects, against a value
 * computed independently (Python's hashlib) for the same bytes. */
static void test_multipart_etag(void **state)
{
    (void)state;
    size_t n = 17 * 1024 * 1024 + 123;
    unsigned char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)((i * 7 + 3) % 251);
    char *dir = es_test_tmpdir("s3etag");
    char *path = es_path_join(dir, "f.bin");
    es_error err;
    ES_ASSERT_OK(es_write_file_atomic(path, data, n, &err), &err);
    char etag[72];
    ES_ASSERT_OK(s3_file_multipart_etag(path, (int64_t)n, 8 * 1024 * 1024, etag, sizeof etag, &err),
                 &err);
    assert_string_equal(etag, "987b009c7de43f9b35982ecf67afc44f-3");
    uint8_t md5[16];
    char hx[33];
    es_md5(data, n, md5);
    es_hex(md5, 16, hx);
    assert_string_equal(hx, "a9060f9d39977ea053ed2798fe8f9301");
    free(data);
    es_remove_tree(dir, &err);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_list),       cmocka_unit_test(test_xml_error_and_find),
        cmocka_unit_test(test_retry_policy),   cmocka_unit_test(test_config),
        cmocka_unit_test(test_urls_and_names), cmocka_unit_test(test_presign_url),
        cmocka_unit_test(test_multipart_etag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
