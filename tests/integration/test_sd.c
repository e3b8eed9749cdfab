/* Service discovery against a real Redis: two SD instances, 1,000 instances of 3 services
 * registered through both by two simulators, agreement, expiry of instances that stop
 * renewing, Redis down and back, signed-request refusals and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/hmac.h"
#include "harness.h"

#define TTL_S     5
#define RENEW_MS  1500
#define PER_SIM   500
#define NSERVICES 3
#define CACHE_MS  500 /* SD look-up cache: answers may be this old */

static const char *const services[NSERVICES] = {"agent-center", "hub", "manager"};

typedef struct {
    uint16_t redis_port;
    harness_proc_t *redis;
    uint16_t sd_port[2];
    harness_proc_t *sd[2];
    harness_proc_t *sim[2];
    char keys_path[512];
    char ak[32], sk[65];
} world_t;

static world_t W;

static void url(char *buf, size_t size, int sd, const char *path)
{
    snprintf(buf, size, "http://127.0.0.1:%u%s", (unsigned)W.sd_port[sd], path);
}

/* GET a JSON document from SD sd; returns the status, *out the parsed body (or NULL). */
static long get_json(int sd, const char *path, json_t **out)
{
    char u[256];
    url(u, sizeof(u), sd, path);
    harness_http_response_t r;
    harness_http("GET", u, NULL, 0, NULL, &r);
    json_error_t je;
    *out = r.body ? json_loads(r.body, 0, &je) : NULL;
    long st = r.status;
    harness_http_response_free(&r);
    return st;
}

static long post_signed(int sd, const char *path, const char *body, int64_t now, json_t **out)
{
    char u[256];
    url(u, sizeof(u), sd, path);
    harness_http_response_t r;
    harness_http_signed("POST", u, body, strlen(body), W.ak, W.sk, now, &r);
    json_error_t je;
    if (out)
        *out = r.body ? json_loads(r.body, 0, &je) : NULL;
    long st = r.status;
    harness_http_response_free(&r);
    return st;
}

static const char *error_message(json_t *body)
{
    return json_string_value(json_object_get(json_object_get(body, "error"), "message"));
}

static const char *error_code(json_t *body)
{
    return json_string_value(json_object_get(json_object_get(body, "error"), "code"));
}

static json_int_t summary_instances(int sd)
{
    json_t *s = NULL;
    long st = get_json(sd, "/api/v1/summary", &s);
    json_int_t n = st == 200 ? json_integer_value(json_object_get(s, "instances")) : -1;
    json_decref(s);
    return n;
}

static harness_proc_t *start_sd(int i)
{
    char cfg[1024], path[512], name[16];
    W.sd_port[i] = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\n"
             "http:\n  listen: 127.0.0.1:%u\n  threads: 4\n  max_body: 64KiB\n"
             "redis:\n  addr: 127.0.0.1:%u\n  timeout: 500ms\n"
             "registry:\n  ttl: %ds\n  cache: %dms\n"
             "auth:\n  keys_file: %s\n",
             (unsigned)W.sd_port[i], (unsigned)W.redis_port, TTL_S, CACHE_MS, W.keys_path);
    snprintf(name, sizeof(name), "sd%d.yaml", i);
    assert_int_equal(harness_write_file(name, cfg, path, sizeof(path)), 0);
    char bin[512];
    harness_bin("service-discovery/rampart-sd", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    snprintf(name, sizeof(name), "sd%d", i);
    harness_proc_t *p = harness_spawn(name, argv, NULL);
    assert_non_null(p);
    assert_int_equal(harness_wait_port(W.sd_port[i], 15000), 0);
    return p;
}

static harness_proc_t *start_sim(int i)
{
    char bin[512], sd[64], ipb[16], portb[16], n[16], renew[16], name[16];
    harness_bin("tests/tools/sd-regsim/rampart-sd-regsim", bin, sizeof(bin));
    snprintf(sd, sizeof(sd), "127.0.0.1:%u", (unsigned)W.sd_port[i]);
    snprintf(ipb, sizeof(ipb), "10.%d", i + 1);
    snprintf(portb, sizeof(portb), "%d", 20000 + i * 1000);
    snprintf(n, sizeof(n), "%d", PER_SIM);
    snprintf(renew, sizeof(renew), "%d", RENEW_MS);
    snprintf(name, sizeof(name), "sim%d", i);
    char *argv[] = {bin,
                    "--sd",
                    sd,
                    "--keys",
                    W.keys_path,
                    "--services",
                    "agent-center,hub,manager",
                    "--instances",
                    n,
                    "--ip-base",
                    ipb,
                    "--port-base",
                    portb,
                    "--renew-ms",
                    renew,
                    NULL};
    harness_proc_t *p = harness_spawn(name, argv, NULL);
    assert_non_null(p);
    return p;
}

