/* output.c - text or --json output, error reporting, human-readable sizes and durations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/text.h"

json_t *ofs_cli_result(ofs_cli *cli)
{
    if (!cli->result)
        cli->result = json_object();
    return cli->result;
}

/* output_text(out, text): text written with every control byte but \n and \t escaped: names
 * inside it come from file systems, archives and manifests (text.h). */
static void output_text(FILE *out, const char *text)
{
    size_t n = strlen(text);
    char small[1024], *heap = NULL, *escaped = small;
    size_t need = ofs_text_escape(small, sizeof(small), text, n, OFS_TEXT_MESSAGE);
    if (need >= sizeof(small) && (heap = malloc(need + 1)) != NULL) {
        ofs_text_escape(heap, need + 1, text, n, OFS_TEXT_MESSAGE);
        escaped = heap;
    }
    fputs(escaped, out);
    free(heap);
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
    fputs("offsite: ", stderr);
    output_text(stderr, message);
    fputc('\n', stderr);
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
    fputs("offsite: ", stderr);
    output_text(stderr, message);
    fputc('\n', stderr);
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

/* output_vprint(out, fmt, ap): fmt formatted, then written through output_text. */
static void output_vprint(FILE *out, const char *fmt, va_list ap)
{
    char small[1024], *heap = NULL, *text = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n >= 0 && (size_t)n >= sizeof(small) && (heap = malloc((size_t)n + 1)) != NULL) {
        vsnprintf(heap, (size_t)n + 1, fmt, again);
        text = heap;
    }
    va_end(again);
    if (n >= 0)
        output_text(out, text);
    free(heap);
}

void ofs_cli_out(ofs_cli *cli, const char *fmt, ...)
{
    va_list ap;
    if (cli->json)
        return;
    va_start(ap, fmt);
    output_vprint(stdout, fmt, ap);
    va_end(ap);
}

void ofs_cli_err(ofs_cli *cli, const char *fmt, ...)
{
    va_list ap;
    (void)cli;
    va_start(ap, fmt);
    output_vprint(stderr, fmt, ap);
    va_end(ap);
}

void ofs_json_set_name(json_t *obj, const char *key, const char *value)
{
    if (!value) {
        json_object_set_new(obj, key, json_null());
        return;
    }
    size_t n = strlen(value);
    if (ofs_text_utf8_valid(value, n)) {
        json_object_set_new(obj, key, json_stringn(value, n));
        return;
    }
    char member[64];
    char *hex = malloc(2 * n + 1);
    snprintf(member, sizeof(member), "%s_hex", key);
    if (hex) {
        ofs_hex_encode((const uint8_t *)value, n, hex);
        json_object_set_new(obj, member, json_string(hex));
    }
    free(hex);
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
