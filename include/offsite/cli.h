/*
 * cli.h - the `offsite` command line: the command table, the shared run context (config, key,
 * stores, lock) and output helpers (text or --json). Used by src/main.c and the src/cli files only.
 *
 * A command handler returns a negative OFS_E* code with the message set (main prints
 * "offsite: MESSAGE" and exits with cli->exit_code if the handler set one - an outcome such as
 * OFS_EXIT_PUSH_FAILED - else with ofs_error_exit_code()), or a non-negative exit status
 * (an OFS_EXIT_* code; status's 0/1/2; OFS_CLI_EXIT_USAGE for usage errors, whose message
 * the handler printed through ofs_cli_usage_error()).
 */
#ifndef OFFSITE_CLI_H
#define OFFSITE_CLI_H

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>

#include "offsite/backup.h"
#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/keyring.h"
#include "offsite/manifest.h"
#include "offsite/store.h"

#define OFS_CLI_EXIT_USAGE OFS_EXIT_USAGE
#define OFS_CLI_DEFAULT_CONFIG "/etc/offsite/offsite.ini"
#define OFS_CLI_LOCK_NAME "offsite.lock"

typedef struct ofs_cli ofs_cli;
typedef struct ofs_cli_command ofs_cli_command;

/* handler(cli, argc, argv): argv[0] is the command name; options not yet parsed. */
typedef int (*ofs_cli_handler)(ofs_cli *cli, int argc, char **argv);

struct ofs_cli_command {
    const char *name;
    ofs_cli_handler run;
    const char *usage;   /* "restore [BACKUP|--latest] [--set S] ..." */
    const char *summary; /* one line for `offsite --help` */
    const char *help;    /* the options, printed by `offsite COMMAND --help` */
};

struct ofs_cli {
    const char *config_path; /* -c, else $OFFSITE_CONFIG, else OFS_CLI_DEFAULT_CONFIG */
    int json, verbose, quiet;
    int show_progress;       /* isatty(stderr) && !quiet && !json */
    const ofs_cli_command *command;
    ofs_config *cfg;         /* loaded by ofs_cli_config() */
    ofs_keyring *ring;       /* loaded by ofs_cli_key() */
    int lock_fd;             /* -1 until ofs_cli_lock() */
    int64_t lock_wait;       /* --wait: seconds ofs_cli_lock() waits for another run; 0 = none */
    json_t *result;          /* the --json answer, built by the command; may stay NULL */
    int help_shown;          /* --help was printed: no result follows */
    int notified;            /* a problem was handed to the notifiers during this run */
    int exit_code;           /* with a negative return: the outcome to exit with (OFS_EXIT_*,
                                error.h) instead of the error kind's code; 0 = the kind's */
};

/* ---- cli.c: the command table ---- */

/* ofs_cli_commands(&count): the table, in `offsite --help` order. */
const ofs_cli_command *ofs_cli_commands(size_t *count);
const ofs_cli_command *ofs_cli_find_command(const char *name);
/* ofs_cli_print_help(out): the whole `offsite --help` text. */
void ofs_cli_print_help(FILE *out);
/* ofs_cli_print_command_help(out, cmd): usage line, summary and options of one command. */
void ofs_cli_print_command_help(FILE *out, const ofs_cli_command *cmd);

/*
 * ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg): getopt_long over a command's
 * arguments with the global options (-c, --json, -v, -q, --help) added, so they may also come
 * after the command name. Returns 1 with *opt and *arg for a command option, 0 at the end (then
 * argv[*index..] are the operands), OFS_CLI_EXIT_USAGE after printing the error and usage,
 * or 2 after printing --help (the handler returns 0). options ends with a zero entry; its
 * `val` values must be >= 256 or a letter not used by the globals.
 */
int ofs_cli_parse(ofs_cli *cli, int argc, char **argv, const struct option *options,
                  int *index, int *opt, const char **arg);

/*
 * ofs_cli_date(cli, option, text, &t): an option's date (clock.h ofs_time_parse_date: 2026-03-14,
 * '2026-03-14 17:30', today, 36h ...) in the configuration's time_zone. 0, a configuration
 * error's negative code, or OFS_CLI_EXIT_USAGE after printing "OPTION: 'TEXT' is not a date".
 */
int ofs_cli_date(ofs_cli *cli, const char *option, const char *text, int64_t *t);

/* Values getopt returns for the global options. */
enum { OFS_CLI_OPT_JSON = 1000, OFS_CLI_OPT_HELP, OFS_CLI_OPT_VERSION };

/* ofs_cli_apply_global(cli, opt, arg): handle a global option; 1 if it was one, else 0. */
int ofs_cli_apply_global(ofs_cli *cli, int opt, const char *arg);

/* ---- output.c ---- */

