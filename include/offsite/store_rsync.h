/*
 * store_rsync.h - the `rsync` store driver: a remote directory reached by the real rsync
 * program, over ssh (`url = [user@]host:/path`) or an rsync daemon
 * (`url = rsync://[user@]host[:port]/module[/path]`). No remote shell is needed beyond rsync
 * itself, so a daemon module or an ssh account limited to rsync (rrsync) works too.
 *
 * How each operation maps onto rsync (src/store/rsync.c):
 *   put   the bytes are spooled to a private file under cache_dir; finish uploads it with
 *         `-R` (so the key's directories are created on the way) and `--temp-dir=.tmp-rsync`
 *         (ROOT/.tmp-rsync, created by the store on its first put): rsync writes there and
 *         renames into place only when the whole file arrived, so the final name never holds
 *         a partial object. `--partial-dir=.tmp-partial` keeps an interrupted upload in the
 *         key's directory, and the next put of the key resumes from it (rsync's delta).
 *         OFS_PUT_IF_ABSENT uses `--ignore-existing` and reads rsync's itemized output to
 *         know whether the file was written: not atomic against a concurrent writer (caps
 *         has no CONDITIONAL).
 *   get   the whole object is downloaded into cache_dir, unlinked at once (the open descriptor
 *         keeps it readable, a crash leaves nothing), and the range is served from it.
 *   stat, list   `rsync --list-only --no-h -8 [-r]`, parsed (names with spaces, UTF-8,
 *         rsync's \#ooo escapes); list sorts the whole listing of the prefix's directory.
 *         Entries below a ".tmp*" component (rsync's temp and partial dirs) are never shown.
 *   del   an empty local skeleton of the key's directories is synced onto the root with
 *         `--existing --delete` and filter rules that select only that one file.
 * Remote rsync 3.0 or newer is enough (no --mkpath). The local rsync is found in PATH.
 *
 * Configuration ([target NAME], include/offsite/config.h):
 *   url            as above. Hosts, users and modules are [A-Za-z0-9._-] (an IPv6 address in
 *                  brackets) and never start with '-', so nothing can be read as an option.
 *   ssh_command    ssh urls only; default "ssh". Split into words here: blanks separate
 *                  words, '...' quotes literally, "..." quotes with \" and \\ escapes, a
 *                  backslash outside quotes escapes the next character; no variables, no ~
 *                  expansion by us (ssh expands ~ in -i itself). The words are re-quoted for
 *                  rsync's own -e splitter, so any word reaches ssh unchanged. When the
 *                  program is ssh, "-o BatchMode=yes -o ConnectTimeout=30" are added after
 *                  the configured words (ssh keeps the first value, so the config's win).
 *   password_file  daemon urls only: passed as --password-file; must not be readable by
 *                  group or others (checked here for a clear message).
 *   bwlimit        parsed as every driver does (ofs_bwlimit_parse, bwlimit.h: "20M" = 20
 *                  MiB/s, "off", or a timetable "08:00,5M 16:30,off" in local time); each
 *                  upload or download gets --bwlimit (KiB/s) for the rate at its start, so one
 *                  object that runs across a boundary keeps the rate it began with.
 * rsync runs with stdin on /dev/null, in its own session (no controlling terminal, so neither
 * rsync nor ssh can prompt), with TZ=UTC, --timeout=120 and, for daemons, --contimeout=30.
 *
 * Failures: rsync's exit status and the last lines of its stderr (bounded) become the message;
 * auth failure, host key and publickey refusals are OFS_EDENIED, an unknown module
 * OFS_ECONFIG, unreachable hosts, dropped connections and timeouts OFS_ETRANSIENT (retried by
 * store.c), "No space left" OFS_ENOSPC, a missing object OFS_ENOTFOUND.
 */
#ifndef OFFSITE_STORE_RSYNC_H
#define OFFSITE_STORE_RSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/config.h"
#include "offsite/store.h"

/*
 * ofs_store_rsync_new(&store, target, cache_dir): an rsync store for a [target] section of
 * type rsync. cache_dir is a local directory for spooling uploads and downloads (each
 * operation uses a private subdirectory "rsync-PID-XXXXXX", removed when it ends; at most one
 * object per operation in flight, so it needs room for the largest object times the uploads
 * run at once); it is created (mode 0700) if missing and must not lie inside a store's root.
 * Spool directories of processes that are gone (kill -9) are removed here and by
 * ofs_store_sweep. NULL means $TMPDIR (or /tmp). Nothing remote is touched here.
 * OFS_ECONFIG naming the config line for a bad url, ssh_command, password_file or bwlimit.
 */
