/* Fuzzes request verification (common/hmac): raw query parsing and canonicalisation, header
 * validation, the keyring, the clock window, the signature and the replay cache.
 *
 * Input: one flags byte, then '\n'-separated fields
 *   method, path, raw query, access key, timestamp, nonce, signature, body (the rest)
 * A field the input does not reach is a missing header (NULL). Flags:
 *   bits 0-1  3: sign the request correctly (key and nonce taken from the input when valid),
 *             otherwise verify it as given
 *   bits 2-7  a clock offset of -32..31 s around the window of 30 s
 * Oracles: the query canonical form is a fixed point; a correctly signed request inside the
 * window is accepted once, then refused as a replay, and a second nonce finds the cache full;
 * nothing else is ever accepted. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hmac.h"
#include "common/log.h"
#include "common/xalloc.h"

#define WINDOW_S       30
#define FALLBACK_KEY   "fuzz-key-1"
#define FALLBACK_NONCE "fuzz-nonce-0000000"

enum { F_METHOD, F_PATH, F_QUERY, F_KEY, F_TIMESTAMP, F_NONCE, F_SIGNATURE, F_BODY, NFIELDS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hmac_keyring_t *keyring(void)
{
    static hmac_keyring_t *kr;
    if (!kr) {
        log_init("fuzz", LOG_LEVEL_FATAL, 2);
        kr = hmac_keyring_new();
        if (hmac_keyring_add(kr, FALLBACK_KEY, "fuzz-secret-0123456789") < 0 ||
            hmac_keyring_add(kr, "svc.sd_2", "another-fuzz-secret-abcdef") < 0 ||
            hmac_keyring_add(kr, "K", "0123456789abcdef") < 0)
            abort();
    }
    return kr;
}

/* canonical(parse(canonical(q))) == canonical(q), with as many pairs. */
static void check_query_fixed_point(const hmac_kv_t *q, size_t n)
{
    char *c1 = hmac_query_canonical(q, n);
    hmac_kv_t *back = NULL;
    size_t nback = 0;
    if (!c1 || hmac_query_parse(c1, &back, &nback) != 0 || nback != n)
        abort();
    char *c2 = hmac_query_canonical(back, nback);
    if (!c2 || strcmp(c1, c2) != 0)
        abort();
    free(c2);
    free(back);
    free(c1);
}

static int64_t parse_small_number(const char *s)
{
    int64_t v = 0;
    if (!s || !*s || strlen(s) > 18)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

static int verify(const hmac_request_t *r, int64_t now, hmac_replay_cache_t *cache,
                  const char **why)
{
    return hmac_verify(keyring(), r, now, WINDOW_S, hmac_replay_cache_check, cache, why);
}

static void signed_request(hmac_request_t *r, const hmac_kv_t *q, size_t nq, int offset,
                           hmac_replay_cache_t *cache)
{
    const char *key = r->key && hmac_keyring_secret(keyring(), r->key) ? r->key : FALLBACK_KEY;
    const char *secret = hmac_keyring_secret(keyring(), key);
    int64_t now = (int64_t)time(NULL);
    hmac_headers_t h;
    int rc = hmac_sign_with_nonce(key, secret, r->method, r->path, q, nq, r->body, r->body_len,
                                  now + offset, r->nonce, &h);
    if (rc == -EINVAL)
        rc = hmac_sign_with_nonce(key, secret, r->method, r->path, q, nq, r->body, r->body_len,
                                  now + offset, FALLBACK_NONCE, &h);
    if (rc != 0)
        return; /* method or path unusable: nothing to check */
    r->query = q;
    r->nquery = nq;
    r->key = h.key;
    r->timestamp = h.timestamp;
    r->nonce = h.nonce;
    r->signature = h.signature;

    const char *why = NULL;
    rc = verify(r, now, cache, &why);
    if (offset < -WINDOW_S || offset > WINDOW_S) {
        if (rc != -EACCES || strcmp(why, "timestamp outside the allowed window") != 0)
            abort();
        return;
    }
    if (rc != 0)
        abort();
    /* The cache keeps the nonce until now + offset + window; skip offsets where the wall clock
     * may pass that during this call. */
    if (offset < 5 - WINDOW_S)
        return;
    if (verify(r, now, cache, &why) != -EACCES || strcmp(why, "replayed request") != 0)
        abort();

    /* A second genuine request: the cache (capacity 1) is full of a live nonce. */
    hmac_headers_t h2;
    if (hmac_sign_with_nonce(key, secret, r->method, r->path, q, nq, r->body, r->body_len,
                             now + offset, "second-nonce-of-this-input", &h2) != 0)
        abort();
    if (strcmp(h2.nonce, h.nonce) == 0)
        return;
    r->timestamp = h2.timestamp;
    r->nonce = h2.nonce;
    r->signature = h2.signature;
    if (verify(r, now, cache, &why) != -ENOSPC || strcmp(why, "replay cache full") != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    bool sign = (flags & 3) == 3;
    int offset = (int)(flags >> 2) - 32;
    const char *p = (const char *)data + 1;
    const char *end = (const char *)data + size;

    /* Split into fields; each becomes its own allocation so ASan sees overreads. */
    char *field[NFIELDS] = {NULL};
    size_t body_len = 0;
    for (int i = 0; i < NFIELDS; i++) {
        const char *nl = i < F_BODY ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        const char *stop = nl ? nl : end;
        field[i] = xmalloc((size_t)(stop - p) + 1);
        memcpy(field[i], p, (size_t)(stop - p));
        field[i][stop - p] = '\0';
        if (i == F_BODY)
            body_len = (size_t)(stop - p);
        if (!nl)
            break; /* the input ends here: later fields stay missing */
        p = nl + 1;
    }

    hmac_kv_t *q = NULL;
    size_t nq = 0;
    bool query_ok = hmac_query_parse(field[F_QUERY], &q, &nq) == 0;
    if (query_ok)
        check_query_fixed_point(q, nq);

    hmac_request_t r = {
        .method = field[F_METHOD],
        .path = field[F_PATH],
        .query = q,
        .nquery = nq,
        .body = field[F_BODY],
        .body_len = body_len,
        .key = field[F_KEY],
        .timestamp = field[F_TIMESTAMP],
        .nonce = field[F_NONCE],
        .signature = field[F_SIGNATURE],
    };
    hmac_replay_cache_t *cache = hmac_replay_cache_new(1);
    if (sign && query_ok) {
        signed_request(&r, q, nq, offset, cache);
    } else {
        /* As given: put the verifier's clock near the claimed time so the signature check
         * is reached. Forging a signature is not something the fuzzer can do. */
        int64_t ts = parse_small_number(r.timestamp);
        int64_t now = ts >= 0 ? ts + offset : (int64_t)time(NULL);
        const char *why = NULL;
        int rc = verify(&r, now, cache, &why);
        if (rc == 0 || !why)
            abort();
    }
    hmac_replay_cache_free(cache);
    free(q);
    for (int i = 0; i < NFIELDS; i++)
        free(field[i]);
    return 0;
}
