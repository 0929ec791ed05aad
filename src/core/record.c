/*
 * record.c - backup.json: serialize, parse and check a backup's record, and the JSON and MAC
 * machinery manifest.c shares. See include/offsite/record.h and docs/format.md section 6.
 */
#include "offsite/record.h"
#include "offsite/clock.h"
#include "offsite/error.h"
#include "offsite/kdf.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_FORMAT "offsite-record"
#define RECORD_VERSION 1
#define RECORD_SET_MAX 200
#define RECORD_MAC_BYTES 32

static const ofs_record_json_field record_fields[] = {
    { "id", OFS_RECORD_JSON_STRING, offsetof(ofs_record, id) },
    { "set", OFS_RECORD_JSON_STRING, offsetof(ofs_record, set) },
    { "kind", OFS_RECORD_JSON_STRING, offsetof(ofs_record, kind) },
    { "base", OFS_RECORD_JSON_STRING_OPTIONAL, offsetof(ofs_record, base) },
    { "class", OFS_RECORD_JSON_STRING, offsetof(ofs_record, class_name) },
    { "host", OFS_RECORD_JSON_STRING, offsetof(ofs_record, host) },
    { "tool_version", OFS_RECORD_JSON_STRING, offsetof(ofs_record, tool_version) },
    { "description", OFS_RECORD_JSON_STRING_OPTIONAL, offsetof(ofs_record, description) },
    { "started", OFS_RECORD_JSON_TIME, offsetof(ofs_record, started) },
    { "finished", OFS_RECORD_JSON_TIME, offsetof(ofs_record, finished) },
    { "files", OFS_RECORD_JSON_UINT64, offsetof(ofs_record, files) },
    { "bytes", OFS_RECORD_JSON_UINT64, offsetof(ofs_record, bytes) },
    { "stored_bytes", OFS_RECORD_JSON_UINT64, offsetof(ofs_record, stored_bytes) },
    { "volumes", OFS_RECORD_JSON_UINT32, offsetof(ofs_record, volumes) },
};

