/* output.c - text or --json output, error reporting, human-readable sizes and durations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"

json_t *ofs_cli_result(ofs_cli *cli)
{
    if (!cli->result)
        cli->result = json_object();
    return cli->result;
}

static void output_json_error(ofs_cli *cli, const char *code_name, int exit_code,
                              const char *message)
{
    json_t *error = json_pack("{s:s, s:i, s:s, s:s}", "code", code_name, "exit", exit_code,
                              "outcome", ofs_exit_name(exit_code), "message", message);
    json_t *result = ofs_cli_result(cli);
    if (error && result)
        json_object_set_new(result, "error", error);
    else
        json_decref(error);
    ofs_cli_print_result(cli);
}

int ofs_cli_usage_error(ofs_cli *cli, const char *fmt, ...)
{
    char message[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    fprintf(stderr, "offsite: %s\n", message);
    if (cli->command)
        fprintf(stderr, "usage: offsite %s\nHINT: offsite %s --help describes the options\n",
                cli->command->usage, cli->command->name);
    if (cli->json)
        output_json_error(cli, "usage", OFS_CLI_EXIT_USAGE, message);
    return OFS_CLI_EXIT_USAGE;
}

void ofs_cli_print_error(ofs_cli *cli, int code, int exit_code)
{
    const char *message = ofs_error_last();
    if (!*message)
        message = ofs_error_name(code);
    fprintf(stderr, "offsite: %s\n", message);
    if (cli->json)
        output_json_error(cli, ofs_error_name(code), exit_code, message);
}

void ofs_cli_print_result(ofs_cli *cli)
{
    if (!cli->json)
        return;
    json_t *result = ofs_cli_result(cli);
    char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    /* out of memory: still one valid JSON document */
    fputs(text ? text : "{}", stdout);
    fputc('\n', stdout);
    fflush(stdout);
    free(text);
}

void ofs_cli_out(ofs_cli *cli, const char *fmt, ...)
{
    va_list ap;
    if (cli->json)
        return;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
}

void ofs_format_size(uint64_t bytes, char *buf, size_t size)
{
    static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (bytes < 1024) {
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
        return;
    }
    double value = (double)bytes / 1024.0;
    size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < sizeof(units) / sizeof(units[0])) {
        value /= 1024.0;
        unit++;
    }
    snprintf(buf, size, value < 10.0 ? "%.1f %s" : "%.0f %s", value, units[unit]);
}

void ofs_format_rate(uint64_t bytes, double seconds, char *buf, size_t size)
{
    char amount[32];
    if (seconds <= 0.0) {
        snprintf(buf, size, "-");
        return;
    }
    ofs_format_size((uint64_t)((double)bytes / seconds), amount, sizeof(amount));
    snprintf(buf, size, "%s/s", amount);
}

void ofs_format_seconds(double seconds, char *buf, size_t size)
{
    if (seconds < 10.0)
        snprintf(buf, size, "%.2f s", seconds);
    else if (seconds < 60.0)
        snprintf(buf, size, "%.1f s", seconds);
    else if (seconds < 3600.0)
        snprintf(buf, size, "%dm %02ds", (int)seconds / 60, (int)seconds % 60);
    else
        snprintf(buf, size, "%dh %02dm", (int)seconds / 3600, ((int)seconds % 3600) / 60);
}

json_t *ofs_json_time(int64_t t)
{
    char text[32];
    ofs_time_format_iso(t, text, sizeof(text));
    return json_string(text);
}
