/*
 * log.h - messages to stderr for the operator. Thread-safe (one line per call).
 * Levels: error, warn, info (default), debug (-v). -q shows errors only.
 * On a terminal lines are plain; otherwise each starts with an ISO-8601 UTC time stamp, so
 * journald and cron mail are readable. Secrets are never passed to these functions.
 */
#ifndef OFFSITE_LOG_H
#define OFFSITE_LOG_H

typedef enum { OFS_LOG_ERROR = 0, OFS_LOG_WARN, OFS_LOG_INFO, OFS_LOG_DEBUG } ofs_log_level;

void ofs_log_set_level(ofs_log_level level);
ofs_log_level ofs_log_get_level(void);
void ofs_log(ofs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ofs_log_error(...) ofs_log(OFS_LOG_ERROR, __VA_ARGS__)
#define ofs_log_warn(...) ofs_log(OFS_LOG_WARN, __VA_ARGS__)
#define ofs_log_info(...) ofs_log(OFS_LOG_INFO, __VA_ARGS__)
#define ofs_log_debug(...) ofs_log(OFS_LOG_DEBUG, __VA_ARGS__)

#endif
