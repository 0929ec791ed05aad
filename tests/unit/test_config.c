/* test_config.c - the INI configuration: every key, defaults, path resolution, list syntax,
 * every error with its exact "FILE:LINE: message", sizes and durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsite/config.h"
#include "offsite/schedule.h"
#include "offsite/error.h"

typedef struct fixture {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32]; /* the config file of the current test */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    const char *tmp = getenv("TMPDIR");
    if (!f)
        return -1;
    char made[PATH_MAX];
    snprintf(made, sizeof(made), "%s/test_config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    /* the real path: expected paths are built from it, and getcwd() returns it */
    if (!mkdtemp(made) || !realpath(made, f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* write_config(f, name, text): f->dir/name (parent directories made) holding text; sets and
 * returns f->path. */
static const char *write_config(fixture *f, const char *name, const char *text)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    char *slash = strrchr(f->path, '/');
    *slash = '\0';
    mkdir(f->path, 0755);
    *slash = '/';
    FILE *file = fopen(f->path, "w");
    assert_non_null(file);
    assert_int_equal(fputs(text, file) >= 0, 1);
    assert_int_equal(fclose(file), 0);
    return f->path;
}

static ofs_config *load_ok(fixture *f, const char *text)
{
    ofs_config *cfg = NULL;
    int rc = ofs_config_load(&cfg, write_config(f, "offsite.ini", text));
    if (rc != 0)
        fail_msg("load failed (%d): %s", rc, ofs_error_last());
    assert_non_null(cfg);
    return cfg;
}

/* in_dir(f, relative): "DIR/relative" in one of a few static buffers. */
static const char *in_dir(const fixture *f, const char *relative)
{
    static char buf[8][PATH_MAX + 64];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof(buf[0]), "%s%s%s", f->dir, *relative ? "/" : "", relative);
    return p;
}

static void test_every_key(void **state)
{
    fixture *f = *state;
    /* a real zone where tzdata is installed (the check reads /usr/share/zoneinfo) */
    struct stat st;
    const char *zone = stat("/usr/share/zoneinfo/Europe/London", &st) == 0 ? "Europe/London"
                                                                          : "GMT";
    char text[4096];
    snprintf(text, sizeof(text),
        "; a comment\n"
        "# another\n"
        "[agent]\n"
        "state_dir = /srv/offsite/state\n"
        "staging_dir = /srv/offsite/staging/\n"
        "key_file = /etc/offsite/offsite.key\n"
        "host = db1.example\n"
        "time_zone = %s\n"
        "parallel = 3\n"
        "bwlimit = 08:00,5M 16:30,off\n"
        "\n"
        "[set positions]\n"
        "paths = /data/positions\n"
        "exclude = *.tmp\n"
        "pre_hook = /usr/local/bin/flush --all; sync\n"
        "post_hook = logger done\n"
        "full_every = 14d\n"
        "volume_size = 64M\n"
        "compression_level = 1\n"
        "warn_after = 2d\n"
        "critical_after = 1w\n"
        "\n"
        "[target nas]\n"
        "type = file\n"
        "path = /mnt/nas/offsite\n"
        "retention = long\n"
        "bwlimit = 20M\n"
        "parallel = 2\n"
        "\n"
        "[target s3]\n"
        "type = s3\n"
        "endpoint = https://s3.eu-west-2.amazonaws.com\n"
        "region = eu-west-2\n"
        "bucket = firm-backups\n"
        "prefix = /fleet/db1/\n"
        "url_style = virtual\n"
        "storage_class = STANDARD_IA\n"
        "object_lock = governance\n"
        "credentials_file = /etc/offsite/aws\n"
        "profile = backup\n"
        "prune_profile = backup-admin\n"
        "delete = no\n"
        "ca_file = /etc/ssl/ca.pem\n"
        "part_size = 16M\n"
        "transition_days = 30\n"
        "transition_class = GLACIER_IR\n"
        "\n"
        "[target gcs]\n"
        "type = gcs\n"
        "bucket = firm-gcs\n"
        "prefix = db1\n"
        "credentials_file = /etc/offsite/gcs.json\n"
        "object_lock = compliance\n"
        "transition_days = 60\n"
        "transition_class = COLDLINE\n"
        "\n"
        "[target dr]\n"
        "type = rsync\n"
        "url = backup@dr.example:/srv/offsite\n"
        "ssh_command = ssh -i /etc/offsite/id_ed25519 -o BatchMode=yes\n"
        "password_file = /etc/offsite/rsync.pw\n"
        "\n"
        "[retention]\n"
        "daily = 10\n"
        "weekly = 4\n"
        "monthly = 24\n"
        "keep_last = 3\n"
        "auto = yes\n"
        "lifecycle = off\n"
        "\n"
        "[retention long]\n"
        "monthly = 36\n"
        "keep_last = 5\n", zone);
    ofs_config *cfg = load_ok(f, text);

    assert_string_equal(cfg->path, f->path);
    assert_string_equal(cfg->state_dir, "/srv/offsite/state");
    assert_string_equal(cfg->staging_dir, "/srv/offsite/staging");
    assert_string_equal(cfg->key_file, "/etc/offsite/offsite.key");
    assert_string_equal(cfg->host, "db1.example");
    assert_string_equal(cfg->time_zone, zone);
    assert_int_equal(cfg->parallel, 3);
    assert_string_equal(cfg->bwlimit, "08:00,5M 16:30,off");

    assert_int_equal(cfg->set_count, 1);
    const ofs_config_set *s = ofs_config_find_set(cfg, "positions");
    assert_ptr_equal(s, &cfg->sets[0]);
    assert_int_equal(s->line, 12);
    assert_int_equal(s->path_count, 1);
    assert_string_equal(s->paths[0], "/data/positions");
    assert_int_equal(s->exclude_count, 1);
    assert_string_equal(s->excludes[0], "*.tmp");
    assert_string_equal(s->pre_hook, "/usr/local/bin/flush --all; sync");
    assert_string_equal(s->post_hook, "logger done");
    assert_int_equal(s->full_every, 14 * 86400);
    assert_int_equal(s->volume_size, 64 << 20);
    assert_int_equal(s->compression_level, 1);
    assert_int_equal(s->warn_after, 2 * 86400);
    assert_int_equal(s->critical_after, 7 * 86400);

    assert_int_equal(cfg->target_count, 4);
    const ofs_config_target *t = ofs_config_find_target(cfg, "nas");
    assert_non_null(t);
    assert_int_equal(t->line, 23);
    assert_string_equal(t->type, "file");
    assert_string_equal(t->path, "/mnt/nas/offsite");
    assert_string_equal(t->retention, "long");
    assert_string_equal(t->bwlimit, "20M");
    assert_int_equal(t->parallel, 2);
    assert_null(t->bucket);

    t = ofs_config_find_target(cfg, "s3");
    assert_non_null(t);
    assert_string_equal(t->type, "s3");
    /* no bwlimit of its own: [agent] bwlimit is the default */
    assert_string_equal(t->bwlimit, "08:00,5M 16:30,off");
    assert_string_equal(t->endpoint, "https://s3.eu-west-2.amazonaws.com");
    assert_string_equal(t->region, "eu-west-2");
    assert_string_equal(t->bucket, "firm-backups");
    assert_string_equal(t->prefix, "fleet/db1");
    assert_string_equal(t->url_style, "virtual");
    assert_string_equal(t->storage_class, "STANDARD_IA");
    assert_string_equal(t->object_lock, "governance");
    assert_string_equal(t->credentials_file, "/etc/offsite/aws");
    assert_string_equal(t->profile, "backup");
    assert_string_equal(t->prune_profile, "backup-admin");
    assert_int_equal(t->write_only, 1);
    assert_string_equal(t->ca_file, "/etc/ssl/ca.pem");
    assert_int_equal(t->part_size, 16 << 20);
    assert_int_equal(t->transition_days, 30);
    assert_string_equal(t->transition_class, "GLACIER_IR");
    assert_int_equal(t->parallel, 0);
    assert_null(t->path);

    t = ofs_config_find_target(cfg, "gcs");
    assert_non_null(t);
    assert_int_equal(t->write_only, 0); /* the default */
    assert_string_equal(t->bucket, "firm-gcs");
    assert_string_equal(t->prefix, "db1");
    assert_string_equal(t->credentials_file, "/etc/offsite/gcs.json");
    /* object retention and transitions apply to gcs too */
    assert_string_equal(t->object_lock, "compliance");
    assert_int_equal(t->transition_days, 60);
    assert_string_equal(t->transition_class, "COLDLINE");

    t = ofs_config_find_target(cfg, "dr");
    assert_non_null(t);
    assert_string_equal(t->type, "rsync");
    assert_string_equal(t->url, "backup@dr.example:/srv/offsite");
    assert_string_equal(t->ssh_command, "ssh -i /etc/offsite/id_ed25519 -o BatchMode=yes");
    assert_string_equal(t->password_file, "/etc/offsite/rsync.pw");

    assert_int_equal(cfg->retention.daily, 10);
    assert_int_equal(cfg->retention.weekly, 4);
    assert_int_equal(cfg->retention.monthly, 24);
    assert_int_equal(cfg->retention.keep_last, 3);
    assert_int_equal(cfg->retention.auto_prune, 1);
    assert_string_equal(cfg->retention.lifecycle, "off");
    assert_null(cfg->retention.name);
    assert_int_equal(cfg->retention.line, 63);

    /* the override gives monthly and keep_last; the rest comes from [retention] */
    assert_int_equal(cfg->retention_count, 1);
    const ofs_config_retention *r = ofs_config_find_retention(cfg, "long");
    assert_ptr_equal(r, &cfg->retentions[0]);
    assert_string_equal(r->name, "long");
    assert_int_equal(r->line, 71);
    assert_int_equal(r->daily, 10);
    assert_int_equal(r->weekly, 4);
    assert_int_equal(r->monthly, 36);
    assert_int_equal(r->keep_last, 5);
    assert_int_equal(r->auto_prune, 1);
    assert_string_equal(r->lifecycle, "off");
    assert_ptr_equal(ofs_config_target_retention(cfg, ofs_config_find_target(cfg, "nas")), r);
    assert_ptr_equal(ofs_config_target_retention(cfg, ofs_config_find_target(cfg, "s3")),
                     &cfg->retention);
    assert_ptr_equal(ofs_config_target_retention(cfg, NULL), &cfg->retention);
    assert_null(ofs_config_find_retention(cfg, "short"));
    assert_null(ofs_config_find_retention(cfg, NULL));

    assert_null(ofs_config_find_set(cfg, "nas"));
    assert_null(ofs_config_find_target(cfg, "positions"));
    assert_null(ofs_config_find_set(cfg, NULL));
    ofs_config_free(cfg);
}

/* [set] retention = NAME and max_backups: which policy prune applies to a set's backups on
 * each store - the target's own, else the set's, else [retention] - and max_backups inherited
 * by an override that does not give it. */
static void test_set_retention(void **state)
{
    fixture *f = *state;
    ofs_config *cfg = load_ok(f, "[set positions]\npaths = /pos\nretention = desk\n\n"
                                 "[set logs]\npaths = /logs\n\n"
                                 "[target nas]\ntype = file\npath = /nas\n\n"
                                 "[target vault]\ntype = file\npath = /vault\n"
                                 "retention = long\n\n"
                                 "[retention desk]\nmax_backups = 14\n\n"
                                 "[retention long]\nmonthly = 84\n\n"
                                 "[retention]\ndaily = 7\nmax_backups = 40\n");
    const ofs_config_retention *desk = ofs_config_find_retention(cfg, "desk");
    const ofs_config_retention *lng = ofs_config_find_retention(cfg, "long");
    const ofs_config_target *nas = ofs_config_find_target(cfg, "nas");
    const ofs_config_target *vault = ofs_config_find_target(cfg, "vault");
    assert_non_null(desk);
    assert_non_null(lng);
    assert_string_equal(ofs_config_find_set(cfg, "positions")->retention, "desk");
    assert_null(ofs_config_find_set(cfg, "logs")->retention);
    assert_int_equal(cfg->retention.max_backups, 40);
    assert_int_equal(desk->max_backups, 14);
    assert_int_equal(desk->daily, 7);       /* from [retention], given after it */
    assert_int_equal(lng->max_backups, 40); /* inherited */
    assert_int_equal(lng->monthly, 84);
    /* staging and a target without its own: the set's policy, else [retention] */
    assert_ptr_equal(ofs_config_policy(cfg, NULL, "positions"), desk);
    assert_ptr_equal(ofs_config_policy(cfg, nas, "positions"), desk);
    assert_ptr_equal(ofs_config_policy(cfg, NULL, "logs"), &cfg->retention);
    assert_ptr_equal(ofs_config_policy(cfg, nas, "logs"), &cfg->retention);
    /* a target's own policy wins over the set's */
    assert_ptr_equal(ofs_config_policy(cfg, vault, "positions"), lng);
    assert_ptr_equal(ofs_config_policy(cfg, vault, "logs"), lng);
    /* a set no longer configured: the store's policy */
    assert_ptr_equal(ofs_config_policy(cfg, NULL, "gone"), &cfg->retention);
    assert_ptr_equal(ofs_config_policy(cfg, vault, NULL), lng);
    ofs_config_free(cfg);

    /* no max_backups anywhere: no cap */
    cfg = load_ok(f, "[set data]\npaths = /data\n");
    assert_int_equal(cfg->retention.max_backups, 0);
    ofs_config_free(cfg);
}

static void test_defaults(void **state)
{
    fixture *f = *state;
    ofs_config *cfg = load_ok(f, "[set data]\npaths = /data\n");
    char host[256] = "";
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    assert_string_equal(cfg->state_dir, "/var/lib/offsite");
    assert_string_equal(cfg->staging_dir, "/var/lib/offsite/staging");
    assert_string_equal(cfg->key_file, "/var/lib/offsite/offsite.key");
    assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
    assert_string_equal(cfg->host, host);
    assert_string_equal(cfg->time_zone, "UTC");
    assert_int_equal(cfg->parallel, cpus < 1 ? 1 : cpus > 8 ? 8 : cpus);
    assert_null(cfg->bwlimit);
    assert_int_equal(cfg->target_count, 0);
    assert_null(cfg->targets);

    const ofs_config_set *s = &cfg->sets[0];
    assert_string_equal(s->name, "data");
    assert_int_equal(s->line, 1);
    assert_int_equal(s->exclude_count, 0);
    assert_null(s->pre_hook);
    assert_null(s->post_hook);
    assert_int_equal(s->full_every, 7 * 86400);
    assert_int_equal(s->volume_size, 128 << 20);
    assert_int_equal(s->compression_level, 3);
    assert_int_equal(s->warn_after, 26 * 3600);
    assert_int_equal(s->critical_after, 50 * 3600);
    assert_int_equal(s->warn_runs, 0); /* no schedule: hours */
    assert_int_equal(s->critical_runs, 0);
    assert_int_equal(cfg->schedule_count, 0);
    assert_null(cfg->holidays);
    assert_int_equal(cfg->run_grace, 3 * 3600);
    assert_string_equal(cfg->verify_after, "off");
    assert_null(cfg->notify.command);
    assert_null(cfg->notify.webhook);
    assert_int_equal(cfg->notify.timeout, 30);
    assert_int_equal(cfg->notify.line, 0);

    assert_int_equal(cfg->retention.daily, 30);
    assert_int_equal(cfg->retention.weekly, 12);
    assert_int_equal(cfg->retention.monthly, 12);
    assert_int_equal(cfg->retention.keep_last, 1);
    assert_int_equal(cfg->retention.auto_prune, 0);
    assert_string_equal(cfg->retention.lifecycle, "sync");
    assert_int_equal(cfg->retention.line, 0);
    assert_int_equal(cfg->retention_count, 0);
    ofs_config_free(cfg);

    /* staging_dir and key_file follow a configured state_dir */
    cfg = load_ok(f, "[agent]\nstate_dir = /srv/o/\n[set data]\npaths = /data\n"
                     "[target t]\ntype = s3\nbucket = b\n");
    assert_string_equal(cfg->staging_dir, "/srv/o/staging");
    assert_string_equal(cfg->key_file, "/srv/o/offsite.key");
    assert_null(cfg->targets[0].prefix);
    assert_int_equal(cfg->targets[0].part_size, 0);
    assert_int_equal(cfg->targets[0].transition_days, 0); /* no transition */
    assert_string_equal(cfg->targets[0].transition_class, "");
    ofs_config_free(cfg);
}

/* a schedule makes freshness count in runs (1 warns, 2 are critical) unless durations are
 * given; a set's own schedule replaces [agent]'s; the holiday file is read relative to the
 * config; ofs_config_schedule(NULL) is every line the timer must fire on */
static void test_schedule_keys(void **state)
{
    fixture *f = *state;
    write_config(f, "holidays.txt", "2026-11-26\n2026-12-25 # Christmas\n");
    ofs_config *cfg = load_ok(f, "[agent]\ntime_zone = America/New_York\n"
                                 "schedule = Mon..Fri 17:15\nholidays = holidays.txt\n"
                                 "run_grace = 90m\nverify_after = targets\n"
                                 "[set data]\npaths = /data\n"
                                 "[set positions]\npaths = /pos\nschedule = Mon..Fri 10..16/2:00\n"
                                 "  Mon..Fri 17:15\ncritical_after = 3 runs\n"
                                 "[set logs]\npaths = /logs\nwarn_after = 30h\n"
                                 "[notify]\ncommand = /usr/local/bin/page-oncall\n"
                                 "webhook = https://hooks.example/T1\nevents = push_failed "
                                 "recovered\ntimeout = 5s\n");
    assert_int_equal(cfg->schedule_count, 1);
    assert_string_equal(cfg->schedule[0], "Mon..Fri 17:15");
    assert_non_null(strstr(cfg->holidays, "/holidays.txt"));
    assert_int_equal(cfg->run_grace, 90 * 60);
    assert_string_equal(cfg->verify_after, "targets");
    assert_int_equal(cfg->sets[0].warn_runs, 1);
    assert_int_equal(cfg->sets[0].critical_runs, 2);
    assert_int_equal(cfg->sets[1].schedule_count, 2);
    assert_int_equal(cfg->sets[1].warn_runs, 1);
    assert_int_equal(cfg->sets[1].critical_runs, 3);
    assert_int_equal(cfg->sets[2].warn_runs, 0); /* a duration given: hours for warnings */
    assert_int_equal(cfg->sets[2].warn_after, 30 * 3600);
    assert_int_equal(cfg->sets[2].critical_runs, 2);
    assert_string_equal(cfg->notify.command, "/usr/local/bin/page-oncall");
    assert_string_equal(cfg->notify.webhook, "https://hooks.example/T1");
    assert_int_equal(cfg->notify.event_count, 2);
    assert_string_equal(cfg->notify.events[1], "recovered");
    assert_int_equal(cfg->notify.timeout, 5);

    struct ofs_schedule *s = NULL;
    assert_int_equal(ofs_config_schedule(cfg, &cfg->sets[1], &s), 0);
    assert_int_equal(ofs_schedule_count(s), 2);
    assert_string_equal(ofs_schedule_line(s, 0), "Mon..Fri 10..16/2:00 America/New_York");
    assert_int_equal(ofs_schedule_holiday_count(s), 2);
    ofs_schedule_free(s);
    assert_int_equal(ofs_config_schedule(cfg, &cfg->sets[0], &s), 0);
    assert_int_equal(ofs_schedule_count(s), 1);
    ofs_schedule_free(s);
    assert_int_equal(ofs_config_schedule(cfg, NULL, &s), 0);
    assert_int_equal(ofs_schedule_count(s), 3);
    ofs_schedule_free(s);
    ofs_config_free(cfg);

    /* a bad holiday file is a configuration error naming both files */
    write_config(f, "holidays.txt", "2026-11-26\nThanksgiving\n");
    ofs_config *bad = (ofs_config *)1;
    assert_int_equal(ofs_config_load(&bad, write_config(f, "bad.ini", "[agent]\nholidays = "
                                                         "holidays.txt\n[set d]\npaths = /d\n")),
                     OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "bad.ini:2: holidays: "));
    assert_non_null(strstr(ofs_error_last(), "holidays.txt:2: 'Thanksgiving' is not a date "
                                             "YYYY-MM-DD"));
}

