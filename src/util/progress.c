/*
 * progress.c - a progress bar (bytes, rate, ETA) on a terminal, periodic log lines elsewhere.
 */
#include "offsite/progress.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"

struct ofs_progress {
    char *label;
    atomic_uint_least64_t done;
    atomic_uint_least64_t total;
    atomic_flag drawing;     /* one drawer at a time; others skip rather than wait */
    double started;
    double next_draw;        /* guarded by drawing */
    int enabled, tty;
};

static void format_bytes(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;

    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

static void format_eta(double seconds, char *buf, size_t size)
{
    long s = (long)(seconds + 0.5);

    if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
}

/* draw(p, now, final): one bar redraw (tty) or one log line (otherwise) */
static void draw(ofs_progress *p, double now, int final)
{
    uint64_t done = atomic_load(&p->done), total = atomic_load(&p->total);
    double elapsed = now - p->started, rate = elapsed > 0.05 ? (double)done / elapsed : 0;
    char done_s[32], total_s[32], rate_s[32], eta_s[32] = "", line[256];
    int n;

    format_bytes((double)done, done_s, sizeof done_s);
    format_bytes((double)total, total_s, sizeof total_s);
    format_bytes(rate, rate_s, sizeof rate_s);
    if (total > 0 && rate > 0 && done < total && !final)
        format_eta((double)(total - done) / rate, eta_s, sizeof eta_s);
    if (p->tty) {
        char bar[31];
        size_t fill = total ? (size_t)(30.0 * (double)(done > total ? total : done) / (double)total) : 0;
        memset(bar, '#', fill);
        memset(bar + fill, '-', 30 - fill);
        bar[30] = '\0';
        if (total)
            n = snprintf(line, sizeof line, "\r%s [%s] %3.0f%% %s / %s  %s/s  %s%s\033[K", p->label,
                         bar, 100.0 * (double)(done > total ? total : done) / (double)total,
                         done_s, total_s, rate_s, eta_s[0] ? "ETA " : "", eta_s);
        else
            n = snprintf(line, sizeof line, "\r%s %s  %s/s\033[K", p->label, done_s, rate_s);
        if (final && n > 0 && (size_t)n < sizeof line - 1) {
            line[n++] = '\n';
            line[n] = '\0';
        }
        if (n > 0) {
            ssize_t w = write(STDERR_FILENO, line, strlen(line));
            (void)w;
        }
    } else if (total) {
        ofs_log_info("%s: %s of %s (%.0f%%), %s/s%s%s", p->label, done_s, total_s,
                     100.0 * (double)(done > total ? total : done) / (double)total, rate_s,
                     eta_s[0] ? ", ETA " : "", eta_s);
    } else {
        ofs_log_info("%s: %s, %s/s", p->label, done_s, rate_s);
    }
}

int ofs_progress_new(ofs_progress **out, const char *label, uint64_t total_bytes, int enabled)
{
    ofs_progress *p = calloc(1, sizeof *p);

    *out = NULL;
    if (!p || !(p->label = strdup(label ? label : ""))) {
        free(p);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    atomic_init(&p->done, 0);
    atomic_init(&p->total, total_bytes);
    atomic_flag_clear(&p->drawing);
    p->enabled = enabled;
    p->tty = isatty(STDERR_FILENO);
    p->started = ofs_clock_monotonic();
    p->next_draw = p->started + (p->tty ? 0.2 : 10.0);
    *out = p;
    return 0;
}

void ofs_progress_add(ofs_progress *p, uint64_t bytes)
{
    double now;

    if (!p)
        return;
    atomic_fetch_add(&p->done, bytes);
    if (!p->enabled || atomic_flag_test_and_set(&p->drawing))
        return;
    now = ofs_clock_monotonic();
    if (now >= p->next_draw) {
        draw(p, now, 0);
        p->next_draw = now + (p->tty ? 0.2 : 10.0);
    }
    atomic_flag_clear(&p->drawing);
}

void ofs_progress_set_total(ofs_progress *p, uint64_t total_bytes)
{
    if (p)
        atomic_store(&p->total, total_bytes);
}

void ofs_progress_done(ofs_progress *p)
{
    if (!p || !p->enabled)
        return;
    /* on a terminal the bar ends as a final line; in a log, only long work earned lines */
    while (atomic_flag_test_and_set(&p->drawing))
        ;
    if (p->tty)
        draw(p, ofs_clock_monotonic(), 1);
    atomic_flag_clear(&p->drawing);
}

void ofs_progress_free(ofs_progress *p)
{
    if (!p)
        return;
    free(p->label);
    free(p);
}
