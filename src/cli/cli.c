/* cli.c - the command table, --help texts and option parsing shared by every command. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/log.h"

#define CLI_OPTIONS_MAX 48

static const ofs_cli_command cli_commands[] = {
    { "init", ofs_cmd_init, "init",
      "create the state directories and a key, check every target",
      "Creates state_dir and staging_dir (mode 0700), generates a key if key_file does not\n"
      "exist, and checks every target: what its credentials may do (put, get, list, delete)\n"
      "by trying each on a probe object under offsite-probe/, and whether its manifest\n"
      "updates are atomic (several hosts may share it) or check-then-write. Where delete\n"
      "is refused the target is write-only: the probe stays (one per host) and is counted.\n"
      "Exits non-zero if any target failed its check or refuses put, get or list.\n" },
    { "key", ofs_cmd_key,
      "key generate [--key-file F] | key rotate | key id | key export | key import [FILE|-]",
      "manage the master key (rotation, paper copy)",
      "  generate [--key-file F]  create the key file (mode 0600) with a new key; refused if\n"
      "                           it exists (a repository is bound to its key)\n"
      "  rotate                   add a new key to the key file: it encrypts new backups; the\n"
      "                           older keys stay in the file and still decrypt\n"
      "  id                       print the key ids, oldest first (the last one encrypts)\n"
      "  export                   print a paper copy of every key, with check codes\n"
      "  import [FILE|-]          add the keys of a paper copy to the key file\n" },
    { "backup", ofs_cmd_backup,
      "backup [--set S]... [--full] [--description D] [--no-push] [--dry-run] [--scheduled] "
      "[--wait D]",
      "back up every set (or some) to staging, then push to every target",
      "  --set S            only set S; repeat it for several (default: every set)\n"
      "  --full             a full backup, never a differential\n"
      "  --description D    a note stored in the record (shown by list)\n"
      "  --no-push          commit to staging only; `offsite push` replicates later\n"
      "  --dry-run          per set: full or differential and why, and what would be read\n"
      "                     (files, bytes; new, changed, grown, deleted since the base);\n"
      "                     reads no file, writes nothing, runs no hook\n"
      "  --scheduled        only the sets whose scheduled run is due (the timer's way: a\n"
      "                     set's own schedule, holidays skipped, missed runs caught up)\n"
      "  --wait D           wait up to D (10m) for another running offsite instead of\n"
      "                     failing at once with exit 11\n"
      "The post_hook runs after the push with OFFSITE_STATUS and OFFSITE_PUSH (ok, failed,\n"
      "skipped). With [agent] verify_after, the new backups are checked (exit 18 if not ok).\n"
      "Exits 13 after committing if a file changed while it was read, 14 if a set failed\n"
      "(the others were backed up), 15 if a push failed (committed in staging), 16 if the\n"
      "automatic prune failed.\n"
      "With [retention] auto = true, prunes staging and every target (staging only with\n"
      "--no-push) once every backup and push succeeded.\n" },
    { "push", ofs_cmd_push, "push [--target T] [--repair]",
      "replicate committed backups a target lacks (resumes)",
      "  --target T         only target T (default: every target)\n"
      "  --repair           also read back every object the target holds of staging's\n"
      "                     backups and send again each one missing or damaged (whose\n"
      "                     size or SHA-256 disagrees with staging's record)\n" },
    { "doctor", ofs_cmd_doctor, "doctor [--target T]",
      "can a compromised host delete its backups? per target, what its credentials may do",
      "  --target T         only target T (default: every target)\n"
      "For each target: what the credentials may do (put, get, list, delete; on s3 also\n"
      "write lifecycle rules and delete versions, asked with requests that cannot take\n"
      "effect), versioning, object lock, lifecycle rules, the server's clock against this\n"
      "host's, whether manifest updates are atomic, and the verdict: a compromised host\n"
      "can or cannot delete its backups, with what to change. Exits non-zero only if a\n"
      "target could not be checked.\n" },
    { "prune", ofs_cmd_prune, "prune [--dry-run] [--target T] [--all-hosts]",
      "delete the backups the retention policy no longer keeps",
      "  --dry-run          show what would be deleted and why; change nothing\n"
      "  --target T         only target T (default: staging and every target)\n"
      "  --all-hosts        with --target: decide for every host's backups there (an admin\n"
      "                     host pruning a shared prefix), not only this host's\n"
      "Each store keeps what its policy keeps ([retention], or the target's retention = NAME):\n"
      "class ages, keep_last, the newest full of each set, the base of every kept\n"
      "differential; staging also keeps what a target has not received yet. Deletes each\n"
      "backup's record first, then its data, and objects left by interrupted runs. On a\n"
      "target, other hosts' backups and unfinished folders under a day old are left alone.\n"
      "A target whose [target] names prune_profile is pruned with that credentials profile\n"
      "(when it is found here); one whose credentials may not delete is planned and\n"
      "reported, nothing changed (a write-only target: another host or lifecycle rules\n"
      "prune it).\n"
      "Prints every backup with keep or delete and the reason. See docs/configuration.md.\n" },
    { "forget", ofs_cmd_forget, "forget BACKUP [--target T] [--dry-run] [--yes]",
      "delete one backup from staging and every target holding it",
      "  BACKUP             the backup id (see list)\n"
      "  --target T         only from target T (default: staging and every target)\n"
      "  --dry-run          say where it would be deleted from; change nothing\n"
      "  --yes              do not ask (required without a terminal)\n"
      "Whatever the retention policy says, under the lock, as prune deletes: the manifest\n"
      "first, then the backup's record, then its data. Every store is checked first: an id\n"
      "no store holds exits 3, a full that a differential on the same store is based on\n"
      "exits 12 naming the differentials (forget those first); nothing is changed then. A\n"
      "target whose credentials may not delete (write-only) or an object-locked record\n"
      "keeps the backup, listed, and forget exits 6 after the other stores.\n" },
    { "list", ofs_cmd_list, "list [--set S] [--from T] [--since DATE] [--until DATE]",
      "backups, newest first, from a manifest",
      "  --set S            only backups of set S\n"
      "  --from T           read target T's manifest (default: staging)\n"
      "  --since DATE       only backups started at or after DATE\n"
      "  --until DATE       only backups started before DATE\n"
      "DATE: 2026-03-14 (its 00:00), '2026-03-14 17:30', in [agent] time_zone (a final Z\n"
      "means UTC); today, yesterday; or a time ago: 36h, 7d.\n"
      "Without the key file the manifest is read without its MAC check (with a warning).\n" },
    { "ls", ofs_cmd_ls, "ls BACKUP [PATTERN] [--from T]",
      "files in a backup",
      "  PATTERN            fnmatch(3) pattern on the path (no leading '/'); a directory\n"
      "                     selects everything below it\n"
      "  --from T           read the backup from target T\n" },
    { "restore", ofs_cmd_restore,
      "restore [BACKUP|--latest [--before DATE]] [--set S] [--from T] --target DIR "
      "[--files P...] [--dry-run] [--mirror|--skip-existing] [--no-safety-copies|--bak-beside] "
      "[--safety-dir DIR] [--yes]",
      "restore a backup (or some of its files) into a directory",
      "  BACKUP             the backup id (see list), or:\n"
      "  --latest           the newest backup of --set (needed when there are several sets)\n"
      "  --before DATE      with --latest (implied): the newest made before DATE (the forms\n"
      "                     list --since takes: 2026-03-14, '2026-03-14 17:30', yesterday, 36h)\n"
      "  --set S            the set, with --latest\n"
      "  --from T           read from target T (default: staging if it holds the backup, else\n"
      "                     the first target that does)\n"
      "  --target DIR       where to restore (required; --target / puts files back in place)\n"
      "  --files P...       only paths matching these patterns (the rest of the arguments),\n"
      "                     matched as exclude is: a pattern with a '/' against the whole path\n"
      "                     without its leading '/' ('*' stops at '/'), one without against\n"
      "                     each file and directory name; a matched directory brings\n"
      "                     everything below it. No match at all is an error (exit 3)\n"
      "  --dry-run          print create|replace|unchanged|skip|remove PATH, write nothing\n"
      "  --mirror           make each restored directory below the set's paths exactly as\n"
      "                     backed up: what it holds that the backup does not is moved into\n"
      "                     the safety area (with --files: only in directories a pattern\n"
      "                     matches, not in those above a match)\n"
      "  --skip-existing    leave whatever already exists as it is; restore only what is missing\n"
      "  --safety-dir DIR   make the safety area in DIR (default: [agent] safety_dir, else the\n"
      "                     top of --target)\n"
      "  --no-safety-copies replace (and with --mirror delete) keeping nothing: scratch targets\n"
      "                     (--overwrite is the same)\n"
      "  --bak-beside       keep replaced files as NAME.pre_restore_TIME.bak beside them (the\n"
      "                     old way; a reader of the directory may pick them up)\n"
      "  --yes              do not ask (asked only at a terminal, when something would be\n"
      "                     replaced or removed)\n"
      "What is replaced goes into a safety area, .offsite-pre-restore-TIME at the top of --target\n"
      "(made only when needed), under its path; INDEX.txt there has the command putting each\n"
      "entry back.\n" },
    { "verify", ofs_cmd_verify, "verify [BACKUP|--all] [--from T] [--read-data] [--repair]",
      "check backups: records, object sizes and hashes, the manifest, optionally every byte",
      "  BACKUP             one backup (default: --all, and the manifest against the records)\n"
      "  --from T           verify target T (default: staging)\n"
      "  --read-data        decrypt and decompress everything and check every file's SHA-256\n"
      "  --repair           first rebuild the manifest from the records (takes the lock) and\n"
      "                     print each change: added, removed, updated, replaced\n"
      "Prints each problem as BACKUP: OBJECT: FILE: message; exits with the first problem's\n"
      "code.\n" },
    { "retention", ofs_cmd_retention, "retention sync [--target T] [--dry-run]",
      "write the retention policy as provider lifecycle rules; reconcile the manifests",
      "  sync               for each target with lifecycle rules (s3, gcs): one expiry rule per\n"
      "                     class prefix (data/daily/, data/weekly/, data/monthly/), a day\n"
      "                     past the age prune keeps, and abort unfinished uploads after a\n"
      "                     day; other rules in the bucket are kept; the result is read back\n"
      "                     and compared. Then backups the provider already expired are removed\n"
      "                     from the target's manifest. file and rsync targets have no such\n"
      "                     rules: `offsite prune` enforces their retention, and this says so.\n"
      "  --target T         only target T (default: every target)\n"
      "  --dry-run          print the rules; write nothing\n" },
    { "drill", ofs_cmd_drill,
      "drill [--set S] [--from T] [--rpo DURATION] [--rto DURATION] [--target DIR] [--keep]",
      "restore the newest backup of each set into a scratch directory and time it",
      "  --set S            only set S (default: every set)\n"
      "  --from T           restore from target T, as a clean machine would (default: staging\n"
      "                     if it holds the backup, else the first target that does)\n"
      "  --rpo DURATION     recovery point objective: the newest backup may be this old (26h),\n"
      "                     or this many scheduled runs old (1run: the last run's backup)\n"
      "  --rto DURATION     recovery time objective: the restore may take this long (30m)\n"
      "  --target DIR       scratch directory (default: STATE_DIR/drill-TIME, removed after)\n"
      "  --keep             keep the restored files\n"
      "Every restored file is checked against its SHA-256. Prints a timeline of the restore\n"
      "(backup found, first byte written, volumes done, directories done, durable).\n"
      "Exits 0 when every set restored and met its objectives, 17 when an objective was\n"
      "missed, the error's code otherwise.\n" },
    { "rebuild", ofs_cmd_rebuild,
      "rebuild [--from T] [--before DATE] [--target DIR] [--yes] [--dry-run]",
      "restore the newest backup of every set in one run (a clean machine after a disaster)",
      "  --from T           read from target T (default: per set, staging if it holds the\n"
      "                     set's backups, else the first target that does)\n"
      "  --before DATE      each set's newest backup started before DATE (as list --until)\n"
      "  --target DIR       where to restore (default: /, every file back where it was)\n"
      "  --yes              do not ask; without it, a terminal is asked once after the plan\n"
      "                     (with no terminal - a script - it proceeds)\n"
      "  --dry-run          print the plan only, write nothing\n"
      "First prints one plan: per set the backup (full or differential of its base), when\n"
      "it started, the store, entries, bytes and how many entries would be created, replaced\n"
      "(kept as NAME.pre_restore_TIME.bak) or unchanged. Then restores set after set, every\n"
      "file checked against its SHA-256, and ends with the recovery point (the oldest\n"
      "set's backup) and the recovery time as drill reports them. A wrong or missing key\n"
      "stops it before anything is written (exit 4, or 3). A set that fails is named and\n"
      "the others are still restored; the exit code is then the first failure's.\n"
      "DATE: 2026-03-14 (its 00:00), '2026-03-14 17:30', in [agent] time_zone; today,\n"
      "yesterday; or a time ago: 36h, 7d.\n" },
    { "status", ofs_cmd_status, "status [--from T] [--prometheus FILE] [--notify]",
      "freshness of each set on staging and every target; exit 0 ok, 1 warning, 2 critical",
      "  --from T           only target T (default: staging, if this machine has one, and\n"
      "                     every target)\n"
      "  --prometheus FILE  also write node_exporter textfile metrics to FILE (atomically)\n"
      "  --notify           tell the notifiers when a set's state changes (warning,\n"
      "                     critical, recovered)\n"
      "Freshness is counted in scheduled runs missed when the set has a schedule (warn after\n"
      "1, critical after 2; weekends and holidays are no runs), else in hours (warn_after,\n"
      "critical_after). A set whose newest backup is not on a target, or whose last push to\n"
      "it failed, is at least a warning naming the target. A write-only target (delete = no,\n"
      "or deletes refused at its last prune here) gets a note: another host or lifecycle\n"
      "rules must prune it. Reads manifests only: works without the key.\n" },
    { "schedule", ofs_cmd_schedule, "schedule show [--count N] [--systemd] | schedule check "
      "TIMER [DROP-IN...]",
      "the schedule: next runs and the systemd timer's OnCalendar= lines",
      "  show               the calendar lines, holidays, the next N runs (10) with the sets\n"
      "                     due, and the OnCalendar= lines for offsite-backup.timer\n"
      "  --systemd          print only the timer drop-in ([Timer] and OnCalendar= lines)\n"
      "  check TIMER...     compare the OnCalendar= lines of a timer and its drop-ins with the\n"
      "                     configured schedule; exit 2 if they differ\n" },
    { "notify", ofs_cmd_notify, "notify [--event E] [--message M] [--set S] [--target T] | "
      "notify --unit-failed UNIT",
      "send an event to the [notify] command and webhook (default: a test event)",
      "  --event E          the event name (default: test)\n"
      "  --message M        its message\n"
      "  --unit-failed UNIT the OnFailure= handler: tell that UNIT failed, unless the run\n"
      "                     already told its own failure (systemd's MONITOR_* variables)\n"
      "Exits non-zero if a notifier failed.\n" },
    { "config", ofs_cmd_config, "config check",
      "validate the configuration",
      "  check              load and validate the configuration (every value, as the\n"
      "                     commands use it), the key file's permissions and what each\n"
      "                     target's driver can check offline; print a summary;\n"
      "                     changes nothing\n" },
    { "decrypt", ofs_cmd_decrypt, "decrypt --key KEYFILE [--name NAME]",
      "decrypt one object from stdin to stdout (emergency extraction; no config needed)",
      "  --key KEYFILE      the key file\n"
      "  --name NAME        the object name sealed in its header (\"ID/vol-0001\"); refused\n"
      "                     if it differs\n"
      "Example: offsite decrypt --key KEY < vol-0001.ofs | zstd -d | tar -x\n" },
    { "help", ofs_cmd_help, "help [COMMAND]", "show this help, or a command's", "" },
};

const ofs_cli_command *ofs_cli_commands(size_t *count)
{
    *count = sizeof(cli_commands) / sizeof(cli_commands[0]);
    return cli_commands;
}

const ofs_cli_command *ofs_cli_find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
        if (strcmp(cli_commands[i].name, name) == 0)
            return &cli_commands[i];
    return NULL;
}

void ofs_cli_print_help(FILE *out)
{
    fputs("usage: offsite [-c CONFIG] [--json] [-v|-q] COMMAND [OPTIONS]\n\n"
          "Encrypted, compressed, replicated backups.\n\n"
          "Global options (also accepted after the command name):\n"
          "  -c, --config FILE  configuration (default: $OFFSITE_CONFIG, else "
          OFS_CLI_DEFAULT_CONFIG ")\n"
          "  --json             one JSON object on stdout (errors: {\"error\": {...}})\n"
          "  -v, --verbose      debug messages\n"
          "  -q, --quiet        errors only, no progress\n"
          "  -h, --help         this help; offsite COMMAND --help for a command's options\n"
          "  --version          print the version\n\n"
          "Commands:\n", out);
    for (size_t i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
        fprintf(out, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fputs("\nExit codes (one meaning each): 0 ok; 1 error; 2 configuration; 3 not found;\n"
          "4 authentication failed (wrong key or tampering); 5 corrupt; 6 permission denied;\n"
          "7 transient (retry later); 8 no space; 9 canceled; 10 unsupported; 11 exists (another\n"
          "offsite is running); 12 conflict; 13 backup committed with warnings (a file changed\n"
          "while read); 14 a set failed; 15 push failed (committed in staging); 16 prune failed;\n"
          "17 drill missed an objective; 18 verify_after failed; 64 usage. status: 0 ok,\n"
          "1 warning, 2 critical.\n"
          "See docs/operator-guide.md.\n", out);
}

void ofs_cli_print_command_help(FILE *out, const ofs_cli_command *cmd)
{
    fprintf(out, "usage: offsite [GLOBAL OPTIONS] %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->help && *cmd->help)
        fprintf(out, "\n%s", cmd->help);
    fputs("\nGlobal options: -c CONFIG, --json, -v, -q, --help (see offsite --help)\n", out);
}

int ofs_cmd_help(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = { { NULL, 0, NULL, 0 } };
    int index = 0, opt, rc;
    const char *arg;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1)
        ;
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    cli->help_shown = 1;
    if (index < argc) {
        const ofs_cli_command *cmd = ofs_cli_find_command(argv[index]);
        if (!cmd)
            return ofs_cli_usage_error(cli, "unknown command '%s'", argv[index]);
        ofs_cli_print_command_help(stdout, cmd);
        return 0;
    }
    ofs_cli_print_help(stdout);
    return 0;
}

int ofs_cli_apply_global(ofs_cli *cli, int opt, const char *arg)
{
    switch (opt) {
    case 0:
        break;
    case 'c':
        cli->config_path = arg;
        break;
    case OFS_CLI_OPT_JSON:
        cli->json = 1;
        break;
    case 'v':
        cli->verbose = 1;
        cli->quiet = 0;
        break;
    case 'q':
        cli->quiet = 1;
        cli->verbose = 0;
        break;
    default:
        return 0;
    }
    ofs_log_set_level(cli->quiet ? OFS_LOG_ERROR : cli->verbose ? OFS_LOG_DEBUG : OFS_LOG_INFO);
    cli->show_progress = isatty(STDERR_FILENO) && !cli->quiet && !cli->json;
    return 1;
}

static const struct option cli_global_options[] = {
    { "config", required_argument, NULL, 'c' },
    { "json", no_argument, NULL, OFS_CLI_OPT_JSON },
    { "verbose", no_argument, NULL, 'v' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, OFS_CLI_OPT_HELP },
};

int ofs_cli_parse(ofs_cli *cli, int argc, char **argv, const struct option *options,
                  int *index, int *opt, const char **arg)
{
    struct option all[CLI_OPTIONS_MAX];
    size_t n = 0;

    for (const struct option *o = options; o->name && n < CLI_OPTIONS_MAX - 8; o++)
        all[n++] = *o;
    for (size_t i = 0; i < sizeof(cli_global_options) / sizeof(cli_global_options[0]); i++)
        all[n++] = cli_global_options[i];
    memset(&all[n], 0, sizeof(all[n]));

    if (*index == 0)
        optind = 0; /* glibc: full re-initialisation for a new argument vector */
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":c:vqh", all, NULL);
        *index = optind;
        if (c == -1)
            return 0;
        if (c == '?' || c == ':') {
            const char *what = c == ':' ? "missing argument for option" : "unknown option";
            if (optopt > 0 && optopt < 256)
                return ofs_cli_usage_error(cli, "%s '-%c'", what, optopt);
            return ofs_cli_usage_error(cli, "%s '%s'", what, argv[optind - 1]);
        }
        if (c == 'h' || c == OFS_CLI_OPT_HELP) {
            ofs_cli_print_command_help(stdout, cli->command);
            cli->help_shown = 1;
            return 2;
        }
        if (ofs_cli_apply_global(cli, c, optarg))
            continue;
        *opt = c;
        *arg = optarg;
        return 1;
    }
}

int ofs_cli_date(ofs_cli *cli, const char *option, const char *text, int64_t *t)
{
    const ofs_config *cfg = NULL;
    int rc = ofs_cli_config(cli, &cfg);
    if (rc < 0)
        return rc;
    if (ofs_time_parse_date(text, cfg->time_zone, ofs_clock_now(), t) < 0)
        return ofs_cli_usage_error(cli, "%s: %s", option, ofs_error_last());
    return 0;
}
