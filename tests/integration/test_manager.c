/* rampart-manager against real servers: jongodb (MongoDB wire protocol), Redis, the Kafka
 * broker (kafka-mock), service discovery, an AgentCenter and simulated agents.
 *   - security: every documented route answers 401 without a token (so the OpenAPI document
 *     names only real routes), a read-only user gets 403 on every write, tampered, expired,
 *     alg=none and refresh-as-access JWTs are refused, logout revokes, login brute force is
 *     limited, NoSQL-injection payloads have no effect, malformed/huge/wrong-type bodies get
 *     4xx JSON, path traversal on the console is refused;
 *   - heartbeats bring hosts online and silence takes them offline;
 *   - alerts produced to rampart.alerts appear through the API (deduplicated by id, updates
 *     applied), can be triaged;
 *   - a kill-process task created through the API reaches a simulated agent and its result
 *     appears in the task status;
 *   - MongoDB stopped -> 503, and recovery when it returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "envelope.pb-c.h"
#include "rampart.pb-c.h"
#include "tests/harness/harness.h"

#define ADMIN_PW "integration-admin-pw-1"

static struct {
    uint16_t redis_port, sd_port, mongo_port, http_port, ac_grpc, ac_http;
    char bootstrap[256], mongo_uri[128], keys_path[512], sk[80], secret_path[512], jwt_secret[80];
    char console_dir[600], base[64], admin_token[2048];
    harness_proc_t *redis, *kafka, *mongo, *sd, *ac, *mgr, *sim, *hub;
    uint16_t hub_port;
} W;

/* ---- HTTP helpers ------------------------------------------------------------------------- */

static long call(const char *method, const char *path, const char *token, const char *body,
                 json_t **out)
{
    char url[1024], auth[2200];
    snprintf(url, sizeof(url), "%s%s", W.base, path);
    const char *hdr[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdr[n++] = auth;
    }
    if (body)
        hdr[n++] = "Content-Type: application/json";
    harness_http_response_t r;
    harness_http(method, url, body, body ? strlen(body) : 0, hdr, &r);
    if (out)
        *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    long st = r.status;
    harness_http_response_free(&r);
    return st;
}

static const char *err_code(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

static long login(const char *user, const char *pw, char *token, size_t size)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, pw);
    json_t *j = NULL;
    long st = call("POST", "/api/v1/auth/login", NULL, body, &j);
    if (st == 200 && token)
        snprintf(token, size, "%s", json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    return st;
}

/* Polls GET path until pred(json) holds or timeout_ms passes; returns the last body. */
static json_t *poll_until(const char *path, bool (*pred)(json_t *, const void *), const void *arg,
                          int timeout_ms)
{
    for (int waited = 0;; waited += 250) {
        json_t *j = NULL;
        long st = call("GET", path, W.admin_token, NULL, &j);
        if (st == 200 && pred(j, arg))
            return j;
        if (waited >= timeout_ms) {
            char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
            fprintf(stderr, "poll_until %s: status %ld, last answer %.600s\n", path, st,
                    s ? s : "-");
            free(s);
            return j;
        }
        json_decref(j);
        usleep(250000);
    }
}

static bool total_is(json_t *j, const void *arg)
{
    return json_integer_value(json_object_get(j, "total")) == *(const int *)arg;
}

/* One item, and it has its fields: an upsert's $setOnInsert fields are not always there in the
 * same instant as its filter fields on the test server, so a list can match an item whose
 * fields are not readable yet. */
static bool one_item_with_fields(json_t *j, const void *arg)
{
    (void)arg;
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    return json_integer_value(json_object_get(j, "total")) == 1 &&
           json_is_string(json_object_get(it, "agent_id")) &&
           json_object_size(json_object_get(it, "fields")) > 0;
}

/* A string member, or "(missing)": cmocka's string comparison crashes on NULL. */
static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "(missing)";
}

/* ---- services ---------------------------------------------------------------------------- */

static harness_proc_t *start_mongo_on(uint16_t port)
{
    /* The source tree is where this file is (CMake passes absolute paths). */
    char bin[600], portarg[32];
    const char *me = __FILE__, *cut = strstr(me, "/tests/integration/");
    snprintf(bin, sizeof(bin),
             "%.*s/tools/node/node_modules/@jongodb/memory-server-bin-linux-x64-gnu/bin/jongodb",
             (int)(cut - me), me);
    snprintf(portarg, sizeof(portarg), "--port=%u", (unsigned)port);
    char *argv[] = {bin, portarg, NULL};
    harness_proc_t *p = harness_spawn("mongo2", argv, NULL);
    assert_non_null(p);
    assert_int_equal(harness_wait_port(port, 30000), 0);
    return p;
}

static void start_sd(void)
{
    char cfg[1024], path[700], bin[512];
    W.sd_port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "http:\n  listen: 127.0.0.1:%u\nredis:\n  addr: 127.0.0.1:%u\n"
             "registry:\n  ttl: 30s\n  cache: 0\nauth:\n  keys_file: %s\n",
             (unsigned)W.sd_port, (unsigned)W.redis_port, W.keys_path);
    assert_int_equal(harness_write_file("sd.yaml", cfg, path, sizeof(path)), 0);
    harness_bin("service-discovery/rampart-sd", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    assert_non_null(W.sd = harness_spawn("sd", argv, NULL));
    assert_int_equal(harness_wait_port(W.sd_port, 15000), 0);
}

