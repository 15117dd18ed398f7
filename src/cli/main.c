/*
 * main.c: the `ecosight` command: global options, then one subcommand.
 *
 *   ecosight [-q|-v|--log-level L] COMMAND [args]     (ECOSIGHT_LOG sets the level too)
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static int cmd_version(es_cli *cli, int argc, char **argv);
static int cmd_help(es_cli *cli, int argc, char **argv);

static const es_cmd commands[] = {
    {"info", es_cmd_info, "show format, channels, rate and duration of audio files"},
    {"augment", es_cmd_augment, "write the original and K seeded augmentations of each recording"},
    {"upload", es_cmd_upload, "upload audio folders to S3 (incremental, parallel)"},
    {"download", es_cmd_download, "download an S3 prefix into a folder (incremental, resumable)"},
    {"serve", es_cmd_serve, "serve predictions, uploads and retraining over HTTP"},
    {"report", es_cmd_report, "write a self-contained HTML report of a trained model"},
    {"yamnet", es_cmd_yamnet, "run YAMNet on an audio file: top AudioSet classes, raw arrays"},
    {"train", es_cmd_train, "train a new model version from a folder of labelled recordings"},
    {"evaluate", es_cmd_evaluate, "score a model on a labelled folder (metrics)"},
    {"predict", es_cmd_predict, "classify audio files (optionally a timeline of windows)"},
    {"retrain", es_cmd_retrain, "download new recordings, retrain when due, publish the model"},
    {"models", es_cmd_models, "list, pull or roll back model versions (local and S3)"},
    {"status", es_cmd_status, "training catalog: classes, new recordings, cache, current model"},
    {"version", cmd_version, "print the version"},
    {"help", cmd_help, "show help for a command"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ecosight [global options] COMMAND [args]\n"
            "\n"
            "EcoSight: environmental-sound classification for anti-poaching monitoring.\n"
            "\n"
            "Global options:\n"
            "  -q, --quiet          print only results and errors\n"
            "  -v, --verbose        more detail (repeat for trace)\n"
            "      --log-level L    quiet|error|warn|info|debug|trace (env ECOSIGHT_LOG)\n"
            "  -h, --help           this help\n"
            "      --version        print the version\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'ecosight COMMAND --help' for a command's options.\n"
                 "Exit codes: 0 success, 1 failure, 2 usage error.\n");
}

static int cmd_version(es_cli *cli, int argc, char **argv)
{
    (void)cli;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ecosight version\n\nPrint the version of ecosight.\n");
        return ES_EXIT_OK;
    }
    if (argc > 1)
        return es_cli_usage_error(cli, "version", "unexpected argument '%s'", argv[1]);
    printf("ecosight %s\n", es_version());
    return ES_EXIT_OK;
}

static const es_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int cmd_help(es_cli *cli, int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return ES_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: ecosight help [COMMAND]\n\n"
               "Show the list of commands, or the help of one command\n"
               "(the same as 'ecosight COMMAND --help').\n");
        return ES_EXIT_OK;
    }
    if (argc > 2)
        return es_cli_usage_error(cli, "help", "unexpected argument '%s'", argv[2]);
    const es_cmd *c = find_cmd(argv[1]);
    if (!c)
        return es_cli_usage_error(cli, "help", "unknown command '%s'", argv[1]);
    char *args[] = {argv[1], "--help", NULL};
    return c->fn(cli, 2, args);
}

void es_cli_error(const es_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", cli && cli->prog ? cli->prog : "ecosight");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int es_cli_usage_error(const es_cli *cli, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s%s%s: ", cli && cli->prog ? cli->prog : "ecosight", cmd ? " " : "",
            cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'ecosight %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    va_end(ap);
    return ES_EXIT_USAGE;
}

int es_cli_parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int es_cli_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int es_cli_parse_threads(const char *s, int *out)
{
    long v;
    if (es_cli_parse_int(s, 0, 1024, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

int es_cli_print_line(const char *s)
{
    if (fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF || fflush(stdout) == EOF)
        return ES_EXIT_FAIL;
    return ES_EXIT_OK;
}

int main(int argc, char **argv)
{
    es_cli cli = {.prog = "ecosight", .level = ES_LOG_INFO};
    /* A closed stdout pipe must be an error we report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);

    const char *env = getenv("ECOSIGHT_LOG");
    if (env && *env && es_log_level_parse(env, &cli.level) != ES_OK) {
        fprintf(stderr, "ecosight: ignoring unknown ECOSIGHT_LOG value '%s'\n", env);
        cli.level = ES_LOG_INFO;
    }

    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},   {"verbose", no_argument, NULL, 'v'},
        {"log-level", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    /* '+': stop at the first non-option (the command). */
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:qvh", opts, NULL)) != -1) {
        switch (c) {
        case 'q': cli.level = ES_LOG_ERROR; break;
        case 'v':
            if (cli.level < ES_LOG_TRACE)
                cli.level = cli.level < ES_LOG_INFO ? ES_LOG_DEBUG : (es_log_level)(cli.level + 1);
            break;
        case 'L':
            if (es_log_level_parse(optarg, &cli.level) != ES_OK)
                return es_cli_usage_error(&cli, NULL, "unknown log level '%s'", optarg);
            break;
        case 'h': usage(stdout); return ES_EXIT_OK;
        case 'V': printf("ecosight %s\n", es_version()); return ES_EXIT_OK;
        case ':':
            return es_cli_usage_error(&cli, NULL, "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && optopt != '?')
                return es_cli_usage_error(&cli, NULL, "unknown option '-%c'", optopt);
            return es_cli_usage_error(&cli, NULL, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return ES_EXIT_USAGE;
    }
    const es_cmd *cmd = find_cmd(argv[optind]);
    if (!cmd)
        return es_cli_usage_error(&cli, NULL, "unknown command '%s'", argv[optind]);
    es_error err;
    if (es_log_new(cli.level, stderr, &cli.log, &err) != ES_OK) {
        fprintf(stderr, "ecosight: %s\n", es_error_text(&err));
        return ES_EXIT_FAIL;
    }
    /* Subcommands parse with getopt_long from their own argv[0]; optind = 0
     * makes glibc's getopt start afresh. */
    int first = optind;
    optind = 0;
    opterr = 1;
    int rc = cmd->fn(&cli, argc - first, argv + first);
    es_log_free(cli.log);
    return rc;
}