static void test_relative_paths(void **state)
{
    fixture *f = *state;
    static const char text[] =
        "[agent]\n"
        "state_dir = ../var/state\n"
        "staging_dir = staging\n"
        "key_file = ./keys/../keys/offsite.key\n"
        "[set data]\n"
        "paths = ../data/\n"
        "paths = docs//sub/./x\n"
        "paths = /abs/../abs2\n"
        "paths = /\n"
        "paths = ../../../../../../../../..\n"
        "exclude = ../not/a/path\n"
        "[target nas]\n"
        "type = file\n"
        "path = ../nas\n"
        "[target s3]\n"
        "type = s3\n"
        "bucket = b\n"
        "credentials_file = aws.ini\n"
        "ca_file = certs/ca.pem\n"
        "[target r]\n"
        "type = rsync\n"
        "url = host:dir\n"
        "password_file = pw\n";
    ofs_config *cfg = NULL;
    char cwd[PATH_MAX];

    write_config(f, "conf/offsite.ini", text);
    assert_int_equal(ofs_config_load(&cfg, f->path), 0);
    assert_string_equal(cfg->state_dir, in_dir(f, "var/state"));
    assert_string_equal(cfg->staging_dir, in_dir(f, "conf/staging"));
    assert_string_equal(cfg->key_file, in_dir(f, "conf/keys/offsite.key"));
    assert_int_equal(cfg->sets[0].path_count, 5);
    assert_string_equal(cfg->sets[0].paths[0], in_dir(f, "data"));
    assert_string_equal(cfg->sets[0].paths[1], in_dir(f, "conf/docs/sub/x"));
    assert_string_equal(cfg->sets[0].paths[2], "/abs2");
    assert_string_equal(cfg->sets[0].paths[3], "/");
    assert_string_equal(cfg->sets[0].paths[4], "/");
    assert_string_equal(cfg->sets[0].excludes[0], "../not/a/path");
    assert_string_equal(cfg->targets[0].path, in_dir(f, "nas"));
    assert_string_equal(cfg->targets[1].credentials_file, in_dir(f, "conf/aws.ini"));
    assert_string_equal(cfg->targets[1].ca_file, in_dir(f, "conf/certs/ca.pem"));
    assert_string_equal(cfg->targets[2].password_file, in_dir(f, "conf/pw"));
    assert_string_equal(cfg->targets[2].url, "host:dir");
    ofs_config_free(cfg);

    /* a relative config path: resolved against the working directory, kept as given */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->dir), 0);
    int rc = ofs_config_load(&cfg, "./conf/../conf/offsite.ini");
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg->path, "./conf/../conf/offsite.ini");
    assert_string_equal(cfg->state_dir, in_dir(f, "var/state"));
    assert_string_equal(cfg->sets[0].paths[1], in_dir(f, "conf/docs/sub/x"));
    ofs_config_free(cfg);
}

