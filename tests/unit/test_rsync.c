/* test_rsync.c - the pure parts of the rsync driver: url parsing, remote arguments and
 * wildcard escaping, ssh_command words and their quoting for -e, --list-only lines, exit
 * status classification, the constructor's checks and the argument vectors of every operation.
 * The driver against real servers is in test_rsync_servers.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/store.h"
#include "offsite/store_rsync.h"
#include "rsync_test.h"

/* ---- url ---- */

static void test_url_ssh(void **state)
{
    ofs_rsync_url u;
    (void)state;

    assert_int_equal(ofs_rsync_url_parse(&u, "backup@nas.example.com:/srv/offsite//"), 0);
    assert_int_equal(u.daemon, 0);
    assert_string_equal(u.user, "backup");
    assert_string_equal(u.host, "nas.example.com");
    assert_string_equal(u.path, "/srv/offsite");
    ofs_rsync_url_clear(&u);

    assert_int_equal(ofs_rsync_url_parse(&u, "nas:backups"), 0);
    assert_null(u.user);
    assert_string_equal(u.path, "backups");
    ofs_rsync_url_clear(&u);

    assert_int_equal(ofs_rsync_url_parse(&u, "root@[fe80::1]:/"), 0);
    assert_string_equal(u.host, "fe80::1");
    assert_string_equal(u.path, "/");
    ofs_rsync_url_clear(&u);
}

static void test_url_daemon(void **state)
{
    ofs_rsync_url u;
    (void)state;

    assert_int_equal(ofs_rsync_url_parse(&u, "rsync://alice@10.0.0.5:8730/backups/host1/"), 0);
    assert_int_equal(u.daemon, 1);
    assert_string_equal(u.user, "alice");
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 8730);
    assert_string_equal(u.module, "backups");
    assert_string_equal(u.path, "host1");
    ofs_rsync_url_clear(&u);

    assert_int_equal(ofs_rsync_url_parse(&u, "rsync://nas/mod"), 0);
    assert_null(u.user);
    assert_int_equal(u.port, 0);
    assert_string_equal(u.module, "mod");
    assert_string_equal(u.path, "");
    ofs_rsync_url_clear(&u);
}

static void test_url_bad(void **state)
{
    static const char *const bad[][2] = {
        { "", "empty" },
        { "ssh://host/path", "only rsync:// urls" },
        { "host::module", "host::module is not accepted" },
        { "-oProxyCommand=evil:/x", "bad host name" },
        { "-l@host:/x", "bad user name" },
        { "user@:/x", "bad host name" },
        { "host", "no ':' after the host" },
        { "host:", "no path" },
        { "rsync://host:99999/m", "bad port" },
        { "rsync://host:x/m", "bad port" },
        { "rsync://host/", "no module" },
        { "rsync://host/-m/x", "bad module name" },
        { "host:/a\nb", "control character" },
        { "u@[zz]:/x", "bad IPv6" },
        { "h:/srv/../etc", "'..' in the path" },
        { "rsync://h/m/..", "'..' in the path" },
    };
    ofs_rsync_url u;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = ofs_rsync_url_parse(&u, bad[i][0]);
        if (rc != OFS_ECONFIG || !strstr(ofs_error_last(), bad[i][1]))
            fail_msg("url '%s': rc %d, message '%s'", bad[i][0], rc, ofs_error_last());
        assert_null(u.host);
    }
    assert_non_null(strstr(ofs_error_last(), "HINT: use [user@]host:/path"));
}