static const ofs_record_json_field object_fields[] = {
    { "name", OFS_RECORD_JSON_STRING, offsetof(ofs_record_object, name) },
    { "size", OFS_RECORD_JSON_UINT64, offsetof(ofs_record_object, size) },
    { "sha256", OFS_RECORD_JSON_SHA256, offsetof(ofs_record_object, sha256) },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the record in memory ---- */

int ofs_record_new(ofs_record **out)
{
    if (!(*out = calloc(1, sizeof(**out))))
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

void ofs_record_free(ofs_record *rec)
{
    if (!rec)
        return;
    free(rec->id);
    free(rec->set);
    free(rec->kind);
    free(rec->base);
    free(rec->class_name);
    free(rec->host);
    free(rec->tool_version);
    free(rec->description);
    for (size_t i = 0; i < rec->object_count; i++)
        free(rec->objects[i].name);
    free(rec->objects);
    free(rec);
}

int ofs_record_add_object(ofs_record *rec, const char *name, uint64_t size,
                          const uint8_t sha256[OFS_SHA256_BYTES])
{
    ofs_record_object *bigger = realloc(rec->objects, (rec->object_count + 1) * sizeof(*bigger));
    if (!bigger)
        return ofs_error_set(OFS_ERROR, "out of memory");
    rec->objects = bigger;
    ofs_record_object *o = &rec->objects[rec->object_count];
    if (!(o->name = strdup(name)))
        return ofs_error_set(OFS_ERROR, "out of memory");
    o->size = size;
    memcpy(o->sha256, sha256, OFS_SHA256_BYTES);
    rec->object_count++;
    return 0;
}

const ofs_record_object *ofs_record_find_object(const ofs_record *rec, const char *name)
{
    for (size_t i = 0; i < rec->object_count; i++)
        if (strcmp(rec->objects[i].name, name) == 0)
            return &rec->objects[i];
    return NULL;
}

void ofs_record_volume_name(uint32_t n, char buf[32])
{
    snprintf(buf, 32, "vol-%04u.ofs", n);
}

/* ---- JSON members ---- */

/* "NAME: member 'WHEREMEMBER' PROBLEM" as OFS_ECORRUPT. */
static int record_bad(const char *name, const char *where, const char *member, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
static int record_bad(const char *name, const char *where, const char *member, const char *fmt,
                      ...)
{
    char problem[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    return ofs_error_set(OFS_ECORRUPT, "%s: member '%s%s' %s", name, where, member, problem);
}

static int record_is_lower_hex(const char *s, size_t digits)
{
    size_t i = 0;
    for (; s[i] && i < digits; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == digits && s[i] == '\0';
}

/* A time member: exactly the form ofs_time_format_iso writes, so the text round-trips. */
static int record_read_time(const char *text, int64_t *t)
{
    char again[32];
    if (ofs_time_parse_iso(text, t) < 0)
        return -1;
    ofs_time_format_iso(*t, again, sizeof(again));
    return strcmp(again, text) == 0 ? 0 : -1;
}

int ofs_record_json_read(const json_t *obj, const ofs_record_json_field *fields, size_t count,
                         void *out, const char *name, const char *where)
{
    for (size_t i = 0; i < count; i++) {
        const ofs_record_json_field *f = &fields[i];
        const json_t *v = json_object_get(obj, f->member);
        char *field = (char *)out + f->offset;
        const char *text = json_is_string(v) ? json_string_value(v) : NULL;
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

        if (!v) {
            if (f->type == OFS_RECORD_JSON_STRING_OPTIONAL)
                continue;
            return record_bad(name, where, f->member, "is missing");
        }
        switch (f->type) {
        case OFS_RECORD_JSON_STRING:
        case OFS_RECORD_JSON_STRING_OPTIONAL:
            if (!text)
                return record_bad(name, where, f->member, "must be a string");
            free(*(char **)field);
            if (!(*(char **)field = strdup(text)))
                return ofs_error_set(OFS_ERROR, "out of memory");
            break;
        case OFS_RECORD_JSON_TIME:
            if (!text || record_read_time(text, (int64_t *)field) < 0)
                return record_bad(name, where, f->member,
                                  "must be a UTC time YYYY-mm-ddTHH:MM:SSZ");
            break;
        case OFS_RECORD_JSON_UINT64:
            if (n < 0)
                return record_bad(name, where, f->member, "must be an integer >= 0");
            *(uint64_t *)field = (uint64_t)n;
            break;
        case OFS_RECORD_JSON_UINT32:
            if (n < 0 || n > (json_int_t)UINT32_MAX)
                return record_bad(name, where, f->member,
                                  "must be an integer from 0 to 4294967295");
            *(uint32_t *)field = (uint32_t)n;
            break;
        case OFS_RECORD_JSON_SHA256:
            if (!text || !record_is_lower_hex(text, 2 * OFS_SHA256_BYTES) ||
                ofs_hex_decode(text, (uint8_t *)field, OFS_SHA256_BYTES) < 0)
                return record_bad(name, where, f->member, "must be 64 lowercase hex digits");
            break;
        }
    }
    return 0;
}

/* json_string, telling text that is not UTF-8 (OFS_ECONFIG: it came from the user) from
 * out of memory. */
static int record_string(json_t **v, const char *member, const char *text)
{
    if ((*v = json_string(text)))
        return 0;
    json_t *probe = json_string_nocheck(text);
    int utf8 = probe != NULL;
    json_decref(probe);
    if (utf8)
        return ofs_error_set(OFS_ECONFIG, "'%s' is not valid UTF-8", member);
    return ofs_error_set(OFS_ERROR, "out of memory");
}

int ofs_record_json_write(json_t *obj, const ofs_record_json_field *fields, size_t count,
                          const void *in)
{
    for (size_t i = 0; i < count; i++) {
        const ofs_record_json_field *f = &fields[i];
        const char *field = (const char *)in + f->offset;
        const char *text = NULL;
        char buf[2 * OFS_SHA256_BYTES + 1];
        json_t *v = NULL;
        int rc;

        switch (f->type) {
        case OFS_RECORD_JSON_STRING:
        case OFS_RECORD_JSON_STRING_OPTIONAL:
            text = *(char *const *)field;
            if (!text && f->type == OFS_RECORD_JSON_STRING_OPTIONAL)
                continue;
            if (!text)
                return ofs_error_set(OFS_ERROR, "'%s' is not set", f->member);
            if ((rc = record_string(&v, f->member, text)) < 0)
                return rc;
            break;
        case OFS_RECORD_JSON_TIME:
            ofs_time_format_iso(*(const int64_t *)field, buf, sizeof(buf));
            v = json_string(buf);
            break;
        case OFS_RECORD_JSON_UINT64:
            if (*(const uint64_t *)field > (uint64_t)INT64_MAX)
                return ofs_error_set(OFS_ERROR, "'%s' is out of range", f->member);
            v = json_integer((json_int_t) * (const uint64_t *)field);
            break;
        case OFS_RECORD_JSON_UINT32:
            v = json_integer((json_int_t) * (const uint32_t *)field);
            break;
        case OFS_RECORD_JSON_SHA256:
            ofs_hex_encode((const uint8_t *)field, OFS_SHA256_BYTES, buf);
            v = json_string(buf);
            break;
        }
        if (!v || json_object_set_new(obj, f->member, v) != 0)
            return ofs_error_set(OFS_ERROR, "out of memory");
    }
    return 0;
}

/* ---- the rules of ids, kinds and classes ---- */

static int record_set_ok(const char *set)
{
    size_t n = strlen(set);
    if (n == 0 || n > RECORD_SET_MAX || set[0] == '.')
        return 0;
    for (const unsigned char *p = (const unsigned char *)set; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return 0;
    return 1;
}

static int record_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "<set>_<YYYYmmdd>_<HHMMSS>" with an optional "_N" (N >= 2) suffix. */
static int record_id_ok(const char *id, const char *set)
{
    size_t n = strlen(set);
    if (strncmp(id, set, n) != 0)
        return 0;
    const char *p = id + n;
    if (p[0] != '_' || !record_digits(p + 1, 8) || p[9] != '_' || !record_digits(p + 10, 6))
        return 0;
    p += 16;
    if (*p == '\0')
        return 1;
    size_t digits = strlen(p + 1);
    return p[0] == '_' && digits >= 1 && digits <= 9 && p[1] != '0' && record_digits(p + 1, digits);
}

int ofs_record_json_check(const char *name, const char *where, const char *id, const char *set,
                          const char *kind, const char *base, const char *class_name)
{
    if (!record_set_ok(set))
        return record_bad(name, where, "set", "is not a usable set name");
    if (!record_id_ok(id, set))
        return record_bad(name, where, "id", "is not a backup id of set '%s' (%s_YYYYmmdd_HHMMSS)",
                          set, set);
    if (strcmp(kind, "full") != 0 && strcmp(kind, "diff") != 0)
        return record_bad(name, where, "kind", "must be 'full' or 'diff'");
    if (strcmp(kind, "full") == 0 && base)
        return record_bad(name, where, "base", "is only for kind 'diff'");
    if (strcmp(kind, "diff") == 0) {
        if (!base)
            return record_bad(name, where, "base", "is missing (kind 'diff' needs it)");
        if (!record_id_ok(base, set) || strcmp(base, id) == 0)
            return record_bad(name, where, "base", "is not another backup id of set '%s'", set);
    }
    if (strcmp(class_name, "daily") != 0 && strcmp(class_name, "weekly") != 0 &&
        strcmp(class_name, "monthly") != 0)
        return record_bad(name, where, "class", "must be 'daily', 'weekly' or 'monthly'");
    return 0;
}

/* ---- loading, the MAC, dumping ---- */

int ofs_record_json_load(json_t **out, const char *text, size_t size, const char *format,
                         const char *name)
{
    json_error_t err;
    json_t *obj = json_loadb(text, size, JSON_REJECT_DUPLICATES, &err);
    const json_t *v;
    int rc = 0;

    *out = NULL;
    if (!obj)
        return ofs_error_set(OFS_ECORRUPT, "%s: not valid JSON (line %d: %s)", name, err.line,
                             err.text);
    if (!json_is_object(obj)) {
        rc = ofs_error_set(OFS_ECORRUPT, "%s: not a JSON object", name);
        goto cleanup;
    }
    v = json_object_get(obj, "format");
    if (!json_is_string(v) || strcmp(json_string_value(v), format) != 0) {
        rc = record_bad(name, "", "format", "must be '%s'", format);
        goto cleanup;
    }
    v = json_object_get(obj, "version");
    if (!json_is_integer(v) || json_integer_value(v) != RECORD_VERSION) {
        rc = record_bad(name, "", "version", "must be %d", RECORD_VERSION);
        goto cleanup;
    }
    *out = obj;
    obj = NULL;
cleanup:
    json_decref(obj);
    return rc;
}

/* HMAC-SHA256 of the canonical form of obj without "mac" (docs/format.md section 6.1). */
static int record_mac_compute(const json_t *obj, const ofs_key *key,
                              uint8_t mac[RECORD_MAC_BYTES])
{
    uint8_t mac_key[RECORD_MAC_BYTES];
    json_t *copy = json_copy((json_t *)obj); /* shallow: the members are shared */
    char *canonical = NULL;
    int rc;

    if (copy)
        json_object_del(copy, "mac");
    if (!copy || !(canonical = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_hkdf_sha256(key->key, OFS_KEY_BYTES, NULL, 0, OFS_HKDF_INFO_MAC, mac_key,
                              sizeof(mac_key))) < 0)
        goto cleanup;
    rc = ofs_hmac_sha256(mac_key, sizeof(mac_key), canonical, strlen(canonical), mac);
cleanup:
    OPENSSL_cleanse(mac_key, sizeof(mac_key));
    free(canonical);
    json_decref(copy);
    return rc;
}

int ofs_record_mac_sign(json_t *obj, const ofs_keyring *ring,
                        const uint8_t key_id[OFS_KEY_ID_BYTES])
{
    const ofs_key *key = ofs_keyring_find(ring, key_id);
    uint8_t mac[RECORD_MAC_BYTES];
    char hex[2 * RECORD_MAC_BYTES + 1];
    int rc;

    ofs_key_id_hex(key_id, hex);
    if (!key)
        return ofs_error_set(OFS_ENOTFOUND, "key %s is not in the key file", hex);
    if (json_object_set_new(obj, "key_id", json_string(hex)) != 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    json_object_del(obj, "mac");
    if ((rc = record_mac_compute(obj, key, mac)) < 0)
        return rc;
    ofs_hex_encode(mac, sizeof(mac), hex);
    if (json_object_set_new(obj, "mac", json_string(hex)) != 0)
        return ofs_error_set(OFS_ERROR, "out of memory");
    return 0;
}

int ofs_record_mac_check(const json_t *obj, const ofs_keyring *ring, const char *name,
                         const char *what)
{
    const json_t *kid = json_object_get(obj, "key_id"), *mac = json_object_get(obj, "mac");
    uint8_t key_id[OFS_KEY_ID_BYTES], stored[RECORD_MAC_BYTES], computed[RECORD_MAC_BYTES];
    const ofs_key *key;
    int rc;

    if (!kid)
        return record_bad(name, "", "key_id", "is missing");
    if (!json_is_string(kid) || !record_is_lower_hex(json_string_value(kid), 16) ||
        ofs_key_id_parse(json_string_value(kid), key_id) < 0)
        return record_bad(name, "", "key_id", "must be 16 lowercase hex digits");
    if (!mac)
        return record_bad(name, "", "mac", "is missing");
    if (!json_is_string(mac) || !record_is_lower_hex(json_string_value(mac), 64) ||
        ofs_hex_decode(json_string_value(mac), stored, sizeof(stored)) < 0)
        return record_bad(name, "", "mac", "must be 64 lowercase hex digits");
    if (!ring)
        return 0;
    if (!(key = ofs_keyring_find(ring, key_id))) {
        char held[17 * 4 + 16] = "";
        size_t n = ofs_keyring_count(ring);
        for (size_t i = 0; i < n && i < 4; i++) {
            char hex[17];
            ofs_key_id_hex(ofs_keyring_at(ring, n - 1 - i)->id, hex);
            snprintf(held + strlen(held), sizeof(held) - strlen(held), "%s%s", i ? ", " : "",
                     hex);
        }
        if (n > 4)
            snprintf(held + strlen(held), sizeof(held) - strlen(held), ", ...");
        return ofs_error_set(OFS_EWRONGKEY, "%s: key %s is not in the key file (it holds key "
                             "%s)", name, json_string_value(kid), held);
    }
    if ((rc = record_mac_compute(obj, key, computed)) < 0)
        return rc;
    if (CRYPTO_memcmp(stored, computed, sizeof(stored)) != 0)
        return ofs_error_set(OFS_EAUTH, "%s: %s MAC mismatch (modified, or wrong key)", name,
                             what);
    return 0;
}

int ofs_record_json_dump(const json_t *obj, char **text, size_t *size)
{
    char *dumped = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
    *text = NULL;
    *size = 0;
    if (!dumped)
        return ofs_error_set(OFS_ERROR, "out of memory");
    size_t n = strlen(dumped);
    char *bigger = realloc(dumped, n + 2);
    if (!bigger) {
        free(dumped);
        return ofs_error_set(OFS_ERROR, "out of memory");
    }
    bigger[n] = '\n';
    bigger[n + 1] = '\0';
    *text = bigger;
    *size = n + 1;
    return 0;
}

/* ---- the record as JSON ---- */

/* The objects list: volumes 1..n in order, then catalog.ofs; volumes and stored_bytes agree. */
static int record_check_objects(const ofs_record *rec, const char *name)
{
    char expected[32], member[64];
    uint64_t sum = 0;
    size_t n = rec->object_count;

    if (n == 0 || strcmp(rec->objects[n - 1].name, "catalog.ofs") != 0)
        return record_bad(name, "", "objects", "must end with catalog.ofs");
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n) {
            ofs_record_volume_name((uint32_t)(i + 1), expected);
            if (strcmp(rec->objects[i].name, expected) != 0) {
                snprintf(member, sizeof(member), "objects[%zu].name", i);
                return record_bad(name, "", member, "must be '%s'", expected);
            }
        }
        if (rec->objects[i].size > (uint64_t)INT64_MAX - sum)
            return record_bad(name, "", "objects", "sizes add up to more than 2^63");
        sum += rec->objects[i].size;
    }
    if (rec->volumes != n - 1)
        return record_bad(name, "", "volumes", "is %u, but 'objects' lists %zu volumes",
                          rec->volumes, n - 1);
    if (rec->stored_bytes != sum)
        return record_bad(name, "", "stored_bytes", "is %llu, but the objects add up to %llu",
                          (unsigned long long)rec->stored_bytes, (unsigned long long)sum);
    return 0;
}

int ofs_record_parse(ofs_record **out, const char *json, size_t size, const ofs_keyring *ring,
                     const char *name)
{
    json_t *obj = NULL;
    const json_t *objects;
    ofs_record *rec = NULL;
    int rc;

    *out = NULL;
    if ((rc = ofs_record_json_load(&obj, json, size, RECORD_FORMAT, name)) < 0 ||
        (rc = ofs_record_mac_check(obj, ring, name, "record")) < 0 ||
        (rc = ofs_record_new(&rec)) < 0 ||
        (rc = ofs_record_json_read(obj, record_fields, COUNT(record_fields), rec, name, "")) < 0)
        goto cleanup;
    ofs_key_id_parse(json_string_value(json_object_get(obj, "key_id")), rec->key_id);
    objects = json_object_get(obj, "objects");
    if (!objects) {
        rc = record_bad(name, "", "objects", "is missing");
        goto cleanup;
    }
    if (!json_is_array(objects)) {
        rc = record_bad(name, "", "objects", "must be an array");
        goto cleanup;
    }
    if (json_array_size(objects) > 0 &&
        !(rec->objects = calloc(json_array_size(objects), sizeof(*rec->objects)))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    rec->object_count = json_array_size(objects);
    for (size_t i = 0; i < rec->object_count; i++) {
        const json_t *o = json_array_get(objects, i);
        char where[64];
        snprintf(where, sizeof(where), "objects[%zu].", i);
        if (!json_is_object(o)) {
            rc = ofs_error_set(OFS_ECORRUPT, "%s: member 'objects[%zu]' must be an object",
                               name, i);
            goto cleanup;
        }
        if ((rc = ofs_record_json_read(o, object_fields, COUNT(object_fields), &rec->objects[i],
                                       name, where)) < 0)
            goto cleanup;
    }
    if ((rc = ofs_record_json_check(name, "", rec->id, rec->set, rec->kind, rec->base,
                                    rec->class_name)) < 0 ||
        (rc = record_check_objects(rec, name)) < 0)
        goto cleanup;
    *out = rec;
    rec = NULL;
cleanup:
    ofs_record_free(rec);
    json_decref(obj);
    return rc;
}

int ofs_record_serialize(const ofs_record *rec, const ofs_keyring *ring, char **json,
                         size_t *size)
{
    json_t *obj = json_object(), *objects = json_array();
    ofs_record copy = *rec; /* shallow: only stored_bytes differs */
    ofs_record *check = NULL;
    char *text = NULL;
    size_t text_size = 0;
    int rc;

    *json = NULL;
    *size = 0;
    copy.stored_bytes = 0;
    for (size_t i = 0; i < rec->object_count; i++)
        copy.stored_bytes += rec->objects[i].size;
    if (!obj || !objects || json_object_set_new(obj, "format", json_string(RECORD_FORMAT)) ||
        json_object_set_new(obj, "version", json_integer(RECORD_VERSION))) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_record_json_write(obj, record_fields, COUNT(record_fields), &copy)) < 0)
        goto cleanup;
    for (size_t i = 0; i < rec->object_count; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(objects, o) != 0) {
            rc = ofs_error_set(OFS_ERROR, "out of memory");
            goto cleanup;
        }
        if ((rc = ofs_record_json_write(o, object_fields, COUNT(object_fields),
                                        &rec->objects[i])) < 0)
            goto cleanup;
    }
    if (json_object_set(obj, "objects", objects) != 0) {
        rc = ofs_error_set(OFS_ERROR, "out of memory");
        goto cleanup;
    }
    if ((rc = ofs_record_mac_sign(obj, ring, rec->key_id)) < 0 ||
        (rc = ofs_record_json_dump(obj, &text, &text_size)) < 0)
        goto cleanup;
    /* read it back as every reader will, so an invalid record is never written */
    if ((rc = ofs_record_parse(&check, text, text_size, ring, "record")) < 0) {
        rc = OFS_ERROR;
        goto cleanup;
    }
    *json = text;
    *size = text_size;
    text = NULL;
cleanup:
    if (rc < 0)
        ofs_error_wrap(rc, "cannot write the record of backup '%s'", rec->id ? rec->id : "?");
    ofs_record_free(check);
    free(text);
    json_decref(objects);
    json_decref(obj);
    return rc;
}
