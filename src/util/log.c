/*
 * log.c - operator messages on stderr, one write per line so threads never interleave.
 */
#include "offsite/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offsite/clock.h"
#include "offsite/text.h"

static atomic_int log_level = OFS_LOG_INFO;

void ofs_log_set_level(ofs_log_level level)
{
    atomic_store(&log_level, (int)level);
}

ofs_log_level ofs_log_get_level(void)
{
    return (ofs_log_level)atomic_load(&log_level);
}

void ofs_log(ofs_log_level level, const char *fmt, ...)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
    char line[4096], message[4096];
    size_t len = 0;
    va_list ap;
    int n;

    if ((int)level > atomic_load(&log_level))
        return;
    /* off a terminal (journald, cron mail) every line carries its UTC time */
    if (!isatty(STDERR_FILENO)) {
        char stamp[32];
        ofs_time_format_iso(ofs_clock_now(), stamp, sizeof stamp);
        n = snprintf(line, sizeof line, "%s ", stamp);
        len = n > 0 ? (size_t)n : 0;
    }
    n = snprintf(line + len, sizeof line - len, "offsite: %s", prefix[level]);
    len += n > 0 ? (size_t)n : 0;
    va_start(ap, fmt);
    n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* names in messages come from file systems and archives: no control byte reaches the
     * terminal (text.h) */
    if (n > 0) {
        size_t need = ofs_text_escape(line + len, sizeof line - len,
                                      message, strlen(message), OFS_TEXT_MESSAGE);
        len += need < sizeof line - len ? need : strlen(line + len);
    }
    if (len >= sizeof line - 1)
        len = sizeof line - 2;
    line[len++] = '\n';
    /* one write(2) per line: atomic with respect to other threads' lines */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