static void test_url_remote(void **state)
{
    ofs_rsync_url u;
    char *s;
    (void)state;

    assert_int_equal(ofs_rsync_url_parse(&u, "bk@nas:/srv/off site"), 0);
    s = ofs_rsync_url_remote(&u, "", 1);
    assert_string_equal(s, "bk@nas:/srv/off site/");
    free(s);
    s = ofs_rsync_url_remote(&u, "data/a b/vol-0001.ofs", 0);
    assert_string_equal(s, "bk@nas:/srv/off site/data/a b/vol-0001.ofs");
    free(s);
    /* only a component holding a wildcard is escaped, backslashes included */
    s = ofs_rsync_url_remote(&u, "a\\b/s*t\\r/[x]", 0);
    assert_string_equal(s, "bk@nas:/srv/off site/a\\b/s\\*t\\\\r/\\[x]");
    free(s);
    ofs_rsync_url_clear(&u);

    assert_int_equal(ofs_rsync_url_parse(&u, "h:/"), 0);
    s = ofs_rsync_url_remote(&u, "k", 0);
    assert_string_equal(s, "h:/k");
    free(s);
    ofs_rsync_url_clear(&u);

    assert_int_equal(ofs_rsync_url_parse(&u, "u@[::1]:rel"), 0);
    s = ofs_rsync_url_remote(&u, "", 1);
    assert_string_equal(s, "u@[::1]:rel/");
    free(s);
    ofs_rsync_url_clear(&u);

    assert_int_equal(ofs_rsync_url_parse(&u, "rsync://a@h:873/m"), 0);
    s = ofs_rsync_url_remote(&u, "", 1);
    assert_string_equal(s, "rsync://a@h:873/m/");
    free(s);
    s = ofs_rsync_url_remote(&u, "x/y", 0);
    assert_string_equal(s, "rsync://a@h:873/m/x/y");
    free(s);
    ofs_rsync_url_clear(&u);

    assert_int_equal(ofs_rsync_url_parse(&u, "rsync://h/m/p/q"), 0);
    s = ofs_rsync_url_remote(&u, "data/", 1);
    assert_string_equal(s, "rsync://h/m/p/q/data/");
    free(s);
    ofs_rsync_url_clear(&u);

    s = ofs_rsync_filter_escape("/a\\b/c", 0);
    assert_string_equal(s, "/a\\b/c"); /* no wildcard: rsync compares literally */
    free(s);
    s = ofs_rsync_filter_escape("/a\\b/c*", 0);
    assert_string_equal(s, "/a\\\\b/c\\*");
    free(s);
    s = ofs_rsync_filter_escape("/x", 1);
    assert_string_equal(s, "/x");
    free(s);
}

/* ---- ssh_command ---- */

static void test_words(void **state)
{
    char **w = NULL;
    size_t n = 0;
    char *q;
    (void)state;

    assert_int_equal(ofs_rsync_split_words("  ssh -p 2222\t-i '/keys/my key' -o \"A=\\\"b\\\\\" "
                                           "x\\ y it''s", &w, &n), 0);
    assert_int_equal(n, 9);
    assert_string_equal(w[0], "ssh");
    assert_string_equal(w[2], "2222");
    assert_string_equal(w[4], "/keys/my key");
    assert_string_equal(w[6], "A=\"b\\");
    assert_string_equal(w[7], "x y");
    assert_string_equal(w[8], "its");
    assert_null(w[9]);
    ofs_rsync_words_free(w);

    assert_int_equal(ofs_rsync_split_words("ssh '' \"it's\"", &w, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(w[1], "");
    assert_string_equal(w[2], "it's");
    q = ofs_rsync_rsh_quote(w);
    assert_string_equal(q, "'ssh' '' 'it''s'");
    free(q);
    ofs_rsync_words_free(w);

    assert_int_equal(ofs_rsync_split_words("ssh 'open", &w, &n), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "unterminated '"));
    assert_null(w);
    assert_int_equal(ofs_rsync_split_words("ssh \"open", &w, &n), OFS_ECONFIG);
    assert_int_equal(ofs_rsync_split_words("ssh x\\", &w, &n), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "trailing backslash"));
    assert_int_equal(ofs_rsync_split_words("ssh\x01", &w, &n), OFS_ECONFIG);
    assert_int_equal(ofs_rsync_split_words("   ", &w, &n), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "no command"));
}

/* ---- listing lines ---- */