static void test_lists(void **state)
{
    fixture *f = *state;
    ofs_config *cfg = load_ok(f,
        "[set data]\n"
        "paths = /data/a\n"
        "    /data/with spaces/b c\n"
        "\t/data/semi;colon #hash ; x\n"
        "    ; an indented comment does not end the list\n"
        "\n"
        "    /data/after blank\n"
        "paths = /data/repeated/\n"
        "exclude =\n"
        "    *.tmp\n"
        "    cache/*\n"
        "exclude = name with space.log\n"
        "full_every = 1d\n"
        "[set two]\n"
        "paths:/two\n"
        "[set empty_lists]\n"
        "paths =\n"
        "  /x\n");
    const ofs_config_set *s = ofs_config_find_set(cfg, "data");
    assert_non_null(s);
    assert_int_equal(s->path_count, 5);
    assert_string_equal(s->paths[0], "/data/a");
    assert_string_equal(s->paths[1], "/data/with spaces/b c");
    assert_string_equal(s->paths[2], "/data/semi;colon #hash ; x");
    assert_string_equal(s->paths[3], "/data/after blank");
    assert_string_equal(s->paths[4], "/data/repeated");
    assert_int_equal(s->exclude_count, 3);
    assert_string_equal(s->excludes[0], "*.tmp");
    assert_string_equal(s->excludes[1], "cache/*");
    assert_string_equal(s->excludes[2], "name with space.log");
    assert_int_equal(s->full_every, 86400);
    s = ofs_config_find_set(cfg, "two");
    assert_non_null(s);
    assert_string_equal(s->paths[0], "/two");
    assert_string_equal(cfg->sets[2].paths[0], "/x");
    ofs_config_free(cfg);

    /* a long path (inih's stock limit is 200 characters a line) and CRLF line ends */
    char text[2048], longpath[1024];
    memset(longpath, 'p', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    snprintf(text, sizeof(text), "\xEF\xBB\xBF[set data]\r\npaths = %s\r\n  /crlf\r\n", longpath);
    cfg = load_ok(f, text);
    assert_int_equal(cfg->sets[0].path_count, 2);
    assert_string_equal(cfg->sets[0].paths[0], longpath);
    assert_string_equal(cfg->sets[0].paths[1], "/crlf");
    ofs_config_free(cfg);

    /* no newline at the end, on a line exactly as long as inih's first read (199) */
    char last[200];
    memset(last, 'q', sizeof(last) - 1);
    memcpy(last, "paths = /", 9);
    last[sizeof(last) - 1] = '\0';
    snprintf(text, sizeof(text), "[set data]\n%s", last);
    cfg = load_ok(f, text);
    assert_int_equal(cfg->sets[0].path_count, 1);
    assert_string_equal(cfg->sets[0].paths[0], last + 8);
    ofs_config_free(cfg);
}

/* The agent section of tests/integration/cases/cli/config_errors.sh: 4 lines. */
#define AGENT "[agent]\nstate_dir = /s\nstaging_dir = /g\nkey_file = /k/offsite.key\n"
#define SET "[set data]\npaths = /src\n"

static void test_errors(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text, *message; /* message after "PATH:" */
    } cases[] = {
        /* the integration test's cases, line for line */
        { AGENT "frobnicate = yes\n\n" SET, "5: unknown key 'frobnicate' in [agent]" },
        { AGENT "\n" SET "volume_size = 12Q\n",
          "8: volume_size: bad size '12Q' (use a number with K, M, G or T)" },
        { AGENT "\n" SET "\n[target nas]\ntype = ftp\npath = /x\n",
          "10: target 'nas': unknown type 'ftp' (file, s3, gcs or rsync)" },
        { AGENT "\n" SET "\n[set empty]\nfull_every = 7d\n",
          "9: [set empty]: missing required key 'paths'" },
        { AGENT "\n" SET "this line has no equals sign\n",
          "8: 'this line has no equals sign' is not 'key = value', '[section]' or a comment" },
        { AGENT "\n[frobnicate]\nx = 1\n" SET,
          "6: unknown section [frobnicate] (agent, set NAME, target NAME, retention, "
          "retention NAME or notify)" },
        { AGENT "\n" SET "full_every = 3 fortnights\n",
          "8: full_every: bad duration '3 fortnights' (use a number with s, m, h, d or w, "
          "e.g. 26h or 7d)" },
        /* sections */
        { SET "[set data]\n", "3: duplicate section [set data] (first on line 1)" },
        { SET "[target t]\ntype = file\npath = /t\n[target t]\n",
          "6: duplicate section [target t] (first on line 3)" },
        { AGENT SET AGENT, "7: duplicate section [agent] (first on line 1)" },
        { "[set]\npaths = /x\n", "1: [set] needs a name: [set NAME]" },
        { "[agent x]\n", "1: [agent] takes no name (found 'x')" },
        { "[set a b]\n", "1: bad set name 'a b' (up to 64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit)" },
        { "[set .hidden]\n", "1: bad set name '.hidden' (up to 64 letters, digits, '.', '_' or "
                             "'-', starting with a letter or digit)" },
        { SET "[retention\n", "3: section header '[retention' has no closing ']'" },
        { SET "[retention] daily = 3\n", "3: unexpected text 'daily = 3' after [retention]" },
        { "paths = /x\n" SET, "1: key 'paths' before any [section]" },
        { "\n; only comments\n", "2: no [set NAME] section: nothing to back up" },
        { "", "1: no [set NAME] section: nothing to back up" },
        /* keys */
        { SET "volume_size = 1M\nvolume_size = 2M\n",
          "4: volume_size given twice in [set data] (first on line 3)" },
        { SET "pre_hook = a\n  b\n", "4: pre_hook takes one value: an indented line continues "
                                     "the key above it (start keys at the beginning of the line)" },
        { SET "  volume_size = 1M\n", "3: 'volume_size = 1M' is indented, so it would be read "
                                      "as a value of paths: start keys at the beginning of the line" },
        { SET "  [set x]\n", "3: '[set x]' is indented, so it would be read as a value of paths: "
                             "start sections at the beginning of the line" },
        { SET "pre_hook =\n", "3: pre_hook: empty value" },
        { SET "compression_level = 20\n", "3: compression_level: 20 is out of range (1 to 19)" },
        { SET "compression_level = 3x\n", "3: compression_level: '3x' is not a whole number" },
        { SET "volume_size = 0\n", "3: volume_size: 0 is out of range (64K to 1T)" },
        { SET "volume_size = 63K\n", "3: volume_size: 63K is out of range (64K to 1T)" },
        { SET "warn_after = 0\n", "3: warn_after: 0 is out of range (1s to 100 years)" },
        { SET "warn_after = 2d\ncritical_after = 1d\n",
          "4: [set data]: critical_after (1d) is shorter than warn_after (2d)" },
        { SET "warn_after = 3d\n", "3: [set data]: critical_after (2d 2h) is shorter than "
                                   "warn_after (3d)" },
        { AGENT "parallel = 0\n" SET, "5: parallel: 0 is out of range (1 to 64)" },
        { AGENT "time_zone = Mars/Olympus\n" SET, "5: time_zone: unknown time zone "
          "'Mars/Olympus' (an IANA name such as 'Europe/London', or 'UTC')" },
        { SET "[retention]\nauto = maybe\n", "4: auto: 'maybe' is not true or false" },
        { SET "[retention]\nlifecycle = never\n",
          "4: lifecycle: unknown value 'never' (sync or off)" },
        { SET "[retention]\ndaily = -1\n", "4: daily: -1 is out of range (0 to 100000)" },
        /* retention overrides */
        { SET "[retention long]\nauto = yes\n", "4: auto belongs in [retention]: prune runs "
                                                "after a backup for every store or for none" },
        { SET "[retention long]\nweekly = x\n", "4: weekly: 'x' is not a whole number" },
        { SET "[retention long]\n[retention long]\n",
          "4: duplicate section [retention long] (first on line 3)" },
        { SET "[retention a/b]\n", "3: bad retention name 'a/b' (up to 64 letters, digits, '.', "
                                   "'_' or '-', starting with a letter or digit)" },
        { SET "[target t]\ntype = file\npath = /t\nretention = long\n[retention short]\n",
          "6: target 't': retention 'long' names no [retention long] section" },
        { SET "retention = short\n[retention long]\n",
          "3: set 'data': retention 'short' names no [retention short] section" },
        { SET "[set logs]\npaths = /logs\n\nretention = long\n[retention]\n",
          "6: set 'logs': retention 'long' names no [retention long] section" },
        { SET "[retention]\nmax_backups = -1\n",
          "4: max_backups: -1 is out of range (0 to 100000)" },
        { SET "[retention long]\nmax_backups = ten\n",
          "4: max_backups: 'ten' is not a whole number" },
        /* targets */
        { SET "[target t]\npath = /x\n", "3: [target t]: missing required key 'type' (file, s3, "
                                         "gcs or rsync)" },
        { SET "[target t]\ntype = s3\nregion = x\n",
          "3: [target t]: missing required key 'bucket' for type 's3'" },
        { SET "[target t]\ntype = file\n", "3: [target t]: missing required key 'path' for type "
                                           "'file'" },
        { SET "[target t]\ntype = rsync\n", "3: [target t]: missing required key 'url' for type "
                                            "'rsync'" },
        { SET "[target t]\nbucket = b\ntype = file\npath = /x\n",
          "4: target 't': key 'bucket' does not apply to type 'file'" },
        { SET "[target t]\ntype = s3\nbucket = b\nendpoint = s3.example\n",
          "6: endpoint: 's3.example' must start with http:// or https://" },
        { SET "[target t]\ntype = s3\nbucket = b\nurl_style = dns\n",
          "6: target 't': unknown url_style 'dns' (path or virtual)" },
        { SET "[target t]\ntype = s3\nbucket = b\npart_size = 1M\n",
          "6: part_size: 1M is out of range (5M to 5G)" },
        /* lifecycle transitions: both keys or neither, s3 and gcs only, class names */
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_days = 30\n",
          "6: target 't': transition_days is given without transition_class (give both, or "
          "neither)" },
        { SET "[target t]\ntype = s3\ntransition_class = GLACIER\nbucket = b\n",
          "5: target 't': transition_class is given without transition_days (give both, or "
          "neither)" },
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_days = 0\n",
          "6: transition_days: 0 is out of range (1 to 100000)" },
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_days = -30\n",
          "6: transition_days: -30 is out of range (1 to 100000)" },
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_days = 30d\n",
          "6: transition_days: '30d' is not a whole number" },
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_class = glacier\n",
          "6: transition_class: 'glacier' is not a storage class name (up to 63 capital "
          "letters, digits and '_', e.g. STANDARD_IA or GLACIER)" },
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_class = STANDARD IA\n",
          "6: transition_class: 'STANDARD IA' is not a storage class name (up to 63 capital "
          "letters, digits and '_', e.g. STANDARD_IA or GLACIER)" },
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_class = "
              "A234567890123456789012345678901234567890123456789012345678901234\n",
          "6: transition_class: 'A234567890123456789012345678901234567890123456789012345678901234"
          "' is not a storage class name (up to 63 capital letters, digits and '_', e.g. "
          "STANDARD_IA or GLACIER)" },
        { SET "[target t]\ntype = s3\nbucket = b\ntransition_class =\n",
          "6: transition_class: empty value" },
        { SET "[target t]\ntype = file\npath = /t\ntransition_days = 30\n"
              "transition_class = GLACIER\n",
          "6: target 't': key 'transition_days' does not apply to type 'file'" },
        { SET "[target t]\ntype = gcs\nbucket = b\ntransition_class = COLDLINE\n",
          "6: target 't': transition_class is given without transition_days (give both, or "
          "neither)" },
        /* schedules, freshness in runs, holidays, notifications */
        { "[agent]\nschedule = Mon..Fri 17:15\n  Mon..Fry 18:00\n" SET,
          "3: schedule: calendar 'Mon..Fry 18:00': unknown weekday 'Mon..Fry' (Mon, Tue, ... "
          "Sun; ranges Mon..Fri; lists Mon,Wed)" },
        { SET "schedule = 9..17/2:00 Europe/Nowhere\n",
          "3: schedule: calendar '9..17/2:00 Europe/Nowhere': unknown time zone "
          "'Europe/Nowhere' (an IANA name such as 'America/New_York', or 'UTC')" },
        { SET "warn_after = 2 runs\ncritical_after = 1 run\n",
          "4: [set data]: critical_after (1 runs) is fewer than warn_after (2 runs)" },
        { SET "warn_after = 0 runs\n", "3: warn_after: 0 runs is out of range (1 to 1000 runs)" },
        { SET "warn_after = soon\n", "3: warn_after: bad duration 'soon' (use a number with s, "
          "m, h, d or w, e.g. 26h or 7d) (or a number of scheduled runs: '1 run', '2 runs')" },
        { AGENT "verify_after = always\n" SET,
          "5: verify_after: unknown value 'always' (off, staging or targets)" },
        { SET "[notify]\nwebhook = ftp://x\n", "4: webhook: 'ftp://x' must start with http:// or "
          "https://" },
        { SET "[notify]\nevents = push_failed, backup_exploded\n",
          "4: events: unknown value 'backup_exploded' (backup_failed, push_failed, "
          "prune_failed, verify_failed, status_warning, status_critical, drill_missed, "
          "recovered, unit_failed or test)" },
        { SET "[notify x]\n", "3: [notify] takes no name (found 'x')" },
        { SET "[target t]\ntype = file\npath = /t\nprune_profile = admin\n",
          "6: target 't': key 'prune_profile' does not apply to type 'file'" },
        { SET "[target t]\ntype = s3\nbucket = b\ndelete = never\n",
          "6: delete: 'never' is not true or false" },
        { SET "[target t]\ntype = s3\nbucket = b\nendpoint = http://127.0.0.1:7480\n"
              "url_style = virtual\n",
          "7: target 't': url_style 'virtual' puts the bucket in front of the host name, but "
          "endpoint 'http://127.0.0.1:7480' is an IP address\nHINT: set url_style = path" },
        { SET "[target t]\ntype = s3\nbucket = b\nurl_style = virtual\n"
              "endpoint = http://[::1]:7480\n",
          "6: target 't': url_style 'virtual' puts the bucket in front of the host name, but "
          "endpoint 'http://[::1]:7480' is an IP address\nHINT: set url_style = path" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ofs_config *cfg = (ofs_config *)1;
        char expected[PATH_MAX + 1024];
        ofs_error_clear();
        int rc = ofs_config_load(&cfg, write_config(f, "bad.ini", cases[i].text));
        snprintf(expected, sizeof(expected), "%s:%s", f->path, cases[i].message);
        if (rc != OFS_ECONFIG || strcmp(ofs_error_last(), expected) != 0)
            fail_msg("case %zu: rc %d, message\n  %s\nexpected\n  %s", i, rc, ofs_error_last(),
                     expected);
        assert_null(cfg);
    }
}

