/* cmd_key.c - `offsite key generate|rotate|id|export|import`: thin wrappers of ofs_keyring_*. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "offsite/cli.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/fsutil.h"

enum { KEY_OPT_KEY_FILE = 300 };

/* key_path(cli, key_file, &path): --key-file if given, else the config's key_file. */
static int key_path(ofs_cli *cli, const char *key_file, const char **path)
{
    const ofs_config *cfg = NULL;
    int rc;
    if (key_file) {
        *path = key_file;
        return 0;
    }
    if ((rc = ofs_cli_config(cli, &cfg)) < 0)
        return rc;
    *path = cfg->key_file;
    return 0;
}

/* key_make_parent(path): the directory holding the key file, created 0700 if missing. */
static int key_make_parent(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;
    if (!copy)
        return ofs_error_set(OFS_ERROR, "out of memory");
    char *slash = strrchr(copy, '/');
    if (slash && slash != copy) {
        *slash = '\0';
        rc = ofs_mkdir_p(copy, 0700);
    }
    free(copy);
    return rc;
}

/* key_generate(cli, path, rotate): a first key (generate: the file must not exist) or one more
 * (rotate: the file must exist and load). A second id enters a key file only by rotation, so
 * a repository's key is never replaced by accident (docs/design-decisions.md). */
static int key_generate(ofs_cli *cli, const char *path, int rotate)
{
    uint8_t id[OFS_KEY_ID_BYTES];
    char hex[17];
    ofs_keyring *old = NULL;
    struct stat st;
    int rc;

    if (!rotate && stat(path, &st) == 0)
        return ofs_error_set(OFS_EEXISTS, "key file '%s' exists already\nHINT: 'offsite key "
                             "rotate' adds a new key to it; to start over with a new key, "
                             "generate it with --key-file elsewhere and use it with a new "
                             "staging_dir and target prefix", path);
    if (rotate && (rc = ofs_keyring_load(&old, path)) < 0)
        return rc == OFS_ENOTFOUND
                   ? ofs_error_set(rc, "key file '%s' does not exist: nothing to rotate\n"
                                   "HINT: 'offsite key generate' creates it", path)
                   : rc;
    ofs_keyring_free(old);
    if ((rc = key_make_parent(path)) < 0 || (rc = ofs_keyring_generate(path, id)) < 0)
        return rc;
    ofs_key_id_hex(id, hex);
    if (rotate)
        ofs_cli_out(cli, "added key %s to %s (rotation: it encrypts new backups from now on; "
                    "the older keys still decrypt and stay in the file)\n", hex, path);
    else
        ofs_cli_out(cli, "generated key %s in %s\n", hex, path);
    ofs_cli_out(cli, "keep a copy: offsite key export (print it and store it off-site)\n");
    json_t *result = ofs_cli_result(cli);
    json_object_set_new(result, "key_id", json_string(hex));
    json_object_set_new(result, "key_file", json_string(path));
    json_object_set_new(result, "rotated", json_boolean(rotate));
    return 0;
}

static int key_load(ofs_cli *cli, const char *key_file, ofs_keyring **owned,
                    const ofs_keyring **ring)
{
    if (key_file) {
        int rc = ofs_keyring_load(owned, key_file);
        *ring = *owned;
        return rc;
    }
    return ofs_cli_key(cli, 1, ring);
}

static int key_id(ofs_cli *cli, const ofs_keyring *ring)
{
    json_t *keys = json_array();
    size_t count = ofs_keyring_count(ring);
    for (size_t i = 0; i < count; i++) {
        const ofs_key *k = ofs_keyring_at(ring, i);
        char hex[17], created[32];
        ofs_key_id_hex(k->id, hex);
        ofs_time_format_iso(k->created, created, sizeof(created));
        ofs_cli_out(cli, "%s  created %s%s\n", hex, created,
                    i + 1 == count ? "  (current: encrypts)" : "");
        json_array_append_new(keys, json_pack("{s:s, s:s, s:b}", "id", hex, "created", created,
                                              "current", i + 1 == count));
    }
    json_object_set_new(ofs_cli_result(cli), "keys", keys);
    return 0;
}