static void test_list_line(void **state)
{
    char line[256], type = 0, *name = NULL;
    ofs_object_info info;
    (void)state;

    strcpy(line, "-rw-r--r--        1234 2024/03/15 21:00:07 data/daily/a b/vol-0001.ofs");
    assert_int_equal(ofs_rsync_parse_list_line(line, &type, &name, &info), 0);
    assert_int_equal(type, '-');
    assert_string_equal(name, "data/daily/a b/vol-0001.ofs");
    assert_int_equal(info.size, 1234);
    assert_int_equal(info.mtime, 1710536407); /* 2024-03-15T21:00:07Z */

    strcpy(line, "-rw-------  12345678901234 2024/03/15 21:00:07  lead\\#011tab \\#134#101");
    assert_int_equal(ofs_rsync_parse_list_line(line, &type, &name, &info), 0);
    assert_string_equal(name, " lead\ttab \\#101"); /* a literal \#101 comes escaped */
    assert_int_equal(info.size, 12345678901234ull);

    strcpy(line, "drwxr-xr-x        4096 2024/03/15 21:00:07 .");
    assert_int_equal(ofs_rsync_parse_list_line(line, &type, &name, &info), 0);
    assert_int_equal(type, 'd');
    assert_string_equal(name, ".");

    strcpy(line, "lrwxrwxrwx          10 2024/03/15 21:00:07 日本語 -> target");
    assert_int_equal(ofs_rsync_parse_list_line(line, &type, &name, &info), 0);
    assert_int_equal(type, 'l');
    assert_string_equal(name, "日本語");

    static const char *const bad[] = {
        "",
        "created directory x",
        "-rw-r--r--        12,34 2024/03/15 21:00:07 x",
        "-rw-r--r--        1234 2024-03-15 21:00:07 x",
        "-rw-r--r--        1234 2024/03/15 21:00:07 ",
        "-rw-r--r--        1234 2024/03/1x 21:00:07 x",
        "?rw-r--r--        1234 2024/03/15 21:00:07 x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        strcpy(line, bad[i]);
        if (ofs_rsync_parse_list_line(line, &type, &name, &info) != OFS_ECORRUPT)
            fail_msg("line '%s' was accepted", bad[i]);
    }
    assert_non_null(strstr(ofs_error_last(), "unexpected line in rsync's listing"));

    assert_int_equal(ofs_rsync_hidden("a/.tmp-partial/x"), 1);
    assert_int_equal(ofs_rsync_hidden(".tmp-rsync/vol.ofs.Ab12Cd"), 1);
    assert_int_equal(ofs_rsync_hidden("a/.tmpx"), 1);
    assert_int_equal(ofs_rsync_hidden("a/.tm/x.tmp"), 0);
    assert_int_equal(ofs_rsync_hidden("manifest.json"), 0);
}

/* ---- failures ---- */