static void start_ac(void)
{
    char cfg[2048], path[700], bin[512];
    W.ac_grpc = harness_free_port();
    W.ac_http = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "instance:\n  id: ac-mgr-test\ngrpc:\n  listen: 127.0.0.1:%u\n"
             "  plaintext_for_tests: true\n  drain_timeout: 1s\n"
             "http:\n  listen: 127.0.0.1:%u\nauth:\n  keys_file: %s\n"
             "kafka:\n  brokers: %s\n  flush_timeout: 2s\n"
             "sd:\n  addrs: [127.0.0.1:%u]\n  access_key: rampart-test\n  renew_interval: 1s\n",
             (unsigned)W.ac_grpc, (unsigned)W.ac_http, W.keys_path, W.bootstrap,
             (unsigned)W.sd_port);
    assert_int_equal(harness_write_file("ac.yaml", cfg, path, sizeof(path)), 0);
    harness_bin("agent-center/rampart-agent-center", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    assert_non_null(W.ac = harness_spawn("ac", argv, NULL));
    assert_int_equal(harness_wait_log(W.ac, "event=started", NULL, 0, 15000), 0);
}

static void start_manager(void)
{
    char cfg[4096], path[700], bin[512];
    W.http_port = harness_free_port();
    snprintf(cfg, sizeof(cfg),
             "log:\n  level: info\ninstance: mgr-test\n"
             "http:\n  listen: 127.0.0.1:%u\n  threads: 4\n  max_body: 64KiB\n"
             "mongo:\n  uri: %s\n  timeout: 1s\n"
             "redis:\n  addr: 127.0.0.1:%u\n"
             "kafka:\n  brokers: %s\n"
             "auth:\n  jwt_secret_file: %s\n  argon2_memory_kib: 1024\n  argon2_iterations: 1\n"
             "  keys_file: %s\n  access_key: rampart-test\n  login_max_failures: 5\n"
             "hosts:\n  offline_after: 3s\njobs:\n  interval: 500ms\n"
             "tasks:\n  retry_after: 2s\n"
             "console:\n  dir: %s\n  max_age: 3600\n"
             "sd:\n  addrs: [127.0.0.1:%u]\n  renew_interval: 1s\n",
             (unsigned)W.http_port, W.mongo_uri, (unsigned)W.redis_port, W.bootstrap, W.secret_path,
             W.keys_path, W.console_dir, (unsigned)W.sd_port);
    assert_int_equal(harness_write_file("manager.yaml", cfg, path, sizeof(path)), 0);
    harness_bin("manager/rampart-manager", bin, sizeof(bin));
    char *argv[] = {bin, "-c", path, NULL};
    char *env[] = {"RAMPART_MANAGER_ADMIN_PASSWORD=" ADMIN_PW, NULL};
    assert_non_null(W.mgr = harness_spawn("manager", argv, env));
    assert_int_equal(harness_wait_log(W.mgr, "event=started", NULL, 0, 20000), 0);
    snprintf(W.base, sizeof(W.base), "http://127.0.0.1:%u", (unsigned)W.http_port);
    /* The first admin appears once the jobs thread has reached MongoDB. */
    long st = 0;
    for (int i = 0;
         i < 80 && (st = login("admin", ADMIN_PW, W.admin_token, sizeof(W.admin_token))) != 200;
         i++)
        usleep(250000);
    assert_int_equal(st, 200);
}

static int setup(void **state)
{
    (void)state;
    assert_non_null(W.redis = harness_redis_start(&W.redis_port));
    assert_non_null(W.kafka = harness_kafka_start(W.bootstrap, sizeof(W.bootstrap)));
    assert_non_null(W.mongo = harness_mongo_start(W.mongo_uri, sizeof(W.mongo_uri)));
    W.mongo_port = (uint16_t)atoi(strrchr(W.mongo_uri, ':') + 1);
    assert_int_equal(
        harness_make_keys("rampart-test", W.sk, sizeof(W.sk), W.keys_path, sizeof(W.keys_path)), 0);
    /* The JWT secret, made at test time like at install. */
    unsigned char rnd[32];
    assert_int_equal(getrandom(rnd, sizeof(rnd), 0), (ssize_t)sizeof(rnd));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(W.jwt_secret + 2 * i, 3, "%02x", rnd[i]);
    assert_int_equal(
        harness_write_file("jwt.secret", W.jwt_secret, W.secret_path, sizeof(W.secret_path)), 0);
    /* A console build: index.html, an asset, and a link that points outside. */
    char p[700];
    assert_int_equal(
        harness_write_file("console-index.html", "<html>rampart console</html>", p, sizeof(p)), 0);
    snprintf(W.console_dir, sizeof(W.console_dir), "%.*s/console", (int)(strrchr(p, '/') - p), p);
    mkdir(W.console_dir, 0755);
    char f[800];
    snprintf(f, sizeof(f), "%s/index.html", W.console_dir);
    rename(p, f);
    assert_int_equal(harness_write_file("console-app.js", "console.log(1)", p, sizeof(p)), 0);
    snprintf(f, sizeof(f), "%s/app.3f2a.js", W.console_dir);
    rename(p, f);
    snprintf(f, sizeof(f), "%s/leak", W.console_dir);
    unlink(f);
    assert_int_equal(symlink("/etc/passwd", f), 0);
    start_sd();
    start_ac();
    start_manager();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(W.sim);
    harness_stop(W.hub);
    int st = harness_stop(W.mgr);
    harness_stop(W.ac);
    harness_stop(W.sd);
    harness_stop(W.kafka);
    harness_kill(W.mongo);
    harness_stop(W.redis);
    /* The manager must stop cleanly (and LeakSanitizer finds nothing). */
    return st == 0 ? 0 : -1;
}