static int key_export(ofs_cli *cli, const ofs_keyring *ring)
{
    char *text = NULL;
    size_t size = 0;
    int rc;

    if (!cli->json)
        return ofs_keyring_export(ring, stdout);
    FILE *out = open_memstream(&text, &size);
    if (!out)
        return ofs_error_from_errno(errno, "cannot create a memory stream");
    rc = ofs_keyring_export(ring, out);
    fclose(out);
    if (rc == 0)
        json_object_set_new(ofs_cli_result(cli), "paper", json_stringn(text, size));
    /* the paper copy holds the key: wipe our copy */
    if (text)
        OPENSSL_cleanse(text, size);
    free(text);
    return rc;
}

static int key_import(ofs_cli *cli, const char *path, const char *file)
{
    FILE *in = stdin;
    const char *name = "stdin";
    int imported = 0, rc;

    if (file && strcmp(file, "-") != 0) {
        if (!(in = fopen(file, "r")))
            return ofs_error_from_errno(errno, "cannot open '%s'", file);
        name = file;
    }
    rc = key_make_parent(path);
    if (rc == 0)
        rc = ofs_keyring_import(in, name, path, &imported);
    if (in != stdin)
        fclose(in);
    if (rc < 0)
        return rc;
    if (imported > 0)
        ofs_cli_out(cli, "imported %d key%s into %s\n", imported, imported == 1 ? "" : "s", path);
    else
        ofs_cli_out(cli, "%s already holds every key of %s\n", path, name);
    json_object_set_new(ofs_cli_result(cli), "imported", json_integer(imported));
    json_object_set_new(ofs_cli_result(cli), "key_file", json_string(path));
    return 0;
}

int ofs_cmd_key(ofs_cli *cli, int argc, char **argv)
{
    static const struct option options[] = {
        { "key-file", required_argument, NULL, KEY_OPT_KEY_FILE },
        { NULL, 0, NULL, 0 }
    };
    const char *arg, *key_file = NULL, *path;
    const ofs_keyring *ring = NULL;
    ofs_keyring *owned = NULL;
    int index = 0, opt, rc;

    while ((rc = ofs_cli_parse(cli, argc, argv, options, &index, &opt, &arg)) == 1)
        if (opt == KEY_OPT_KEY_FILE)
            key_file = arg;
    if (rc != 0)
        return rc == 2 ? 0 : rc;
    if (index >= argc)
        return ofs_cli_usage_error(cli, "key: which one: generate, rotate, id, export or "
                                        "import?");
    const char *sub = argv[index++];
    int operands = argc - index;

    if (strcmp(sub, "import") == 0 ? operands > 1 : operands > 0)
        return ofs_cli_usage_error(cli, "unexpected argument '%s'", argv[argc - 1]);
    if (strcmp(sub, "generate") == 0 || strcmp(sub, "rotate") == 0) {
        if ((rc = key_path(cli, key_file, &path)) < 0)
            return rc;
        return key_generate(cli, path, strcmp(sub, "rotate") == 0);
    }
    if (strcmp(sub, "import") == 0) {
        if ((rc = key_path(cli, key_file, &path)) < 0)
            return rc;
        return key_import(cli, path, operands ? argv[index] : NULL);
    }
    if (strcmp(sub, "id") != 0 && strcmp(sub, "export") != 0)
        return ofs_cli_usage_error(cli, "unknown key command '%s'", sub);
    if ((rc = key_load(cli, key_file, &owned, &ring)) == 0)
        rc = strcmp(sub, "id") == 0 ? key_id(cli, ring) : key_export(cli, ring);
    ofs_keyring_free(owned);
    return rc;
}
