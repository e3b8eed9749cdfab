#include "common/hmac.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

#define SECRET_MIN     16
#define TIMESTAMP_MAX  19 /* digits of INT64_MAX */
#define METHOD_MAX     32
#define MAC_LEN        32 /* SHA-256 */
#define SIG_HEX_LEN    (2 * MAC_LEN)
#define NONCE_RAND_LEN 16 /* random bytes of a generated nonce, sent as 32 hex digits */

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* ---- character classes (ASCII only, independent of the locale) --------------------------- */

static bool is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 3986 unreserved. */
static bool is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_key_char(unsigned char c)
{
    return is_alnum(c) || c == '_' || c == '.' || c == '-';
}

static bool is_nonce_char(unsigned char c)
{
    return is_alnum(c) || c == '_' || c == '-';
}

/* RFC 9110 token character: what an HTTP method is made of. */
static bool is_tchar(unsigned char c)
{
    return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- field validation: NULL when valid, else the reason ---------------------------------- */

static const char *check_access_key(const char *s)
{
    size_t n = strnlen(s, HMAC_KEY_MAX + 1);
    if (n == 0)
        return "empty X-Rampart-Key header";
    if (n > HMAC_KEY_MAX)
        return "X-Rampart-Key header longer than 64 characters";
    for (size_t i = 0; i < n; i++) {
        if (!is_key_char((unsigned char)s[i]))
            return "invalid character in X-Rampart-Key header";
    }
    return NULL;
}

static const char *parse_timestamp(const char *s, int64_t *out)
{
    size_t n = strnlen(s, TIMESTAMP_MAX + 1);
    if (n == 0)
        return "empty X-Rampart-Timestamp header";
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return "X-Rampart-Timestamp header is not a decimal number";
    }
    if (n > TIMESTAMP_MAX)
        return "X-Rampart-Timestamp header too long";
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return "X-Rampart-Timestamp header out of range";
        v = v * 10 + d;
    }
    *out = v;
    return NULL;
}

static const char *check_nonce(const char *s)
{
    size_t n = strnlen(s, HMAC_NONCE_MAX + 1);
    if (n < HMAC_NONCE_MIN)
        return "X-Rampart-Nonce header shorter than 16 characters";
    if (n > HMAC_NONCE_MAX)
        return "X-Rampart-Nonce header longer than 64 characters";
    for (size_t i = 0; i < n; i++) {
        if (!is_nonce_char((unsigned char)s[i]))
            return "invalid character in X-Rampart-Nonce header";
    }
    return NULL;
}

static const char *parse_signature(const char *s, unsigned char mac[MAC_LEN])
{
    if (strnlen(s, SIG_HEX_LEN + 1) != SIG_HEX_LEN)
        return "X-Rampart-Signature header is not 64 characters";
    for (size_t i = 0; i < MAC_LEN; i++) {
        int hi = hex_value((unsigned char)s[2 * i]);
        int lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return "X-Rampart-Signature header is not hexadecimal";
        mac[i] = (unsigned char)(hi << 4 | lo);
    }
    return NULL;
}

static const char *check_method(const char *s)
{
    size_t n = strnlen(s, METHOD_MAX + 1);
    if (n == 0 || n > METHOD_MAX)
        return "malformed request method";
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)s[i]))
            return "malformed request method";
    }
    return NULL;
}

static bool query_valid(const hmac_kv_t *q, size_t n)
{
    if (n && !q)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!q[i].key || !q[i].value)
            return false;
    }
    return true;
}

/* ---- canonical query --------------------------------------------------------------------- */

static void append_encoded(strbuf_t *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_unreserved(*p)) {
            strbuf_append(sb, p, 1);
        } else {
            char e[3] = {'%', hex_upper[*p >> 4], hex_upper[*p & 15]};
            strbuf_append(sb, e, 3);
        }
    }
}

static int cmp_kv(const void *a, const void *b)
{
    const hmac_kv_t *x = a, *y = b;
    int c = strcmp(x->key, y->key); /* compares as unsigned char: byte order */
    return c ? c : strcmp(x->value, y->value);
}

