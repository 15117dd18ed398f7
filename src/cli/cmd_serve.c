/*
 * cmd_serve.c: `ecosight serve`: run the HTTP API until SIGTERM/SIGINT, then
 * drain (requests in flight finish) and exit 0.
 *
 * The signals are blocked before the server's threads start, so they inherit
 * the mask and only this thread receives them, through sigwait: no handler
 * runs in the middle of a request.
 */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: ecosight serve [options]\n"
            "\n"
            "Serve predictions, uploads and retraining over HTTP (see docs/API.md).\n"
            "\n"
            "  --host ADDR          address to bind (default 0.0.0.0)\n"
            "  --port N             TCP port (default $PORT, else 8000; 0 = any free port)\n"
            "  --port-file FILE     write the bound port to FILE once listening\n"
            "  --models DIR         models directory (default models/)\n"
            "  --data DIR           where uploads are stored (default extracted_audio/)\n"
            "  --yamnet FILE        the YAMNet model file (default: searched)\n"
            "  --threads N          worker threads for predictions/uploads (default: cores)\n"
            "  --max-upload-mb N    request body limit in MiB (default 25)\n"
            "  --cors ORIGINS       allowed CORS origins, comma-separated, '*' = any\n"
            "                       (default $ECOSIGHT_CORS_ORIGINS, else '*')\n"
            "  --timeout S          idle connection timeout in seconds (default 30)\n"
            "  --max-connections N  concurrent connections (default 1024)\n"
            "  --max-connections-per-ip N  concurrent connections from one client address\n"
            "                       (default 64; 0 = no limit, e.g. behind a reverse proxy)\n"
            "  --access-log FILE    access log ('-' = stdout, the default; 'off' = none)\n"
            "  --drain-seconds S    on SIGTERM, wait at most S s for requests in flight (30)\n"
            "Retraining (POST /retrain), as `ecosight retrain` / `ecosight train`:\n"
            "  --retrain-epochs N   epochs (training default 100)\n"
            "  --retrain-per-file N|auto  augmentations per original (training default)\n"
            "  --retrain-max-files-per-class N  use at most N files per class (0 = all)\n"
            "  --retrain-threads N  threads for retraining (default half the cores)\n"
            "\n"
            "Environment: ECOSIGHT_API_TOKEN (when set, /upload and /retrain need\n"
            "'Authorization: Bearer <token>'), PORT, ECOSIGHT_CORS_ORIGINS, S3 settings.\n");
}

