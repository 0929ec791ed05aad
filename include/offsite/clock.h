/*
 * clock.h - the current time (with a testing override) and UTC time formats.
 */
#ifndef OFFSITE_CLOCK_H
#define OFFSITE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/*
 * ofs_clock_now(): Unix seconds. If the environment variable OFFSITE_NOW is set (a testing aid,
 * documented in docs/operator-guide.md) it is used instead: Unix seconds or
 * "YYYY-mm-ddTHH:MM:SSZ".
 */
int64_t ofs_clock_now(void);

/* ofs_clock_monotonic(): seconds from a monotonic clock, for rates and budgets. */
double ofs_clock_monotonic(void);

/* ofs_time_format_iso(t, buf, size): "2026-11-21T17:15:00Z". */
void ofs_time_format_iso(int64_t t, char *buf, size_t size);

/* ofs_time_format_compact(t, buf, size): "20261121_171500" (backup ids, .bak suffixes). */
void ofs_time_format_compact(int64_t t, char *buf, size_t size);

/* ofs_time_parse_iso(text, &t): the reverse of ofs_time_format_iso; OFS_ECORRUPT if malformed. */
int ofs_time_parse_iso(const char *text, int64_t *t);

#endif