static int setup(void **state)
{
    (void)state;
    W.redis = harness_redis_start(&W.redis_port);
    assert_non_null(W.redis);
    snprintf(W.ak, sizeof(W.ak), "sd-test");
    assert_int_equal(harness_make_keys(W.ak, W.sk, sizeof(W.sk), W.keys_path, sizeof(W.keys_path)),
                     0);
    W.sd[0] = start_sd(0);
    W.sd[1] = start_sd(1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        harness_stop(W.sim[i]);
    for (int i = 0; i < 2; i++) {
        if (W.sd[i]) {
            int status = harness_stop(W.sd[i]);
            /* SIGTERM is a clean shutdown: exit 0 (and no sanitizer report). */
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
    }
    harness_stop(W.redis);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted "ip:port" list of a look-up answer, joined by spaces. */
static char *instance_set(json_t *doc)
{
    json_t *arr = json_object_get(doc, "instances");
    size_t n = json_array_size(arr);
    char **items = calloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        items[i] = malloc(80);
        snprintf(items[i], 80, "%s:%lld", json_string_value(json_object_get(o, "ip")),
                 (long long)json_integer_value(json_object_get(o, "port")));
    }
    qsort(items, n, sizeof(char *), cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(items[i]) + 1;
    char *out = calloc(1, total);
    for (size_t i = 0; i < n; i++) {
        strcat(out, items[i]);
        strcat(out, " ");
        free(items[i]);
    }
    free(items);
    return out;
}

static void test_register_through_both_and_agree(void **state)
{
    (void)state;
    W.sim[0] = start_sim(0);
    W.sim[1] = start_sim(1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(harness_wait_log(W.sim[i], "event=all_registered", NULL, 0, 90000), 0);

    for (int sd = 0; sd < 2; sd++)
        assert_int_equal(summary_instances(sd), 2 * PER_SIM);

    for (int s = 0; s < NSERVICES; s++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/services/%s", services[s]);
        json_t *a = NULL, *b = NULL;
        assert_int_equal(get_json(0, path, &a), 200);
        assert_int_equal(get_json(1, path, &b), 200);
        json_int_t expect = 2 * (PER_SIM / NSERVICES + (s < PER_SIM % NSERVICES));
        assert_int_equal(json_integer_value(json_object_get(a, "total")), expect);
        assert_int_equal(json_array_size(json_object_get(a, "instances")), (size_t)expect);
        char *sa = instance_set(a), *sb = instance_set(b);
        assert_string_equal(sa, sb);
        free(sa);
        free(sb);
        json_decref(a);
        json_decref(b);
    }
    json_t *la = NULL, *lb = NULL;
    assert_int_equal(get_json(0, "/api/v1/services", &la), 200);
    assert_int_equal(get_json(1, "/api/v1/services", &lb), 200);
    assert_int_equal(json_integer_value(json_object_get(la, "count")), NSERVICES);
    assert_true(json_equal(json_object_get(la, "count"), json_object_get(lb, "count")));
    json_decref(la);
    json_decref(lb);

    /* count=N picks N. */
    json_t *p = NULL;
    assert_int_equal(get_json(1, "/api/v1/services/hub?count=5&pick=least", &p), 200);
    json_t *arr = json_object_get(p, "instances");
    assert_int_equal(json_array_size(arr), 5);
    for (size_t i = 0; i < 5; i++) /* the simulator gives weights 1..7; least picks 1s */
        assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, i), "weight")), 1);
    json_decref(p);
}