/* Appends the canonical form of q to sb. The caller validated q (query_valid). */
static void append_canonical(strbuf_t *sb, const hmac_kv_t *q, size_t n)
{
    if (n == 0)
        return;
    hmac_kv_t *sorted = xmalloc(n * sizeof(*sorted));
    memcpy(sorted, q, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_kv);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_append(sb, "&", 1);
        append_encoded(sb, sorted[i].key);
        strbuf_append(sb, "=", 1);
        append_encoded(sb, sorted[i].value);
    }
    free(sorted);
}

char *hmac_query_canonical(const hmac_kv_t *query, size_t nquery)
{
    if (!query_valid(query, nquery) || nquery > SIZE_MAX / sizeof(*query))
        return NULL;
    strbuf_t sb = STRBUF_INIT;
    append_canonical(&sb, query, nquery);
    return strbuf_steal(&sb, NULL);
}

/* Decodes [p, end) into *w (NUL-terminated) and advances *w past the NUL. */
static int percent_decode(const char *p, const char *end, char **w)
{
    char *o = *w;
    while (p < end) {
        if (*p != '%') {
            *o++ = *p++;
            continue;
        }
        if (end - p < 3)
            return -EINVAL;
        int hi = hex_value((unsigned char)p[1]);
        int lo = hex_value((unsigned char)p[2]);
        if (hi < 0 || lo < 0 || (hi | lo) == 0)
            return -EINVAL; /* malformed escape or an embedded NUL */
        *o++ = (char)(hi << 4 | lo);
        p += 3;
    }
    *o++ = '\0';
    *w = o;
    return 0;
}

int hmac_query_parse(const char *raw, hmac_kv_t **out, size_t *n)
{
    if (!out || !n)
        return -EINVAL;
    *out = NULL;
    *n = 0;
    if (!raw)
        raw = "";
    size_t len = strlen(raw);
    size_t segs = 1;
    for (const char *p = raw; *p; p++)
        segs += *p == '&';
    /* Each segment takes one pair and at most two NULs beyond its own bytes. */
    if (segs > (SIZE_MAX - len - 1) / (sizeof(hmac_kv_t) + 2))
        return -EINVAL;
    hmac_kv_t *kv = xmalloc(segs * sizeof(*kv) + len + 2 * segs + 1);
    char *w = (char *)(kv + segs);
    size_t count = 0;
    const char *p = raw;
    for (;;) {
        const char *end = p;
        while (*end && *end != '&')
            end++;
        if (end > p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            kv[count].key = w;
            if (percent_decode(p, eq ? eq : end, &w) < 0)
                goto bad;
            kv[count].value = w;
            if (percent_decode(eq ? eq + 1 : end, end, &w) < 0)
                goto bad;
            count++;
        }
        if (!*end)
            break;
        p = end + 1;
    }
    *out = kv;
    *n = count;
    return 0;
bad:
    free(kv);
    return -EINVAL;
}

/* ---- keyring: sorted array of access keys ------------------------------------------------ */

typedef struct {
    char *access_key;
    char *secret;
    size_t secret_len;
} keyring_entry_t;

struct hmac_keyring {
    keyring_entry_t *v; /* sorted by access_key */
    size_t n, cap;
};

hmac_keyring_t *hmac_keyring_new(void)
{
    return xcalloc(1, sizeof(hmac_keyring_t));
}

void hmac_keyring_free(hmac_keyring_t *kr)
{
    if (!kr)
        return;
    for (size_t i = 0; i < kr->n; i++) {
        free(kr->v[i].access_key);
        OPENSSL_cleanse(kr->v[i].secret, kr->v[i].secret_len);
        free(kr->v[i].secret);
    }
    free(kr->v);
    free(kr);
}