static void test_long_line(void **state)
{
    fixture *f = *state;
    size_t size = 5000;
    char *text = malloc(size + 64);
    ofs_config *cfg = NULL;
    char expected[PATH_MAX + 128];
    assert_non_null(text);
    int n = snprintf(text, size + 64, "[set data]\npaths = /");
    memset(text + n, 'x', size - (size_t)n);
    strcpy(text + size, "\n");
    assert_int_equal(ofs_config_load(&cfg, write_config(f, "long.ini", text)), OFS_ECONFIG);
    snprintf(expected, sizeof(expected), "%s:2: line longer than 4096 characters", f->path);
    assert_string_equal(ofs_error_last(), expected);
    assert_null(cfg);
    free(text);
}

static void test_unreadable(void **state)
{
    fixture *f = *state;
    ofs_config *cfg = (ofs_config *)1;
    char expected[PATH_MAX + 128];
    const char *missing = in_dir(f, "missing.ini");

    assert_int_equal(ofs_config_load(&cfg, missing), OFS_ENOTFOUND);
    snprintf(expected, sizeof(expected),
             "cannot read configuration '%s': No such file or directory", missing);
    assert_string_equal(ofs_error_last(), expected);
    assert_null(cfg);

    assert_int_equal(ofs_config_load(&cfg, NULL), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "no configuration file given");
    assert_null(cfg);

    int rc = ofs_config_load(&cfg, f->dir);
    assert_true(rc < 0);
    snprintf(expected, sizeof(expected), "cannot read configuration '%s': Is a directory", f->dir);
    assert_string_equal(ofs_error_last(), expected);
    assert_null(cfg);
}