static void test_stopped_instances_expire(void **state)
{
    (void)state;
    double t0 = harness_now_s();
    harness_kill(W.sim[1]); /* dies without evicting: its instances must expire */
    W.sim[1] = NULL;
    json_int_t n = -1;
    while (harness_now_s() - t0 < TTL_S + 5) {
        n = summary_instances(0);
        if (n == PER_SIM)
            break;
        usleep(200 * 1000);
    }
    double took = harness_now_s() - t0;
    print_message("instances of the killed simulator gone after %.1f s (TTL %d s)\n", took, TTL_S);
    assert_int_equal(n, PER_SIM);
    assert_int_equal(summary_instances(1), PER_SIM);
    /* What is left is exactly the live simulator's. */
    json_t *d = NULL;
    assert_int_equal(get_json(1, "/api/v1/services/hub", &d), 200);
    json_t *arr = json_object_get(d, "instances");
    for (size_t i = 0; i < json_array_size(arr); i++)
        assert_true(strncmp(json_string_value(json_object_get(json_array_get(arr, i), "ip")),
                            "10.1.", 5) == 0);
    json_decref(d);
}

static void test_redis_down_and_back(void **state)
{
    (void)state;
    harness_stop(W.redis);
    W.redis = NULL;
    usleep((CACHE_MS + 100) * 1000); /* let cached look-ups age out */
    for (int sd = 0; sd < 2; sd++) {
        json_t *d = NULL;
        assert_int_equal(get_json(sd, "/api/v1/services/hub", &d), 503);
        assert_string_equal(error_code(d), "registry_unavailable");
        assert_non_null(strstr(error_message(d), "redis unavailable"));
        json_decref(d);
        assert_int_equal(get_json(sd, "/health", &d), 503);
        assert_string_equal(json_string_value(json_object_get(d, "redis")), "down");
        json_decref(d);
        assert_int_equal(post_signed(sd, "/api/v1/register",
                                     "{\"name\":\"x\",\"ip\":\"10.9.0.1\",\"port\":1}", 0, &d),
                         503);
        json_decref(d);
    }

    /* Redis returns empty; the live simulator's renewals get 404 and it registers again. */
    W.redis = harness_redis_start_on(W.redis_port);
    assert_non_null(W.redis);
    double t0 = harness_now_s();
    json_int_t n = -1;
    while (harness_now_s() - t0 < 30) {
        n = summary_instances(0);
        if (n == PER_SIM)
            break;
        usleep(250 * 1000);
    }
    print_message("registrations back %.1f s after Redis returned\n", harness_now_s() - t0);
    assert_int_equal(n, PER_SIM);
    assert_int_equal(summary_instances(1), PER_SIM);
    json_t *d = NULL;
    assert_int_equal(get_json(1, "/health", &d), 200);
    json_decref(d);
}

/* Sends a request with explicit signature headers. */
static long send_with(int sd, const char *path, const char *body, const hmac_headers_t *h,
                      json_t **out)
{
    char u[256], k[128], t[64], nn[128], s[128];
    url(u, sizeof(u), sd, path);
    snprintf(k, sizeof(k), "%s: %s", HMAC_HDR_KEY, h->key);
    snprintf(t, sizeof(t), "%s: %s", HMAC_HDR_TIMESTAMP, h->timestamp);
    snprintf(nn, sizeof(nn), "%s: %s", HMAC_HDR_NONCE, h->nonce);
    snprintf(s, sizeof(s), "%s: %s", HMAC_HDR_SIGNATURE, h->signature);
    const char *hdrs[] = {"Content-Type: application/json", k, t, nn, s, NULL};
    harness_http_response_t r;
    harness_http("POST", u, body, strlen(body), hdrs, &r);
    json_error_t je;
    *out = r.body ? json_loads(r.body, 0, &je) : NULL;
    long st = r.status;
    harness_http_response_free(&r);
    return st;
}

/* dp, not d: the status argument's call sets *dp, and argument order is unspecified. */
static void expect_401(long st, json_t **dp, const char *reason_part)
{
    json_t *d = *dp;
    assert_int_equal(st, 401);
    assert_string_equal(error_code(d), "unauthorized");
    const char *m = error_message(d);
    if (!m || !strstr(m, reason_part))
        fail_msg("expected a reason containing '%s', got '%s'", reason_part, m ? m : "(none)");
    json_decref(d);
}