static void test_fail(void **state)
{
    (void)state;

    assert_int_equal(ofs_rsync_fail(5, 0, "@ERROR: auth failed on module m\nrsync error: error "
                                          "starting client-server protocol (code 5) at "
                                          "main.c(1954) [Receiver=3.5.0]\n"),
                     OFS_EDENIED);
    assert_string_equal(ofs_error_last(),
                        "the rsync daemon refused the login (rsync exit 5: error starting "
                        "client-server protocol): @ERROR: auth failed on module m\nHINT: check "
                        "the user in url and the password in password_file (the daemon's "
                        "secrets file must hold the same)");

    assert_int_equal(ofs_rsync_fail(5, 0, "@ERROR: Unknown module 'zz'\n"), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "no such module"));

    assert_int_equal(ofs_rsync_fail(255, 0, "No ED25519 host key is known for [127.0.0.1]:2 and "
                                            "you have requested strict checking.\nHost key "
                                            "verification failed.\nrsync: connection unexpectedly "
                                            "closed (0 bytes received so far) [Receiver]\n"),
                     OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "host key could not be verified"));
    assert_non_null(strstr(ofs_error_last(), "Host key verification failed."));
    assert_non_null(strstr(ofs_error_last(), "HINT: "));

    assert_int_equal(ofs_rsync_fail(255, 0, "root@h: Permission denied (publickey).\n"),
                     OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "ssh refused the login"));

    assert_int_equal(ofs_rsync_fail(255, 0, "ssh: connect to host 127.0.0.1 port 2: Connection "
                                            "refused\n"), OFS_ETRANSIENT);
    assert_non_null(strstr(ofs_error_last(), "unreachable"));
    assert_int_equal(ofs_rsync_fail(10, 0, "rsync: [Receiver] failed to connect to 127.0.0.1 "
                                           "(127.0.0.1): Connection refused (111)\n"),
                     OFS_ETRANSIENT);
    assert_int_equal(ofs_rsync_fail(30, 0, "[sender] io timeout after 120 seconds -- exiting\n"),
                     OFS_ETRANSIENT);
    assert_non_null(strstr(ofs_error_last(), "timed out"));
    assert_int_equal(ofs_rsync_fail(35, 0, ""), OFS_ETRANSIENT);
    assert_int_equal(ofs_rsync_fail(12, 0, "rsync: connection unexpectedly closed\n"),
                     OFS_ETRANSIENT);
    assert_int_equal(ofs_rsync_fail(11, 0, "rsync: [receiver] write failed on \"x\" (in m): No "
                                           "space left on device (28)\n"), OFS_ENOSPC);
    assert_non_null(strstr(ofs_error_last(), "remote disk is full"));
    assert_int_equal(ofs_rsync_fail(23, 0, "rsync: [receiver] mkstemp \"x\" failed: Permission "
                                           "denied (13)\n"), OFS_EDENIED);
    assert_int_equal(ofs_rsync_fail(12, 0, "bash: line 1: rsync: command not found\n"),
                     OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "not installed on the remote host"));
    assert_int_equal(ofs_rsync_fail(-1, SIGTERM, ""), OFS_ECANCELED);
    assert_string_equal(ofs_error_last(), "rsync was interrupted (rsync killed by signal 15)");
    assert_int_equal(ofs_rsync_fail(3, 0, "a\nb\nc\nd\ne\nf\n"), OFS_ERROR);
    assert_string_equal(ofs_error_last(), "rsync failed (rsync exit 3: errors selecting "
                                          "input/output files, dirs): c; d; e; f");
    assert_int_equal(ofs_rsync_fail(1, 0, "rsync error: syntax or usage error (code 1) at "
                                          "main.c(1)\n"), OFS_ERROR);
    assert_non_null(strstr(ofs_error_last(), ": rsync error: syntax"));

    assert_int_equal(ofs_rsync_missing(23, "rsync: [sender] link_stat \"/a\" (in m) failed: No "
                                           "such file or directory (2)\n"), 1);
    assert_int_equal(ofs_rsync_missing(23, "rsync: opendir \"/a\" failed: Permission denied "
                                           "(13)\nchange_dir \"/b\" failed: No such file or "
                                           "directory (2)\n"), 0);
    assert_int_equal(ofs_rsync_missing(12, "No such file or directory"), 0);
    /* a delete under a directory that was never made (rsync daemon, fresh prefix) */
    assert_int_equal(ofs_rsync_missing(11, "rsync: [Receiver] mkdir \"fleet/h1\" (in backup) "
                                           "failed: No such file or directory (2)"), 1);
    assert_int_equal(ofs_rsync_missing(11, "rsync: write failed on \"x\" (in m): No space "
                                           "left on device (28)"), 0);
}

/* ---- constructor and argument vectors ---- */

static void assert_argv(char **argv, const char *const *want)
{
    size_t i;
    for (i = 0; want[i]; i++) {
        if (!argv[i] || strcmp(argv[i], want[i]) != 0)
            fail_msg("argv[%zu] is '%s', expected '%s'", i, argv[i] ? argv[i] : "(end)",
                     want[i]);
    }
    if (argv[i])
        fail_msg("argv[%zu] is '%s', expected the end", i, argv[i]);
}

