/* keyring.c - the key file, key ids and rotation; see keyring.h and docs/format.md ("Key
 * file"). The paper copy is keyring_paper.c. */
#include "offsite/keyring.h"
#include "offsite/error.h"
#include "offsite/hash.h"
#include "offsite/kdf.h"
#include "keyring_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define KEYRING_FILE_MAX (1024 * 1024)
#define KEYRING_LINE_TAG "offsite-key"

static const char keyring_file_banner[] =
    "# offsite key file: keep it secret, keep it safe, keep a paper copy (offsite key export).\n"
    "# One key per line, oldest first: offsite-key v1 <key id> <created, UTC> <key, 64 hex>.\n"
    "# The last key encrypts; every key decrypts.\n";

/* ---- small helpers ---- */

void ofs_key_id_hex(const uint8_t id[OFS_KEY_ID_BYTES], char out[17])
{
    ofs_hex_encode(id, OFS_KEY_ID_BYTES, out);
}

int ofs_key_id_parse(const char *hex, uint8_t id[OFS_KEY_ID_BYTES])
{
    if (ofs_hex_decode(hex, id, OFS_KEY_ID_BYTES) < 0)
        return ofs_error_set(OFS_ECORRUPT, "invalid key id '%s': expected 16 hex digits", hex);
    return 0;
}

int ofs_key_derive_id(const uint8_t key[OFS_KEY_BYTES], uint8_t id[OFS_KEY_ID_BYTES])
{
    return ofs_hkdf_sha256(key, OFS_KEY_BYTES, NULL, 0, OFS_HKDF_INFO_KEY_ID, id,
                           OFS_KEY_ID_BYTES);
}

void keyring_format_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* Only the exact form "YYYY-mm-ddTHH:MM:SSZ" is accepted, digits where digits go, of a real
 * moment from 1970 on that formats back to the same text: one spelling, one meaning (a fuzzed
 * paper copy's "0971-..." imported, then written as "971-..." that no load accepted). */
int keyring_parse_time(const char *s, int64_t *out)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";
    struct tm tm;
    char again[32];

    if (strlen(s) != sizeof(pattern) - 1)
        return -1;
    for (size_t i = 0; pattern[i]; i++)
        if (pattern[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pattern[i])
            return -1;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6 || tm.tm_year < 1970)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm);
    keyring_format_time(t, again);
    if (strcmp(again, s) != 0)
        return -1; /* out of range fields (a 31st of February, 25:00) that timegm moved */
    *out = t;
    return 0;
}

int keyring_append_key(ofs_keyring *ring, const ofs_key *key)
{
    ofs_key *bigger = OPENSSL_malloc((ring->count + 1) * sizeof(*bigger));
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    if (ring->count)
        memcpy(bigger, ring->keys, ring->count * sizeof(*bigger));
    OPENSSL_clear_free(ring->keys, ring->count * sizeof(*ring->keys));
    bigger[ring->count++] = *key;
    ring->keys = bigger;
    return 0;
}