static void test_signatures(void **state)
{
    (void)state;
    const char *body = "{\"name\":\"auth-test\",\"ip\":\"10.8.0.1\",\"port\":7000}";
    const char *path = "/api/v1/register";
    json_t *d = NULL;
    char u[256];
    url(u, sizeof(u), 0, path);

    /* unsigned */
    harness_http_response_t r;
    const char *ct[] = {"Content-Type: application/json", NULL};
    harness_http("POST", u, body, strlen(body), ct, &r);
    json_error_t je;
    d = json_loads(r.body, 0, &je);
    expect_401(r.status, &d, "missing");
    harness_http_response_free(&r);

    /* expired: signed two minutes ago */
    expect_401(post_signed(0, path, body, (int64_t)time(NULL) - 120, &d), &d, "window");
    /* from the future */
    expect_401(post_signed(0, path, body, (int64_t)time(NULL) + 120, &d), &d, "window");

    /* a good one, then the same bytes again: replayed, on this instance and on the other */
    hmac_headers_t h;
    assert_int_equal(
        hmac_sign(W.ak, W.sk, "POST", path, NULL, 0, body, strlen(body), (int64_t)time(NULL), &h),
        0);
    assert_int_equal(send_with(0, path, body, &h, &d), 200);
    json_decref(d);
    expect_401(send_with(0, path, body, &h, &d), &d, "replay");
    expect_401(send_with(1, path, body, &h, &d), &d, "replay");

    /* tampered body, tampered signature, unknown key */
    assert_int_equal(
        hmac_sign(W.ak, W.sk, "POST", path, NULL, 0, body, strlen(body), (int64_t)time(NULL), &h),
        0);
    const char *tampered = "{\"name\":\"auth-test\",\"ip\":\"10.8.0.1\",\"port\":7001}";
    expect_401(send_with(0, path, tampered, &h, &d), &d, "signature");
    assert_int_equal(
        hmac_sign(W.ak, W.sk, "POST", path, NULL, 0, body, strlen(body), (int64_t)time(NULL), &h),
        0);
    h.signature[0] = h.signature[0] == 'a' ? 'b' : 'a';
    expect_401(send_with(0, path, body, &h, &d), &d, "signature");
    assert_int_equal(hmac_sign("nobody", W.sk, "POST", path, NULL, 0, body, strlen(body),
                               (int64_t)time(NULL), &h),
                     0);
    expect_401(send_with(0, path, body, &h, &d), &d, "unknown access key");

    /* look-ups need no signature */
    assert_int_equal(get_json(0, "/api/v1/services/auth-test", &d), 200);
    assert_int_equal(json_array_size(json_object_get(d, "instances")), 1);
    json_decref(d);
    assert_int_equal(post_signed(0, "/api/v1/evict",
                                 "{\"name\":\"auth-test\",\"ip\":\"10.8.0.1\",\"port\":7000}", 0,
                                 &d),
                     200);
    json_decref(d);
    assert_int_equal(post_signed(0, "/api/v1/renew",
                                 "{\"name\":\"auth-test\",\"ip\":\"10.8.0.1\",\"port\":7000}", 0,
                                 &d),
                     404);
    assert_string_equal(error_code(d), "not_registered");
    json_decref(d);
}

static size_t lookup_count(int sd, const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/services/%s", name);
    json_t *d = NULL;
    assert_int_equal(get_json(sd, path, &d), 200);
    size_t n = json_array_size(json_object_get(d, "instances"));
    json_decref(d);
    return n;
}

/* SD's look-up cache: a write through an instance shows there at once; through the other
 * instance within the cache time. */
static void test_lookup_cache_bounds(void **state)
{
    (void)state;
    const char *inst = "{\"name\":\"cache-test\",\"ip\":\"10.6.0.1\",\"port\":7100}";
    json_t *d = NULL;
    assert_int_equal(post_signed(0, "/api/v1/register", inst, 0, &d), 200);
    json_decref(d);
    assert_int_equal(lookup_count(0, "cache-test"), 1);
    assert_int_equal(lookup_count(1, "cache-test"), 1); /* now cached on SD 1 */

    assert_int_equal(post_signed(0, "/api/v1/evict", inst, 0, &d), 200);
    json_decref(d);
    assert_int_equal(lookup_count(0, "cache-test"), 0); /* own write: at once */
    double t0 = harness_now_s();
    while (lookup_count(1, "cache-test") != 0 && harness_now_s() - t0 < 5)
        usleep(20 * 1000);
    double took = harness_now_s() - t0;
    print_message("eviction through SD 0 seen by SD 1 after %.0f ms (cache %d ms)\n", took * 1000,
                  CACHE_MS);
    assert_int_equal(lookup_count(1, "cache-test"), 0);
    assert_true(took * 1000 <= CACHE_MS + 250);
}

