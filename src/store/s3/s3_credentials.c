/*
 * s3_credentials.c - S3 credentials from the environment or an AWS shared credentials file,
 * and the region and endpoint from the environment or the AWS config file.
 *
 * The file is parsed here rather than with inih: session tokens run to over a thousand
 * characters and inih's packaged build cuts lines at 200. Secrets are wiped before they are
 * freed and never named in a message.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* profile_parse(text, profile, names, slots, n, &found): slots[i] = the value of names[i] in
 * profile's section of an AWS shared file (text is modified). The indented lines after a key
 * with no value are its nested settings ("s3 =" blocks) and not read. */
static int profile_parse(char *text, const char *profile, const char *const *names,
                         char **const *slots, size_t n, int *found)
{
    int in_profile = 0, in_block = 0;
    char *save = NULL;

    *found = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int indented = isspace((unsigned char)*line), nested = indented && in_block;
        char *l = trim(line), *eq, *name, **slot = NULL;
        if (!indented)
            in_block = 0;
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
        if (!in_profile || nested || !(eq = strchr(l, '=')))
            continue;
        *eq = '\0';
        name = trim(l);
        if (!*trim(eq + 1) && !indented) {
            in_block = 1; /* "s3 =": its settings follow, indented */
            continue;
        }
        for (size_t i = 0; i < n && !slot; i++)
            if (strcmp(name, names[i]) == 0)
                slot = slots[i];
        if (!slot)
            continue;
        secret_free(*slot);
        if (!(*slot = strdup(trim(eq + 1))))
            return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

/* credentials_parse: fills the three values of profile from the file's text (modified). */
static int credentials_parse(char *text, const char *profile, char **access_key,
                             char **secret_key, char **session_token, int *found)
{
    static const char *const names[] = { "aws_access_key_id", "aws_secret_access_key",
                                         "aws_session_token" };
    char **const slots[] = { access_key, secret_key, session_token };
    return profile_parse(text, profile, names, slots, 3, found);
}

/* profile_name(t): the profile the target reads, as the AWS CLI picks it */
static const char *profile_name(const ofs_config_target *t)
{
    const char *profile = t->profile;
    if (!profile || !*profile)
        profile = getenv("AWS_PROFILE");
    return profile && *profile ? profile : "default";
}

/* env_first(a, b): the first of two environment variables that is set and not empty */
static const char *env_first(const char *a, const char *b)
{
    const char *v = getenv(a);
    if (!v || !*v)
        v = b ? getenv(b) : NULL;
    return v && *v ? v : NULL;
}

int s3_aws_settings(const ofs_config_target *t, char **region, char **endpoint)
{
    const char *path = getenv("AWS_CONFIG_FILE"), *env_region, *env_endpoint, *ignore;
    char *default_path = NULL, *text = NULL, *file_region = NULL, *file_endpoint = NULL;
    size_t size = 0;
    int found = 0, rc = 0, use_endpoints;

    *region = *endpoint = NULL;
    ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    use_endpoints = !(ignore && strcasecmp(ignore, "true") == 0);
    env_region = env_first("AWS_REGION", "AWS_DEFAULT_REGION");
    env_endpoint = use_endpoints ? env_first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL") : NULL;
    int need_region = !(t->region && *t->region) && !env_region;
    int need_endpoint = !(t->endpoint && *t->endpoint) && !env_endpoint && use_endpoints;
    if (need_region || need_endpoint) {
        const char *home = getenv("HOME");
        if ((!path || !*path) && home && *home &&
            !(path = default_path = ofs_path_join(home, ".aws/config"))) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        /* a missing or unreadable config file is the common case: defaults apply */
        if (path && *path && ofs_read_file(path, &text, &size, CREDENTIALS_MAX) == 0) {
            static const char *const names[] = { "region", "endpoint_url" };
            char **const slots[] = { &file_region, &file_endpoint };
            if ((rc = profile_parse(text, profile_name(t), names, slots, 2, &found)) < 0)
                goto cleanup;
        }
        ofs_error_clear();
    }
    /* the target's keys first, then the environment, then the config file: the AWS CLI's
     * order with the target in the place of its command-line options */
    const char *r = t->region && *t->region ? t->region
                    : env_region ? env_region
                    : file_region && *file_region ? file_region : "us-east-1";
    const char *e = t->endpoint && *t->endpoint ? t->endpoint
                    : env_endpoint ? env_endpoint
                    : use_endpoints && file_endpoint && *file_endpoint ? file_endpoint : NULL;
    if (!(*region = strdup(r)) || (e && !(*endpoint = strdup(e)))) {
        free(*region);
        *region = NULL;
        rc = ofs_error_set(OFS_ERROR, "out of memory");
    }
cleanup:
    free(text);
    free(file_region);
    free(file_endpoint);
    free(default_path);
    return rc;
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
    profile = profile_name(t);
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