static void test_argv(void **state)
{
    char dir[] = "/tmp/test_rsync_argv.XXXXXX", pw[64], **argv = NULL;
    ofs_config_target t;
    ofs_store *s = NULL;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(pw, sizeof(pw), "%s/pw", dir);
    write_file(pw, "secret\n", 0600);

    t = target_of("bk@nas:/srv/off", "ssh -p 2222 -i '/k/my key'", NULL, "1M");
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), 0);
    assert_int_equal(ofs_store_caps(s), 0);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_PUT, "data/d/s*t/vol", "/c/sp", 0, &argv), 0);
    {
        const char *const want[] = {
            "rsync", "-8", "--timeout=120", "-e",
            "'ssh' '-p' '2222' '-i' '/k/my key' '-o' 'BatchMode=yes' '-o' 'ConnectTimeout=30'",
            "--bwlimit=1024", "-R", "-K", "-I", "--temp-dir=.tmp-rsync", "--partial-dir=.tmp-partial",
            "--out-format=%i %n", "--", "/c/sp/./data/d/s*t/vol", "bk@nas:/srv/off/", NULL
        };
        assert_argv(argv, want);
    }
    ofs_rsync_words_free(argv);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_PUT, "k", "/c/sp", OFS_PUT_IF_ABSENT, &argv),
                     0);
    assert_string_equal(argv[8], "--ignore-existing");
    ofs_rsync_words_free(argv);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_DEL, "a/s*t/v", "/c/skel", 0, &argv), 0);
    {
        const char *const want[] = {
            "rsync", "-8", "--timeout=120", "-e",
            "'ssh' '-p' '2222' '-i' '/k/my key' '-o' 'BatchMode=yes' '-o' 'ConnectTimeout=30'",
            "-r", "-K", "--existing", "--delete", "--include=/a/", "--include=/a/s\\*t/",
            "--include=/a/s\\*t/v", "--include=/a/s\\*t/.tmp-partial/",
            "--include=/a/s\\*t/.tmp-partial/v", "--exclude=*", "--", "/c/skel/",
            "bk@nas:/srv/off/", NULL
        };
        assert_argv(argv, want);
    }
    ofs_rsync_words_free(argv);
    /* the root's directories are made with -R from the host's / */
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_PREPARE, "", "/c/prep", 0, &argv), 0);
    assert_string_equal(argv[5], "-d");
    assert_string_equal(argv[9], "/c/prep/./srv/off/.tmp-rsync");
    assert_string_equal(argv[10], "bk@nas:/");
    assert_null(argv[11]);
    ofs_rsync_words_free(argv);
    ofs_store_free(s);

    t = target_of("bk@nas:rel/dir", NULL, NULL, NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), 0);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_PREPARE, "", "/c/prep", 0, &argv), 0);
    assert_string_equal(argv[9], "/c/prep/./rel/dir/.tmp-rsync");
    assert_string_equal(argv[10], "bk@nas:"); /* the home directory */
    ofs_rsync_words_free(argv);
    ofs_store_free(s);

    t = target_of("rsync://alice@127.0.0.1:8730/mod/host1", NULL, pw, NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), 0);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_LIST, "data/", NULL, 0, &argv), 0);
    {
        char pwopt[128];
        snprintf(pwopt, sizeof(pwopt), "--password-file=%s", pw);
        const char *const want[] = { "rsync", "-8", "--timeout=120", "--contimeout=30", pwopt,
                                     "--list-only", "--no-h", "-r", "--",
                                     "rsync://alice@127.0.0.1:8730/mod/host1/data/", NULL };
        assert_argv(argv, want);
    }
    ofs_rsync_words_free(argv);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_PREPARE, "", "/c/prep", 0, &argv), 0);
    assert_string_equal(argv[9], "/c/prep/./host1/.tmp-rsync");
    assert_string_equal(argv[10], "rsync://alice@127.0.0.1:8730/mod/");
    ofs_rsync_words_free(argv);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_GET, "k", "/c/obj", 0, &argv), 0);
    assert_string_equal(argv[5], "-I");
    assert_string_equal(argv[7], "rsync://alice@127.0.0.1:8730/mod/host1/k");
    assert_string_equal(argv[8], "/c/obj");
    ofs_rsync_words_free(argv);
    ofs_store_free(s);

    /* configuration errors name the target and its line */
    t = target_of("rsync://h/m", "ssh", NULL, NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), OFS_ECONFIG);
    assert_null(s);
    assert_non_null(strstr(ofs_error_last(), "target 'nas' (line 12): ssh_command is for ssh"));
    t = target_of("h:/x", NULL, pw, NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "password_file is for rsync://"));
    chmod(pw, 0644);
    t = target_of("rsync://h/m", NULL, pw, NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "readable by group or others (mode 0644)"));
    assert_non_null(strstr(ofs_error_last(), "HINT: chmod 600"));
    t = target_of("rsync://h/m", NULL, "/nonexistent/pw", NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "No such file"));
    /* bwlimit: the rate that applies when rsync starts, in KiB/s */
    t = target_of("h:/x", NULL, NULL, "00:00,100 12:00,100");
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), 0);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_GET, "k", "/c/obj", 0, &argv), 0);
    assert_string_equal(argv[5], "--bwlimit=1"); /* 100 bytes/s: at least 1 KiB/s */
    ofs_rsync_words_free(argv);
    ofs_store_free(s);
    t = target_of("h:/x", NULL, NULL, "off");
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), 0);
    assert_int_equal(ofs_rsync_argv(s, OFS_RSYNC_OP_GET, "k", "/c/obj", 0, &argv), 0);
    assert_string_equal(argv[5], "-I");
    ofs_rsync_words_free(argv);
    ofs_store_free(s);
    t = target_of("h:/x", NULL, NULL, "fast");
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "target 'nas' (line 12): bwlimit 'fast'"));
    t = target_of(NULL, NULL, NULL, NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "needs 'url'"));
    t = target_of("h:/x", "ssh 'open", NULL, NULL);
    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), OFS_ECONFIG);
    assert_null(s);
    ofs_rm_rf(dir);
}

