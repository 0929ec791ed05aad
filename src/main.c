/* main.c - `offsite`: parse the global options, run one command, map its result to an exit
 * code: the outcome the command chose (cli.exit_code), else the error kind's
 * (ofs_error_exit_code); 64 for usage errors; status keeps 0/1/2. The table is in error.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/error.h"

static const struct option main_options[] = {
    { "config", required_argument, NULL, 'c' },
    { "json", no_argument, NULL, OFS_CLI_OPT_JSON },
    { "verbose", no_argument, NULL, 'v' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OFS_CLI_OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

int main(int argc, char **argv)
{
    ofs_cli cli = { .lock_fd = -1 };
    const char *env = getenv("OFFSITE_CONFIG");
    int opt, help = 0, exit_code = 0;

    cli.config_path = env && *env ? env : OFS_CLI_DEFAULT_CONFIG;
    ofs_cli_apply_global(&cli, 0, NULL); /* log level and progress defaults */
    opterr = 0;
    /* '+': stop at the command name; its own options are parsed by the command */
    while ((opt = getopt_long(argc, argv, "+:c:vqh", main_options, NULL)) != -1) {
        if (opt == 'h') {
            help = 1;
        } else if (opt == OFS_CLI_OPT_VERSION) {
            printf("offsite %s\n", OFS_VERSION);
            return 0;
        } else if (opt == '?' || opt == ':') {
            const char *bad = optopt ? NULL : argv[optind - 1];
            if (bad)
                fprintf(stderr, "offsite: %s option '%s'\n",
                        opt == ':' ? "missing argument for" : "unknown", bad);
            else
                fprintf(stderr, "offsite: %s option '-%c'\n",
                        opt == ':' ? "missing argument for" : "unknown", optopt);
            fputs("usage: offsite [-c CONFIG] [--json] [-v|-q] COMMAND [OPTIONS]\n"
                  "HINT: offsite --help lists the commands\n", stderr);
            return OFS_CLI_EXIT_USAGE;
        } else {
            ofs_cli_apply_global(&cli, opt, optarg);
        }
    }
    if (optind >= argc) {
        if (help) {
            ofs_cli_print_help(stdout);
            return 0;
        }
        fputs("offsite: no command given\n", stderr);
        ofs_cli_print_help(stderr);
        return OFS_CLI_EXIT_USAGE;
    }
    cli.command = ofs_cli_find_command(argv[optind]);
    if (!cli.command) {
        fprintf(stderr, "offsite: unknown command '%s'\nHINT: offsite --help lists the commands\n",
                argv[optind]);
        return OFS_CLI_EXIT_USAGE;
    }
    if (help) {
        ofs_cli_print_command_help(stdout, cli.command);
        return 0;
    }

    int rc = cli.command->run(&cli, argc - optind, argv + optind);
    if (rc < 0) {
        exit_code = cli.exit_code ? cli.exit_code : ofs_error_exit_code(rc);
        ofs_cli_print_error(&cli, rc, exit_code);
    } else {
        exit_code = rc;
        if (rc != OFS_CLI_EXIT_USAGE && !cli.help_shown)
            ofs_cli_print_result(&cli);
    }
    ofs_cli_free(&cli);
    return exit_code;
}