/* ---- JWT crafting (to test refusals) ----------------------------------------------------- */

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tbl[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = tbl[v & 63];
    }
    out[o] = '\0';
}

/* header.payload.signature with HS256 over the manager's secret (sign = false: alg none). */
static void craft(const char *header, const char *payload, bool sign, char *out, size_t size)
{
    char h[512], p[1024], sig[128] = "";
    b64url((const unsigned char *)header, strlen(header), h);
    b64url((const unsigned char *)payload, strlen(payload), p);
    char input[1600];
    snprintf(input, sizeof(input), "%s.%s", h, p);
    if (sign) {
        unsigned char md[32];
        unsigned mdlen = 0;
        HMAC(EVP_sha256(), W.jwt_secret, (int)strlen(W.jwt_secret), (unsigned char *)input,
             strlen(input), md, &mdlen);
        b64url(md, mdlen, sig);
    }
    snprintf(out, size, "%s.%s", input, sig);
}

/* ---- tests ------------------------------------------------------------------------------- */

/* Replaces {param} segments with "x". */
static void concrete(const char *pattern, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 2 < size; p++) {
        if (*p == '{') {
            out[o++] = 'x';
            p = strchr(p, '}');
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

static void test_routes_auth_and_roles(void **state)
{
    (void)state;
    json_t *doc = NULL, *j = NULL;
    assert_int_equal(call("GET", "/api/v1/openapi.json", NULL, NULL, &j), 401);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/openapi.json", W.admin_token, NULL, &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    /* A read-only user. */
    assert_int_equal(call("POST", "/api/v1/users", W.admin_token,
                          "{\"username\":\"viewer\",\"password\":\"viewer-password-1\","
                          "\"role\":\"read-only\"}",
                          NULL),
                     201);
    char ro[2048];
    assert_int_equal(login("viewer", "viewer-password-1", ro, sizeof(ro)), 200);
    const char *path;
    json_t *item;
    int ops = 0, writes = 0, audited = 0;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            char p[512], m[16];
            concrete(path, p, sizeof(p));
            snprintf(m, sizeof(m), "%s", method);
            for (char *c = m; *c; c++)
                *c = (char)(*c - 32 * (*c >= 'a' && *c <= 'z'));
            const char *role = json_string_value(json_object_get(op, "x-min-role"));
            long st = call(m, p, NULL, strcmp(m, "GET") ? "{}" : NULL, &j);
            if (strcmp(role, "none") == 0) {
                assert_true(st == 400 || st == 401); /* login / refresh with an empty body */
            } else {
                if (st != 401)
                    fprintf(stderr, "%s %s without a token: %ld\n", m, p, st);
                assert_int_equal(st, 401);
                assert_string_equal(err_code(j), "unauthorized");
            }
            json_decref(j);
            if (strcmp(role, "analyst") == 0 || strcmp(role, "admin") == 0) {
                st = call(m, p, ro, strcmp(m, "GET") ? "{}" : NULL, &j);
                if (st != 403)
                    fprintf(stderr, "%s %s as read-only: %ld\n", m, p, st);
                assert_int_equal(st, 403);
                assert_string_equal(err_code(j), "forbidden");
                json_decref(j);
                writes++;
                audited += strcmp(m, "GET") != 0;
            }
            ops++;
        }
    }
    assert_true(ops >= 35);
    assert_true(writes >= 12);
    json_decref(doc);
    /* Not in the document: not a route. */
    assert_int_equal(call("GET", "/api/v1/nonexistent", W.admin_token, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(call("DELETE", "/api/v1/hosts", W.admin_token, NULL, &j), 405);
    json_decref(j);
    /* Audit log saw the refused write. */
    assert_int_equal(call("GET", "/api/v1/audit?actor=viewer&limit=500", W.admin_token, NULL, &j),
                     200);
    assert_true(json_integer_value(json_object_get(j, "total")) >= audited);
    json_decref(j);
}

static void test_jwt_refusals(void **state)
{
    (void)state;
    char tok[2048], bad[2048];
    json_t *j = NULL;
    long now = (long)time(NULL);
    /* Tampered: one character of the signature changed. */
    snprintf(bad, sizeof(bad), "%s", W.admin_token);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(call("GET", "/api/v1/hosts", bad, NULL, &j), 401);
    json_decref(j);
    /* Expired, correctly signed. */
    char payload[512];
    snprintf(
        payload, sizeof(payload),
        "{\"iss\":\"rampart-manager\",\"sub\":\"admin\",\"role\":\"admin\",\"typ\":\"access\","
        "\"jti\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"iat\":%ld,\"iatms\":%ld000,\"exp\":%ld}",
        now - 100, now - 100, now - 10);
    craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, true, tok, sizeof(tok));
    assert_int_equal(call("GET", "/api/v1/hosts", tok, NULL, &j), 401);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(j, "error"), "message")), "expired"));
    json_decref(j);
    /* The same claims valid in time prove the crafting is right ... */
    snprintf(
        payload, sizeof(payload),
        "{\"iss\":\"rampart-manager\",\"sub\":\"admin\",\"role\":\"admin\",\"typ\":\"access\","
        "\"jti\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"iat\":%ld,\"iatms\":%ld000,\"exp\":%ld}",
        now, now, now + 60);
    craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, true, tok, sizeof(tok));
    assert_int_equal(call("GET", "/api/v1/hosts", tok, NULL, &j), 200);
    json_decref(j);
    /* ... and alg "none" with no signature is refused. */
    craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, false, tok, sizeof(tok));
    assert_int_equal(call("GET", "/api/v1/hosts", tok, NULL, &j), 401);
    json_decref(j);
    /* A refresh token is not an access token; refresh rotates. */
    assert_int_equal(call("POST", "/api/v1/auth/login", NULL,
                          "{\"username\":\"admin\",\"password\":\"" ADMIN_PW "\"}", &j),
                     200);
    char refresh[2048], access[2048], body[2300];
    snprintf(refresh, sizeof(refresh), "%s",
             json_string_value(json_object_get(j, "refresh_token")));
    snprintf(access, sizeof(access), "%s", json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/hosts", refresh, NULL, &j), 401);
    json_decref(j);
    snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh);
    assert_int_equal(call("POST", "/api/v1/auth/refresh", NULL, body, &j), 200);
    json_decref(j);
    assert_int_equal(call("POST", "/api/v1/auth/refresh", NULL, body, &j), 401); /* used */
    json_decref(j);
    /* Logout revokes the access token. */
    assert_int_equal(call("GET", "/api/v1/auth/me", access, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(call("POST", "/api/v1/auth/logout", access, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/auth/me", access, NULL, &j), 401);
    json_decref(j);
    /* API token for automation, then revoked. */
    assert_int_equal(call("POST", "/api/v1/tokens", W.admin_token,
                          "{\"name\":\"ci\",\"role\":\"read-only\"}", &j),
                     201);
    char api[200], id[100], p[200];
    snprintf(api, sizeof(api), "%s", json_string_value(json_object_get(j, "token")));
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/hosts", api, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(call("PUT", "/api/v1/hosts/x/tags", api, "{\"tags\":[]}", &j), 403);
    json_decref(j);
    snprintf(p, sizeof(p), "/api/v1/tokens/%s", id);
    assert_int_equal(call("DELETE", p, W.admin_token, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/hosts", api, NULL, &j), 401);
    json_decref(j);
}

static void test_bad_input(void **state)
{
    (void)state;
    json_t *j = NULL;
    struct {
        const char *method, *path, *body;
        long want;
    } cases[] = {
        /* NoSQL injection: operators in parameters are values or unknown parameters. */
        {"GET", "/api/v1/alerts?status%5B%24ne%5D=x", NULL, 400},
        {"GET", "/api/v1/alerts?status=%7B%22%24ne%22%3Anull%7D", NULL, 400},
        {"GET", "/api/v1/alerts?sort=%24where", NULL, 400},
        {"GET", "/api/v1/alerts?limit=1e9", NULL, 400},
        {"GET", "/api/v1/alerts?limit=5&limit=6", NULL, 400},
        {"POST", "/api/v1/auth/login", "{\"username\":{\"$ne\":null},\"password\":{\"$ne\":null}}",
         400},
        {"POST", "/api/v1/auth/login", "{\"username\":\"admin\",\"password\":{\"$gt\":\"\"}}", 400},
        {"POST", "/api/v1/alerts/bulk", "{\"ids\":[{\"$ne\":null}],\"status\":\"resolved\"}", 400},
        /* Malformed JSON, wrong types, unknown fields. */
        {"POST", "/api/v1/tasks", "{\"type\":", 400},
        {"POST", "/api/v1/tasks", "[1,2]", 400},
        {"POST", "/api/v1/tasks", "{\"type\":5,\"hosts\":[\"a\"]}", 400},
        {"POST", "/api/v1/tasks", "{\"type\":\"kill_process\",\"hosts\":\"a\"}", 400},
        {"POST", "/api/v1/tasks", "{\"type\":\"kill_process\",\"hosts\":[\"a\"],\"x\":1}", 400},
        {"POST", "/api/v1/tasks",
         "{\"type\":\"kill_process\",\"hosts\":[\"a\"],\"params\":{\"pid\":\"1; rm\"}}", 400},
        {"PATCH", "/api/v1/alerts/abc", "{\"status\":\"pwned\"}", 400},
        {"PUT", "/api/v1/hosts/a/tags", "{\"tags\":[\"$where\"]}", 400},
        {"POST", "/api/v1/users", "{\"username\":\"u\",\"password\":\"short\",\"role\":\"admin\"}",
         400},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long st = call(cases[i].method, cases[i].path, W.admin_token, cases[i].body, &j);
        if (st != cases[i].want)
            fprintf(stderr, "case %zu %s %s: %ld\n", i, cases[i].method, cases[i].path, st);
        assert_int_equal(st, cases[i].want);
        assert_non_null(err_code(j)); /* always a JSON error */
        json_decref(j);
    }
    /* An injected value matches nothing (it is a string, not an operator). */
    assert_int_equal(
        call("GET", "/api/v1/hosts?agent_id=%7B%22%24ne%22%3Anull%7D", W.admin_token, NULL, &j),
        200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    /* A huge body: 413 before the handler. */
    size_t big = 200 * 1024;
    char *body = malloc(big + 1);
    memset(body, 'a', big);
    memcpy(body, "{\"name\":\"", 9);
    body[big - 2] = '"';
    body[big - 1] = '}';
    body[big] = '\0';
    assert_int_equal(call("POST", "/api/v1/tokens", W.admin_token, body, &j), 413);
    json_decref(j);
    free(body);
}

static void test_console(void **state)
{
    (void)state;
    char url[256];
    harness_http_response_t r;
    struct {
        const char *path;
        long want;
        const char *body;
    } cases[] = {
        {"/", 200, "rampart console"},
        {"/alerts/42", 200, "rampart console"}, /* SPA fallback */
        {"/app.3f2a.js", 200, "console.log"},
        {"/%2e%2e/%2e%2e/etc/passwd", 404, NULL},
        {"/..%2f..%2fetc%2fpasswd", 404, NULL},
        {"/leak", 200, "rampart console"}, /* a link out: not followed (SPA page instead) */
        {"/missing.js", 404, NULL},
        {"/api/v1/unknown", 404, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(url, sizeof(url), "%s%s", W.base, cases[i].path);
        harness_http("GET", url, NULL, 0, NULL, &r);
        if (r.status != cases[i].want)
            fprintf(stderr, "GET %s: %ld\n", cases[i].path, r.status);
        assert_int_equal(r.status, cases[i].want);
        if (cases[i].body)
            assert_non_null(strstr(r.body, cases[i].body));
        else
            assert_null(strstr(r.body ? r.body : "", "root:"));
        harness_http_response_free(&r);
    }
}

static void test_login_rate_limit(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(call("POST", "/api/v1/users", W.admin_token,
                          "{\"username\":\"target\",\"password\":\"target-password-1\","
                          "\"role\":\"analyst\"}",
                          NULL),
                     201);
    for (int i = 0; i < 5; i++)
        assert_int_equal(login("target", "wrong-password-000", NULL, 0), 401);
    /* Now even the right password is refused until the window passes. */
    char body[200];
    snprintf(body, sizeof(body), "{\"username\":\"target\",\"password\":\"target-password-1\"}");
    assert_int_equal(call("POST", "/api/v1/auth/login", NULL, body, &j), 429);
    assert_string_equal(err_code(j), "too_many_attempts");
    json_decref(j);
    /* Other users are not locked out. */
    assert_int_equal(login("viewer", "viewer-password-1", NULL, 0), 200);
}

static bool hosts_online(json_t *j, const void *arg)
{
    (void)arg;
    size_t i;
    json_t *h;
    int n = 0;
    json_array_foreach(json_object_get(j, "items"), i, h) n +=
        json_is_true(json_object_get(h, "online"));
    return n == *(const int *)arg;
}

static void start_sim(int agents, int heartbeat_ms)
{
    char bin[512], target[64], na[16], hb[16];
    harness_bin("tests/tools/agent-sim/rampart-agent-sim", bin, sizeof(bin));
    snprintf(target, sizeof(target), "127.0.0.1:%u", (unsigned)W.ac_grpc);
    snprintf(na, sizeof(na), "%d", agents);
    snprintf(hb, sizeof(hb), "%d", heartbeat_ms);
    char *argv[] = {bin,
                    "--target",
                    target,
                    "--plaintext",
                    "--agents",
                    na,
                    "--id-prefix",
                    "mgr-",
                    "--rate",
                    "0",
                    "--heartbeat-ms",
                    hb,
                    "--plugin-heartbeat",
                    "--drain-ms",
                    "1000",
                    NULL};
    assert_non_null(W.sim = harness_spawn("sim", argv, NULL));
    assert_int_equal(harness_wait_log(W.sim, "event=all_connected", NULL, 0, 20000), 0);
}

static void test_hosts_online_offline_and_task(void **state)
{
    (void)state;
    start_sim(3, 1000);
    int three = 3, zero = 0;
    json_t *j = poll_until("/api/v1/hosts?status=online", hosts_online, &three, 20000);
    assert_true(hosts_online(j, &three));
    json_t *h0 = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(h0, "agent_id")), "mgr-00000");
    assert_string_equal(json_string_value(json_object_get(h0, "agent_center")), "ac-mgr-test");
    json_decref(j);
    /* Host detail with plugins and tags. */
    assert_int_equal(call("PUT", "/api/v1/hosts/mgr-00001/tags", W.admin_token,
                          "{\"tags\":[\"web\",\"prod\"]}", &j),
                     200);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/hosts?tag=web", W.admin_token, NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);

    /* Kill-process task to one agent: the sim answers with a 5100 result. */
    assert_int_equal(call("POST", "/api/v1/tasks", W.admin_token,
                          "{\"type\":\"kill_process\",\"hosts\":[\"mgr-00002\"],"
                          "\"params\":{\"pid\":4242}}",
                          &j),
                     201);
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/tasks/%s/hosts",
             json_string_value(json_object_get(j, "id")));
    json_decref(j);
    for (int i = 0; i < 80; i++) {
        assert_int_equal(call("GET", path, W.admin_token, NULL, &j), 200);
        json_t *s = json_array_get(json_object_get(j, "items"), 0);
        if (strcmp(json_string_value(json_object_get(s, "status")), "succeed") == 0)
            break;
        json_decref(j);
        j = NULL;
        usleep(250000);
    }
    assert_non_null(j);
    json_t *s = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(s, "status")), "succeed");
    assert_string_equal(json_string_value(json_object_get(s, "agent_id")), "mgr-00002");
    assert_non_null(strstr(json_string_value(json_object_get(s, "msg")), "responder 8101"));
    json_decref(j);
    assert_int_equal(harness_wait_log(W.sim, "object_name=responder", NULL, 0, 1000), 0);
    /* A task by tag reaches the tagged host only. */
    assert_int_equal(call("POST", "/api/v1/tasks", W.admin_token,
                          "{\"type\":\"collect_now\",\"tags\":[\"web\"]}", &j),
                     201);
    assert_int_equal(json_integer_value(json_object_get(j, "hosts")), 1);
    json_decref(j);

    /* Silence: the sim stops, the hosts go offline after hosts.offline_after (3 s). */
    assert_int_equal(harness_stop(W.sim), 0);
    W.sim = NULL;
    j = poll_until("/api/v1/hosts?status=offline", total_is, &three, 15000);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    json_decref(j);
    j = poll_until("/api/v1/hosts?status=online", total_is, &zero, 1000);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
}

static void produce_alert(rd_kafka_t *p, const char *id, const char *kind, const char *sev,
                          int count, const char *agent)
{
    char buf[2048];
    long long now = (long long)time(NULL) * 1000;
    snprintf(buf, sizeof(buf),
             "{\"schema\":\"rampart.alert/1\",\"id\":\"%s\",\"kind\":\"%s\","
             "\"rule\":{\"id\":\"reverse_shell_dev_tcp\",\"name\":\"Reverse shell\","
             "\"severity\":\"%s\",\"type\":\"simple\",\"attack\":[\"T1059.004\"]},"
             "\"count\":%d,\"first_seen_ms\":%lld,\"last_seen_ms\":%lld,\"detected_at_ms\":%lld,"
             "\"hub\":\"hub-1\",\"agent\":{\"id\":\"%s\",\"hostname\":\"web-3\"},"
             "\"data_type\":59,\"event\":{\"exe\":\"/bin/bash\",\"argv\":\"bash -i\"},"
             "\"process_chain\":[{\"pid\":10,\"ppid\":1,\"exe\":\"/bin/bash\",\"comm\":\"bash\","
             "\"argv\":\"bash -i\",\"uid\":\"0\"}]}",
             id, kind, sev, count, now, now, now, agent);
    assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rampart.alerts"),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_VALUE(buf, strlen(buf)),
                                       RD_KAFKA_V_KEY(agent, strlen(agent)), RD_KAFKA_V_END),
                     0);
}

