/*
 * cmd_report.c: `ecosight report MODEL -o report.html`: one self-contained
 * HTML file (metrics, confusion matrix, training curves, retraining history)
 * from a model version directory, MODELS_DIR/latest or MODELS_DIR.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>

static void report_usage(FILE *out)
{
    fprintf(out, "usage: ecosight report MODEL [-o FILE]\n"
                 "\n"
                 "Write one self-contained HTML report of a trained model: test metrics,\n"
                 "per-class precision/recall/F1, the confusion matrix, ROC and PR curves when\n"
                 "computed, training curves and the retraining history. It needs no server\n"
                 "and no network: open it in any browser, mail it, print it.\n"
                 "\n"
                 "  MODEL            a version directory, MODELS_DIR/latest or MODELS_DIR\n"
                 "  -o, --output F   where to write (default: report.html)\n");
}

int es_cmd_report(es_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = "report.html";
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': report_usage(stdout); return ES_EXIT_OK;
        default: return es_cli_usage_error(cli, "report", "bad option");
        }
    }
    if (optind >= argc)
        return es_cli_usage_error(cli, "report", "no model directory given");
    if (optind + 1 < argc)
        return es_cli_usage_error(cli, "report", "one model directory only");
    es_error err;
    es_error_clear(&err);
    if (es_report_write(argv[optind], out, &err) != ES_OK) {
        es_cli_error(cli, "%s", es_error_text(&err));
        return ES_EXIT_FAIL;
    }
    es_log_info(cli->log, "report written to %s", out);
    return ES_EXIT_OK;
}
