/* hmac: HMAC-SHA256 request signing between services (access key / secret key).
 *
 * The signed string is
 *   METHOD \n PATH \n CANONICAL_QUERY \n TIMESTAMP \n NONCE \n hex(SHA256(body))
 * where PATH is the decoded path without query, CANONICAL_QUERY the decoded query pairs sorted
 * by key then value, each side percent-encoded (RFC 3986 unreserved characters left as they
 * are) and joined as k=v with '&'. The signature is lower-case hex HMAC-SHA256(secret, string).
 *
 * It travels in four headers:
 *   X-Rampart-Key        access key
 *   X-Rampart-Timestamp  unix seconds
 *   X-Rampart-Nonce      16-64 characters [A-Za-z0-9_-], unique per request
 *   X-Rampart-Signature  64 hex digits
 *
 * A request is accepted when the key is known, the timestamp is within +-window seconds of
 * the verifier's clock, the signature matches (constant-time compare), and the (key, nonce)
 * pair was not seen before within the window (replay). */
#ifndef RAMPART_COMMON_HMAC_H
#define RAMPART_COMMON_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define HMAC_HDR_KEY          "X-Rampart-Key"
#define HMAC_HDR_TIMESTAMP    "X-Rampart-Timestamp"
#define HMAC_HDR_NONCE        "X-Rampart-Nonce"
#define HMAC_HDR_SIGNATURE    "X-Rampart-Signature"
#define HMAC_DEFAULT_WINDOW_S 60
#define HMAC_KEY_MAX          64 /* access key length limit */
#define HMAC_NONCE_MIN        16
#define HMAC_NONCE_MAX        64

typedef struct {
    const char *key;
    const char *value;
} hmac_kv_t;

/* --- keyring: access key -> secret key --- */
typedef struct hmac_keyring hmac_keyring_t;
hmac_keyring_t *hmac_keyring_new(void);
void hmac_keyring_free(hmac_keyring_t *kr);
/* Access key: 1-64 chars [A-Za-z0-9_.-]; secret: >= 16 bytes. 0, -EINVAL, -EEXIST. */
int hmac_keyring_add(hmac_keyring_t *kr, const char *access_key, const char *secret);
/* Loads "access_key secret" lines ('#' comments and blank lines skipped). The file must not be
 * readable by group or others. Errors: "path:line: reason" in err. All or nothing: on error no
 * key of the file is added. 0, -errno of open(2), -EACCES (group/other permission bits set),
 * -EINVAL (not a regular file, bad line, duplicate key), -EIO (read error). */
int hmac_keyring_load(hmac_keyring_t *kr, const char *path, char *err, size_t errlen);
const char *hmac_keyring_secret(const hmac_keyring_t *kr, const char *access_key);
size_t hmac_keyring_count(const hmac_keyring_t *kr);

/* --- signing (client side) --- */
typedef struct {
    char key[HMAC_KEY_MAX + 1];
    char timestamp[24];
    char nonce[HMAC_NONCE_MAX + 1];
    char signature[65];
} hmac_headers_t;

/* Signs a request at time now (unix seconds) with a fresh random nonce.
 * query holds decoded pairs (see hmac_query_parse for a raw query string). 0 or -EINVAL
 * (-EIO if the random generator or the crypto library fails). */
int hmac_sign(const char *access_key, const char *secret, const char *method, const char *path,
              const hmac_kv_t *query, size_t nquery, const void *body, size_t body_len, int64_t now,
              hmac_headers_t *out);
/* hmac_sign with a caller-chosen nonce (16-64 characters [A-Za-z0-9_-], else -EINVAL), for
 * known-answer tests and fuzzing. Production callers use hmac_sign: a reused nonce is
 * refused by the verifier as a replay. */
int hmac_sign_with_nonce(const char *access_key, const char *secret, const char *method,
                         const char *path, const hmac_kv_t *query, size_t nquery, const void *body,
                         size_t body_len, int64_t now, const char *nonce, hmac_headers_t *out);

/* Splits a raw query string ("a=1&b=x%20y") into decoded pairs. *out is one allocation
 * (free() it). Returns 0 or -EINVAL on bad percent-encoding. Strict RFC 3986: '+' stays a
 * plus sign, "%00" is refused; empty segments are skipped and a key without '=' has value "". */
int hmac_query_parse(const char *raw, hmac_kv_t **out, size_t *n);
/* The canonical query of decoded pairs (the CANONICAL_QUERY above); also a valid raw query
 * for the request URL. free() it; NULL if a key or value is NULL. */
char *hmac_query_canonical(const hmac_kv_t *query, size_t nquery);

/* --- verification (server side) --- */
typedef struct {
    const char *method, *path;
    const hmac_kv_t *query;
    size_t nquery;
    const void *body;
    size_t body_len;
    /* header values as received, any may be NULL */
    const char *key, *timestamp, *nonce, *signature;
} hmac_request_t;

/* Replay check hook: return 0 if (key, nonce) is new and now remembered until expires_at
 * (unix seconds), -EALREADY if seen, another negative errno if it cannot tell (store down). */
typedef int (*hmac_replay_fn)(void *ud, const char *key, const char *nonce, int64_t expires_at);

/* Verifies r at time now; window_s <= 0 means HMAC_DEFAULT_WINDOW_S. Checks, in order: headers
 * present and well-formed, key known, timestamp in the window, signature, then the replay hook
 * (with expires_at = timestamp + window), so forged requests never reach the replay store.
 * replay may be NULL only for tests that check signatures alone.
 * Returns 0, -EACCES with *reason set to a static string naming what was wrong
 * ("missing X-Rampart-Signature header", "unknown access key", "timestamp outside the
 * allowed window", "signature mismatch", "replayed request", ...), or the replay hook's
 * other errors (e.g. -EIO, reason "replay store unavailable"; -ENOSPC, "replay cache full").
 * -EINVAL ("invalid arguments") when kr, r, method or path is NULL, a query pair has a NULL
 * key or value, or body is NULL with a non-zero body_len. */
int hmac_verify(const hmac_keyring_t *kr, const hmac_request_t *r, int64_t now, int window_s,
                hmac_replay_fn replay, void *replay_ud, const char **reason);

/* --- in-memory replay cache, for single-instance services and tests --- */
typedef struct hmac_replay_cache hmac_replay_cache_t;
/* capacity: how many live nonces it holds; when full, new requests are refused (-ENOSPC)
 * rather than forgetting nonces still inside the window. */
hmac_replay_cache_t *hmac_replay_cache_new(size_t capacity);
void hmac_replay_cache_free(hmac_replay_cache_t *c);
/* An hmac_replay_fn; ud is the cache. Thread-safe. Uses the wall clock to expire entries: a
 * nonce is remembered while time(NULL) <= expires_at (one already past is not stored), and
 * expired entries are dropped before a full cache refuses. -EINVAL on a key or nonce longer
 * than HMAC_KEY_MAX / HMAC_NONCE_MAX. */
int hmac_replay_cache_check(void *ud, const char *key, const char *nonce, int64_t expires_at);

#endif
