/*
 * progress.h - progress of long work (backup, push, restore): a bar with bytes, rate and ETA
 * redrawn on a terminal (stderr is a tty and not -q), or a log line every 10 s otherwise.
 * ofs_progress_add is thread-safe and cheap (an atomic add); drawing happens at most 5 times
 * a second from whichever thread crosses the interval.
 */
#ifndef OFFSITE_PROGRESS_H
#define OFFSITE_PROGRESS_H

#include <stdint.h>

typedef struct ofs_progress ofs_progress;

/* ofs_progress_new(&p, label, total_bytes): total 0 = unknown (no ETA). enabled 0 = silent. */
int ofs_progress_new(ofs_progress **out, const char *label, uint64_t total_bytes, int enabled);
void ofs_progress_add(ofs_progress *p, uint64_t bytes);  /* NULL p is a no-op */
void ofs_progress_set_total(ofs_progress *p, uint64_t total_bytes);
/* ofs_progress_done(p): final line (clears the bar on a terminal). */
void ofs_progress_done(ofs_progress *p);
void ofs_progress_free(ofs_progress *p);

#endif