/* Splits s in place at runs of blanks; returns the number of fields (at most max). */
size_t keyring_split(char *s, char **fields, size_t max)
{
    size_t n = 0;
    char *p = s;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            *p++ = '\0';
        if (!*p)
            break;
        if (n == max)
            return max + 1;
        fields[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    return n;
}

/* ---- loading ---- */

static int keyring_check_mode(const char *path, mode_t mode)
{
    const char *what = (mode & 044) ? "readable" : (mode & 022) ? "writable" : "accessible";
    if ((mode & 077) == 0)
        return 0;
    return ofs_error_set(OFS_EDENIED,
                         "key file '%s' is %s by group or others (mode %04o)\nHINT: chmod 600 %s",
                         path, what, (unsigned)(mode & 07777), path);
}

/* Reads the whole key file after checking its mode on the open descriptor (no race between
 * the check and the read). The buffer holds key material: the caller cleanses it. */
static int keyring_read_file(const char *path, char **data, size_t *size)
{
    int fd = -1, rc = 0;
    struct stat st = { 0 };
    char *buf = NULL;
    size_t len = 0;

    *data = NULL;
    *size = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return ofs_error_set(OFS_ENOTFOUND,
                                 "key file '%s' does not exist\nHINT: create one with 'offsite "
                                 "key generate', or restore a paper copy with 'offsite key import'",
                                 path);
        return ofs_error_from_errno(errno, "cannot open key file '%s'", path);
    }
    if (fstat(fd, &st) < 0) {
        rc = ofs_error_from_errno(errno, "cannot stat key file '%s'", path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ofs_error_set(OFS_ECORRUPT, "key file '%s' is not a regular file", path);
        goto cleanup;
    }
    if ((rc = keyring_check_mode(path, st.st_mode)) < 0)
        goto cleanup;
    if (st.st_size > KEYRING_FILE_MAX) {
        rc = ofs_error_set(OFS_ECORRUPT, "key file '%s' is too large (%jd bytes)", path,
                           (intmax_t)st.st_size);
        goto cleanup;
    }
    buf = OPENSSL_zalloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ofs_error_from_errno(errno, "cannot read key file '%s'", path);
            goto cleanup;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    buf = NULL;
cleanup:
    OPENSSL_clear_free(buf, (size_t)st.st_size + 1);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int keyring_parse_line(ofs_keyring *ring, const char *path, int lineno, char *line)
{
    char *fields[6];
    ofs_key key;
    uint8_t derived[OFS_KEY_ID_BYTES];
    char derived_hex[17];
    int rc = 0;
    size_t n = keyring_split(line, fields, 5);

    memset(&key, 0, sizeof(key));
    if (n != 5 || strcmp(fields[0], KEYRING_LINE_TAG) != 0) {
        rc = ofs_error_set(OFS_ECORRUPT,
                           "%s:%d: expected 'offsite-key v1 KEY-ID CREATED KEY'", path, lineno);
        goto cleanup;
    }
    if (strcmp(fields[1], "v1") != 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: unsupported key version '%s'", path, lineno,
                           fields[1]);
        goto cleanup;
    }
    if (ofs_hex_decode(fields[2], key.id, OFS_KEY_ID_BYTES) < 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: invalid key id '%s': expected 16 hex digits",
                           path, lineno, fields[2]);
        goto cleanup;
    }
    if (keyring_parse_time(fields[3], &key.created) < 0) {
        rc = ofs_error_set(OFS_ECORRUPT,
                           "%s:%d: invalid creation time '%s': expected YYYY-mm-ddTHH:MM:SSZ",
                           path, lineno, fields[3]);
        goto cleanup;
    }
    if (ofs_hex_decode(fields[4], key.key, OFS_KEY_BYTES) < 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: invalid key: expected 64 hex digits", path,
                           lineno);
        goto cleanup;
    }
    if ((rc = ofs_key_derive_id(key.key, derived)) < 0)
        goto cleanup;
    if (CRYPTO_memcmp(derived, key.id, OFS_KEY_ID_BYTES) != 0) {
        ofs_key_id_hex(derived, derived_hex);
        rc = ofs_error_set(OFS_ECORRUPT,
                           "%s:%d: key id %s does not match the key (its id is %s); the line "
                           "is damaged",
                           path, lineno, fields[2], derived_hex);
        goto cleanup;
    }
    if (ofs_keyring_find(ring, key.id)) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s:%d: key %s appears twice", path, lineno, fields[2]);
        goto cleanup;
    }
    rc = keyring_append_key(ring, &key);
cleanup:
    OPENSSL_cleanse(&key, sizeof(key));
    return rc;
}

static int keyring_parse_text(ofs_keyring **out, const char *path, char *text)
{
    ofs_keyring *ring = OPENSSL_zalloc(sizeof(*ring));
    int rc = 0, lineno = 0;
    char *line = text;

    *out = NULL;
    if (!ring)
        return ofs_error_set(OFS_ERROR, "out of memory");
    while (line && *line) {
        char *end = strchr(line, '\n');
        char *p = line;
        if (end)
            *end = '\0';
        lineno++;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '\0' && *p != '#' && (rc = keyring_parse_line(ring, path, lineno, p)) < 0)
            goto cleanup;
        line = end ? end + 1 : NULL;
    }
    if (ring->count == 0) {
        rc = ofs_error_set(OFS_ECORRUPT, "key file '%s' holds no key", path);
        goto cleanup;
    }
    *out = ring;
    ring = NULL;
cleanup:
    ofs_keyring_free(ring);
    return rc;
}

int ofs_keyring_load(ofs_keyring **out, const char *path)
{
    char *text = NULL;
    size_t size = 0;
    int rc;

    *out = NULL;
    if ((rc = keyring_read_file(path, &text, &size)) < 0)
        return rc;
    if (strlen(text) != size)
        rc = ofs_error_set(OFS_ECORRUPT, "key file '%s' contains a NUL byte", path);
    else
        rc = keyring_parse_text(out, path, text);
    OPENSSL_clear_free(text, size + 1);
    return rc;
}

