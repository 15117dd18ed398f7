/*
 * cli.h: what the `ecosight` subcommands share. The CLI is a thin front door:
 * it parses arguments, calls the public API (include/ecosight/) and prints.
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
#ifndef ES_CLI_H
#define ES_CLI_H

#include "ecosight/es.h"

#define ES_EXIT_OK 0
#define ES_EXIT_FAIL 1
#define ES_EXIT_USAGE 2

typedef struct es_cli {
    const char *prog;     /* "ecosight" */
    es_log *log;          /* levelled logger on stderr */
    es_log_level level;
} es_cli;

typedef int (*es_cmd_fn)(es_cli *cli, int argc, char **argv);

typedef struct es_cmd {
    const char *name;
    es_cmd_fn fn;
    const char *summary;
} es_cmd;

/* Print "ecosight: error: <msg>" to stderr (even with -q: errors are output). */
void es_cli_error(const es_cli *cli, const char *fmt, ...) ES_PRINTF(2, 3);
/* Print a usage error with a hint to --help; returns ES_EXIT_USAGE. */
int es_cli_usage_error(const es_cli *cli, const char *cmd, const char *fmt, ...) ES_PRINTF(3, 4);
/* Parse helpers: return 0 on success, -1 on a malformed value. */
int es_cli_parse_int(const char *s, long min, long max, long *out);
int es_cli_parse_double(const char *s, double min, double max, double *out);
/* --threads N: 0 or absent means all cores. */
int es_cli_parse_threads(const char *s, int *out);
/* Write a string followed by a newline to stdout; returns ES_EXIT_FAIL if
 * stdout fails (e.g. a closed pipe). */
int es_cli_print_line(const char *s);

/* Subcommands (one file each: cmd_<name>.c). */
int es_cmd_info(es_cli *cli, int argc, char **argv);
int es_cmd_yamnet(es_cli *cli, int argc, char **argv);
int es_cmd_serve(es_cli *cli, int argc, char **argv);
int es_cmd_report(es_cli *cli, int argc, char **argv);
int es_cmd_augment(es_cli *cli, int argc, char **argv);
int es_cmd_upload(es_cli *cli, int argc, char **argv);
int es_cmd_download(es_cli *cli, int argc, char **argv);
/* upload/download share their front end (cmd_upload.c); download = 1 for download. */
int es_cli_s3_sync(es_cli *cli, int argc, char **argv, int download);
int es_cmd_serve(es_cli *cli, int argc, char **argv);
int es_cmd_report(es_cli *cli, int argc, char **argv);
int es_cmd_yamnet(es_cli *cli, int argc, char **argv);
int es_cmd_train(es_cli *cli, int argc, char **argv);
int es_cmd_evaluate(es_cli *cli, int argc, char **argv);
int es_cmd_predict(es_cli *cli, int argc, char **argv);
int es_cmd_retrain(es_cli *cli, int argc, char **argv);
int es_cmd_models(es_cli *cli, int argc, char **argv);
int es_cmd_status(es_cli *cli, int argc, char **argv);

#endif
