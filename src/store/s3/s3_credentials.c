/*
 * s3_credentials.c - S3 credentials from the environment or an AWS shared credentials file.
 *
 * The file is parsed here rather than with inih: session tokens run to over a thousand
 * characters and inih's packaged build cuts lines at 200. Secrets are wiped before they are
 * freed and never named in a message.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "offsite/error.h"
#include "offsite/fsutil.h"
#include "offsite/log.h"
#include "s3_internal.h"

#define CREDENTIALS_MAX (1 << 20)

static void secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* section_matches("[profile prod]" inner text, "prod"): both spellings AWS tools accept */
static int section_matches(const char *section, const char *profile)
{
    if (strncmp(section, "profile", 7) == 0 && isspace((unsigned char)section[7])) {
        section += 7;
        while (isspace((unsigned char)*section))
            section++;
    }
    return strcmp(section, profile) == 0;
}

/* credentials_parse: fills the three values of profile from the file's text (modified). */
static int credentials_parse(char *text, const char *profile, char **access_key,
                             char **secret_key, char **session_token, int *found)
{
    int in_profile = 0;
    char *save = NULL;

    *found = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *l = trim(line), *eq, *name, *value, **slot = NULL;
        if (*l == '\0' || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            char *close = strchr(l, ']');
            if (!close)
                continue;
            *close = '\0';
            in_profile = section_matches(trim(l + 1), profile);
            *found |= in_profile;
            continue;
        }
        if (!in_profile || !(eq = strchr(l, '=')))
            continue;
        *eq = '\0';
        name = trim(l);
        value = trim(eq + 1);
        if (strcmp(name, "aws_access_key_id") == 0)
            slot = access_key;
        else if (strcmp(name, "aws_secret_access_key") == 0)
            slot = secret_key;
        else if (strcmp(name, "aws_session_token") == 0)
            slot = session_token;
        if (!slot)
            continue;
        secret_free(*slot);
        if (!(*slot = strdup(value)))
            return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

static int credentials_from_file(const ofs_config_target *t, char **access_key,
                                 char **secret_key, char **session_token)
{
    const char *path = t->credentials_file, *profile = t->profile;
    char *default_path = NULL, *text = NULL;
    size_t size = 0;
    int found = 0, rc;

    if (!path || !*path)
        path = getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (!path || !*path) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): no S3 credentials file "
                                 "(HOME is not set)\nHINT: set 'credentials_file'", t->name,
                                 t->line);
        if (!(default_path = ofs_path_join(home, ".aws/credentials")))
            return ofs_error_set(OFS_ERROR, "out of memory");
        path = default_path;
    }
    if (!profile || !*profile)
        profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    if ((rc = ofs_read_file(path, &text, &size, CREDENTIALS_MAX)) < 0) {
        rc = ofs_error_wrap(rc, "target '%s' (line %d): S3 credentials", t->name, t->line);
        goto cleanup;
    }
    /* as ssh does for keys: secrets others can read are worth a word, every time */
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        ofs_log_warn("target '%s': credentials file '%s' is readable by group or others "
                     "(mode %04o)\nHINT: chmod 600 '%s'", t->name, path,
                     (unsigned)(st.st_mode & 07777), path);
    if ((rc = credentials_parse(text, profile, access_key, secret_key, session_token,
                                &found)) < 0)
        goto cleanup;
    if (!found)
        rc = ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): no profile '%s' in S3 "
                           "credentials file '%s'", t->name, t->line, profile, path);
    else if (!*access_key || !**access_key || !*secret_key || !**secret_key)
        rc = ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): profile '%s' in '%s' lacks "
                           "aws_access_key_id or aws_secret_access_key", t->name, t->line,
                           profile, path);
cleanup:
    if (text) {
        OPENSSL_cleanse(text, size);
        free(text);
    }
    free(default_path);
    return rc;
}

int s3_credentials_load(const ofs_config_target *t, char **access_key, char **secret_key,
                        char **session_token)
{
    const char *env_access = getenv("AWS_ACCESS_KEY_ID");
    const char *env_secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *env_token = getenv("AWS_SESSION_TOKEN");
    int explicit_file = (t->credentials_file && *t->credentials_file) ||
                        (t->profile && *t->profile);
    int rc = 0;

    *access_key = *secret_key = *session_token = NULL;
    if (!explicit_file && env_access && *env_access && env_secret && *env_secret) {
        if (!(*access_key = strdup(env_access)) || !(*secret_key = strdup(env_secret)) ||
            (env_token && *env_token && !(*session_token = strdup(env_token))))
            rc = ofs_error_set(OFS_ERROR, "out of memory");
    } else {
        rc = credentials_from_file(t, access_key, secret_key, session_token);
        if (rc == OFS_ENOTFOUND && !explicit_file)
            rc = ofs_error_set(OFS_ECONFIG, "target '%s' (line %d): no S3 credentials\n"
                               "HINT: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                               "'credentials_file' and 'profile' in the target", t->name,
                               t->line);
    }
    if (rc < 0) {
        free(*access_key);
        secret_free(*secret_key);
        secret_free(*session_token);
        *access_key = *secret_key = *session_token = NULL;
    }
    return rc;
}