static void test_alerts(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", W.bootstrap, err, sizeof(err));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    assert_non_null(p);
    const char *a1 = "0123456789abcdef0123456789abcdef", *a2 = "fedcba9876543210fedcba9876543210",
               *a3 = "00000000000000000000000000000003";
    produce_alert(p, a1, "alert", "critical", 1, "agent-a");
    produce_alert(p, a1, "alert", "critical", 1, "agent-a"); /* redelivered */
    produce_alert(p, a2, "alert", "high", 1, "agent-b");
    produce_alert(p, a3, "alert", "low", 1, "agent-b");
    produce_alert(p, a2, "update", "high", 7, "agent-b");
    const char *junk = "{\"schema\":\"rampart.alert/1\",\"id\":\"nothex\"}";
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rampart.alerts"),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_VALUE((void *)junk, strlen(junk)), RD_KAFKA_V_END);
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    int three = 3;
    json_t *j = poll_until("/api/v1/alerts", total_is, &three, 20000);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    /* List items leave the raw alert out. */
    assert_null(json_object_get(json_array_get(json_object_get(j, "items"), 0), "raw"));
    json_decref(j);
    /* The update applied; sorted by severity. */
    j = poll_until("/api/v1/alerts?severity=high", total_is, &(int){1}, 5000);
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    for (int i = 0; i < 20 && json_integer_value(json_object_get(it, "count")) != 7; i++) {
        json_decref(j);
        usleep(250000);
        call("GET", "/api/v1/alerts?severity=high", W.admin_token, NULL, &j);
        it = json_array_get(json_object_get(j, "items"), 0);
    }
    assert_int_equal(json_integer_value(json_object_get(it, "count")), 7);
    json_decref(j);
    assert_int_equal(
        call("GET", "/api/v1/alerts?sort=severity&order=desc&limit=1", W.admin_token, NULL, &j),
        200);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "items"), 0), "severity")),
                        "critical");
    json_decref(j);
    /* Detail with process chain and raw event; triage; notes. */
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/alerts/%s", a1);
    assert_int_equal(
        call("PATCH", path, W.admin_token,
             "{\"status\":\"in_progress\",\"assignee\":\"admin\",\"note\":\"looking\"}", &j),
        200);
    json_decref(j);
    assert_int_equal(call("GET", path, W.admin_token, NULL, &j), 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "in_progress");
    assert_int_equal(json_array_size(json_object_get(j, "process_chain")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "event"), "exe")),
                        "/bin/bash");
    assert_int_equal(json_array_size(json_object_get(j, "notes")), 1);
    json_decref(j);
    char body[300];
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\",\"%s\"],\"status\":\"resolved\"}", a2, a3);
    assert_int_equal(call("POST", "/api/v1/alerts/bulk", W.admin_token, body, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "matched")), 2);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/alerts?status=resolved", W.admin_token, NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/alerts/stats", W.admin_token, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "by_severity")), 3);
    json_decref(j);
    /* Whitelist from the alert (no hub registered: stored, pushed to none). */
    snprintf(body, sizeof(body), "{\"alert_id\":\"%s\",\"fields\":[\"exe\"],\"comment\":\"ok\"}",
             a1);
    assert_int_equal(call("POST", "/api/v1/whitelist", W.admin_token, body, &j), 201);
    json_t *m0 = json_array_get(json_object_get(j, "match"), 0);
    assert_string_equal(json_string_value(json_object_get(m0, "value")), "/bin/bash");
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/overview", W.admin_token, NULL, &j), 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "alerts"), "in_progress")), 1);
    json_decref(j);
}

