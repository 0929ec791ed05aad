/* test_rsync_servers.c - the rsync driver end to end against a real rsync daemon and a real
 * sshd that the tests start on loopback (skipped, saying why, when rsync, sshd or ssh-keygen
 * is not installed): round trips, ranges, stat, list order and hiding, awkward names (spaces,
 * UTF-8, wildcards, backslashes), IF_ABSENT, abort, del, resume from a partial upload, a root
 * that does not exist yet, and the failures (wrong password, unknown module, refused
 * connection, unknown host key, unauthorized key), plus ssh_command words reaching the
 * program through rsync's -e. Every path holds a space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offsite/config.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/store.h"
#include "offsite/store_rsync.h"
#include "rsync_test.h"

/* ---- servers ---- */

typedef struct server {
    char base[128];     /* scratch: everything below */
    char root[256];     /* the directory the target's url names */
    char cache[256];
    char pw[256], badpw[256];
    char url[512], ssh_command[1024];
    int port;
    pid_t pid;
    int ssh;
    ofs_store *store;
} server;

static int free_port(void)
{
    struct sockaddr_in a = { 0 };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int port_open(int port)
{
    struct sockaddr_in a = { 0 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* start(argv, log): the server in the background, output to log; its pid */
static pid_t start(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (fd < 0 || nul < 0)
            _exit(126);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static int run_quiet(char *const argv[])
{
    int status = 0;
    pid_t pid = start(argv, "/dev/null");
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* wait_up(s): until the port answers (5 s), 0; -1 if the server died */
static int wait_up(server *s)
{
    for (int i = 0; i < 100; i++) {
        int status;
        if (port_open(s->port))
            return 0;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = -1;
            return -1;
        }
        usleep(50000);
    }
    return -1;
}

static void stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = -1;
    }
}

static int make_base(server *s, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    char module[300];
    /* a space in every path: the -e quoting and the argument vectors are exercised for real */
    snprintf(s->base, sizeof(s->base), "%s/test rsync %s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
             what);
    if (!mkdtemp(s->base))
        return -1;
    snprintf(s->root, sizeof(s->root), "%s/remote/deep/root", s->base);
    snprintf(s->cache, sizeof(s->cache), "%s/cache", s->base);
    snprintf(module, sizeof(module), "%s/remote", s->base);
    return ofs_mkdir_p(module, 0700);
}

static int open_store(server *s, const char *url, const char *ssh_command, const char *pw,
                      ofs_store **out)
{
    ofs_config_target t = target_of(url, ssh_command, pw, NULL);
    return ofs_store_rsync_new(out, &t, s->cache);
}

static int setup_daemon(void **state)
{
    server *s = calloc(1, sizeof(*s));
    char conf[256], secrets[256], log[256], text[2048], confopt[300];

    if (!s)
        return -1;
    s->pid = -1;
    *state = s;
    if (!have_program("rsync")) {
        fprintf(stderr, "SKIP daemon tests: rsync is not installed\n");
        return 0;
    }
    if (make_base(s, "daemon") < 0)
        return -1;
    snprintf(conf, sizeof(conf), "%s/rsyncd.conf", s->base);
    snprintf(secrets, sizeof(secrets), "%s/secrets", s->base);
    snprintf(log, sizeof(log), "%s/rsyncd.log", s->base);
    snprintf(s->pw, sizeof(s->pw), "%s/pw", s->base);
    snprintf(s->badpw, sizeof(s->badpw), "%s/badpw", s->base);
    write_file(secrets, "alice:s3cret\n", 0600);
    write_file(s->pw, "s3cret\n", 0600);
    write_file(s->badpw, "wrong\n", 0600);
    for (int attempt = 0; attempt < 5 && s->pid < 0; attempt++) {
        s->port = free_port();
        snprintf(text, sizeof(text),
                 "port = %d\naddress = 127.0.0.1\nuse chroot = no\nuid = %u\ngid = %u\n"
                 "pid file = %s/rsyncd.pid\n[m]\npath = %s/remote\nread only = no\n"
                 "auth users = alice\nsecrets file = %s\n",
                 s->port, (unsigned)getuid(), (unsigned)getgid(), s->base, s->base, secrets);
        write_file(conf, text, 0600);
        snprintf(confopt, sizeof(confopt), "--config=%s", conf);
        char *argv[] = { "rsync", "--daemon", "--no-detach", confopt, NULL };
        s->pid = start(argv, log);
        if (wait_up(s) < 0)
            stop(s);
    }
    if (s->pid < 0) {
        char *l = read_text(log);
        fprintf(stderr, "rsync daemon did not start: %s\n", l ? l : "");
        free(l);
        return -1;
    }
    snprintf(s->url, sizeof(s->url), "rsync://alice@127.0.0.1:%d/m/deep/root", s->port);
    if (open_store(s, s->url, NULL, s->pw, &s->store) < 0) {
        fprintf(stderr, "%s\n", ofs_error_last());
        return -1;
    }
    return 0;
}

static int setup_sshd(void **state)
{
    server *s = calloc(1, sizeof(*s));
    char dir[64], conf[320], log[320], text[4096], hostkey[320], userkey[320], known[320];
    struct passwd *pw = getpwuid(getuid());

    if (!s)
        return -1;
    s->pid = -1;
    s->ssh = 1;
    *state = s;
    if (!have_program("rsync") || !have_program("/usr/sbin/sshd") ||
        !have_program("ssh-keygen") || !have_program("ssh") || !pw) {
        fprintf(stderr, "SKIP ssh tests: rsync, /usr/sbin/sshd, ssh or ssh-keygen is missing\n");
        return 0;
    }
    if (getuid() == 0 && mkdir("/run/sshd", 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "SKIP ssh tests: cannot create /run/sshd\n");
        return 0;
    }
    if (make_base(s, "ssh") < 0)
        return -1;
    /* sshd's own files without spaces (its config syntax), the client's with */
    snprintf(dir, sizeof(dir), "/tmp/test_rsync_sshd.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(text, sizeof(text), "%s/sshd", s->base);
    if (symlink(dir, text) < 0)
        return -1;
    snprintf(hostkey, sizeof(hostkey), "%s/hostkey", dir);
    snprintf(userkey, sizeof(userkey), "%s/user key", s->base);
    snprintf(known, sizeof(known), "%s/known hosts", s->base);
    snprintf(conf, sizeof(conf), "%s/sshd_config", dir);
    snprintf(log, sizeof(log), "%s/sshd.log", dir);
    char *kg1[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey, NULL };
    char *kg2[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", userkey, NULL };
    if (run_quiet(kg1) != 0 || run_quiet(kg2) != 0)
        return -1;
    snprintf(text, sizeof(text), "%s.pub", userkey);
    char *pub = read_text(text), *hostpub = NULL;
    snprintf(text, sizeof(text), "%s/authorized_keys", dir);
    write_file(text, pub ? pub : "", 0600);
    free(pub);
    snprintf(text, sizeof(text), "%s.pub", hostkey);
    hostpub = read_text(text);
    for (int attempt = 0; attempt < 5 && s->pid < 0; attempt++) {
        char *sp;
        s->port = free_port();
        /* SHLVL=1: Debian's bash then skips ~/.bashrc for the commands sshd runs (see
         * tests/integration/servers/sshd.sh) */
        snprintf(text, sizeof(text),
                 "Port %d\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile "
                 "%s/authorized_keys\nPidFile %s/sshd.pid\nUsePAM no\nStrictModes no\n"
                 "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                 "PermitRootLogin prohibit-password\nLogLevel ERROR\nSetEnv SHLVL=1\n",
                 s->port, hostkey, dir, dir);
        write_file(conf, text, 0600);
        /* "[127.0.0.1]:PORT TYPE KEY" from the public host key "TYPE KEY COMMENT" */
        sp = hostpub ? strchr(hostpub, ' ') : NULL;
        sp = sp ? strchr(sp + 1, ' ') : NULL;
        snprintf(text, sizeof(text), "[127.0.0.1]:%d %.*s\n", s->port,
                 sp ? (int)(sp - hostpub) : 0, hostpub ? hostpub : "");
        write_file(known, text, 0600);
        char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", conf, NULL };
        s->pid = start(argv, log);
        if (wait_up(s) < 0)
            stop(s);
    }
    free(hostpub);
    if (s->pid < 0) {
        char *l = read_text(log);
        fprintf(stderr, "sshd did not start: %s\n", l ? l : "");
        free(l);
        return -1;
    }
    snprintf(s->url, sizeof(s->url), "%s@127.0.0.1:%s", pw->pw_name, s->root);
    snprintf(s->ssh_command, sizeof(s->ssh_command),
             "ssh -F /dev/null -p %d -i '%s' -o IdentitiesOnly=yes "
             "-o 'UserKnownHostsFile=\"%s\"' -o StrictHostKeyChecking=yes", s->port, userkey, known);
    if (open_store(s, s->url, s->ssh_command, NULL, &s->store) < 0) {
        fprintf(stderr, "%s\n", ofs_error_last());
        return -1;
    }
    return 0;
}

static int teardown_server(void **state)
{
    server *s = *state;
    char link[300], target[256];
    ssize_t n;

    stop(s);
    ofs_store_free(s->store);
    snprintf(link, sizeof(link), "%s/sshd", s->base);
    if (s->base[0] && (n = readlink(link, target, sizeof(target) - 1)) > 0) {
        target[n] = '\0';
        ofs_rm_rf(target);
    }
    if (s->base[0])
        ofs_rm_rf(s->base);
    free(s);
    return 0;
}

/* need_server(s): skip without a server; else start with no root at all, not even its
 * parent: the driver makes both again (and its own ROOT/.tmp-rsync) on the first put */
static void need_server(server *s)
{
    char parent[300];

    if (!s->store)
        skip();
    snprintf(parent, sizeof(parent), "%s/remote/deep", s->base);
    assert_int_equal(ofs_rm_rf(parent), 0);
}
#define NEED_SERVER(s) need_server(s)

/* ---- the driver against a server ---- */

static void put_bytes(ofs_store *st, const char *key, unsigned flags, const void *data,
                      size_t size, int want)
{
    ofs_writer *w = NULL;
    int rc = ofs_store_put(st, key, flags, &w);
    size_t off = 0;

    if (rc == 0) {
        while (off < size && rc == 0) {
            size_t n = size - off < 70000 ? size - off : 70000;
            rc = ofs_writer_write(w, (const char *)data + off, n);
            off += n;
        }
        if (rc == 0)
            rc = ofs_writer_finish(w);
    }
    ofs_writer_free(w);
    if (rc != want)
        fail_msg("put '%s': rc %d (want %d): %s", key, rc, want, ofs_error_last());
}

static uint8_t *get_bytes(ofs_store *st, const char *key, uint64_t off, uint64_t len,
                          size_t *size)
{
    ofs_reader *r = NULL;
    char *data = NULL;
    int rc = ofs_store_get(st, key, off, len, &r);
    if (rc == 0)
        rc = ofs_reader_read_all(r, &data, size, 64 << 20);
    ofs_reader_free(r);
    if (rc != 0)
        fail_msg("get '%s': rc %d: %s", key, rc, ofs_error_last());
    return (uint8_t *)data;
}

static void remote_path(const server *s, const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", s->root, rel);
}

static void test_round_trip(void **state)
{
    server *s = *state;
    const size_t big = 3 * 1024 * 1024 + 17;
    uint8_t *data = malloc(big), *got;
    ofs_object_info info;
    char path[1024];
    struct stat st;
    size_t size = 0;

    NEED_SERVER(s);
    assert_non_null(data);
    fill(data, big, 7);
    put_bytes(s->store, "data/daily/set_20240315_210000/vol-0001.ofs", 0, data, big, 0);
    remote_path(s, "data/daily/set_20240315_210000/vol-0001.ofs", path, sizeof(path));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, big);

    got = get_bytes(s->store, "data/daily/set_20240315_210000/vol-0001.ofs", 0, 0, &size);
    assert_int_equal(size, big);
    assert_memory_equal(got, data, big);
    free(got);
    /* a range, and a range running past the end */
    got = get_bytes(s->store, "data/daily/set_20240315_210000/vol-0001.ofs", 1000000, 4096,
                    &size);
    assert_int_equal(size, 4096);
    assert_memory_equal(got, data + 1000000, 4096);
    free(got);
    got = get_bytes(s->store, "data/daily/set_20240315_210000/vol-0001.ofs", big - 10, 100,
                    &size);
    assert_int_equal(size, 10);
    free(got);
    got = get_bytes(s->store, "data/daily/set_20240315_210000/vol-0001.ofs", big + 10, 0, &size);
    assert_int_equal(size, 0);
    free(got);

    assert_int_equal(ofs_store_stat(s->store, "data/daily/set_20240315_210000/vol-0001.ofs",
                                    &info), 0);
    assert_int_equal(info.size, big);
    assert_true(llabs((long long)(info.mtime - time(NULL))) < 120);

    /* an empty object, and a rewrite of an existing key with the same size */
    put_bytes(s->store, "empty", 0, "", 0, 0);
    assert_int_equal(ofs_store_stat(s->store, "empty", &info), 0);
    assert_int_equal(info.size, 0);
    put_bytes(s->store, "manifest.json", 0, "{\"v\":1}", 7, 0);
    put_bytes(s->store, "manifest.json", 0, "{\"v\":2}", 7, 0);
    got = get_bytes(s->store, "manifest.json", 0, 0, &size);
    assert_int_equal(size, 7);
    assert_memory_equal(got, "{\"v\":2}", 7);
    free(got);
    /* nothing is left in the cache */
    assert_int_equal(count_entries(s->cache), 0);
    free(data);
}

static void test_missing(void **state)
{
    server *s = *state;
    ofs_object_info info;
    ofs_reader *r = NULL;
    char path[1024];

    NEED_SERVER(s);
    assert_int_equal(ofs_store_stat(s->store, "no/such/key", &info), OFS_ENOTFOUND);
    assert_non_null(strstr(ofs_error_last(), "nas: no/such/key: not found"));
    assert_int_equal(ofs_store_get(s->store, "nope", 0, 0, &r), OFS_ENOTFOUND);
    assert_null(r);
    /* a directory under a key is not an object */
    remote_path(s, "adir/sub", path, sizeof(path));
    assert_int_equal(ofs_mkdir_p(path, 0700), 0);
    assert_int_equal(ofs_store_stat(s->store, "adir", &info), OFS_ENOTFOUND);
    assert_int_equal(ofs_store_get(s->store, "adir", 0, 0, &r), OFS_ENOTFOUND);
    assert_int_equal(count_entries(s->cache), 0);
}

typedef struct {
    char keys[32][256];
    uint64_t sizes[32];
    int n;
    int stop_after;
} collected;

static int collect(void *ctx, const char *key, const ofs_object_info *info)
{
    collected *c = ctx;
    if (c->n < 32) {
        snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
        c->sizes[c->n] = info->size;
    }
    c->n++;
    return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void test_list(void **state)
{
    server *s = *state;
    static const char *const keys[] = {
        "a.json", "a b/x", "a-b", "a/b/c", "a/b/d", "a/ba", "b/日本語 é.txt", "b/st*r", "b/str",
        "b/s[t]r", "b/a\\b", "z",
    };
    static const char *const sorted[] = {
        "a b/x", "a-b", "a.json", "a/b/c", "a/b/d", "a/ba", "b/a\\b", "b/s[t]r", "b/st*r", "b/str",
        "b/日本語 é.txt", "z",
    };
    collected c;
    char path[1024];

    NEED_SERVER(s);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        put_bytes(s->store, keys[i], 0, keys[i], strlen(keys[i]), 0);
    /* rsync's own temporary and partial files are never listed */
    remote_path(s, "a/.tmp-partial/b", path, sizeof(path));
    assert_int_equal(ofs_mkdir_p(path, 0700), 0);
    remote_path(s, ".tmp-rsync/a.Xy12Zw", path, sizeof(path));
    write_file(path, "partial", 0600);

    memset(&c, 0, sizeof(c));
    assert_int_equal(ofs_store_list(s->store, "", collect, &c), 0);
    assert_int_equal(c.n, 12);
    for (int i = 0; i < c.n; i++)
        assert_string_equal(c.keys[i], sorted[i]);
    assert_int_equal(c.sizes[10], strlen("b/日本語 é.txt"));

    memset(&c, 0, sizeof(c));
    assert_int_equal(ofs_store_list(s->store, "a/b", collect, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.keys[0], "a/b/c");
    assert_string_equal(c.keys[2], "a/ba");

    memset(&c, 0, sizeof(c));
    assert_int_equal(ofs_store_list(s->store, "b/st", collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.keys[0], "b/st*r");
    assert_string_equal(c.keys[1], "b/str");

    memset(&c, 0, sizeof(c));
    assert_int_equal(ofs_store_list(s->store, "nothing/here/", collect, &c), 0);
    assert_int_equal(c.n, 0);

    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    assert_int_equal(ofs_store_list(s->store, "", collect, &c), 42);
    assert_int_equal(c.n, 2);

    /* wildcards and backslashes name exactly one object in get, stat and del */
    size_t size = 0;
    uint8_t *got = get_bytes(s->store, "b/st*r", 0, 0, &size);
    assert_int_equal(size, 6);
    assert_memory_equal(got, "b/st*r", 6);
    free(got);
    got = get_bytes(s->store, "b/a\\b", 0, 0, &size);
    assert_memory_equal(got, "b/a\\b", 5);
    free(got);
    assert_int_equal(ofs_store_del(s->store, "b/st*r"), 0);
    assert_int_equal(ofs_store_del(s->store, "b/s[t]r"), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(ofs_store_list(s->store, "b/", collect, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.keys[0], "b/a\\b");
    assert_string_equal(c.keys[1], "b/str");
}

static void test_if_absent_and_abort(void **state)
{
    server *s = *state;
    ofs_writer *w = NULL;
    char path[1024];
    size_t size = 0;
    uint8_t *got;

    NEED_SERVER(s);
    put_bytes(s->store, "data/daily/x/backup.json", OFS_PUT_IF_ABSENT, "one", 3, 0);
    put_bytes(s->store, "data/daily/x/backup.json", OFS_PUT_IF_ABSENT, "two", 3, OFS_EEXISTS);
    assert_non_null(strstr(ofs_error_last(), "exists already"));
    got = get_bytes(s->store, "data/daily/x/backup.json", 0, 0, &size);
    assert_memory_equal(got, "one", 3);
    free(got);

    /* free without finish: nothing remote, nothing in the cache */
    assert_int_equal(ofs_store_put(s->store, "data/daily/y/vol-0001.ofs", 0, &w), 0);
    assert_int_equal(ofs_writer_write(w, "partial", 7), 0);
    ofs_writer_free(w);
    remote_path(s, "data/daily/y", path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(count_entries(s->cache), 0);
}

static void test_del(void **state)
{
    server *s = *state;
    ofs_object_info info;
    char path[1024];

    NEED_SERVER(s);
    put_bytes(s->store, "d/keep", 0, "k", 1, 0);
    put_bytes(s->store, "d/gone", 0, "g", 1, 0);
    put_bytes(s->store, "d/gone2", 0, "g", 1, 0);
    remote_path(s, "d/.tmp-partial", path, sizeof(path));
    assert_int_equal(ofs_mkdir_p(path, 0700), 0);
    strcat(path, "/gone");
    write_file(path, "half", 0600);

    assert_int_equal(ofs_store_del(s->store, "d/gone"), 0);
    assert_int_equal(ofs_store_stat(s->store, "d/gone", &info), OFS_ENOTFOUND);
    assert_int_equal(access(path, F_OK), -1); /* its partial upload went with it */
    assert_int_equal(ofs_store_stat(s->store, "d/keep", &info), 0);
    assert_int_equal(ofs_store_stat(s->store, "d/gone2", &info), 0);
    /* idempotent, and creates nothing for a key under missing directories */
    assert_int_equal(ofs_store_del(s->store, "d/gone"), 0);
    assert_int_equal(ofs_store_del(s->store, "no/such/dir/key"), 0);
    remote_path(s, "no", path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(count_entries(s->cache), 0);
}

/* an interrupted upload left its partial file: the next put of the key completes it */
static void test_resume(void **state)
{
    server *s = *state;
    const size_t big = 2 * 1024 * 1024;
    uint8_t *data = malloc(big), *got;
    char path[1024];
    size_t size = 0;
    FILE *fp;

    NEED_SERVER(s);
    assert_non_null(data);
    fill(data, big, 99);
    remote_path(s, "r/.tmp-partial", path, sizeof(path));
    assert_int_equal(ofs_mkdir_p(path, 0700), 0);
    strcat(path, "/vol-0001.ofs");
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, big / 2, fp), big / 2);
    fclose(fp);
    put_bytes(s->store, "r/vol-0001.ofs", 0, data, big, 0);
    assert_int_equal(access(path, F_OK), -1); /* rsync used it up */
    got = get_bytes(s->store, "r/vol-0001.ofs", 0, 0, &size);
    assert_int_equal(size, big);
    assert_memory_equal(got, data, big);
    free(got);
    free(data);
}

static void test_daemon_failures(void **state)
{
    server *s = *state;
    ofs_store *bad = NULL;
    ofs_object_info info;
    char url[512];
    collected c;

    NEED_SERVER(s);
    assert_int_equal(open_store(s, s->url, NULL, s->badpw, &bad), 0);
    assert_int_equal(ofs_store_stat(bad, "k", &info), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "nas: k: the rsync daemon refused the login"));
    assert_non_null(strstr(ofs_error_last(), "auth failed on module m"));
    put_bytes(bad, "k", 0, "x", 1, OFS_EDENIED);
    ofs_store_free(bad);

    snprintf(url, sizeof(url), "rsync://alice@127.0.0.1:%d/nomodule", s->port);
    assert_int_equal(open_store(s, url, NULL, s->pw, &bad), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(ofs_store_list(bad, "", collect, &c), OFS_ECONFIG);
    assert_non_null(strstr(ofs_error_last(), "no such module"));
    assert_non_null(strstr(ofs_error_last(), "Unknown module 'nomodule'"));
    ofs_store_free(bad);

    snprintf(url, sizeof(url), "rsync://alice@127.0.0.1:%d/m", free_port());
    assert_int_equal(open_store(s, url, NULL, s->pw, &bad), 0);
    assert_int_equal(ofs_store_stat(bad, "k", &info), OFS_ETRANSIENT);
    assert_non_null(strstr(ofs_error_last(), "the host is unreachable"));
    assert_non_null(strstr(ofs_error_last(), "Connection refused"));
    ofs_store_free(bad);
}

static void test_ssh_failures(void **state)
{
    server *s = *state;
    ofs_store *bad = NULL;
    ofs_object_info info;
    char command[1200], empty[300];

    NEED_SERVER(s);
    snprintf(empty, sizeof(empty), "%s/empty known hosts", s->base);
    write_file(empty, "", 0600);
    /* ssh keeps the first value of an option: put ours first */
    snprintf(command, sizeof(command), "ssh -o 'UserKnownHostsFile=\"%s\"' %s", empty,
             s->ssh_command + 4);
    assert_int_equal(open_store(s, s->url, command, NULL, &bad), 0);
    assert_int_equal(ofs_store_stat(bad, "k", &info), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "the ssh host key could not be verified"));
    assert_non_null(strstr(ofs_error_last(), "Host key verification failed"));
    ofs_store_free(bad);

    /* a key that is not authorized */
    snprintf(command, sizeof(command), "ssh -F /dev/null -p %d -i '%s/sshd/hostkey' -o "
             "IdentitiesOnly=yes -o 'UserKnownHostsFile=\"%s/known hosts\"'", s->port, s->base,
             s->base);
    assert_int_equal(open_store(s, s->url, command, NULL, &bad), 0);
    assert_int_equal(ofs_store_stat(bad, "k", &info), OFS_EDENIED);
    assert_non_null(strstr(ofs_error_last(), "ssh refused the login"));
    ofs_store_free(bad);
}

/* every word of ssh_command reaches the program unchanged, through rsync's -e splitting */
static void test_rsh_words(void **state)
{
    server *s = *state;
    char script[300], record[300], command[1200], text[1024];
    ofs_store *st = NULL;
    ofs_object_info info;
    char *got;

    NEED_SERVER(s);
    snprintf(script, sizeof(script), "%s/fake ssh", s->base);
    snprintf(record, sizeof(record), "%s/argv.txt", s->base);
    snprintf(text, sizeof(text), "#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\n' \"$a\"; done "
             "> '%s'\necho 'fake: no' >&2\nexit 255\n", record);
    write_file(script, text, 0700);
    snprintf(command, sizeof(command), "'%s' -p 22 \"a  b\" 'it''s' \"q\\\"uote\" $HOME", script);
    assert_int_equal(open_store(s, "user@example.invalid:/x", command, NULL, &st), 0);
    assert_int_equal(ofs_store_stat(st, "k", &info), OFS_ETRANSIENT);
    assert_non_null(strstr(ofs_error_last(), "fake: no"));
    ofs_store_free(st);
    got = read_text(record);
    assert_non_null(got);
    /* no BatchMode added: the program is not ssh */
    assert_non_null(strstr(got, "-p\n22\na  b\nits\nq\"uote\n$HOME\n"));
    assert_null(strstr(got, "BatchMode"));
    free(got);
}

int main(void)
{
    const struct CMUnitTest daemon[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_if_absent_and_abort),
        cmocka_unit_test(test_del),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_daemon_failures),
    };
    const struct CMUnitTest ssh[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_if_absent_and_abort),
        cmocka_unit_test(test_del),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_ssh_failures),
        cmocka_unit_test(test_rsh_words),
    };
    int failed = 0;

    setenv("OFFSITE_RETRY_BUDGET", "0", 1); /* a transient failure is reported at once */
    signal(SIGPIPE, SIG_IGN);               /* as the agent runs: rsync must get it back */
    failed += cmocka_run_group_tests_name("rsync_daemon", daemon, setup_daemon, teardown_server);
    failed += cmocka_run_group_tests_name("rsync_ssh", ssh, setup_sshd, teardown_server);
    return failed;
}