int ofs_store_rsync_new(ofs_store **out, const ofs_config_target *target, const char *cache_dir);

/* ---- the pure parts, exposed for tests (src/store/rsync_parse.c) ---- */

typedef struct ofs_rsync_url {
    int daemon;       /* 1: rsync://, 0: ssh */
    char *user;       /* NULL if none */
    char *host;       /* without brackets */
    int port;         /* daemon only; 0 = default */
    char *module;     /* daemon only */
    char *path;       /* the root below host: or module/, no trailing '/'; "" = module root */
} ofs_rsync_url;

/* ofs_rsync_url_parse(&url, text): OFS_ECONFIG with the reason; clear with _url_clear. */
int ofs_rsync_url_parse(ofs_rsync_url *url, const char *text);
void ofs_rsync_url_clear(ofs_rsync_url *url);

/*
 * ofs_rsync_url_remote(url, rel, dir): the argument naming ROOT/rel on the remote side
 * (rel "" = the root), with a trailing '/' if dir. Components holding a wildcard (* ? [) are
 * backslash-escaped, because the remote rsync expands wildcards in its arguments. Malloc'd.
 */
char *ofs_rsync_url_remote(const ofs_rsync_url *url, const char *rel, int dir);

/* ofs_rsync_filter_escape(name, force): name escaped for an rsync filter pattern: backslashes
 * before * ? [ and \ when name holds a wildcard or force (the pattern will hold one). */
char *ofs_rsync_filter_escape(const char *name, int force);

/*
 * ofs_rsync_split_words(text, &words, &count): ssh_command split as documented above.
 * words is a NULL-terminated malloc'd array; free with ofs_rsync_words_free. OFS_ECONFIG for
 * an unterminated quote, a trailing backslash, a control character or no words at all.
 */
int ofs_rsync_split_words(const char *text, char ***words, size_t *count);
void ofs_rsync_words_free(char **words);

/* ofs_rsync_rsh_quote(words): one string that rsync's -e splitter turns back into exactly
 * these words: each in '...', a ' inside written as ''. Malloc'd. */
char *ofs_rsync_rsh_quote(char *const *words);

/*
 * ofs_rsync_parse_list_line(line, &type, &name, &info): one line of --list-only output
 * ("-rw-r--r--       1234 2024/03/15 21:00:00 a/b c"), modified in place: *type is the
 * mode's first character ('-' regular, 'd', 'l', ...), *name points into line, \#ooo
 * escapes decoded, info gets size and mtime (the time read as UTC). OFS_ECORRUPT if the
 * line does not have that form.
 */
int ofs_rsync_parse_list_line(char *line, char *type, char **name, ofs_object_info *info);

/* ofs_rsync_unescape(s): decode rsync's \#ooo escapes in place. */
void ofs_rsync_unescape(char *s);

/* ofs_rsync_hidden(rel): 1 if a component of rel starts with ".tmp" (temp/partial dirs). */
int ofs_rsync_hidden(const char *rel);

/*
 * ofs_rsync_fail(exit_code, term_signal, err): classify a failed run (exit_code >= 0, or
 * term_signal > 0) and set the message: what happened, rsync's exit status and meaning, the
 * last lines of err (its stderr), and a HINT where one helps. Returns the OFS_E* code.
 */
int ofs_rsync_fail(int exit_code, int term_signal, const char *err);

/* ofs_rsync_missing(exit_code, err): 1 if the run failed only because the named remote path
 * does not exist (exit 23 with "No such file or directory", or exit 11 when a parent of the
 * directory to make is absent), 0 otherwise. */
int ofs_rsync_missing(int exit_code, const char *err);

/* ---- argument vectors (src/store/rsync.c), exposed for tests ---- */

typedef enum {
    OFS_RSYNC_OP_PUT,      /* local = spool dir; uploads local/./key to the root */
    OFS_RSYNC_OP_GET,      /* local = destination file */
    OFS_RSYNC_OP_STAT,     /* local unused */
    OFS_RSYNC_OP_LIST,     /* key = directory below the root ("" or "a/b/") */
    OFS_RSYNC_OP_DEL,      /* local = skeleton dir */
    OFS_RSYNC_OP_PREPARE   /* local = dir holding an empty .tmp-rsync */
} ofs_rsync_op;

/* ofs_rsync_argv(store, op, key, local, flags, &argv): the full argument vector (argv[0] is
 * "rsync"), NULL-terminated and malloc'd; free with ofs_rsync_words_free. */
int ofs_rsync_argv(const ofs_store *store, ofs_rsync_op op, const char *key, const char *local,
                   unsigned flags, char ***argv);

#endif