static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t bytes;
    } good[] = {
        { "0", 0 }, { "1", 1 }, { "512B", 512 }, { "256K", 256 << 10 }, { "256k", 256 << 10 },
        { "128M", 128 << 20 }, { "128MiB", 128 << 20 }, { "128MB", 128 << 20 },
        { "2G", UINT64_C(2) << 30 }, { "3T", UINT64_C(3) << 40 }, { " 10 K ", 10 << 10 },
        { "16777215T", UINT64_C(16777215) << 40 },
        { "18446744073709551615", UINT64_MAX },
    };
    static const char *const bad[] = { "", " ", "K", "-1", "1.5G", "12Q", "1 2", "10KBB",
                                       "10iB", "1P", "M1" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t bytes = 7;
        if (ofs_parse_size(good[i].text, &bytes) != 0)
            fail_msg("'%s': %s", good[i].text, ofs_error_last());
        assert_true(bytes == good[i].bytes);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t bytes = 7;
        char expected[128];
        assert_int_equal(ofs_parse_size(bad[i], &bytes), OFS_ECONFIG);
        snprintf(expected, sizeof(expected), "bad size '%s' (use a number with K, M, G or T)",
                 bad[i]);
        assert_string_equal(ofs_error_last(), expected);
        assert_true(bytes == 7);
    }
    uint64_t bytes = 7;
    assert_int_equal(ofs_parse_size("16777216T", &bytes), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "size '16777216T' is too large");
    assert_int_equal(ofs_parse_size("18446744073709551616", &bytes), OFS_ECONFIG);
    assert_string_equal(ofs_error_last(), "size '18446744073709551616' is too large");
    assert_int_equal(ofs_parse_size(NULL, &bytes), OFS_ECONFIG);
    assert_true(bytes == 7);
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t seconds;
    } good[] = {
        { "0", 0 }, { "45", 45 }, { "45s", 45 }, { "12m", 720 }, { "26h", 93600 },
        { "7d", 604800 }, { "2w", 1209600 }, { "7D", 604800 }, { "1h30m", 5400 },
        { "3d 4h", 273600 }, { " 10 s ", 10 }, { "1w 1d 1h 1m 1s", 694861 },
        { "9223372036854775807", INT64_MAX }, { "9223372036854775807s", INT64_MAX },
    };
    static const char *const bad[] = { "", " ", "h", "-1", "-1h", "3 fortnights", "1.5h",
                                       "1h 30", "5x", "5sec", "d7", "1h-2m" };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t seconds = 7;
        if (ofs_parse_duration(good[i].text, &seconds) != 0)
            fail_msg("'%s': %s", good[i].text, ofs_error_last());
        assert_true(seconds == good[i].seconds);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t seconds = 7;
        char expected[160];
        assert_int_equal(ofs_parse_duration(bad[i], &seconds), OFS_ECONFIG);
        snprintf(expected, sizeof(expected), "bad duration '%s' (use a number with s, m, h, d or "
                 "w, e.g. 26h or 7d)", bad[i]);
        assert_string_equal(ofs_error_last(), expected);
        assert_true(seconds == 7);
    }
    static const char *const large[] = { "9223372036854775808", "15250284452472w",
                                         "9223372036854775807s 1s" };
    for (size_t i = 0; i < sizeof(large) / sizeof(large[0]); i++) {
        int64_t seconds = 7;
        char expected[128];
        assert_int_equal(ofs_parse_duration(large[i], &seconds), OFS_ECONFIG);
        snprintf(expected, sizeof(expected), "duration '%s' is too large", large[i]);
        assert_string_equal(ofs_error_last(), expected);
        assert_true(seconds == 7);
    }
}

