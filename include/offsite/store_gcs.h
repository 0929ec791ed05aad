/*
 * store_gcs.h - the gcs store driver: Google Cloud Storage through its JSON API
 * (https://storage.googleapis.com/storage/v1/...), authorised with OAuth2 bearer tokens, over
 * libcurl (http.h).
 *
 * Objects live under "<prefix>/" in the bucket; keys given to and returned by the store are
 * relative to that prefix.
 *
 * Credentials, in this order (secrets never reach a message, a log line or --json):
 *   1. the target's credentials_file: a service-account JSON key. A JWT (RS256, signed with
 *      OpenSSL's EVP; claims iss = client_email, scope = devstorage.full_control, aud =
 *      token_uri, iat, exp = iat + 1 h) is exchanged at the key's token_uri for an access
 *      token (grant_type urn:ietf:params:oauth:grant-type:jwt-bearer).
 *   2. OFFSITE_GCS_TOKEN: a bearer token from the environment (a token broker, tests), used
 *      as it is and never refreshed.
 *   3. GOOGLE_APPLICATION_CREDENTIALS: a service-account key, as 1.
 *   4. the GCE metadata server (GCE_METADATA_HOST, default metadata.google.internal):
 *      /computeMetadata/v1/instance/service-accounts/default/token with Metadata-Flavor.
 * A token is cached until 5 minutes before it expires and fetched again after a 401 (once per
 * request). Refusals at the token endpoint (invalid_grant: clock skew or a revoked key) are
 * OFS_EDENIED with a HINT and never retried.
 *
 * put: an object up to part_size (default 16 MiB; a multiple of 256 KiB, 5M to 5G) is one
 * media upload; a larger one a resumable upload sent in part_size chunks. finish compares the
 * md5Hash and crc32c the server reports, and the size, with what was sent (OFS_ECORRUPT and
 * the object deleted if they differ). The session URL of a resumable upload is kept in a file
 * under the cache directory (STATE_DIR/cache/gcs/) until the object is finished; a put of the
 * same key after a crash or a dropped connection asks the session how much it holds
 * (Content-Range: bytes *\/SIZE, answered 308 with Range) and sends only the rest - the final
 * md5 check covers the bytes not sent again. Sessions older than 6 days are not resumed
 * (Google keeps them a week). free without finish cancels the session, unless the writer failed
 * transiently: then the session stays for the next run.
 *
 * OFS_PUT_IF_ABSENT and the records use ifGenerationMatch=0; stat's version is the object's
 * generation and replace (ofs_store_replace) writes with ifGenerationMatch=GENERATION. The
 * first conditional write of a store probes with an object of its own under
 * OFS_GCS_PROBE_PREFIX whether the server honours preconditions (Google does; the Cloud
 * Storage emulator does not): where it does not, replace is OFS_EUNSUPPORTED and the store
 * layer checks, then writes.
 *
 * get streams (alt=media) and resumes a dropped body with a Range request pinned to the
 * generation it started reading. list pages with pageToken. del of an absent object is not
 * an error.
 *
 * Every request is retried inside the driver when it fails transiently (429, 408, 5xx,
 * resets, timeouts) with backoff and jitter within the store budget (OFFSITE_RETRY_BUDGET,
 * default 20 s of sleeping); 401 fetches a new token and tries once more; 403 and 404 are not
 * retried. Server errors read "reason: message (bucket B, object O)" with a HINT for the usual
 * causes.
 *
 * Lifecycle (the store's lifecycle ops, ofs_store_versioning and ofs_store_lifecycle_sync;
 * gcs_lifecycle.c): versioned is the bucket's versioning.enabled (GET ?fields=versioning).
 * The sync reads the bucket (GET ?fields=lifecycle,versioning), keeps every rule that is not
 * this target's as it came, and PATCHes ?fields=lifecycle with {"lifecycle": {"rule": [...]}}:
 * each element of an ofs_lifecycle_rule becomes a rule with condition.matchesPrefix = [PREFIX
 * + rule prefix] - expiration_days a Delete at `age`, a transition a SetStorageClass
 * (NEARLINE, COLDLINE or ARCHIVE) at `age`, noncurrent_days a Delete with isLive false and
 * daysSinceNoncurrentTime, the multipart abort an AbortIncompleteMultipartUpload at `age` (XML
 * API uploads; resumable sessions expire on their own); GCS has no delete markers, so
 * expired_delete_marker writes nothing. GCS rules have no IDs: the target's are those with one
 * matchesPrefix that is its prefix followed by data/, manifest.json or offsite-probe/ (with an
 * empty prefix, another tool's rule over data/ counts as offsite's). Nothing is written when
 * they already are the wanted ones; after a PATCH the bucket is read again and a difference
 * is OFS_ECORRUPT naming the rule's prefix. OFS_EDENIED without storage.buckets.update.
 *
 * Object retention (object_lock = governance|compliance: retention.mode Unlocked|Locked; the
 * bucket must have object retention enabled, `gcloud storage buckets create
 * --enable-per-object-retention`: asked once per store at the first locked upload, GET
 * ?fields=objectRetention, OFS_ECONFIG with a HINT if not): every
 * object under data/<class>/ is uploaded with {"retention": {"mode": MODE, "retainUntilTime":
 * now + the class's age (ofs_retention_lock_until) + 1 day}} in the resumable upload's
 * metadata (so such objects always use a resumable upload, whatever their size);
 * manifest.json and anything outside data/ is never locked. A delete refused with
 * retentionPolicyNotMet reads the object's retention (GET ?fields=retention,
 * retentionExpirationTime) and is OFS_EDENIED "object is locked until DATE (MODE; bucket B,
 * object O)"; prune keeps such a backup.
 *
 * Caps: RANGE, CONDITIONAL, RETRIES, LIFECYCLE, CONCURRENT unless a bwlimit is set,
 * ATOMIC_REPLACE once the probe found preconditions honoured, OBJECT_LOCK when object_lock
 * is on.
 */