/* The source tree is where this file is (CMake passes absolute paths). */
static void source_dir(char *out, size_t size)
{
    const char *me = __FILE__, *cut = strstr(me, "/tests/integration/");
    snprintf(out, size, "%.*s", (int)(cut - me), me);
}

static void produce_state(rd_kafka_t *p, const char *agent, int dt, const char **kv, size_t n)
{
    Grpc__Payload pl = GRPC__PAYLOAD__INIT;
    Grpc__Payload__FieldsEntry ent[8], *ptr[8];
    char keys[8][64];
    for (size_t i = 0; i < n; i++) {
        grpc__payload__fields_entry__init(&ent[i]);
        const char *eq = strchr(kv[i], '=');
        snprintf(keys[i], sizeof(keys[i]), "%.*s", (int)(eq - kv[i]), kv[i]);
        ent[i].key = keys[i];
        ent[i].value = (char *)eq + 1;
        ptr[i] = &ent[i];
    }
    pl.fields = ptr;
    pl.n_fields = n;
    uint8_t pbuf[2048], ebuf[2600];
    size_t plen = grpc__payload__pack(&pl, pbuf);
    Rampart__Envelope env = RAMPART__ENVELOPE__INIT;
    env.data_type = dt;
    env.agent_time = time(NULL);
    env.server_time = time(NULL);
    env.agent_id = (char *)agent;
    env.hostname = "asset-host";
    env.payload.data = pbuf;
    env.payload.len = plen;
    size_t len = rampart__envelope__pack(&env, ebuf);
    assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rampart.state"),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_VALUE(ebuf, len),
                                       RD_KAFKA_V_KEY(agent, strlen(agent)), RD_KAFKA_V_END),
                     0);
}