int es_cmd_serve(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},      {"port", required_argument, NULL, 'p'},
        {"port-file", required_argument, NULL, 'P'}, {"models", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'},      {"yamnet", required_argument, NULL, 'y'},
        {"threads", required_argument, NULL, 't'},   {"max-upload-mb", required_argument, NULL, 'u'},
        {"cors", required_argument, NULL, 'c'},      {"timeout", required_argument, NULL, 'T'},
        {"max-connections", required_argument, NULL, 'C'},
        {"max-connections-per-ip", required_argument, NULL, 'I'},
        {"access-log", required_argument, NULL, 'a'},
        {"drain-seconds", required_argument, NULL, 'D'},
        {"retrain-epochs", required_argument, NULL, 'E'},
        {"retrain-per-file", required_argument, NULL, 'F'},
        {"retrain-max-files-per-class", required_argument, NULL, 'M'},
        {"retrain-threads", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    es_server_config cfg = es_server_default_config();
    cfg.host = "0.0.0.0";
    const char *env_port = getenv("PORT");
    long v;
    if (env_port && *env_port) {
        if (es_cli_parse_int(env_port, 0, 65535, &v) != 0)
            return es_cli_usage_error(cli, "serve", "PORT='%s' is not a port number", env_port);
        cfg.port = (int)v;
    }
    const char *env_cors = getenv("ECOSIGHT_CORS_ORIGINS");
    if (env_cors)
        cfg.cors_origins = env_cors;
    const char *port_file = NULL, *access = "-";
    double drain = 30.0, d;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'H': cfg.host = optarg; break;
        case 'p':
            if (es_cli_parse_int(optarg, 0, 65535, &v) != 0)
                return es_cli_usage_error(cli, "serve", "bad --port '%s'", optarg);
            cfg.port = (int)v;
            break;
        case 'P': port_file = optarg; break;
        case 'm': cfg.models_dir = optarg; break;
        case 'd': cfg.data_dir = optarg; break;
        case 'y': cfg.yamnet_path = optarg; break;
        case 't':
            if (es_cli_parse_threads(optarg, &cfg.threads) != 0)
                return es_cli_usage_error(cli, "serve", "bad --threads '%s'", optarg);
            break;
        case 'u':
            if (es_cli_parse_double(optarg, 0.001, 4096, &d) != 0)
                return es_cli_usage_error(cli, "serve", "bad --max-upload-mb '%s'", optarg);
            cfg.max_upload_bytes = (size_t)(d * 1024 * 1024);
            break;
        case 'c': cfg.cors_origins = optarg; break;
        case 'T':
            if (es_cli_parse_int(optarg, 1, 3600, &v) != 0)
                return es_cli_usage_error(cli, "serve", "bad --timeout '%s'", optarg);
            cfg.connection_timeout_s = (unsigned)v;
            break;
        case 'C':
            if (es_cli_parse_int(optarg, 1, 100000, &v) != 0)
                return es_cli_usage_error(cli, "serve", "bad --max-connections '%s'", optarg);
            cfg.max_connections = (unsigned)v;
            break;
        case 'I':
            if (es_cli_parse_int(optarg, 0, 100000, &v) != 0)
                return es_cli_usage_error(cli, "serve", "bad --max-connections-per-ip '%s'", optarg);
            cfg.max_connections_per_ip = (unsigned)v;
            break;
        case 'a': access = optarg; break;
        case 'D':
            if (es_cli_parse_double(optarg, 0, 3600, &drain) != 0)
                return es_cli_usage_error(cli, "serve", "bad --drain-seconds '%s'", optarg);
            break;
        case 'E':
            if (es_cli_parse_int(optarg, 1, 100000, &v) != 0)
                return es_cli_usage_error(cli, "serve", "bad --retrain-epochs '%s'", optarg);
            cfg.retrain_epochs = (int)v;
            break;
        case 'F':
            if (strcmp(optarg, "auto") == 0)
                cfg.retrain_per_file = -1;
            else if (es_cli_parse_int(optarg, 0, 11, &v) == 0)
                cfg.retrain_per_file = (int)v;
            else
                return es_cli_usage_error(cli, "serve", "bad --retrain-per-file '%s'", optarg);
            break;
        case 'M':
            if (es_cli_parse_int(optarg, 0, 1000000000, &v) != 0)
                return es_cli_usage_error(cli, "serve", "bad --retrain-max-files-per-class '%s'", optarg);
            cfg.retrain_max_files = (int)v;
            break;
        case 'R':
            if (es_cli_parse_threads(optarg, &cfg.retrain_threads) != 0)
                return es_cli_usage_error(cli, "serve", "bad --retrain-threads '%s'", optarg);
            break;
        case 'h': serve_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "serve", "bad option");
        }
    }
    if (optind < argc)
        return es_cli_usage_error(cli, "serve", "unexpected argument '%s'", argv[optind]);
    cfg.api_token = getenv("ECOSIGHT_API_TOKEN");
    cfg.log = cli->log;

    FILE *alog = NULL;
    if (strcmp(access, "-") == 0) {
        cfg.access_log = stdout;
    } else if (strcmp(access, "off") != 0) {
        alog = fopen(access, "a");
        if (!alog) {
            es_cli_error(cli, "cannot open access log %s", access);
            return ES_EXIT_FAIL;
        }
        cfg.access_log = alog;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    es_error err;
    es_error_clear(&err);
    es_server *srv = NULL;
    if (es_server_start(&cfg, &srv, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        if (alog)
            fclose(alog);
        return ES_EXIT_FAIL;
    }
    int port = es_server_port(srv);
    es_log_info(cli->log, "serving on http://%s:%d (models %s, data %s%s)", cfg.host, port,
                cfg.models_dir, cfg.data_dir, cfg.api_token && *cfg.api_token ? ", token required" : "");
    if (port_file) {
        char text[16];
        int n = snprintf(text, sizeof text, "%d\n", port);
        if (es_write_file_atomic(port_file, text, (size_t)n, &err) != ES_OK) {
            es_cli_error(cli, "%s", es_error_text(&err));
            es_server_free(srv);
            if (alog)
                fclose(alog);
            return ES_EXIT_FAIL;
        }
    }
    int sig = 0;
    sigwait(&set, &sig);
    /* A library may have started a thread before the mask was set (OpenBLAS
     * does, in its constructor), and a second signal during the drain would
     * reach it and kill the process mid-drain. The drain is bounded by
     * --drain-seconds: further signals are ignored. */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &ign, NULL);
    sigaction(SIGINT, &ign, NULL);
    es_log_info(cli->log, "%s: draining (at most %.0f s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                drain);
    es_server_stop(srv, drain);
    es_server_free(srv);
    es_log_info(cli->log, "stopped");
    if (alog)
        fclose(alog);
    return ES_EXIT_OK;
}
