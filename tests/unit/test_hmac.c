/* Unit tests for common/hmac: signing, verification order and reasons, the clock window,
 * replay protection, the keyring file and the query canonicalisation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/hmac.h"
#include "common/xalloc.h"

#define KEY_A    "svc-a"
#define SECRET_A "secret-a-0123456789abcdef"
#define KEY_B    "svc.b_2"
#define SECRET_B "secret-b-0123456789abcdef"
#define METHOD   "POST"
#define PATH     "/v1/services/register"
#define BODY     "{\"name\":\"hub\",\"port\":6761}"

static const hmac_kv_t query_signed[] = {{"b", "x y"}, {"a", "1"}, {"a", "0"}};
#define NQUERY (sizeof(query_signed) / sizeof(query_signed[0]))

typedef struct {
    hmac_keyring_t *kr;
    hmac_headers_t h;
    hmac_request_t r;
    int64_t now; /* the wall clock, so the replay cache keeps what the verifier hands it */
} fx_t;

static void fx_sign_as(fx_t *f, const char *key, const char *secret, int64_t ts)
{
    assert_int_equal(
        hmac_sign(key, secret, METHOD, PATH, query_signed, NQUERY, BODY, strlen(BODY), ts, &f->h),
        0);
    f->r = (hmac_request_t){
        .method = METHOD,
        .path = PATH,
        .query = query_signed,
        .nquery = NQUERY,
        .body = BODY,
        .body_len = strlen(BODY),
        .key = f->h.key,
        .timestamp = f->h.timestamp,
        .nonce = f->h.nonce,
        .signature = f->h.signature,
    };
}

static void fx_sign(fx_t *f, int64_t ts)
{
    fx_sign_as(f, KEY_A, SECRET_A, ts);
}

static int setup(void **state)
{
    fx_t *f = xcalloc(1, sizeof(*f));
    f->kr = hmac_keyring_new();
    assert_int_equal(hmac_keyring_add(f->kr, KEY_A, SECRET_A), 0);
    assert_int_equal(hmac_keyring_add(f->kr, KEY_B, SECRET_B), 0);
    f->now = (int64_t)time(NULL);
    fx_sign(f, f->now);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    hmac_keyring_free(f->kr);
    free(f);
    return 0;
}

static int verify(fx_t *f, hmac_replay_fn replay, void *ud, const char **why)
{
    *why = NULL;
    return hmac_verify(f->kr, &f->r, f->now, HMAC_DEFAULT_WINDOW_S, replay, ud, why);
}

static void expect_refused(fx_t *f, const char *want)
{
    const char *why;
    assert_int_equal(verify(f, NULL, NULL, &why), -EACCES);
    assert_non_null(why);
    assert_string_equal(why, want);
}

static void expect_ok(fx_t *f)
{
    const char *why;
    int rc = verify(f, NULL, NULL, &why);
    if (rc != 0)
        fail_msg("refused: %d %s", rc, why ? why : "(no reason)");
}

/* ---- sign then verify ------------------------------------------------------------------- */

static void test_sign_verify_ok(void **state)
{
    fx_t *f = *state;
    expect_ok(f);
    assert_string_equal(f->h.key, KEY_A);
    char ts[24];
    snprintf(ts, sizeof(ts), "%lld", (long long)f->now);
    assert_string_equal(f->h.timestamp, ts);
    assert_int_equal(strlen(f->h.signature), 64);
    assert_int_equal(strspn(f->h.signature, "0123456789abcdef"), 64);
    size_t nlen = strlen(f->h.nonce);
    assert_true(nlen >= HMAC_NONCE_MIN && nlen <= HMAC_NONCE_MAX);
    assert_int_equal(strspn(f->h.nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_-"),
                     nlen);

    /* Fresh nonce each time. */
    hmac_headers_t h2;
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, METHOD, PATH, query_signed, NQUERY, BODY,
                               strlen(BODY), f->now, &h2),
                     0);
    assert_string_not_equal(h2.nonce, f->h.nonce);
    assert_string_not_equal(h2.signature, f->h.signature);

    /* Empty query, empty body, body pointer NULL. */
    hmac_headers_t h3;
    assert_int_equal(hmac_sign(KEY_B, SECRET_B, "GET", "/healthz", NULL, 0, NULL, 0, f->now, &h3),
                     0);
    hmac_request_t r = {.method = "GET",
                        .path = "/healthz",
                        .key = h3.key,
                        .timestamp = h3.timestamp,
                        .nonce = h3.nonce,
                        .signature = h3.signature};
    const char *why = NULL;
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, &why), 0);
    r.body = "";
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, &why), 0);
    /* A NULL reason pointer is allowed. */
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, NULL), 0);
}