/* Index of access_key, or where it would be inserted (*found false). */
static size_t keyring_find(const hmac_keyring_t *kr, const char *access_key, bool *found)
{
    size_t lo = 0, hi = kr->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(kr->v[mid].access_key, access_key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int hmac_keyring_add(hmac_keyring_t *kr, const char *access_key, const char *secret)
{
    if (!kr || !access_key || !secret || check_access_key(access_key))
        return -EINVAL;
    size_t slen = strlen(secret);
    if (slen < SECRET_MIN || slen > INT_MAX)
        return -EINVAL;
    bool found;
    size_t at = keyring_find(kr, access_key, &found);
    if (found)
        return -EEXIST;
    if (kr->n == kr->cap) {
        kr->cap = kr->cap ? 2 * kr->cap : 8;
        kr->v = xrealloc(kr->v, kr->cap * sizeof(*kr->v));
    }
    memmove(&kr->v[at + 1], &kr->v[at], (kr->n - at) * sizeof(*kr->v));
    kr->v[at] = (keyring_entry_t){xstrdup(access_key), xstrndup(secret, slen), slen};
    kr->n++;
    return 0;
}

const char *hmac_keyring_secret(const hmac_keyring_t *kr, const char *access_key)
{
    if (!kr || !access_key)
        return NULL;
    bool found;
    size_t at = keyring_find(kr, access_key, &found);
    return found ? kr->v[at].secret : NULL;
}

size_t hmac_keyring_count(const hmac_keyring_t *kr)
{
    return kr ? kr->n : 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses one line into tmp. NULL when fine (or nothing to add), else the reason. */
static const char *keyring_line(hmac_keyring_t *tmp, const hmac_keyring_t *kr, char *line,
                                size_t len)
{
    if (memchr(line, '\0', len))
        return "NUL byte in line";
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    char *p = line;
    while (is_blank(*p))
        p++;
    if (!*p || *p == '#')
        return NULL;
    char *ak = p;
    while (*p && !is_blank(*p))
        p++;
    if (*p)
        *p++ = '\0';
    while (is_blank(*p))
        p++;
    char *secret = p;
    while (*p && !is_blank(*p))
        p++;
    if (*p)
        *p++ = '\0';
    while (is_blank(*p))
        p++;
    if (!*secret)
        return "missing secret (expected \"access_key secret\")";
    if (*p)
        return "extra fields (expected \"access_key secret\")";
    if (check_access_key(ak))
        return "invalid access key (1-64 characters [A-Za-z0-9_.-])";
    if (strlen(secret) < SECRET_MIN)
        return "secret shorter than 16 bytes";
    if (hmac_keyring_secret(kr, ak))
        return "duplicate access key";
    int rc = hmac_keyring_add(tmp, ak, secret);
    if (rc == -EEXIST)
        return "duplicate access key";
    if (rc < 0)
        return "invalid secret";
    return NULL;
}

int hmac_keyring_load(hmac_keyring_t *kr, const char *path, char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (!kr || !path) {
        set_err(err, errlen, "no keyring or path");
        return -EINVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        set_err(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        set_err(err, errlen, "%s: %s", path, strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -EINVAL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        set_err(err, errlen,
                "%s: permissions %04o give group or others access to secrets (chmod 600 it)", path,
                (unsigned)(st.st_mode & 07777));
        close(fd);
        return -EACCES;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        set_err(err, errlen, "%s: %s", path, strerror(e));
        close(fd);
        return -e;
    }

    int rc = 0;
    hmac_keyring_t *tmp = hmac_keyring_new();
    char *line = NULL;
    size_t cap = 0;
    size_t lineno = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        const char *why = keyring_line(tmp, kr, line, (size_t)got);
        if (why) {
            set_err(err, errlen, "%s:%zu: %s", path, lineno, why);
            rc = -EINVAL;
            goto cleanup;
        }
    }
    if (ferror(f)) {
        set_err(err, errlen, "%s:%zu: read error", path, lineno + 1);
        rc = -EIO;
        goto cleanup;
    }
    for (size_t i = 0; i < tmp->n; i++) {
        rc = hmac_keyring_add(kr, tmp->v[i].access_key, tmp->v[i].secret);
        ASSERT(rc == 0); /* every key was validated and checked against kr above */
    }
    char qpath[256];
    LOG_INFO("hmac.keyring_loaded", "path=%s keys=%zu", log_quote(qpath, sizeof(qpath), path),
             tmp->n);
cleanup:
    if (line)
        OPENSSL_cleanse(line, cap);
    free(line);
    hmac_keyring_free(tmp);
    fclose(f);
    return rc;
}

/* ---- signing ----------------------------------------------------------------------------- */

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_lower[in[i] >> 4];
        out[2 * i + 1] = hex_lower[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* HMAC-SHA256(secret, string to sign). Fields were validated by the caller. 0 or -EIO. */
static int compute_mac(const char *secret, const char *method, const char *path,
                       const hmac_kv_t *query, size_t nquery, const void *body, size_t body_len,
                       const char *timestamp, const char *nonce, unsigned char mac[MAC_LEN])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_Digest(body_len ? body : "", body_len, digest, &dlen, EVP_sha256(), NULL) ||
        dlen != MAC_LEN)
        return -EIO;
    char body_hex[SIG_HEX_LEN + 1];
    hex_encode(digest, MAC_LEN, body_hex);

    strbuf_t sb = STRBUF_INIT;
    strbuf_appends(&sb, method);
    strbuf_append(&sb, "\n", 1);
    strbuf_appends(&sb, path);
    strbuf_append(&sb, "\n", 1);
    append_canonical(&sb, query, nquery);
    strbuf_append(&sb, "\n", 1);
    strbuf_appends(&sb, timestamp);
    strbuf_append(&sb, "\n", 1);
    strbuf_appends(&sb, nonce);
    strbuf_append(&sb, "\n", 1);
    strbuf_append(&sb, body_hex, SIG_HEX_LEN);

    unsigned int mlen = 0;
    const unsigned char *ok = HMAC(EVP_sha256(), secret, (int)strlen(secret),
                                   (const unsigned char *)sb.data, sb.len, mac, &mlen);
    strbuf_dispose(&sb);
    return ok && mlen == MAC_LEN ? 0 : -EIO;
}

int hmac_sign_with_nonce(const char *access_key, const char *secret, const char *method,
                         const char *path, const hmac_kv_t *query, size_t nquery, const void *body,
                         size_t body_len, int64_t now, const char *nonce, hmac_headers_t *out)
{
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (!access_key || check_access_key(access_key) || !secret || !method || check_method(method) ||
        !path || !*path || !query_valid(query, nquery) || (!body && body_len) || now < 0 ||
        !nonce || check_nonce(nonce))
        return -EINVAL;
    size_t slen = strlen(secret);
    if (slen < SECRET_MIN || slen > INT_MAX)
        return -EINVAL;

    snprintf(out->key, sizeof(out->key), "%s", access_key);
    snprintf(out->timestamp, sizeof(out->timestamp), "%lld", (long long)now);
    snprintf(out->nonce, sizeof(out->nonce), "%s", nonce);
    unsigned char mac[MAC_LEN];
    int rc = compute_mac(secret, method, path, query, nquery, body, body_len, out->timestamp,
                         out->nonce, mac);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    hex_encode(mac, MAC_LEN, out->signature);
    return 0;
}

int hmac_sign(const char *access_key, const char *secret, const char *method, const char *path,
              const hmac_kv_t *query, size_t nquery, const void *body, size_t body_len, int64_t now,
              hmac_headers_t *out)
{
    unsigned char rnd[NONCE_RAND_LEN];
    char nonce[2 * NONCE_RAND_LEN + 1];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        if (out)
            memset(out, 0, sizeof(*out));
        return -EIO;
    }
    hex_encode(rnd, sizeof(rnd), nonce);
    return hmac_sign_with_nonce(access_key, secret, method, path, query, nquery, body, body_len,
                                now, nonce, out);
}

/* ---- verification ------------------------------------------------------------------------ */

static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

int hmac_verify(const hmac_keyring_t *kr, const hmac_request_t *r, int64_t now, int window_s,
                hmac_replay_fn replay, void *replay_ud, const char **reason)
{
    const char *unused;
    if (!reason)
        reason = &unused;
    *reason = NULL;
    if (!kr || !r || !r->method || !r->path || !query_valid(r->query, r->nquery) ||
        (!r->body && r->body_len)) {
        *reason = "invalid arguments";
        return -EINVAL;
    }

    /* 1. headers present and well-formed, request line usable */
    if (!r->key)
        *reason = "missing X-Rampart-Key header";
    else if (!r->timestamp)
        *reason = "missing X-Rampart-Timestamp header";
    else if (!r->nonce)
        *reason = "missing X-Rampart-Nonce header";
    else if (!r->signature)
        *reason = "missing X-Rampart-Signature header";
    if (*reason)
        return -EACCES;
    int64_t ts = 0;
    unsigned char given[MAC_LEN];
    if ((*reason = check_access_key(r->key)) || (*reason = parse_timestamp(r->timestamp, &ts)) ||
        (*reason = check_nonce(r->nonce)) || (*reason = parse_signature(r->signature, given)) ||
        (*reason = check_method(r->method)))
        return -EACCES;
    if (!*r->path) {
        *reason = "empty request path";
        return -EACCES;
    }

    /* 2. key known */
    const char *secret = hmac_keyring_secret(kr, r->key);
    if (!secret) {
        *reason = "unknown access key";
        return -EACCES;
    }

    /* 3. timestamp within the window */
    int64_t window = window_s > 0 ? window_s : HMAC_DEFAULT_WINDOW_S;
    if (ts < add_sat(now, -window) || ts > add_sat(now, window)) {
        *reason = "timestamp outside the allowed window";
        return -EACCES;
    }

    /* 4. signature, compared in constant time */
    unsigned char want[MAC_LEN];
    if (compute_mac(secret, r->method, r->path, r->query, r->nquery, r->body, r->body_len,
                    r->timestamp, r->nonce, want) < 0) {
        *reason = "crypto library failure";
        return -EIO;
    }
    if (CRYPTO_memcmp(want, given, MAC_LEN) != 0) {
        *reason = "signature mismatch";
        return -EACCES;
    }

    /* 5. replay, only for authentic requests so forgeries never take cache space */
    if (!replay)
        return 0;
    int rc = replay(replay_ud, r->key, r->nonce, add_sat(ts, window));
    if (rc == 0)
        return 0;
    if (rc == -EALREADY) {
        *reason = "replayed request";
        return -EACCES;
    }
    if (rc == -ENOSPC) {
        *reason = "replay cache full";
        return -ENOSPC;
    }
    *reason = "replay store unavailable";
    return rc < 0 ? rc : -EIO;
}

/* ---- in-memory replay cache -------------------------------------------------------------- *
 * Fixed slots, a chained hash table on (key, nonce) and a min-heap on expires_at, so expired
 * entries are dropped from the top of the heap in O(log n) each. Only requests that passed the
 * signature check reach the cache; the seeded hash keeps chains short anyway. */

#define NO_SLOT SIZE_MAX

typedef struct {
    int64_t expires_at;
    uint64_t hash;
    size_t next; /* next slot in the bucket chain, or in the free list */
    char key[HMAC_KEY_MAX + 1];
    char nonce[HMAC_NONCE_MAX + 1];
} replay_entry_t;

struct hmac_replay_cache {
    pthread_mutex_t mu;
    size_t capacity;
    size_t count;
    replay_entry_t *slots; /* capacity */
    size_t *buckets;       /* nbuckets chain heads */
    size_t nbuckets;       /* power of two */
    size_t *heap;          /* count slot indices, min-heap on expires_at */
    size_t free_head;
    uint64_t seed;
};

hmac_replay_cache_t *hmac_replay_cache_new(size_t capacity)
{
    hmac_replay_cache_t *c = xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->capacity = capacity;
    c->slots = xcalloc(capacity, sizeof(*c->slots));
    c->heap = xcalloc(capacity, sizeof(*c->heap));
    c->nbuckets = 16;
    while (c->nbuckets < capacity && c->nbuckets <= SIZE_MAX / 4)
        c->nbuckets *= 2;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    for (size_t i = 0; i < c->nbuckets; i++)
        c->buckets[i] = NO_SLOT;
    for (size_t i = 0; i < capacity; i++)
        c->slots[i].next = i + 1 < capacity ? i + 1 : NO_SLOT;
    c->free_head = capacity ? 0 : NO_SLOT;
    if (RAND_bytes((unsigned char *)&c->seed, sizeof(c->seed)) != 1)
        c->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
    return c;
}

void hmac_replay_cache_free(hmac_replay_cache_t *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c->heap);
    free(c->buckets);
    free(c);
}

static uint64_t replay_hash(uint64_t seed, const char *key, const char *nonce)
{
    /* FNV-1a over the seed, the key, a separator and the nonce. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < 8; i++) {
        h ^= (seed >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    h ^= 0xff; /* never part of a key or nonce */
    h *= 0x100000001b3ULL;
    for (const unsigned char *p = (const unsigned char *)nonce; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

static int64_t heap_key(const hmac_replay_cache_t *c, size_t i)
{
    return c->slots[c->heap[i]].expires_at;
}

static void heap_swap(hmac_replay_cache_t *c, size_t i, size_t j)
{
    size_t t = c->heap[i];
    c->heap[i] = c->heap[j];
    c->heap[j] = t;
}

static void heap_push(hmac_replay_cache_t *c, size_t slot)
{
    size_t i = c->count++;
    c->heap[i] = slot;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap_key(c, parent) <= heap_key(c, i))
            break;
        heap_swap(c, parent, i);
        i = parent;
    }
}

static size_t heap_pop(hmac_replay_cache_t *c)
{
    size_t top = c->heap[0];
    c->heap[0] = c->heap[--c->count];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->count && heap_key(c, l) < heap_key(c, m))
            m = l;
        if (r < c->count && heap_key(c, r) < heap_key(c, m))
            m = r;
        if (m == i)
            break;
        heap_swap(c, i, m);
        i = m;
    }
    return top;
}