const ofs_key *ofs_keyring_current(const ofs_keyring *ring)
{
    return &ring->keys[ring->count - 1];
}

const ofs_key *ofs_keyring_find(const ofs_keyring *ring, const uint8_t id[OFS_KEY_ID_BYTES])
{
    for (size_t i = 0; i < ring->count; i++)
        if (memcmp(ring->keys[i].id, id, OFS_KEY_ID_BYTES) == 0)
            return &ring->keys[i];
    return NULL;
}

size_t ofs_keyring_count(const ofs_keyring *ring)
{
    return ring->count;
}

const ofs_key *ofs_keyring_at(const ofs_keyring *ring, size_t i)
{
    return i < ring->count ? &ring->keys[i] : NULL;
}

void ofs_keyring_free(ofs_keyring *ring)
{
    if (!ring)
        return;
    OPENSSL_clear_free(ring->keys, ring->count * sizeof(*ring->keys));
    OPENSSL_free(ring);
}

/* ---- writing the key file ---- */

static void keyring_format_line(const ofs_key *key, char out[160])
{
    char id[17], created[32], hex[2 * OFS_KEY_BYTES + 1];
    ofs_key_id_hex(key->id, id);
    keyring_format_time(key->created, created);
    ofs_hex_encode(key->key, OFS_KEY_BYTES, hex);
    snprintf(out, 160, "%s v1 %s %s %s\n", KEYRING_LINE_TAG, id, created, hex);
    OPENSSL_cleanse(hex, sizeof(hex));
}

static int keyring_write_all(int fd, const char *data, size_t size, const char *path)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ofs_error_from_errno(errno, "cannot write key file '%s'", path);
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding path, so a create or rename in it survives a crash. */
static int keyring_sync_dir(const char *path)
{
    char *dir = strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    int fd = -1, rc = 0;
    if (!dir)
        return ofs_error_set(OFS_ERROR, "out of memory");
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = ofs_error_from_errno(errno, "cannot sync directory '%s'", dir);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

/* A new key file is created in place with O_EXCL, so two concurrent generates cannot both
 * believe they created it. OFS_EEXISTS (no message) tells the caller to append instead. */
static int keyring_create(const char *path, const char *text, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0) {
        if (errno == EEXIST)
            return OFS_EEXISTS;
        return ofs_error_from_errno(errno, "cannot create key file '%s'", path);
    }
    if ((rc = keyring_write_all(fd, text, size, path)) < 0)
        goto fail;
    if (fsync(fd) < 0) {
        rc = ofs_error_from_errno(errno, "cannot sync key file '%s'", path);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = ofs_error_from_errno(errno, "cannot write key file '%s'", path);
        goto fail;
    }
    return keyring_sync_dir(path);
fail:
    if (fd >= 0)
        close(fd);
    unlink(path);
    return rc;
}