static void test_format_duration(void **state)
{
    (void)state;
    static const struct {
        int64_t seconds;
        const char *text;
    } cases[] = {
        { 0, "0s" }, { 45, "45s" }, { 60, "1m" }, { 725, "12m 5s" }, { 3600, "1h" },
        { 3 * 86400 + 4 * 3600 + 59, "3d 4h" }, { 86400 + 300, "1d" }, { 93600, "1d 2h" },
        { 14 * 86400, "14d" }, { -90, "-1m 30s" },
        { INT64_MIN, "-106751991167300d 15h" }, { INT64_MAX, "106751991167300d 15h" },
    };
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ofs_format_duration(cases[i].seconds, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].text);
    }
    /* a small buffer is cut, never overrun */
    memset(buf, 'z', sizeof(buf));
    ofs_format_duration(725, buf, 4);
    assert_string_equal(buf, "12m");
    assert_int_equal(buf[4], 'z');
    ofs_format_duration(725, NULL, 0); /* no-op */

    /* what format prints, parse reads back (to its precision) */
    int64_t back = 0;
    ofs_format_duration(273600, buf, sizeof(buf));
    assert_int_equal(ofs_parse_duration(buf, &back), 0);
    assert_int_equal(back, 273600);
}

static void test_free_null(void **state)
{
    (void)state;
    ofs_config_free(NULL);
    assert_null(ofs_config_find_set(NULL, "x"));
    assert_null(ofs_config_find_target(NULL, "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
