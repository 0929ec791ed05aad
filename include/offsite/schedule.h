/*
 * schedule.h - when backups are meant to run: systemd calendar events (a subset of
 * systemd.time(7)) in a time zone, and a holiday list of dates on which no run is due.
 *
 * A schedule is one or more calendar lines and the holidays. `status` measures freshness in
 * scheduled runs missed (a weekend or a holiday is no missed run), `backup --scheduled` backs
 * up the sets whose run is due, and `schedule show` prints the runs and the OnCalendar= lines
 * for the systemd timer, so the timer and the agent agree on one schedule.
 *
 * Calendar syntax, as systemd reads it (each line, whitespace-separated):
 *     [WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIME_ZONE]
 * or one of the words minutely, hourly, daily, weekly, monthly, yearly [TIME_ZONE].
 * WEEKDAYS: Mon..Sun names (or full names), lists and ranges ("Mon..Fri", "Mon,Wed,Fri").
 * Each number: "*", a value, "A..B", "A/STEP", "A..B/STEP", "*\/STEP", comma lists
 * ("9..17/2", "0,30"). A missing date is *-*-*, a missing time 00:00:00, a missing second 0.
 * TIME_ZONE: an IANA name ("America/New_York") or UTC; default: [agent] time_zone.
 * Not supported (refused, never misread): "~" (days from the month's end), fractions of a
 * second, "Mon *-*-* .." with a time zone abbreviation such as "EST".
 *
 * Daylight saving time follows systemd: a local time that does not exist that day (02:30 when
 * the clocks go forward) has no run; a local time that happens twice (01:30 when they go back)
 * runs once, at its first occurrence.
 *
 * The functions that compute times switch the process's TZ while they run: call them before
 * worker threads exist (the CLI does), never concurrently.
 */
#ifndef OFFSITE_SCHEDULE_H
#define OFFSITE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ofs_schedule ofs_schedule;

/* ofs_schedule_new(&s, default_zone): an empty schedule (no run is ever due); default_zone
 * (NULL: "UTC") is the zone of lines that name none. */
int ofs_schedule_new(ofs_schedule **out, const char *default_zone);

/* ofs_schedule_free(s): NULL is a no-op. */
void ofs_schedule_free(ofs_schedule *s);

/*
 * ofs_schedule_add(s, line): add one calendar line. OFS_ECONFIG with a message naming the
 * line and the part that is wrong ("calendar 'Mon..Fry 17:15': unknown weekday 'Fry'"); the
 * caller puts FILE:LINE in front.
 */
int ofs_schedule_add(ofs_schedule *s, const char *line);

/*
 * ofs_schedule_add_holidays(s, path): read a holiday file: one date YYYY-MM-DD a line, blank
 * lines and '#' comments allowed (a comment may follow a date). OFS_ENOTFOUND if the file
 * cannot be opened, OFS_ECONFIG "PATH:LINE: ..." for a line that is not a date.
 */
int ofs_schedule_add_holidays(ofs_schedule *s, const char *path);

/* ofs_schedule_add_holiday(s, year, month, day): one holiday; OFS_ECONFIG if not a date. */
int ofs_schedule_add_holiday(ofs_schedule *s, int year, int month, int day);

/* ofs_schedule_count(s): the number of calendar lines (0: no schedule). */
size_t ofs_schedule_count(const ofs_schedule *s);

/* ofs_schedule_line(s, i): line i as systemd's OnCalendar= takes it, with its time zone
 * always written out ("Mon..Fri 17:15 America/New_York"). */
const char *ofs_schedule_line(const ofs_schedule *s, size_t i);

/* ofs_schedule_holiday_count(s): the number of holidays. */
size_t ofs_schedule_holiday_count(const ofs_schedule *s);

/*
 * ofs_schedule_next(s, after, &next): the first scheduled run strictly after `after` (Unix
 * seconds) on a day that is not a holiday (the date in the line's own time zone).
 * OFS_ENOTFOUND if no line has a run in the next ten years (or there are no lines).
 */
int ofs_schedule_next(const ofs_schedule *s, int64_t after, int64_t *next);

/*
 * ofs_schedule_missed(s, since, now, grace): how many scheduled runs fell in (since, now -
 * grace]: runs that should have produced a backup started after `since` and are more than
 * `grace` seconds past. Counting stops at 1000.
 */
unsigned ofs_schedule_missed(const ofs_schedule *s, int64_t since, int64_t now, int64_t grace);

/* ofs_schedule_is_holiday(s, t, zone): 1 if t's date in zone (NULL: the default) is a
 * holiday. */
int ofs_schedule_is_holiday(const ofs_schedule *s, int64_t t, const char *zone);

/* ofs_time_zone_ok(zone): 1 if zone is UTC, GMT or names a file under $TZDIR (default
 * /usr/share/zoneinfo) without "..". */
int ofs_time_zone_ok(const char *zone);

#endif
