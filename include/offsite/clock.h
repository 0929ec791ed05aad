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

/*
 * ofs_time_parse_date(text, time_zone, now, &t): a point in time as an operator types it on
 * the command line (list --since/--until, restore --before), read as journalctl reads them:
 *   "2026-03-14"                      00:00 that day in time_zone (an IANA name; NULL = UTC)
 *   "2026-03-14 17:30", "...T17:30:05" that time in time_zone
 *   any of those with a final "Z"     UTC
 *   "now", "today", "yesterday"       now, 00:00 today or yesterday in time_zone
 *   "36h", "7d", "1w 2d", "-7d"        that long before now (ofs_parse_duration's units)
 * OFS_ECONFIG naming the text and the accepted forms if it is none of them.
 */
int ofs_time_parse_date(const char *text, const char *time_zone, int64_t now, int64_t *t);

#endif