static void test_sign_rejects_bad_input(void **state)
{
    (void)state;
    hmac_headers_t h;
    const hmac_kv_t null_value[] = {{"a", NULL}};
    const char *b = "x";
    assert_int_equal(hmac_sign("bad key", SECRET_A, "GET", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign("", SECRET_A, "GET", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(NULL, SECRET_A, "GET", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, "short", "GET", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, NULL, "GET", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GE T", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET\n", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "", "/", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", NULL, NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", "", NULL, 0, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", "/", NULL, 1, NULL, 0, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", "/", null_value, 1, NULL, 0, 1, &h),
                     -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", "/", NULL, 0, NULL, 3, 1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", "/", NULL, 0, b, 1, -1, &h), -EINVAL);
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", "/", NULL, 0, b, 1, 1, NULL), -EINVAL);
    assert_int_equal(
        hmac_sign_with_nonce(KEY_A, SECRET_A, "GET", "/", NULL, 0, b, 1, 1, "too-short", &h),
        -EINVAL);
    assert_int_equal(hmac_sign_with_nonce(KEY_A, SECRET_A, "GET", "/", NULL, 0, b, 1, 1,
                                          "0123456789abcdef!", &h),
                     -EINVAL);
    assert_int_equal(hmac_sign_with_nonce(KEY_A, SECRET_A, "GET", "/", NULL, 0, b, 1, 1, NULL, &h),
                     -EINVAL);
    assert_int_equal(
        hmac_sign_with_nonce(KEY_A, SECRET_A, "GET", "/", NULL, 0, b, 1, 1, "0123456789abcdef", &h),
        0);
}

/* ---- tampering -------------------------------------------------------------------------- */

static void test_tamper_method(void **state)
{
    fx_t *f = *state;
    f->r.method = "PUT";
    expect_refused(f, "signature mismatch");
    f->r.method = "post";
    expect_refused(f, "signature mismatch");
}

static void test_tamper_path(void **state)
{
    fx_t *f = *state;
    f->r.path = "/v1/services/deregister";
    expect_refused(f, "signature mismatch");
    f->r.path = PATH "/";
    expect_refused(f, "signature mismatch");
}

static void test_query_order_and_tampering(void **state)
{
    fx_t *f = *state;
    const hmac_kv_t reordered[] = {{"a", "0"}, {"b", "x y"}, {"a", "1"}};
    f->r.query = reordered;
    expect_ok(f);

    const hmac_kv_t value_changed[] = {{"a", "0"}, {"b", "x+y"}, {"a", "1"}};
    f->r.query = value_changed;
    expect_refused(f, "signature mismatch");

    const hmac_kv_t key_changed[] = {{"a", "0"}, {"c", "x y"}, {"a", "1"}};
    f->r.query = key_changed;
    expect_refused(f, "signature mismatch");

    /* a=0 and a=1 swapped between keys: same multiset of keys, different pairs */
    const hmac_kv_t swapped[] = {{"a", "x y"}, {"b", "0"}, {"a", "1"}};
    f->r.query = swapped;
    expect_refused(f, "signature mismatch");

    const hmac_kv_t extra[] = {{"a", "0"}, {"b", "x y"}, {"a", "1"}, {"admin", "1"}};
    f->r.query = extra;
    f->r.nquery = 4;
    expect_refused(f, "signature mismatch");

    f->r.query = reordered;
    f->r.nquery = 2;
    expect_refused(f, "signature mismatch");
    f->r.nquery = 0;
    expect_refused(f, "signature mismatch");

    /* The raw query as a server receives it, parsed, gives the same signature. */
    hmac_kv_t *parsed = NULL;
    size_t n = 0;
    assert_int_equal(hmac_query_parse("a=1&b=x%20y&a=0", &parsed, &n), 0);
    f->r.query = parsed;
    f->r.nquery = n;
    expect_ok(f);
    free(parsed);
    /* '+' is not a space. */
    assert_int_equal(hmac_query_parse("a=1&b=x+y&a=0", &parsed, &n), 0);
    f->r.query = parsed;
    f->r.nquery = n;
    expect_refused(f, "signature mismatch");
    free(parsed);
}

static void test_tamper_body(void **state)
{
    fx_t *f = *state;
    const char *other = "{\"name\":\"hub\",\"port\":6762}";
    f->r.body = other;
    expect_refused(f, "signature mismatch");
    f->r.body = BODY;
    f->r.body_len--;
    expect_refused(f, "signature mismatch");
    f->r.body = NULL;
    f->r.body_len = 0;
    expect_refused(f, "signature mismatch");
}

static void test_tamper_headers(void **state)
{
    fx_t *f = *state;
    char buf[80];

    snprintf(buf, sizeof(buf), "%lld", (long long)f->now + 1);
    f->r.timestamp = buf;
    expect_refused(f, "signature mismatch");
    snprintf(buf, sizeof(buf), "0%s", f->h.timestamp); /* same number, other string */
    expect_refused(f, "signature mismatch");
    f->r.timestamp = f->h.timestamp;

    snprintf(buf, sizeof(buf), "%s", f->h.nonce);
    buf[0] = buf[0] == 'a' ? 'b' : 'a';
    f->r.nonce = buf;
    expect_refused(f, "signature mismatch");
    f->r.nonce = f->h.nonce;

    snprintf(buf, sizeof(buf), "%s", f->h.signature);
    buf[63] = buf[63] == '0' ? '1' : '0';
    f->r.signature = buf;
    expect_refused(f, "signature mismatch");
    snprintf(buf, sizeof(buf), "%s", f->h.signature);
    buf[0] = buf[0] == '0' ? '1' : '0';
    expect_refused(f, "signature mismatch");
    f->r.signature = f->h.signature;
    expect_ok(f);
}

static void test_tamper_key(void **state)
{
    fx_t *f = *state;
    f->r.key = "svc-unknown";
    expect_refused(f, "unknown access key");
    f->r.key = KEY_B; /* known key, other secret */
    expect_refused(f, "signature mismatch");

    /* Signed with KEY_B's secret while claiming KEY_A. */
    hmac_headers_t h;
    assert_int_equal(hmac_sign(KEY_A, SECRET_B, METHOD, PATH, query_signed, NQUERY, BODY,
                               strlen(BODY), f->now, &h),
                     0);
    f->r.key = h.key;
    f->r.timestamp = h.timestamp;
    f->r.nonce = h.nonce;
    f->r.signature = h.signature;
    expect_refused(f, "signature mismatch");
}

/* ---- header validation ------------------------------------------------------------------ */

static void test_missing_headers(void **state)
{
    fx_t *f = *state;
    hmac_request_t saved = f->r;
    f->r.key = NULL;
    expect_refused(f, "missing X-Rampart-Key header");
    f->r = saved;
    f->r.timestamp = NULL;
    expect_refused(f, "missing X-Rampart-Timestamp header");
    f->r = saved;
    f->r.nonce = NULL;
    expect_refused(f, "missing X-Rampart-Nonce header");
    f->r = saved;
    f->r.signature = NULL;
    expect_refused(f, "missing X-Rampart-Signature header");
}

typedef struct {
    int field; /* 0 key, 1 timestamp, 2 nonce, 3 signature, 4 method, 5 path */
    const char *value;
    const char *reason;
} bad_header_t;

static void test_malformed_headers(void **state)
{
    fx_t *f = *state;
    static const char sig64g[] = "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg";
    static const char sig63[] = "000000000000000000000000000000000000000000000000000000000000000";
    static const char sig65[] = "00000000000000000000000000000000000000000000000000000000000000000";
    static const char long65[] =
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const bad_header_t cases[] = {
        {0, "", "empty X-Rampart-Key header"},
        {0, long65, "X-Rampart-Key header longer than 64 characters"},
        {0, "svc a", "invalid character in X-Rampart-Key header"},
        {0, "svc/a", "invalid character in X-Rampart-Key header"},
        {0, "svc-\xc3\xa9", "invalid character in X-Rampart-Key header"},
        {1, "", "empty X-Rampart-Timestamp header"},
        {1, "17000000x0", "X-Rampart-Timestamp header is not a decimal number"},
        {1, "-1700000000", "X-Rampart-Timestamp header is not a decimal number"},
        {1, " 1700000000", "X-Rampart-Timestamp header is not a decimal number"},
        {1, "1700000000.5", "X-Rampart-Timestamp header is not a decimal number"},
        {1, "00000000000001700000000", "X-Rampart-Timestamp header too long"},
        {1, "9223372036854775808", "X-Rampart-Timestamp header out of range"},
        {1, "9999999999999999999", "X-Rampart-Timestamp header out of range"},
        {2, "", "X-Rampart-Nonce header shorter than 16 characters"},
        {2, "0123456789abcde", "X-Rampart-Nonce header shorter than 16 characters"},
        {2, long65, "X-Rampart-Nonce header longer than 64 characters"},
        {2, "0123456789abcdef.", "invalid character in X-Rampart-Nonce header"},
        {2, "0123456789abcdef=", "invalid character in X-Rampart-Nonce header"},
        {3, "", "X-Rampart-Signature header is not 64 characters"},
        {3, sig63, "X-Rampart-Signature header is not 64 characters"},
        {3, sig65, "X-Rampart-Signature header is not 64 characters"},
        {3, sig64g, "X-Rampart-Signature header is not hexadecimal"},
        {4, "", "malformed request method"},
        {4, "GE T", "malformed request method"},
        {4, "GET\n/", "malformed request method"},
        {5, "", "empty request path"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hmac_request_t saved = f->r;
        const char **slot[] = {&f->r.key,       &f->r.timestamp, &f->r.nonce,
                               &f->r.signature, &f->r.method,    &f->r.path};
        *slot[cases[i].field] = cases[i].value;
        const char *why = NULL;
        int rc = verify(f, NULL, NULL, &why);
        if (rc != -EACCES || !why || strcmp(why, cases[i].reason) != 0)
            fail_msg("case %zu (%s): rc=%d reason=%s, want %s", i, cases[i].value, rc,
                     why ? why : "(null)", cases[i].reason);
        f->r = saved;
    }

    /* The 19-digit maximum still parses (and is then outside the window). */
    f->r.timestamp = "9223372036854775807";
    expect_refused(f, "timestamp outside the allowed window");
    f->r.timestamp = f->h.timestamp;

    /* Upper-case hex is the same signature. */
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (f->h.signature[i] >= 'a' && f->h.signature[i] <= 'f')
                       ? (char)(f->h.signature[i] - 'a' + 'A')
                       : f->h.signature[i];
    f->r.signature = upper;
    expect_ok(f);
}

static void test_invalid_arguments(void **state)
{
    fx_t *f = *state;
    const char *why = NULL;
    assert_int_equal(hmac_verify(NULL, &f->r, f->now, 60, NULL, NULL, &why), -EINVAL);
    assert_string_equal(why, "invalid arguments");
    assert_int_equal(hmac_verify(f->kr, NULL, f->now, 60, NULL, NULL, &why), -EINVAL);
    hmac_request_t r = f->r;
    r.method = NULL;
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, &why), -EINVAL);
    r = f->r;
    r.path = NULL;
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, &why), -EINVAL);
    r = f->r;
    r.query = NULL;
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, &why), -EINVAL);
    const hmac_kv_t null_key[] = {{NULL, "v"}};
    r.query = null_key;
    r.nquery = 1;
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, &why), -EINVAL);
    r = f->r;
    r.body = NULL;
    assert_int_equal(hmac_verify(f->kr, &r, f->now, 60, NULL, NULL, &why), -EINVAL);
    assert_string_equal(why, "invalid arguments");
}