static void bucket_unlink(hmac_replay_cache_t *c, size_t slot)
{
    size_t *link = &c->buckets[c->slots[slot].hash & (c->nbuckets - 1)];
    while (*link != slot) {
        ASSERT(*link != NO_SLOT);
        link = &c->slots[*link].next;
    }
    *link = c->slots[slot].next;
}

static void purge_expired(hmac_replay_cache_t *c, int64_t now)
{
    while (c->count && heap_key(c, 0) < now) {
        size_t slot = heap_pop(c);
        bucket_unlink(c, slot);
        c->slots[slot].next = c->free_head;
        c->free_head = slot;
    }
}

int hmac_replay_cache_check(void *ud, const char *key, const char *nonce, int64_t expires_at)
{
    hmac_replay_cache_t *c = ud;
    if (!c || !key || !nonce || strnlen(key, HMAC_KEY_MAX + 1) > HMAC_KEY_MAX ||
        strnlen(nonce, HMAC_NONCE_MAX + 1) > HMAC_NONCE_MAX)
        return -EINVAL;
    uint64_t h = replay_hash(c->seed, key, nonce);
    int rc = 0;

    pthread_mutex_lock(&c->mu);
    int64_t now = (int64_t)time(NULL);
    purge_expired(c, now);
    for (size_t i = c->buckets[h & (c->nbuckets - 1)]; i != NO_SLOT; i = c->slots[i].next) {
        const replay_entry_t *e = &c->slots[i];
        if (e->hash == h && strcmp(e->key, key) == 0 && strcmp(e->nonce, nonce) == 0) {
            rc = -EALREADY;
            goto out;
        }
    }
    if (expires_at < now)
        goto out; /* outside any window already: nothing to remember */
    if (c->count == c->capacity) {
        rc = -ENOSPC;
        goto out;
    }
    size_t slot = c->free_head;
    replay_entry_t *e = &c->slots[slot];
    c->free_head = e->next;
    e->expires_at = expires_at;
    e->hash = h;
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->nonce, sizeof(e->nonce), "%s", nonce);
    size_t *head = &c->buckets[h & (c->nbuckets - 1)];
    e->next = *head;
    *head = slot;
    heap_push(c, slot);
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}