static void test_assets(void **state)
{
    (void)state;
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", W.bootstrap, err, sizeof(err));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    assert_non_null(p);
    const char *pkg[] = {"name=openssl", "version=3.0.11", "type=dpkg"};
    const char *port[] = {"sport=22", "protocol=6", "exe=/usr/sbin/sshd"};
    const char *user[] = {"username=deploy", "uid=1001"};
    const char *odd[] = {"$where=1", "a.b=2", "name=odd-pkg"};
    for (int round = 0; round < 2; round++) { /* a snapshot reported twice stays one item */
        produce_state(p, "asset-1", 5055, pkg, 3);
        produce_state(p, "asset-1", 5051, port, 3);
        produce_state(p, "asset-2", 5052, user, 2);
        produce_state(p, "asset-2", 5055, odd, 3);
    }
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff};
    rd_kafka_producev(p, RD_KAFKA_V_TOPIC("rampart.state"),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_VALUE((void *)garbage, sizeof(garbage)), RD_KAFKA_V_END);
    assert_int_equal(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    int one = 1, two = 2;
    json_t *j =
        poll_until("/api/v1/assets?type=software&name=openssl", one_item_with_fields, NULL, 15000);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    json_t *it = json_array_get(json_object_get(j, "items"), 0);
    assert_string_equal(jstr(it, "agent_id"), "asset-1");
    assert_string_equal(jstr(json_object_get(it, "fields"), "version"), "3.0.11");
    json_decref(j);
    j = poll_until("/api/v1/assets?type=port&name=22", total_is, &one, 5000);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    j = poll_until("/api/v1/hosts/asset-2/assets", total_is, &two, 5000);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    json_decref(j);
    /* Odd payload keys are stored under safe names. */
    j = poll_until("/api/v1/assets?type=software&name=odd-pkg", one_item_with_fields, NULL, 5000);
    json_t *f = json_object_get(json_array_get(json_object_get(j, "items"), 0), "fields");
    assert_string_equal(jstr(f, "_where"), "1");
    assert_string_equal(jstr(f, "a_b"), "2");
    json_decref(j);
    assert_int_equal(call("GET", "/api/v1/assets?type=nosuch", W.admin_token, NULL, &j), 400);
    json_decref(j);
}