/* Each step is checked before the next: header format, key, window, signature, replay. */
static void test_verification_order(void **state)
{
    fx_t *f = *state;
    char badsig[65];
    snprintf(badsig, sizeof(badsig), "%s", f->h.signature);
    badsig[10] = badsig[10] == 'a' ? 'b' : 'a';

    /* malformed header beats unknown key */
    f->r.key = "svc-unknown";
    f->r.nonce = "short";
    expect_refused(f, "X-Rampart-Nonce header shorter than 16 characters");
    f->r.nonce = f->h.nonce;
    /* unknown key beats a stale timestamp and a bad signature */
    f->r.timestamp = "1";
    f->r.signature = badsig;
    expect_refused(f, "unknown access key");
    /* a stale timestamp beats a bad signature */
    f->r.key = KEY_A;
    expect_refused(f, "timestamp outside the allowed window");

    /* a bad signature never reaches the replay store */
    f->r.timestamp = f->h.timestamp;
    hmac_replay_cache_t *c = hmac_replay_cache_new(1);
    const char *why;
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), -EACCES);
    assert_string_equal(why, "signature mismatch");
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), -EACCES);
    f->r.signature = f->h.signature;
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), 0);
    hmac_replay_cache_free(c);
}

/* ---- clock window ----------------------------------------------------------------------- */