static void expect_error(long st, json_t **dp, long want_status, const char *want_code)
{
    json_t *d = *dp;
    if (st != want_status || !d || !error_code(d) || strcmp(error_code(d), want_code) != 0)
        fail_msg("expected %ld %s, got %ld %s", want_status, want_code, st,
                 d && error_code(d) ? error_code(d) : "(no JSON error)");
    json_decref(d);
}

static void test_bad_input(void **state)
{
    (void)state;
    json_t *d = NULL;
    /* oversized body: 100 KiB against a 64 KiB limit */
    size_t big = 100 * 1024;
    char *huge = malloc(big + 64);
    snprintf(huge, 64, "{\"name\":\"x\",\"ip\":\"10.0.0.1\",\"port\":1,\"metadata\":{\"a\":\"");
    memset(huge + strlen(huge), 'a', big);
    strcpy(huge + big, "\"}}");
    expect_error(post_signed(0, "/api/v1/register", huge, 0, &d), &d, 413, "body_too_large");
    free(huge);

    expect_error(post_signed(0, "/api/v1/register", "{\"name\": \"x\", ", 0, &d), &d, 400,
                 "invalid_json");
    expect_error(post_signed(0, "/api/v1/register", "[1,2,3]", 0, &d), &d, 400, "invalid_body");
    expect_error(post_signed(0, "/api/v1/register", "{\"ip\":\"10.0.0.1\",\"port\":1}", 0, &d), &d,
                 400, "missing_field");
    expect_error(post_signed(0, "/api/v1/register",
                             "{\"name\":\"x\",\"ip\":\"10.0.0.1\",\"port\":\"80\"}", 0, &d),
                 &d, 400, "invalid_field");
    expect_error(post_signed(0, "/api/v1/register",
                             "{\"name\":\"x\",\"ip\":\"10.0.0.1\",\"port\":70000}", 0, &d),
                 &d, 400, "invalid_field");
    expect_error(post_signed(0, "/api/v1/register",
                             "{\"name\":\"x y\",\"ip\":\"10.0.0.1\",\"port\":80}", 0, &d),
                 &d, 400, "invalid_field");
    expect_error(post_signed(0, "/api/v1/register",
                             "{\"name\":\"x\",\"ip\":\"not an ip!\",\"port\":80}", 0, &d),
                 &d, 400, "invalid_field");
    expect_error(post_signed(0, "/api/v1/register",
                             "{\"name\":\"x\",\"ip\":\"10.0.0.1\",\"port\":80,\"wieght\":3}", 0,
                             &d),
                 &d, 400, "unknown_field");
    expect_error(post_signed(0, "/api/v1/register",
                             "{\"name\":\"x\",\"ip\":\"10.0.0.1\",\"port\":80,\"metadata\":[1]}", 0,
                             &d),
                 &d, 400, "invalid_field");
    expect_error(get_json(0, "/api/v1/services/hub?count=abc", &d), &d, 400, "invalid_query");
    expect_error(get_json(0, "/api/v1/services/hub?pick=best", &d), &d, 400, "invalid_query");
    expect_error(get_json(0, "/api/v1/nothing-here", &d), &d, 404, "not_found");

    /* still serving, nothing accepted before was lost */
    assert_int_equal(get_json(0, "/health", &d), 200);
    json_decref(d);
    assert_int_equal(summary_instances(0), PER_SIM);
    assert_int_equal(get_json(0, "/metrics", &d), 200); /* text, not JSON */
    char u[256];
    url(u, sizeof(u), 0, "/metrics");
    harness_http_response_t r;
    harness_http("GET", u, NULL, 0, NULL, &r);
    assert_non_null(strstr(r.body, "rampart_sd_registrations_total"));
    assert_non_null(strstr(r.body, "rampart_sd_auth_failures_total"));
    assert_non_null(strstr(r.body, "rampart_sd_http_rejected_total"));
    harness_http_response_free(&r);
}

int main(void)
{
    harness_init("sd");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_through_both_and_agree),
        cmocka_unit_test(test_stopped_instances_expire),
        cmocka_unit_test(test_redis_down_and_back),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_lookup_cache_bounds),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