static long hub_whitelist(json_t **out)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/whitelist", (unsigned)W.hub_port);
    harness_http_response_t r;
    harness_http_signed("GET", url, NULL, 0, "rampart-test", W.sk, 0, &r);
    *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    long st = r.status;
    harness_http_response_free(&r);
    return st;
}

/* Whether the hub's whitelist in force holds an entry whose id starts with prefix. */
static bool hub_has(const char *prefix)
{
    json_t *j = NULL;
    bool found = false;
    if (hub_whitelist(&j) == 200) {
        char *s = json_dumps(j, JSON_COMPACT);
        char needle[80];
        snprintf(needle, sizeof(needle), "\"%s", prefix);
        found = s && strstr(s, needle);
        free(s);
    }
    json_decref(j);
    return found;
}

static void test_rules_whitelist_hub(void **state)
{
    (void)state;
    char src[600], bin[512], state_dir[700], env[6][900];
    source_dir(src, sizeof(src));
    char p[700];
    harness_write_file("hub-state-marker", "", p, sizeof(p));
    snprintf(state_dir, sizeof(state_dir), "%.*s/hub-state", (int)(strrchr(p, '/') - p), p);
    mkdir(state_dir, 0700);
    W.hub_port = harness_free_port();
    harness_bin("hub/rampart-hub", bin, sizeof(bin));
    snprintf(env[0], sizeof(env[0]), "RAMPART_HUB_KAFKA_BROKERS=%s", W.bootstrap);
    snprintf(env[1], sizeof(env[1]), "RAMPART_HUB_HTTP_LISTEN=127.0.0.1:%u", (unsigned)W.hub_port);
    snprintf(env[2], sizeof(env[2]), "RAMPART_HUB_RULES_DIR=%s/hub/rules", src);
    snprintf(env[3], sizeof(env[3]), "RAMPART_HUB_RULES_STATE_DIR=%s", state_dir);
    snprintf(env[4], sizeof(env[4]), "RAMPART_HUB_AUTH_KEYS_FILE=%s", W.keys_path);
    snprintf(env[5], sizeof(env[5]), "RAMPART_HUB_SD_ADDRS=127.0.0.1:%u", (unsigned)W.sd_port);
    char *envp[] = {env[0],
                    env[1],
                    env[2],
                    env[3],
                    env[4],
                    env[5],
                    "RAMPART_HUB_SD_ACCESS_KEY=rampart-test",
                    "RAMPART_HUB_SD_RENEW_INTERVAL=1s",
                    NULL};
    char *argv[] = {bin, NULL};
    assert_non_null(W.hub = harness_spawn("hub", argv, envp));
    assert_int_equal(harness_wait_port(W.hub_port, 20000), 0);
    json_t *j = NULL;
    /* Rules come from the hub once it is registered. */
    for (int i = 0; i < 40; i++) {
        assert_int_equal(call("GET", "/api/v1/rules", W.admin_token, NULL, &j), 200);
        if (json_is_true(json_object_get(j, "hub_reachable")))
            break;
        json_decref(j);
        j = NULL;
        usleep(250000);
    }
    assert_true(json_is_true(json_object_get(j, "hub_reachable")));
    assert_true(json_array_size(json_object_get(j, "rules")) >= 30);
    json_decref(j);
    /* Disable a rule: pushed to the hub as an "off_" whitelist entry. */
    assert_int_equal(
        call("POST", "/api/v1/rules/reverse_shell_dev_tcp/disable", W.admin_token, NULL, &j), 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "hubs"), "accepted")),
                     1);
    json_decref(j);
    assert_true(hub_has("off_"));
    assert_true(hub_has("wl_")); /* the entry made from an alert in test_alerts */
    assert_int_equal(call("GET", "/api/v1/rules", W.admin_token, NULL, &j), 200);
    size_t i;
    json_t *r;
    int seen = 0;
    json_array_foreach(json_object_get(j, "rules"), i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "id")), "reverse_shell_dev_tcp") == 0) {
            assert_false(json_is_true(json_object_get(r, "enabled")));
            seen++;
        }
    }
    assert_int_equal(seen, 1);
    json_decref(j);
    assert_int_equal(
        call("POST", "/api/v1/rules/reverse_shell_dev_tcp/enable", W.admin_token, NULL, &j), 200);
    json_decref(j);
    assert_false(hub_has("off_"));
    /* Delete the whitelist entries: the hub's pushed whitelist empties. */
    assert_int_equal(call("GET", "/api/v1/whitelist", W.admin_token, NULL, &j), 200);
    json_t *items = json_incref(json_object_get(j, "items"));
    json_decref(j);
    json_array_foreach(items, i, r)
    {
        char path[200];
        snprintf(path, sizeof(path), "/api/v1/whitelist/%s",
                 json_string_value(json_object_get(r, "id")));
        assert_int_equal(call("DELETE", path, W.admin_token, NULL, &j), 200);
        json_decref(j);
    }
    json_decref(items);
    assert_false(hub_has("wl_"));
    /* System status: every registered service with its health. */
    assert_int_equal(call("GET", "/api/v1/system/status", W.admin_token, NULL, &j), 200);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(strstr(s, "\"name\":\"hub\""));
    assert_non_null(strstr(s, "\"name\":\"agent-center\""));
    assert_non_null(strstr(s, "\"name\":\"manager\""));
    assert_null(strstr(s, "\"health\":\"unreachable\""));
    free(s);
    json_decref(j);
}