static void check_window(fx_t *f, int window_s, int64_t offset, int want_ok)
{
    fx_sign(f, f->now + offset);
    const char *why = NULL;
    int rc = hmac_verify(f->kr, &f->r, f->now, window_s, NULL, NULL, &why);
    if (want_ok && rc != 0)
        fail_msg("offset %lld window %d refused: %s", (long long)offset, window_s, why);
    if (!want_ok && (rc != -EACCES || strcmp(why, "timestamp outside the allowed window") != 0))
        fail_msg("offset %lld window %d: rc=%d reason=%s", (long long)offset, window_s, rc,
                 why ? why : "(null)");
}

static void test_window_edges(void **state)
{
    fx_t *f = *state;
    check_window(f, 60, 0, 1);
    check_window(f, 60, -60, 1);
    check_window(f, 60, 60, 1);
    check_window(f, 60, -61, 0);
    check_window(f, 60, 61, 0);
    check_window(f, 0, -60, 1); /* 0 means the default window */
    check_window(f, 0, 61, 0);
    check_window(f, -5, -61, 0);
    check_window(f, 300, -300, 1);
    check_window(f, 300, 301, 0);

    /* Extreme clocks: refused, without arithmetic overflow. */
    fx_sign(f, f->now);
    const char *why = NULL;
    assert_int_equal(hmac_verify(f->kr, &f->r, INT64_MIN, 60, NULL, NULL, &why), -EACCES);
    assert_string_equal(why, "timestamp outside the allowed window");
    assert_int_equal(hmac_verify(f->kr, &f->r, INT64_MAX, 60, NULL, NULL, &why), -EACCES);
    assert_int_equal(hmac_verify(f->kr, &f->r, INT64_MAX, 2147483647, NULL, NULL, &why), -EACCES);

    hmac_headers_t h;
    assert_int_equal(hmac_sign(KEY_A, SECRET_A, "GET", "/", NULL, 0, NULL, 0, INT64_MAX, &h), 0);
    assert_string_equal(h.timestamp, "9223372036854775807");
    hmac_request_t r = {.method = "GET",
                        .path = "/",
                        .key = h.key,
                        .timestamp = h.timestamp,
                        .nonce = h.nonce,
                        .signature = h.signature};
    assert_int_equal(hmac_verify(f->kr, &r, INT64_MAX - 10, 60, NULL, NULL, &why), 0);
}

/* ---- replay ----------------------------------------------------------------------------- */

static void test_replay_refused(void **state)
{
    fx_t *f = *state;
    hmac_replay_cache_t *c = hmac_replay_cache_new(16);
    const char *why;
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), 0);
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), -EACCES);
    assert_string_equal(why, "replayed request");
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), -EACCES);
    assert_string_equal(why, "replayed request");

    /* The same nonce under another key is another pair. */
    hmac_headers_t h;
    assert_int_equal(hmac_sign_with_nonce(KEY_B, SECRET_B, METHOD, PATH, query_signed, NQUERY, BODY,
                                          strlen(BODY), f->now, f->h.nonce, &h),
                     0);
    f->r.key = h.key;
    f->r.signature = h.signature;
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), 0);
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), -EACCES);

    /* A new request is fine. */
    fx_sign(f, f->now);
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), 0);
    hmac_replay_cache_free(c);
}

static void test_replay_cache_full(void **state)
{
    fx_t *f = *state;
    hmac_replay_cache_t *c = hmac_replay_cache_new(2);
    const char *why;
    fx_sign(f, f->now);
    char first[HMAC_NONCE_MAX + 1];
    snprintf(first, sizeof(first), "%s", f->h.nonce);
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), 0);
    fx_sign(f, f->now);
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), 0);
    fx_sign(f, f->now);
    assert_int_equal(verify(f, hmac_replay_cache_check, c, &why), -ENOSPC);
    assert_string_equal(why, "replay cache full");
    /* A full cache still recognises replays, and refuses new nonces. */
    assert_int_equal(hmac_replay_cache_check(c, KEY_A, first, f->now + 60), -EALREADY);
    assert_int_equal(hmac_replay_cache_check(c, KEY_A, "nonce-that-is-new-0", f->now + 60),
                     -ENOSPC);
    hmac_replay_cache_free(c);

    /* Capacity 0 refuses everything. */
    c = hmac_replay_cache_new(0);
    assert_int_equal(hmac_replay_cache_check(c, "k", "0123456789abcdef", f->now + 60), -ENOSPC);
    hmac_replay_cache_free(c);
}

