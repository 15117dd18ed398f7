/*
 * config.c: S3 settings the way the AWS tools read them: environment
 * variables first, then the named profile in ~/.aws/credentials and
 * ~/.aws/config (INI files, with the indented "s3 =" sub-section), then
 * defaults. Also parses s3:// URLs.
 */
#include "ecosight/s3.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define INI_LIMIT (1u << 20)

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int set_str(char **dst, const char *v)
{
    char *n = strdup(v);
    if (!n)
        return -1;
    free(*dst);
    *dst = n;
    return 0;
}

es_status es_s3_config_default(es_s3_config *cfg, es_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->region = strdup("us-east-1");
    cfg->endpoint = strdup("https://s3.us-east-1.amazonaws.com");
    cfg->bucket = strdup(ES_S3_DEFAULT_BUCKET);
    cfg->max_attempts = 5;
    cfg->connect_timeout_s = 10;
    cfg->stall_timeout_s = 30;
    cfg->backoff_base_s = 0.2;
    cfg->backoff_max_s = 10;
    cfg->multipart_threshold = ES_S3_MULTIPART_THRESHOLD;
    cfg->part_size = ES_S3_PART_SIZE;
    cfg->part_jobs = 4;
    if (!cfg->region || !cfg->endpoint || !cfg->bucket) {
        es_s3_config_clear(cfg);
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    return ES_OK;
}

void es_s3_config_clear(es_s3_config *cfg)
{
    if (!cfg)
        return;
    if (cfg->secret_key) /* do not leave the secret in freed memory */
        memset(cfg->secret_key, 0, strlen(cfg->secret_key));
    if (cfg->session_token)
        memset(cfg->session_token, 0, strlen(cfg->session_token));
    free(cfg->access_key);
    free(cfg->secret_key);
    free(cfg->session_token);
    free(cfg->region);
    free(cfg->endpoint);
    free(cfg->bucket);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- INI profiles --------------------------------------------------------- */
typedef struct profile_vals {
    char *access_key, *secret_key, *session_token, *region, *endpoint, *addressing;
} profile_vals;

static void profile_clear(profile_vals *p)
{
    free(p->access_key);
    if (p->secret_key)
        memset(p->secret_key, 0, strlen(p->secret_key));
    free(p->secret_key);
    free(p->session_token);
    free(p->region);
    free(p->endpoint);
    free(p->addressing);
    memset(p, 0, sizeof *p);
}

static char *trim(char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Read `section` of an INI file into p (keys not already set). A missing
 * file is fine; an unreadable one is reported. */
static es_status read_profile(const char *path, const char *section, profile_vals *p,
                              es_error *err)
{
    if (!path || !es_is_file(path))
        return ES_OK;
    char *text = NULL;
    size_t len = 0;
    es_status rc = es_read_file(path, INI_LIMIT, &text, &len, err);
    if (rc != ES_OK)
        return es_error_prefix(err, "AWS profile file");
    if (len == 0) { /* (core's es_read_file leaves an empty file's buffer unterminated) */
        free(text);
        return ES_OK;
    }
    int in_section = 0;
    char parent_key[64] = "";
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int indented = line[0] == ' ' || line[0] == '\t';
        char *t = trim(line);
        if (!*t || *t == '#' || *t == ';')
            continue;
        if (*t == '[') {
            char *end = strchr(t, ']');
            if (!end)
                continue;
            *end = '\0';
            in_section = strcmp(trim(t + 1), section) == 0;
            parent_key[0] = '\0';
            continue;
        }
        if (!in_section)
            continue;
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *k = trim(t), *v = trim(eq + 1);
        char key[160];
        if (indented && parent_key[0]) {
            snprintf(key, sizeof key, "%s.%s", parent_key, k);
        } else {
            snprintf(key, sizeof key, "%s", k);
            if (!*v)
                snprintf(parent_key, sizeof parent_key, "%s", k); /* "s3 =" opens a sub-section */
            else
                parent_key[0] = '\0';
        }
        char **dst = NULL;
        if (strcmp(key, "aws_access_key_id") == 0) dst = &p->access_key;
        else if (strcmp(key, "aws_secret_access_key") == 0) dst = &p->secret_key;
        else if (strcmp(key, "aws_session_token") == 0) dst = &p->session_token;
        else if (strcmp(key, "region") == 0) dst = &p->region;
        else if (strcmp(key, "endpoint_url") == 0 || strcmp(key, "s3.endpoint_url") == 0) dst = &p->endpoint;
        else if (strcmp(key, "s3.addressing_style") == 0) dst = &p->addressing;
        if (dst && !*dst && *v) {
            *dst = strdup(v);
            if (!*dst) {
                memset(text, 0, len);
                free(text);
                return es_error_set(err, ES_ERR_NOMEM, "out of memory");
            }
        }
    }
    memset(text, 0, len); /* may hold secrets */
    free(text);
    return ES_OK;
}

static es_status normalise_endpoint(char **endpoint, es_error *err)
{
    char *e = *endpoint;
    if (strncmp(e, "http://", 7) != 0 && strncmp(e, "https://", 8) != 0) {
        /* "host:port" without a scheme: assume https, as the AWS tools do */
        size_t n = strlen(e) + 9;
        char *w = malloc(n);
        if (!w)
            return es_error_set(err, ES_ERR_NOMEM, "out of memory");
        snprintf(w, n, "https://%s", e);
        free(e);
        *endpoint = e = w;
    }
    size_t n = strlen(e);
    while (n > 0 && e[n - 1] == '/')
        e[--n] = '\0';
    const char *host = strstr(e, "://") + 3;
    if (!*host || strchr(host, '/') || strchr(host, '?'))
        return es_error_set(err, ES_ERR_CONFIG,
                            "S3 endpoint '%s' must be scheme://host[:port] without a path", e);
    return ES_OK;
}

es_status es_s3_config_from_env(es_s3_config *cfg, es_error *err)
{
    es_status rc = es_s3_config_default(cfg, err);
    if (rc != ES_OK)
        return rc;
    const char *profile = env_nonempty("AWS_PROFILE");
    if (!profile)
        profile = env_nonempty("AWS_DEFAULT_PROFILE");
    if (!profile)
        profile = "default";
    const char *home = env_nonempty("HOME");
    char cred_path[4096] = "", conf_path[4096] = "";
    const char *cp = env_nonempty("AWS_SHARED_CREDENTIALS_FILE");
    const char *fp = env_nonempty("AWS_CONFIG_FILE");
    if (cp)
        snprintf(cred_path, sizeof cred_path, "%s", cp);
    else if (home)
        snprintf(cred_path, sizeof cred_path, "%s/.aws/credentials", home);
    if (fp)
        snprintf(conf_path, sizeof conf_path, "%s", fp);
    else if (home)
        snprintf(conf_path, sizeof conf_path, "%s/.aws/config", home);

    profile_vals pv = {0};
    char conf_section[300];
    if (strcmp(profile, "default") == 0)
        snprintf(conf_section, sizeof conf_section, "default");
    else
        snprintf(conf_section, sizeof conf_section, "profile %s", profile);
    rc = read_profile(cred_path[0] ? cred_path : NULL, profile, &pv, err);
    if (rc == ES_OK)
        rc = read_profile(conf_path[0] ? conf_path : NULL, conf_section, &pv, err);
    if (rc != ES_OK)
        goto fail;

    /* credentials: the environment pair wins as a pair */
    const char *ak = env_nonempty("AWS_ACCESS_KEY_ID");
    const char *sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
    if (ak && sk) {
        cfg->access_key = dup_or_null(ak);
        cfg->secret_key = dup_or_null(sk);
        cfg->session_token = dup_or_null(env_nonempty("AWS_SESSION_TOKEN"));
    } else if (ak || sk) {
        rc = es_error_set(err, ES_ERR_CONFIG,
                          "%s is set but %s is not", ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        goto fail;
    } else if (pv.access_key && pv.secret_key) {
        cfg->access_key = pv.access_key;
        cfg->secret_key = pv.secret_key;
        cfg->session_token = pv.session_token;
        pv.access_key = pv.secret_key = pv.session_token = NULL;
    } else if (strcmp(profile, "default") != 0 && !pv.region && !pv.endpoint) {
        rc = es_error_set(err, ES_ERR_CONFIG,
                          "AWS profile '%s' not found in %s or %s", profile,
                          cred_path[0] ? cred_path : "(no credentials file)",
                          conf_path[0] ? conf_path : "(no config file)");
        goto fail;
    }
    if ((cfg->access_key && !cfg->secret_key) ||
        (ak && sk && (!cfg->access_key || !cfg->secret_key))) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }

    const char *region = env_nonempty("AWS_REGION");
    if (!region)
        region = env_nonempty("AWS_DEFAULT_REGION");
    if (!region)
        region = pv.region;
    if (region && set_str(&cfg->region, region) != 0) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }

    const char *endpoint = env_nonempty("AWS_ENDPOINT_URL_S3");
    if (!endpoint)
        endpoint = env_nonempty("AWS_ENDPOINT_URL");
    if (!endpoint)
        endpoint = pv.endpoint;
    char aws_ep[256];
    if (!endpoint) {
        snprintf(aws_ep, sizeof aws_ep, "https://s3.%s.amazonaws.com", cfg->region);
        endpoint = aws_ep;
        cfg->path_style = 0;
    } else {
        cfg->path_style = 1; /* S3-compatible stores rarely do virtual hosts */
    }
    if (set_str(&cfg->endpoint, endpoint) != 0) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    rc = normalise_endpoint(&cfg->endpoint, err);
    if (rc != ES_OK)
        goto fail;
    const char *ps = env_nonempty("ES_S3_PATH_STYLE");
    if (!ps)
        ps = env_nonempty("AWS_S3_FORCE_PATH_STYLE");
    if (ps)
        cfg->path_style = strcmp(ps, "1") == 0 || strcasecmp(ps, "true") == 0;
    else if (pv.addressing)
        cfg->path_style = strcmp(pv.addressing, "path") == 0 ? 1
                          : strcmp(pv.addressing, "virtual") == 0 ? 0 : cfg->path_style;

    const char *bucket = env_nonempty("S3_BUCKET");
    if (bucket && set_str(&cfg->bucket, bucket) != 0) {
        rc = es_error_set(err, ES_ERR_NOMEM, "out of memory");
        goto fail;
    }
    const char *ma = env_nonempty("AWS_MAX_ATTEMPTS");
    if (ma) {
        char *end;
        long v = strtol(ma, &end, 10);
        if (*end || v < 1 || v > 20) {
            rc = es_error_set(err, ES_ERR_CONFIG, "AWS_MAX_ATTEMPTS must be 1..20, not '%s'", ma);
            goto fail;
        }
        cfg->max_attempts = (int)v;
    }
    profile_clear(&pv);
    return ES_OK;
fail:
    profile_clear(&pv);
    es_s3_config_clear(cfg);
    return rc;
}

es_status es_s3_parse_url(const char *url, char **bucket, char **prefix, es_error *err)
{
    if (!url || strncmp(url, "s3://", 5) != 0)
        return es_error_set(err, ES_ERR_INVALID, "'%s' is not an s3://BUCKET/PREFIX URL",
                            url ? url : "(null)");
    const char *b = url + 5;
    const char *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    if (blen < 3 || blen > 63)
        return es_error_set(err, ES_ERR_INVALID, "'%s': bucket names are 3 to 63 characters", url);
    for (size_t i = 0; i < blen; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_'))
            return es_error_set(err, ES_ERR_INVALID,
                                "'%s': bucket names use lower-case letters, digits, '.', '-'", url);
    }
    *bucket = strndup(b, blen);
    *prefix = strdup(slash ? slash + 1 : "");
    if (!*bucket || !*prefix) {
        free(*bucket);
        free(*prefix);
        *bucket = *prefix = NULL;
        return es_error_set(err, ES_ERR_NOMEM, "out of memory");
    }
    return ES_OK;
}