/* spool directories a dead run left are removed when a store opens, once they are two days
 * old; younger ones (a live run's) and anything else in the cache stay */
static void test_stale_spool(void **state)
{
    char dir[] = "/tmp/test_rsync_cache.XXXXXX", path[128];
    struct timespec old[2] = { { time(NULL) - 3 * 86400, 0 }, { time(NULL) - 3 * 86400, 0 } };
    ofs_config_target t = target_of("h:/x", NULL, NULL, NULL);
    ofs_store *s = NULL;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/rsync-Ab12Cd/data", dir);
    assert_int_equal(ofs_mkdir_p(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/rsync-Ab12Cd", dir);
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    snprintf(path, sizeof(path), "%s/rsync-Zz99Yy", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/other-old", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);

    assert_int_equal(ofs_store_rsync_new(&s, &t, dir), 0);
    snprintf(path, sizeof(path), "%s/rsync-Ab12Cd", dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/rsync-Zz99Yy", dir);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof(path), "%s/other-old", dir);
    assert_int_equal(access(path, F_OK), 0);
    ofs_store_free(s);
    ofs_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_ssh),    cmocka_unit_test(test_url_daemon),
        cmocka_unit_test(test_url_bad),    cmocka_unit_test(test_url_remote),
        cmocka_unit_test(test_words),      cmocka_unit_test(test_list_line),
        cmocka_unit_test(test_fail),       cmocka_unit_test(test_argv),
        cmocka_unit_test(test_stale_spool),
    };
    return cmocka_run_group_tests_name("rsync", tests, NULL, NULL);
}