/*
 * ofs_cli_usage_error(cli, fmt, ...): print "offsite: MESSAGE" and the command's usage line
 * on stderr (and the JSON error on stdout with --json); returns OFS_CLI_EXIT_USAGE.
 */
int ofs_cli_usage_error(ofs_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ofs_cli_print_error(cli, code, exit_code): the error of ofs_error_last() on stderr and, with
 * --json, {"error": {...}} merged into cli->result, which is then printed. */
void ofs_cli_print_error(ofs_cli *cli, int code, int exit_code);

/* ofs_cli_print_result(cli): with --json, print cli->result (or {}) as one line. */
void ofs_cli_print_result(ofs_cli *cli);

/* ofs_cli_out(cli, fmt, ...): text output to stdout; nothing with --json. Control bytes other
 * than \n and \t are escaped (text.h); print names with ofs_text_show so theirs are too.
 * Errors (ofs_cli_print_error, ofs_cli_usage_error) are escaped the same way. */
void ofs_cli_out(ofs_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ofs_cli_err(cli, fmt, ...): the same to stderr, also with --json (problems listed as they
 * are found, such as verify's). */
void ofs_cli_err(ofs_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ofs_cli_result(cli): cli->result, created as an empty object on first use. */
json_t *ofs_cli_result(ofs_cli *cli);

/* ofs_format_size(bytes, buf, size): "912 B", "1.2 KiB", "3.4 GiB". */
void ofs_format_size(uint64_t bytes, char *buf, size_t size);
/* ofs_format_rate(bytes, seconds, buf, size): "85.3 MiB/s" ("-" if seconds is 0). */
void ofs_format_rate(uint64_t bytes, double seconds, char *buf, size_t size);
/* ofs_format_seconds(seconds, buf, size): "0.42 s", "12.3 s", "3m 12s". */
void ofs_format_seconds(double seconds, char *buf, size_t size);
/* ofs_json_set_name(obj, key, value): a name's exact bytes in --json output: obj[key] as a
 * string if value is UTF-8 (JSON escapes control bytes), else obj["KEY_hex"] with its bytes
 * in hex, as the catalog stores such names (docs/format.md); NULL value is null. */
void ofs_json_set_name(json_t *obj, const char *key, const char *value);

/* ofs_json_time(t): an ISO-8601 string value ("2026-11-21T17:15:00Z"). */
json_t *ofs_json_time(int64_t t);

/* ---- context.c ---- */

/* ofs_cli_config(cli, &cfg): load the configuration once (errors name the file and line). */
int ofs_cli_config(ofs_cli *cli, const ofs_config **cfg);

/*
 * ofs_cli_key(cli, required, &ring): load cfg->key_file once. When required is 0 and the file
 * does not exist, *ring is NULL and 0 is returned (a monitoring host reads MAC-less); a
 * missing required key is OFS_ENOTFOUND with a HINT; a key file with unsafe permissions is
 * always an error.
 */
int ofs_cli_key(ofs_cli *cli, int required, const ofs_keyring **ring);

/* ofs_cli_lock(cli): exclusive flock on STATE_DIR/offsite.lock (state dir created 0700);
 * OFS_EEXISTS "another offsite is running (lock PATH)" if held - after waiting up to
 * cli->lock_wait seconds for it to be released (--wait). Released at exit. */
int ofs_cli_lock(ofs_cli *cli);

/*
 * ofs_cli_open_staging(cli, create, &store): the staging store. With create 0 a missing
 * staging directory is OFS_ENOTFOUND (a clean machine has none) and nothing is created.
 */
int ofs_cli_open_staging(ofs_cli *cli, int create, ofs_store **out);

/* ofs_cli_cache_dir(cfg): STATE_DIR/cache, malloc'd (NULL: out of memory): where drivers
 * (rsync) and restore's catalog spool keep their temporary files, not in /tmp. */
char *ofs_cli_cache_dir(const ofs_config *cfg);

/* ofs_cli_open_target(cli, name, &store): a configured target; OFS_ENOTFOUND with the list of
 * configured targets if there is no [target NAME]. */
int ofs_cli_open_target(ofs_cli *cli, const char *name, ofs_store **out);

/*
 * ofs_cli_open_target_for_prune(cli, name, &store, &admin): the target with the credentials
 * `prune` uses: its prune_profile where it names one and that profile can be read here
 * (*admin = 1; `delete = no` is about the target's own credentials, not these), else its own
 * (*admin = 0; a missing prune profile is logged at info: a nightly host has none).
 */
int ofs_cli_open_target_for_prune(ofs_cli *cli, const char *name, ofs_store **out, int *admin);

/* ofs_cli_open_source(cli, from, &store): --from T if given, else staging (must exist). */
int ofs_cli_open_source(ofs_cli *cli, const char *from, ofs_store **out);

/*
 * ofs_cli_load_manifest(cli, store, ring, &m): the store's manifest, rebuilt from the records
 * if the store has none or it lacks a committed backup (a manifest update that failed after a
 * commit). ring NULL reads without the MAC check (ofs_cli_key warned about that once).
 */
int ofs_cli_load_manifest(ofs_cli *cli, ofs_store *store, const ofs_keyring *ring,
                          ofs_manifest **out);

/*
 * ofs_cli_find_backup(cli, from, id, set, latest, ring, &store, &rec): the store holding a
 * backup and its (MAC-checked) record: --from T, else staging if it exists and holds it, else
 * the first target that does. With latest, id is ignored and the newest backup of set (NULL:
 * any) is taken from the first store whose manifest has one.
 */
int ofs_cli_find_backup(ofs_cli *cli, const char *from, const char *id, const char *set,
                        int latest, const ofs_keyring *ring, ofs_store **store,
                        ofs_record **rec);

/* ofs_cli_find_before(cli, from, set, before, ring, &store, &rec): as ofs_cli_find_backup
 * with latest, taking the newest backup of set started before `before` (restore --before). */
int ofs_cli_find_before(ofs_cli *cli, const char *from, const char *set, int64_t before,
                        const ofs_keyring *ring, ofs_store **store, ofs_record **rec);

/* ofs_cli_record_ids(store, &ids, &count): the ids of every backup.json under data/, sorted
 * (the truth, whatever the manifest says). ofs_cli_free_ids(ids, count) releases them. */
int ofs_cli_record_ids(ofs_store *store, char ***ids, size_t *count);
void ofs_cli_free_ids(char **ids, size_t count);

/* ofs_cli_free(cli): release config, key, lock and result. */
void ofs_cli_free(ofs_cli *cli);

/* ---- status_metrics.c ---- */

/*
 * ofs_cli_status_prometheus(cli, path, status, now): write the status (the --json answer of
 * `status`) as node_exporter textfile metrics to path, atomically (temporary file, rename;
 * mode 0644). The metric names are documented in docs/operator-guide.md.
 */
int ofs_cli_status_prometheus(ofs_cli *cli, const char *path, json_t *status, int64_t now);

/* ---- backup_after.c: around `offsite backup` ---- */

/*
 * ofs_cli_backup_due(cli, set, staging, now, why, size): for `backup --scheduled`: 1 if a
 * scheduled run of set (its schedule, else [agent]'s; holidays skipped) fell after its newest
 * backup in staging started, or it has none, or no schedule at all; 0 if not. why says which.
 */
int ofs_cli_backup_due(ofs_cli *cli, const ofs_config_set *set, const ofs_manifest *staging,
                       int64_t now, char *why, size_t size);

/* ofs_cli_backup_remember(cli, set, rec, stats, rc): keep a set's backup result in
 * STATE_DIR/results.json and notify backup_failed (or recovered). rc's message is kept. */
void ofs_cli_backup_remember(ofs_cli *cli, const ofs_config_set *set, const ofs_record *rec,
                             const ofs_backup_stats *stats, int rc);

/* ofs_cli_problem(cli, key, event, rc): notify event under alert key if rc < 0, else close the
 * alert (recovered). rc's message is kept. */
void ofs_cli_problem(ofs_cli *cli, const char *key, const char *event, int rc);

/*
 * ofs_cli_verify_after(cli, ring, staging, backups): [agent] verify_after: check each backup of
 * backups (the --json list, by "id") in staging, and with "targets" on every target too
 * (records, object sizes and SHA-256). Returns the first problem's code, 0 if none or off.
 */
int ofs_cli_verify_after(ofs_cli *cli, const ofs_keyring *ring, ofs_store *staging,
                         json_t *backups);

/* ofs_cli_run_remember(cli, started, exit_code): the run's record in results.json ("run":
 * {"backup": ...}) with systemd's INVOCATION_ID, read by `notify --unit-failed`. */
void ofs_cli_run_remember(ofs_cli *cli, int64_t started, int exit_code);

/* ---- recovery.c: what drill and rebuild report of a restore ---- */

struct ofs_restore_stats;

/* Recovery objectives (drill --rpo/--rto); 0 = not checked. */
typedef struct ofs_cli_objectives {
    int64_t rpo, rto; /* seconds */
    int rpo_runs;     /* --rpo 1run: fewer scheduled runs missed than this (0: rpo is seconds) */
} ofs_cli_objectives;

typedef struct ofs_cli_verdict {
    int rpo_ok, rto_ok;
    unsigned runs_missed; /* with rpo_runs: scheduled runs of the set since the backup */
} ofs_cli_verdict;

/* One set's restore, as the report tells it. */
typedef struct ofs_cli_recovery {
    const char *verb;        /* the report's first word: "drill", "rebuild" */
    const char *set, *store; /* the set, and the store name it was read from */
    const ofs_record *rec;
    const struct ofs_restore_stats *stats;
    const char *start_label; /* the timeline's first phase: "backup found" */
    double start;            /* seconds from the recovery's start to that phase */
    double elapsed;          /* to everything durable: the recovery time */
} ofs_cli_recovery;

/* ofs_cli_recovery_age(rec): seconds since rec finished (the recovery point's age), >= 0. */
int64_t ofs_cli_recovery_age(const ofs_record *rec);

/*
 * ofs_cli_recovery_print(cli, set, started, age, elapsed, t, &v): judge a recovery point age
 * and a recovery time against t (rpo_runs: set's scheduled runs missed since started) into v
 * and print the "  recovery point: ..." and "  recovery time: ..." lines.
 */
void ofs_cli_recovery_print(ofs_cli *cli, const char *set, int64_t started, int64_t age,
                            double elapsed, const ofs_cli_objectives *t, ofs_cli_verdict *v);

/*
 * ofs_cli_recovery_report(cli, r, t, &missed): print a set's restore ("VERB SET: restored ID
 * from STORE: N files (SIZE), every one matched its SHA-256"), its recovery point and time
 * against t and the restore's timeline; *missed = 1 if an objective was missed. Returns the
 * --json object (set, backup, store, files, bytes, recovery_point_age_seconds,
 * recovery_time_seconds, rpo_ok, rto_ok, phases), NULL without memory.
 */
json_t *ofs_cli_recovery_report(ofs_cli *cli, const ofs_cli_recovery *r,
                                const ofs_cli_objectives *t, int *missed);

/* ---- commands (src/cli/cmd_*.c) ---- */
int ofs_cmd_init(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_key(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_backup(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_push(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_list(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_ls(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_restore(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_verify(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_prune(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_forget(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_drill(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_rebuild(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_retention(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_status(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_schedule(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_notify(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_doctor(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_config(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_decrypt(ofs_cli *cli, int argc, char **argv);
int ofs_cmd_help(ofs_cli *cli, int argc, char **argv);

/*
 * ofs_cli_restore_asks(plan, interactive, yes): 1 if restore asks "proceed? [y/N]" before
 * writing: something would be replaced or removed, stdin and stderr are terminals
 * (interactive) and --yes was not given. ofs_cli_restore_answer(line): 1 for "y" or "yes"
 * (any case, surrounding blanks), else 0 (also for an empty line or end of input).
 */
struct ofs_restore_plan;
int ofs_cli_restore_asks(const struct ofs_restore_plan *plan, int interactive, int yes);
int ofs_cli_restore_answer(const char *line);

/*
 * ofs_cli_push_targets(cli, staging, ring, only, repair): push staging to every target (or
 * the one named only), printing a line per target; shared by `backup` and `push`. repair
 * (push --repair) also reads back what each target holds and sends again what disagrees with
 * staging's records (OFS_PUSH_REPAIR). Returns the first failure's code (the message names
 * the target), 0 if all succeeded.
 */
int ofs_cli_push_targets(ofs_cli *cli, ofs_store *staging, const ofs_keyring *ring,
                         const char *only, int repair);

/* What ofs_cli_prune_stores does besides its policy. */
enum {
    OFS_PRUNE_TARGETS = 1 << 0,   /* targets too, not only staging */
    OFS_PRUNE_DRY_RUN = 1 << 1,
    OFS_PRUNE_SHOW_KEPT = 1 << 2, /* a line for every backup kept, too */
    OFS_PRUNE_ALL_HOSTS = 1 << 3  /* on targets, every host's backups (an admin host's prune):
                                     the policy decides for all; fresh unfinished folders stay */
};

/*
 * ofs_cli_prune_stores(cli, ring, only, flags): prune staging (if this machine has one and
 * ALL_HOSTS is not given) and, with OFS_PRUNE_TARGETS, every target - or only target `only` -
 * each with its policy ([retention], or the target's `retention = NAME`) and the credentials
 * ofs_cli_open_target_for_prune picks; staging keeps backups a target has not received yet. A
 * target whose credentials may not delete is planned and reported, not changed (no failure).
 * Prints per store every backup deleted (and kept, with OFS_PRUNE_SHOW_KEPT) with the reason,
 * and a summary; sets cli->result's "prune". Shared by `prune` and `backup` (auto). The caller
 * holds the lock. Returns the first failure's code (the other stores are still pruned), 0 if
 * all succeeded.
 */
int ofs_cli_prune_stores(ofs_cli *cli, const ofs_keyring *ring, const char *only,
                         unsigned flags);

#endif