/* Replaces path with text: temporary file in the same directory, fsync, rename, fsync dir. */
static int keyring_replace(const char *path, const char *text, size_t size)
{
    size_t len = strlen(path);
    char *temp = malloc(len + sizeof(".tmp.XXXXXX"));
    int fd = -1, rc = 0;
    if (!temp)
        return ofs_error_set(OFS_ERROR, "out of memory");
    memcpy(temp, path, len);
    memcpy(temp + len, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
    fd = mkostemp(temp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
        rc = ofs_error_from_errno(errno, "cannot create a temporary file next to '%s'", path);
        free(temp);
        return rc;
    }
    if (fchmod(fd, 0600) < 0) {
        rc = ofs_error_from_errno(errno, "cannot chmod '%s'", temp);
        goto fail;
    }
    if ((rc = keyring_write_all(fd, text, size, temp)) < 0)
        goto fail;
    if (fsync(fd) < 0) {
        rc = ofs_error_from_errno(errno, "cannot sync '%s'", temp);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = ofs_error_from_errno(errno, "cannot write '%s'", temp);
        goto fail;
    }
    fd = -1;
    if (rename(temp, path) < 0) {
        rc = ofs_error_from_errno(errno, "cannot rename '%s' to '%s'", temp, path);
        goto fail;
    }
    free(temp);
    return keyring_sync_dir(path);
fail:
    if (fd >= 0)
        close(fd);
    unlink(temp);
    free(temp);
    return rc;
}

/*
 * Adds keys (those not yet present) to the key file at path, creating it if needed. The old
 * text is kept byte for byte (comments included) and the new lines appended, so rotation never
 * rewrites an existing key. *added gets the number of new keys.
 */
int keyring_add(const char *path, const ofs_key *keys, size_t count, int *added)
{
    ofs_keyring *ring = NULL;
    char *old = NULL, *scratch = NULL, *text = NULL;
    size_t old_size = 0, size = 0, cap = 0;
    char line[160];
    int rc = 0, fresh = 0;

    *added = 0;
    rc = keyring_read_file(path, &old, &old_size);
    if (rc == OFS_ENOTFOUND) {
        /* No file yet: create it with the banner and every key. */
        cap = sizeof(keyring_file_banner) + count * sizeof(line);
        if (!(text = OPENSSL_zalloc(cap))) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        memcpy(text, keyring_file_banner, sizeof(keyring_file_banner) - 1);
        size = sizeof(keyring_file_banner) - 1;
        for (size_t i = 0; i < count; i++) {
            int duplicate = 0;
            for (size_t j = 0; j < i; j++)
                duplicate |= memcmp(keys[j].id, keys[i].id, OFS_KEY_ID_BYTES) == 0;
            if (duplicate)
                continue;
            keyring_format_line(&keys[i], line);
            memcpy(text + size, line, strlen(line));
            size += strlen(line);
            fresh++;
        }
        rc = keyring_create(path, text, size);
        if (rc == 0) {
            *added = fresh;
            goto cleanup;
        }
        if (rc != OFS_EEXISTS)
            goto cleanup;
        /* Someone created it between our read and our create: append to theirs. */
        OPENSSL_clear_free(text, cap);
        text = NULL;
        rc = keyring_read_file(path, &old, &old_size);
    }
    if (rc < 0)
        goto cleanup;
    /* Parse a copy (parsing cuts the text into fields) so the original bytes are kept. */
    if (!(scratch = OPENSSL_malloc(old_size + 1))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    memcpy(scratch, old, old_size + 1);
    if (strlen(scratch) != old_size) {
        rc = ofs_error_set(OFS_ECORRUPT, "key file '%s' contains a NUL byte", path);
        goto cleanup;
    }
    if ((rc = keyring_parse_text(&ring, path, scratch)) < 0)
        goto cleanup;
    cap = old_size + 1 + count * sizeof(line);
    if (!(text = OPENSSL_zalloc(cap))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    memcpy(text, old, old_size);
    size = old_size;
    if (size > 0 && text[size - 1] != '\n')
        text[size++] = '\n';
    for (size_t i = 0; i < count; i++) {
        int duplicate = ofs_keyring_find(ring, keys[i].id) != NULL;
        for (size_t j = 0; j < i; j++)
            duplicate |= memcmp(keys[j].id, keys[i].id, OFS_KEY_ID_BYTES) == 0;
        if (duplicate)
            continue;
        keyring_format_line(&keys[i], line);
        memcpy(text + size, line, strlen(line));
        size += strlen(line);
        fresh++;
    }
    if (fresh > 0 && (rc = keyring_replace(path, text, size)) < 0)
        goto cleanup;
    *added = fresh;
cleanup:
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_clear_free(old, old_size + 1);
    OPENSSL_clear_free(scratch, old_size + 1);
    OPENSSL_clear_free(text, cap);
    ofs_keyring_free(ring);
    return rc;
}

int ofs_keyring_generate(const char *path, uint8_t id[OFS_KEY_ID_BYTES])
{
    ofs_key key;
    int added = 0, rc;

    memset(&key, 0, sizeof(key));
    if (RAND_bytes(key.key, OFS_KEY_BYTES) != 1) {
        rc = ofs_error_set(OFS_ERROR, "openssl: no random bytes for a new key");
        goto cleanup;
    }
    key.created = (int64_t)time(NULL);
    if ((rc = ofs_key_derive_id(key.key, key.id)) < 0)
        goto cleanup;
    if ((rc = keyring_add(path, &key, 1, &added)) < 0)
        goto cleanup;
    if (id)
        memcpy(id, key.id, OFS_KEY_ID_BYTES);
cleanup:
    OPENSSL_cleanse(&key, sizeof(key));
    return rc;
}
