/*
 * keyring_internal.h - what the key file (keyring.c) lends the paper copy (keyring_paper.c).
 */
#ifndef OFFSITE_KEYRING_INTERNAL_H
#define OFFSITE_KEYRING_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/keyring.h"

struct ofs_keyring {
    ofs_key *keys;
    size_t count;
};

/* keyring_format_time(t, out) / keyring_parse_time(s, &t): "YYYY-mm-ddTHH:MM:SSZ", the only
 * form accepted. */
void keyring_format_time(int64_t t, char out[32]);
int keyring_parse_time(const char *s, int64_t *out);

/* keyring_append_key(ring, key): add a copy of key to ring (no duplicate check). */
int keyring_append_key(ofs_keyring *ring, const ofs_key *key);

/* keyring_split(s, fields, max): split s in place at runs of blanks; the field count. */
size_t keyring_split(char *s, char **fields, size_t max);

/* keyring_add(path, keys, count, &added): append the keys not yet in the key file at path
 * (created if needed), keeping its old text byte for byte; *added = how many were new. */
int keyring_add(const char *path, const ofs_key *keys, size_t count, int *added);

#endif