static void test_replay_cache_expiry(void **state)
{
    (void)state;
    hmac_replay_cache_t *c = hmac_replay_cache_new(1);
    int64_t t = (int64_t)time(NULL);

    /* Already expired: not remembered, takes no space. */
    assert_int_equal(hmac_replay_cache_check(c, "k", "old-nonce-000000", t - 10), 0);
    assert_int_equal(hmac_replay_cache_check(c, "k", "old-nonce-000000", t - 10), 0);

    /* Live until the second after expires_at. */
    assert_int_equal(hmac_replay_cache_check(c, "k", "nonce-1-00000000", t + 1), 0);
    assert_int_equal(hmac_replay_cache_check(c, "k", "nonce-1-00000000", t + 1), -EALREADY);
    assert_int_equal(hmac_replay_cache_check(c, "k", "nonce-2-00000000", t + 100), -ENOSPC);
    while ((int64_t)time(NULL) <= t + 1) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* The expired entry is purged before the cache counts as full. */
    assert_int_equal(hmac_replay_cache_check(c, "k", "nonce-2-00000000", t + 100), 0);
    assert_int_equal(hmac_replay_cache_check(c, "k", "nonce-2-00000000", t + 100), -EALREADY);
    assert_int_equal(hmac_replay_cache_check(c, "k", "nonce-1-00000000", t + 100), -ENOSPC);

    /* Oversized or missing input. */
    char longer[HMAC_NONCE_MAX + 2];
    memset(longer, 'n', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(hmac_replay_cache_check(c, "k", longer, t + 100), -EINVAL);
    assert_int_equal(hmac_replay_cache_check(c, longer, "nonce-2-00000000", t + 100), -EINVAL);
    assert_int_equal(hmac_replay_cache_check(c, NULL, "nonce-2-00000000", t + 100), -EINVAL);
    assert_int_equal(hmac_replay_cache_check(NULL, "k", "nonce-2-00000000", t + 100), -EINVAL);
    hmac_replay_cache_free(c);
    hmac_replay_cache_free(NULL);
}

static void test_replay_cache_many(void **state)
{
    (void)state;
    /* Enough entries to exercise the heap and the hash chains, with mixed expiries. */
    enum { N = 1000 };
    hmac_replay_cache_t *c = hmac_replay_cache_new(N);
    int64_t t = (int64_t)time(NULL);
    char nonce[32];
    for (int i = 0; i < N; i++) {
        snprintf(nonce, sizeof(nonce), "nonce-%010d", i);
        assert_int_equal(hmac_replay_cache_check(c, "k", nonce, t + 100 + (i * 7919) % 500), 0);
    }
    for (int i = 0; i < N; i++) {
        snprintf(nonce, sizeof(nonce), "nonce-%010d", i);
        assert_int_equal(hmac_replay_cache_check(c, "k", nonce, t + 100), -EALREADY);
    }
    assert_int_equal(hmac_replay_cache_check(c, "k", "nonce-extra-0000", t + 100), -ENOSPC);
    hmac_replay_cache_free(c);
}

typedef struct {
    hmac_replay_cache_t *c;
    int accepted;
} race_arg_t;

static void *race_thread(void *p)
{
    race_arg_t *a = p;
    char nonce[32];
    int64_t exp = (int64_t)time(NULL) + 100;
    for (int i = 0; i < 200; i++) {
        snprintf(nonce, sizeof(nonce), "race-nonce-%06d", i);
        int rc = hmac_replay_cache_check(a->c, "k", nonce, exp);
        if (rc == 0)
            a->accepted++;
        else if (rc != -EALREADY)
            a->accepted = -100000;
    }
    return NULL;
}

static void test_replay_cache_threads(void **state)
{
    (void)state;
    hmac_replay_cache_t *c = hmac_replay_cache_new(1024);
    pthread_t th[4];
    race_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (race_arg_t){c, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += args[i].accepted;
    }
    assert_int_equal(total, 200); /* each nonce accepted exactly once */
    hmac_replay_cache_free(c);
}

typedef struct {
    int rc;
    int calls;
    int64_t expires_at;
} hook_t;

static int hook(void *ud, const char *key, const char *nonce, int64_t expires_at)
{
    hook_t *h = ud;
    (void)key;
    (void)nonce;
    h->calls++;
    h->expires_at = expires_at;
    return h->rc;
}

static void test_replay_hook_errors(void **state)
{
    fx_t *f = *state;
    hook_t h = {0, 0, 0};
    const char *why;
    fx_sign(f, f->now - 10);
    assert_int_equal(verify(f, hook, &h, &why), 0);
    assert_int_equal(h.calls, 1);
    assert_int_equal(h.expires_at, f->now - 10 + 60);

    h.rc = -EIO;
    assert_int_equal(verify(f, hook, &h, &why), -EIO);
    assert_string_equal(why, "replay store unavailable");
    h.rc = -ETIMEDOUT;
    assert_int_equal(verify(f, hook, &h, &why), -ETIMEDOUT);
    assert_string_equal(why, "replay store unavailable");
    h.rc = 7; /* a misbehaving hook does not let the request through */
    assert_int_equal(verify(f, hook, &h, &why), -EIO);
    h.rc = -EALREADY;
    assert_int_equal(verify(f, hook, &h, &why), -EACCES);
    assert_string_equal(why, "replayed request");

    /* Refused earlier: the hook is not called. */
    h.calls = 0;
    f->r.path = "/elsewhere";
    assert_int_equal(verify(f, hook, &h, &why), -EACCES);
    f->r.key = "nobody";
    assert_int_equal(verify(f, hook, &h, &why), -EACCES);
    assert_int_equal(h.calls, 0);
}

/* ---- keyring ---------------------------------------------------------------------------- */

static void test_keyring_add(void **state)
{
    (void)state;
    hmac_keyring_t *kr = hmac_keyring_new();
    char long65[66];
    memset(long65, 'k', 65);
    long65[65] = '\0';
    assert_int_equal(hmac_keyring_add(kr, "svc-a", "0123456789abcdef"), 0);
    assert_int_equal(hmac_keyring_add(kr, "svc-a", "0123456789abcdefX"), -EEXIST);
    assert_int_equal(hmac_keyring_add(kr, "svc b", "0123456789abcdef"), -EINVAL);
    assert_int_equal(hmac_keyring_add(kr, "", "0123456789abcdef"), -EINVAL);
    assert_int_equal(hmac_keyring_add(kr, long65, "0123456789abcdef"), -EINVAL);
    long65[64] = '\0';
    assert_int_equal(hmac_keyring_add(kr, long65, "0123456789abcdef"), 0);
    assert_int_equal(hmac_keyring_add(kr, "svc-c", "0123456789abcde"), -EINVAL);
    assert_int_equal(hmac_keyring_add(kr, "svc-c", NULL), -EINVAL);
    assert_int_equal(hmac_keyring_add(kr, NULL, "0123456789abcdef"), -EINVAL);
    assert_int_equal(hmac_keyring_add(NULL, "svc-c", "0123456789abcdef"), -EINVAL);
    /* Insert out of order; lookups still work. */
    const char *keys[] = {"zz", "A.1", "m_m", "b-2", "0"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(hmac_keyring_add(kr, keys[i], "secret-of-16-bytes"), 0);
    assert_int_equal(hmac_keyring_count(kr), 7);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(hmac_keyring_secret(kr, keys[i]), "secret-of-16-bytes");
    assert_string_equal(hmac_keyring_secret(kr, "svc-a"), "0123456789abcdef");
    assert_null(hmac_keyring_secret(kr, "svc-b"));
    assert_null(hmac_keyring_secret(kr, NULL));
    assert_null(hmac_keyring_secret(NULL, "svc-a"));
    assert_int_equal(hmac_keyring_count(NULL), 0);
    hmac_keyring_free(kr);
    hmac_keyring_free(NULL);
}

static char *write_temp(const char *content, mode_t mode)
{
    const char *dir = getenv("TMPDIR");
    char *path = xasprintf("%s/test_hmac_keys_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static void test_keyring_load_good(void **state)
{
    (void)state;
    char *path = write_temp("# rampart service keys\n"
                            "\n"
                            "svc-a secret-a-0123456789abcdef\n"
                            "   \t# indented comment\n"
                            "\tsvc.b_2\t\tsecret-b-0123456789abcdef   \n"
                            "svc-c secret-c-!@$%^&*()_+=0123\r\n"
                            "svc-d secret-d-no-final-newline",
                            0600);
    hmac_keyring_t *kr = hmac_keyring_new();
    char err[256] = "unchanged";
    assert_int_equal(hmac_keyring_load(kr, path, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(hmac_keyring_count(kr), 4);
    assert_string_equal(hmac_keyring_secret(kr, "svc-a"), "secret-a-0123456789abcdef");
    assert_string_equal(hmac_keyring_secret(kr, "svc.b_2"), "secret-b-0123456789abcdef");
    assert_string_equal(hmac_keyring_secret(kr, "svc-c"), "secret-c-!@$%^&*()_+=0123");
    assert_string_equal(hmac_keyring_secret(kr, "svc-d"), "secret-d-no-final-newline");

    /* Loading the same file again: duplicates, nothing changes. */
    assert_int_equal(hmac_keyring_load(kr, path, err, sizeof(err)), -EINVAL);
    char want[512];
    snprintf(want, sizeof(want), "%s:3: duplicate access key", path);
    assert_string_equal(err, want);
    assert_int_equal(hmac_keyring_count(kr), 4);

    /* 0400 is fine too; no error buffer is fine. */
    assert_int_equal(chmod(path, 0400), 0);
    hmac_keyring_t *kr2 = hmac_keyring_new();
    assert_int_equal(hmac_keyring_load(kr2, path, NULL, 0), 0);
    assert_int_equal(hmac_keyring_count(kr2), 4);
    hmac_keyring_free(kr2);

    /* An empty file loads nothing. */
    char *empty = write_temp("", 0600);
    kr2 = hmac_keyring_new();
    assert_int_equal(hmac_keyring_load(kr2, empty, err, sizeof(err)), 0);
    assert_int_equal(hmac_keyring_count(kr2), 0);
    hmac_keyring_free(kr2);
    unlink(empty);
    free(empty);

    hmac_keyring_free(kr);
    unlink(path);
    free(path);
}

static void test_keyring_load_bad_perms(void **state)
{
    (void)state;
    const mode_t modes[] = {0640, 0604, 0620, 0602, 0610, 0601, 0644};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char *path = write_temp("svc-a secret-a-0123456789abcdef\n", modes[i]);
        hmac_keyring_t *kr = hmac_keyring_new();
        char err[512];
        assert_int_equal(hmac_keyring_load(kr, path, err, sizeof(err)), -EACCES);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "group or others"));
        assert_int_equal(hmac_keyring_count(kr), 0);
        hmac_keyring_free(kr);
        unlink(path);
        free(path);
    }

    hmac_keyring_t *kr = hmac_keyring_new();
    char err[512];
    assert_int_equal(hmac_keyring_load(kr, "/nonexistent/rampart/keys", err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/rampart/keys"));
    const char *dir = getenv("TMPDIR");
    int rc = hmac_keyring_load(kr, dir && *dir ? dir : "/tmp", err, sizeof(err));
    assert_true(rc == -EINVAL || rc == -EACCES); /* a directory is never a key file */
    hmac_keyring_free(kr);
}

typedef struct {
    const char *content;
    int line;
    const char *reason;
} bad_file_t;

static void test_keyring_load_bad_lines(void **state)
{
    (void)state;
    const bad_file_t cases[] = {
        {"svc-a\n", 1, "missing secret (expected \"access_key secret\")"},
        {"# c\nsvc-a    \n", 2, "missing secret (expected \"access_key secret\")"},
        {"svc-a secret-a-0123456789abcdef extra\n", 1,
         "extra fields (expected \"access_key secret\")"},
        {"svc-a secret-a-0123456789abcdef # note\n", 1,
         "extra fields (expected \"access_key secret\")"},
        {"\n\nsvc/a secret-a-0123456789abcdef\n", 3,
         "invalid access key (1-64 characters [A-Za-z0-9_.-])"},
        {"svc-a short\n", 1, "secret shorter than 16 bytes"},
        {"svc-a secret-a-0123456789abcdef\nsvc-b secret-b-0123456789abcdef\n"
         "svc-a secret-c-0123456789abcdef\n",
         3, "duplicate access key"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_temp(cases[i].content, 0600);
        hmac_keyring_t *kr = hmac_keyring_new();
        char err[512], want[512];
        assert_int_equal(hmac_keyring_load(kr, path, err, sizeof(err)), -EINVAL);
        snprintf(want, sizeof(want), "%s:%d: %s", path, cases[i].line, cases[i].reason);
        if (strcmp(err, want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err, want);
        assert_int_equal(hmac_keyring_count(kr), 0); /* all or nothing */
        hmac_keyring_free(kr);
        unlink(path);
        free(path);
    }

    /* A NUL byte in a line. */
    char *path = write_temp("", 0600);
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    static const char nul[] = "svc-a secret-a-0123\0"
                              "456789abcdef\n";
    assert_int_equal(write(fd, nul, sizeof(nul) - 1), (ssize_t)(sizeof(nul) - 1));
    close(fd);
    hmac_keyring_t *kr = hmac_keyring_new();
    char err[512], want[512];
    assert_int_equal(hmac_keyring_load(kr, path, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "%s:1: NUL byte in line", path);
    assert_string_equal(err, want);
    /* A small error buffer truncates, never overflows. */
    char tiny[8];
    assert_int_equal(hmac_keyring_load(kr, path, tiny, sizeof(tiny)), -EINVAL);
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    hmac_keyring_free(kr);
    unlink(path);
    free(path);
}

/* ---- query parse and canonical form ----------------------------------------------------- */

static void expect_pairs(const char *raw, const hmac_kv_t *want, size_t nwant)
{
    hmac_kv_t *q = NULL;
    size_t n = 99;
    int rc = hmac_query_parse(raw, &q, &n);
    if (rc != 0)
        fail_msg("parse '%s': %d", raw, rc);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(q[i].key, want[i].key);
        assert_string_equal(q[i].value, want[i].value);
    }
    free(q);
}

static void test_query_parse(void **state)
{
    (void)state;
    expect_pairs("a=1&b=x%20y", (const hmac_kv_t[]){{"a", "1"}, {"b", "x y"}}, 2);
    expect_pairs("", NULL, 0);
    expect_pairs(NULL, NULL, 0);
    expect_pairs("&&&", NULL, 0);
    expect_pairs("a+b=c+d", (const hmac_kv_t[]){{"a+b", "c+d"}}, 1);
    expect_pairs("flag", (const hmac_kv_t[]){{"flag", ""}}, 1);
    expect_pairs("flag&x=", (const hmac_kv_t[]){{"flag", ""}, {"x", ""}}, 2);
    expect_pairs("=v", (const hmac_kv_t[]){{"", "v"}}, 1);
    expect_pairs("=", (const hmac_kv_t[]){{"", ""}}, 1);
    expect_pairs("a=b=c", (const hmac_kv_t[]){{"a", "b=c"}}, 1);
    expect_pairs("a=1&&b=2&", (const hmac_kv_t[]){{"a", "1"}, {"b", "2"}}, 2);
    expect_pairs("k%3D=v%26w", (const hmac_kv_t[]){{"k=", "v&w"}}, 1);
    expect_pairs("%c3%a9=%E6%97%A5", (const hmac_kv_t[]){{"\xc3\xa9", "\xe6\x97\xa5"}}, 1);
    expect_pairs("a=%25%32%30", (const hmac_kv_t[]){{"a", "%20"}}, 1);
    expect_pairs("a=1&a=1", (const hmac_kv_t[]){{"a", "1"}, {"a", "1"}}, 2);
    expect_pairs("raw=caf\xc3\xa9 x", (const hmac_kv_t[]){{"raw", "caf\xc3\xa9 x"}}, 1);

    const char *bad[] = {"%",     "a=%",       "a=%2", "a=%zz", "a=%2g",
                         "%g1=a", "a=1&b=%00", "a=%0", "x%00y", "a=%%41"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hmac_kv_t *q = (hmac_kv_t *)1;
        size_t n = 99;
        if (hmac_query_parse(bad[i], &q, &n) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_null(q);
        assert_int_equal(n, 0);
    }
    hmac_kv_t *q;
    size_t n;
    assert_int_equal(hmac_query_parse("a=1", NULL, &n), -EINVAL);
    assert_int_equal(hmac_query_parse("a=1", &q, NULL), -EINVAL);
}

static void expect_canonical(const hmac_kv_t *q, size_t n, const char *want)
{
    char *got = hmac_query_canonical(q, n);
    assert_non_null(got);
    assert_string_equal(got, want);

    /* Round trip: the canonical form parses back to the same pairs and re-encodes the same. */
    hmac_kv_t *back = NULL;
    size_t nb = 0;
    assert_int_equal(hmac_query_parse(got, &back, &nb), 0);
    assert_int_equal(nb, n); /* every canonical pair has its '=', none is empty */
    char *again = hmac_query_canonical(back, nb);
    assert_string_equal(again, got);
    free(again);
    free(back);
    free(got);
}

static void test_query_canonical(void **state)
{
    (void)state;
    expect_canonical(NULL, 0, "");
    expect_canonical((const hmac_kv_t[]){{"b", "2"}, {"a", "1"}}, 2, "a=1&b=2");
    expect_canonical((const hmac_kv_t[]){{"", ""}, {"", "v"}}, 2, "=&=v");
    /* by key, then by value; byte order (upper case before lower case) */
    expect_canonical((const hmac_kv_t[]){{"a", "b"}, {"B", "z"}, {"a", "a"}, {"ab", ""}}, 4,
                     "B=z&a=a&a=b&ab=");
    /* unreserved characters stay, everything else is %XX upper case */
    expect_canonical((const hmac_kv_t[]){{"AZaz09-._~", "-._~"}}, 1, "AZaz09-._~=-._~");
    expect_canonical(
        (const hmac_kv_t[]){{"q", " !\"#$%&'()*+,/:;=?@[\\]^`{|}"}}, 1,
        "q=%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5C%5D%5E%60%7B%"
        "7C%7D");
    /* UTF-8, sorted by bytes: 0x7A 'z' < 0xC3 ... < 0xE6 ... */
    expect_canonical((const hmac_kv_t[]){{"\xe6\x97\xa5", "\xe6\x9c\xac"},
                                         {"\xc3\xa9t\xc3\xa9", "caf\xc3\xa9"},
                                         {"z", "\x01\x7f\xff"}},
                     3, "z=%01%7F%FF&%C3%A9t%C3%A9=caf%C3%A9&%E6%97%A5=%E6%9C%AC");
    /* Raw query round trip through parse. */
    hmac_kv_t *q = NULL;
    size_t n = 0;
    assert_int_equal(hmac_query_parse("b=x+y&a=%2f%3F&a=%C3%A9&c", &q, &n), 0);
    char *c = hmac_query_canonical(q, n);
    assert_string_equal(c, "a=%2F%3F&a=%C3%A9&b=x%2By&c=");
    free(c);
    free(q);

    assert_null(hmac_query_canonical((const hmac_kv_t[]){{"a", NULL}}, 1));
    assert_null(hmac_query_canonical(NULL, 1));
}

/* ---- known answers ---------------------------------------------------------------------- *
 * Expected values computed independently with the OpenSSL command line:
 *   printf 'POST\n/v1/services/register\na=0&a=%%C3%%A9%%2F%%3F&name=hub&z~=1%%2B1\n'\
 *          '1700000000\n0123456789abcdefKAT_nonce-1\n<sha256 hex of body>' |
 *     openssl dgst -sha256 -hmac 'kat-secret-0123456789abcdef' */

#define KAT_SECRET "kat-secret-0123456789abcdef"

static void test_known_answer(void **state)
{
    fx_t *f = *state;
    const hmac_kv_t q[] = {{"name", "hub"}, {"z~", "1+1"}, {"a", "\xc3\xa9/?"}, {"a", "0"}};
    const char *body = "{\"name\":\"hub\",\"port\":6761}";
    hmac_headers_t h;
    assert_int_equal(hmac_sign_with_nonce("kat.key-1", KAT_SECRET, "POST", "/v1/services/register",
                                          q, 4, body, strlen(body), 1700000000,
                                          "0123456789abcdefKAT_nonce-1", &h),
                     0);
    assert_string_equal(h.key, "kat.key-1");
    assert_string_equal(h.timestamp, "1700000000");
    assert_string_equal(h.nonce, "0123456789abcdefKAT_nonce-1");
    assert_string_equal(h.signature,
                        "b39a39dda3c5f442d0fa0d0fd8a1246dd60a6ced19778f8b8184a626561c9365");

    /* The server side, from the raw query, accepts the vector at its time. */
    assert_int_equal(hmac_keyring_add(f->kr, "kat.key-1", KAT_SECRET), 0);
    hmac_kv_t *parsed;
    size_t n;
    assert_int_equal(hmac_query_parse("z~=1%2B1&a=%C3%A9%2f%3f&name=hub&a=0", &parsed, &n), 0);
    hmac_request_t r = {.method = "POST",
                        .path = "/v1/services/register",
                        .query = parsed,
                        .nquery = n,
                        .body = body,
                        .body_len = strlen(body),
                        .key = "kat.key-1",
                        .timestamp = "1700000000",
                        .nonce = "0123456789abcdefKAT_nonce-1",
                        .signature =
                            "b39a39dda3c5f442d0fa0d0fd8a1246dd60a6ced19778f8b8184a626561c9365"};
    const char *why = NULL;
    assert_int_equal(hmac_verify(f->kr, &r, 1700000030, 60, NULL, NULL, &why), 0);
    free(parsed);

    /* No query, empty body. */
    assert_int_equal(hmac_sign_with_nonce("kat.key-1", KAT_SECRET, "GET", "/healthz", NULL, 0, NULL,
                                          0, 1700000123, "AAAAAAAAAAAAAAAA", &h),
                     0);
    assert_string_equal(h.signature,
                        "444a7a5a6b13af05f5103beb616631ab74ecbe9e8dc3368f0d8633fc3dd28c1c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_verify_ok, setup, teardown),
        cmocka_unit_test(test_sign_rejects_bad_input),
        cmocka_unit_test_setup_teardown(test_tamper_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_order_and_tampering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verification_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_cache_full, setup, teardown),
        cmocka_unit_test(test_replay_cache_expiry),
        cmocka_unit_test(test_replay_cache_many),
        cmocka_unit_test(test_replay_cache_threads),
        cmocka_unit_test_setup_teardown(test_replay_hook_errors, setup, teardown),
        cmocka_unit_test(test_keyring_add),
        cmocka_unit_test(test_keyring_load_good),
        cmocka_unit_test(test_keyring_load_bad_perms),
        cmocka_unit_test(test_keyring_load_bad_lines),
        cmocka_unit_test(test_query_parse),
        cmocka_unit_test(test_query_canonical),
        cmocka_unit_test_setup_teardown(test_known_answer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