static void test_mongo_outage(void **state)
{
    (void)state;
    json_t *j = NULL;
    harness_kill(W.mongo);
    W.mongo = NULL;
    long st = 0;
    for (int i = 0; i < 40 && (st = call("GET", "/api/v1/hosts", W.admin_token, NULL, &j)) != 503;
         i++) {
        json_decref(j);
        j = NULL;
        usleep(250000);
    }
    assert_int_equal(st, 503);
    assert_string_equal(err_code(j), "store_unavailable");
    json_decref(j);
    char url[128];
    snprintf(url, sizeof(url), "%s/health", W.base);
    harness_http_response_t r;
    harness_http("GET", url, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 503);
    harness_http_response_free(&r);
    /* Back (empty, on the same port): requests succeed again. */
    W.mongo = start_mongo_on(W.mongo_port);
    for (int i = 0; i < 80 && (st = call("GET", "/api/v1/hosts", W.admin_token, NULL, &j)) != 200;
         i++) {
        json_decref(j);
        j = NULL;
        usleep(250000);
    }
    assert_int_equal(st, 200);
    json_decref(j);
    for (int i = 0; i < 40; i++) {
        harness_http("GET", url, NULL, 0, NULL, &r);
        st = r.status;
        harness_http_response_free(&r);
        if (st == 200)
            break;
        usleep(250000);
    }
    assert_int_equal(st, 200);
}

int main(void)
{
    harness_init("manager");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_auth_and_roles),
        cmocka_unit_test(test_jwt_refusals),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_login_rate_limit),
        cmocka_unit_test(test_hosts_online_offline_and_task),
        cmocka_unit_test(test_alerts),
        cmocka_unit_test(test_assets),
        cmocka_unit_test(test_rules_whitelist_hub),
        cmocka_unit_test(test_mongo_outage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
