/*
 * bwlimit.h - the `bwlimit` key: a rate limit for uploads to a target, flat or by time of day,
 * and a pacer that holds a stream of writes to it.
 *
 * Syntax: a flat rate "20M" (bytes per second, the size syntax: K, M, G, T), "off", or a
 * timetable of "HH:MM,RATE" entries separated by spaces, times increasing, in local time (the
 * agent's time_zone): "08:00,5M 16:30,off" throttles from 08:00 until 16:30 and lifts the
 * limit until 08:00 the next day; before the first entry, the last one applies. One parser
 * serves the configuration (which checks the key at load, naming its line) and every driver,
 * so a value config check accepts is one every command accepts.
 */
#ifndef OFFSITE_BWLIMIT_H
#define OFFSITE_BWLIMIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ofs_bwlimit ofs_bwlimit;

/*
 * ofs_bwlimit_parse(text, &bw): OFS_ECONFIG "bwlimit 'TEXT': ..." if malformed; *bw is NULL
 * for "off", an empty text or NULL (no limit). The caller frees *bw with ofs_bwlimit_free.
 */
int ofs_bwlimit_parse(const char *text, ofs_bwlimit **out);

/* ofs_bwlimit_at(bw, time): bytes per second at Unix time, 0 = unlimited (also for bw NULL). */
uint64_t ofs_bwlimit_at(const ofs_bwlimit *bw, int64_t time);

/*
 * ofs_bwlimit_share(bw, time, ways): the rate one of `ways` concurrent requests may use at
 * time, so that together they keep to the limit (at least 1 byte per second when limited);
 * 0 = unlimited.
 */
uint64_t ofs_bwlimit_share(const ofs_bwlimit *bw, int64_t time, int ways);

/*
 * ofs_bwlimit_pace(bw, bytes): account for bytes about to be sent and sleep until they may
 * have gone at the rate that applies now, so that bytes sent / time since the first call never
 * exceeds the rate. Thread-safe: writers sharing one bw share its budget (one link). A no-op
 * for bw NULL or while the timetable says "off".
 */
void ofs_bwlimit_pace(ofs_bwlimit *bw, size_t bytes);

/* ofs_bwlimit_free(bw): NULL is a no-op. */
void ofs_bwlimit_free(ofs_bwlimit *bw);

#endif