#ifndef OFFSITE_STORE_GCS_H
#define OFFSITE_STORE_GCS_H

#include <stddef.h>
#include <stdint.h>

#include "offsite/config.h"
#include "offsite/store.h"

/* Where the driver writes and deletes its precondition probe, relative to the prefix. */
#define OFS_GCS_PROBE_PREFIX "offsite-probe/"

/*
 * ofs_store_gcs_new(&store, target, cache_dir): a gcs store for a [target] with type = gcs.
 * Checks the settings and reads the credentials (a key file is parsed and its private key
 * loaded); does not touch the network. cache_dir holds resumable-session files (NULL: $TMPDIR).
 * OFS_ECONFIG naming the target and its line for a bad setting, and naming the key file and
 * the field for a key that is not JSON or not a service-account key; OFS_ENOTFOUND for a key
 * file that does not exist, OFS_EDENIED if it cannot be read.
 */
int ofs_store_gcs_new(ofs_store **out, const ofs_config_target *target, const char *cache_dir);

/*
 * ofs_store_gcs_new_with_retention(&store, target, retention, cache_dir): the same, with the
 * retention policy that applies to the target (ofs_config_target_retention) for object_lock;
 * retention may be NULL when object_lock is off (with it on, NULL is OFS_EUNSUPPORTED: no date
 * to lock until). ofs_store_gcs_new is this with NULL. A transition_class other than NEARLINE,
 * COLDLINE or ARCHIVE is OFS_ECONFIG.
 */
int ofs_store_gcs_new_with_retention(ofs_store **out, const ofs_config_target *target,
                                     const ofs_config_retention *retention,
                                     const char *cache_dir);

/*
 * A service account's key, as far as the JWT needs it (a test can build one by hand).
 * ofs_gcs_jwt(key, now, &jwt): the signed assertion "HEADER.CLAIMS.SIGNATURE" (base64url, no
 * padding) with header {"alg":"RS256","typ":"JWT","kid":private_key_id} and claims {iss,
 * scope, aud = token_uri, iat = now, exp = now + 3600}. Caller frees *jwt. OFS_ECONFIG if the
 * PEM is not an RSA private key, OFS_ERROR on an OpenSSL failure.
 */
typedef struct ofs_gcs_key {
    const char *client_email;
    const char *private_key;     /* PEM */
    const char *private_key_id;  /* may be NULL */
    const char *token_uri;
    const char *scope;
} ofs_gcs_key;

int ofs_gcs_jwt(const ofs_gcs_key *key, int64_t now, char **jwt);

/* ofs_gcs_crc32c(crc, data, size): CRC-32C (Castagnoli) continued from crc (0 to start). */
uint32_t ofs_gcs_crc32c(uint32_t crc, const void *data, size_t size);

/* ofs_gcs_crc32c_portable(crc, data, size): the same without the CPU's crc32 instruction (the
 * tables ofs_gcs_crc32c falls back to; for tests). */
uint32_t ofs_gcs_crc32c_portable(uint32_t crc, const void *data, size_t size);

#endif
