/* Unit tests for common/http.c: a real server on 127.0.0.1:0 driven with libcurl and raw
 * sockets. Covers routing and parameters, the JSON error bodies, body limits, content types,
 * the field helpers, the authenticator, /metrics and /health, the connection limit,
 * concurrency and shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"

#define MAX_BODY 4096

static metrics_registry_t *g_reg;
static http_server_t *g_srv;
static uint16_t g_port;
static size_t g_auth_body_len;

/* ---- client ----------------------------------------------------------------------------- */

typedef struct {
    long status;
    char *body;
    size_t len;
    char content_type[128];
    char allow[128];
    char connection[64];
} resp_t;

typedef struct {
    const char *data;
    size_t len, off;
} upload_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    resp_t *r = ud;
    size_t len = size * n;
    r->body = realloc(r->body, r->len + len + 1);
    memcpy(r->body + r->len, p, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

static void copy_header_value(char *dst, size_t size, const char *line, size_t n, size_t skip)
{
    size_t v = skip;
    while (v < n && line[v] == ' ')
        v++;
    size_t e = n;
    while (e > v && (line[e - 1] == '\r' || line[e - 1] == '\n'))
        e--;
    snprintf(dst, size, "%.*s", (int)(e - v), line + v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    resp_t *r = ud;
    size_t len = size * n;
    if (len > 6 && strncasecmp(p, "Allow:", 6) == 0)
        copy_header_value(r->allow, sizeof(r->allow), p, len, 6);
    if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
        copy_header_value(r->content_type, sizeof(r->content_type), p, len, 13);
    if (len > 11 && strncasecmp(p, "Connection:", 11) == 0)
        copy_header_value(r->connection, sizeof(r->connection), p, len, 11);
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    upload_t *u = ud;
    size_t len = size * n;
    if (len > u->len - u->off)
        len = u->len - u->off;
    if (len > 1000)
        len = 1000; /* several chunks */
    memcpy(p, u->data + u->off, len);
    u->off += len;
    return len;
}

/* Sends one request. body may be NULL; chunked streams it with Transfer-Encoding: chunked.
 * headers is NULL-terminated. Returns the status (0 on a transport error). */
static long request(const char *method, const char *path, const char *body, size_t body_len,
                    bool chunked, const char *const *headers, resp_t *r)
{
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)g_port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    struct curl_slist *hl = NULL;
    bool has_expect = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
        has_expect = has_expect || strncasecmp(headers[i], "Expect:", 7) == 0;
    }
    if (!has_expect)
        hl = curl_slist_append(hl, "Expect:");
    upload_t up = {body, body_len, 0};
    if (body && chunked) {
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (!r->body)
        r->body = calloc(1, 1);
    return r->status;
}

static long get(const char *path, resp_t *r)
{
    return request("GET", path, NULL, 0, false, NULL, r);
}

static long post_json(const char *path, const char *body, resp_t *r)
{
    static const char *const h[] = {"Content-Type: application/json", NULL};
    return request("POST", path, body, strlen(body), false, h, r);
}

static void resp_free(resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* Asserts {"error":{"code":code,"message":...}} and returns the message (static copy). */
static const char *expect_error(resp_t *r, long status, const char *code)
{
    static char msg[512];
    if (r->status != status)
        fail_msg("status %ld, want %ld; body %s", r->status, status, r->body);
    assert_string_equal(r->content_type, "application/json");
    json_error_t e;
    json_t *j = json_loads(r->body, 0, &e);
    assert_non_null(j);
    json_t *err = json_object_get(j, "error");
    assert_true(json_is_object(err));
    assert_int_equal(json_object_size(j), 1);
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    const char *m = json_string_value(json_object_get(err, "message"));
    assert_non_null(m);
    snprintf(msg, sizeof(msg), "%s", m);
    json_decref(j);
    return msg;
}

/* Writes raw bytes on a new connection and reads until EOF (or 5 s). */
static char *raw_exchange(uint16_t port, const char *out, bool *closed)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (out)
        assert_int_equal(send(fd, out, strlen(out), MSG_NOSIGNAL), (ssize_t)strlen(out));
    static char buf[8192];
    size_t len = 0;
    *closed = false;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0) {
            *closed = true;
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

/* ---- handlers --------------------------------------------------------------------------- */

static void h_item(http_request_t *req, void *ud)
{
    (void)ud;
    const char *x = http_request_query(req, "x");
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                                http_request_param(req, "id"), "x", x ? x : "(none)", "route",
                                http_request_route(req), "path", http_request_path(req), "method",
                                http_request_method(req), "peer", http_request_peer(req)));
}

static void h_tag(http_request_t *req, void *ud)
{
    (void)ud;
    http_response_header(req, "X-Extra", "yes");
    http_respond_json(req, 200,
                      json_pack("{s:s, s:s}", "id", http_request_param(req, "id"), "tag",
                                http_request_param(req, "tag")));
}

static void h_delete(http_request_t *req, void *ud)
{
    (void)ud;
    http_respond_raw(req, 204, NULL, NULL, 0);
}

static void h_create(http_request_t *req, void *ud)
{
    (void)ud;
    json_t *body = http_request_json(req);
    if (!body)
        return;
    const char *name = NULL, *note = "default";
    int64_t port = 0;
    if (http_json_string(req, body, "name", 1, 16, &name) < 0 ||
        http_json_int(req, body, "port", 1, 1, 65535, &port) < 0 ||
        http_json_string(req, body, "note", 0, 0, &note) < 0) {
        json_decref(body);
        return;
    }
    http_respond_json(
        req, 201,
        json_pack("{s:s, s:I, s:s}", "name", name, "port", (json_int_t)port, "note", note));
    json_decref(body);
}

static void h_secure(http_request_t *req, void *ud)
{
    (void)ud;
    size_t len = 0;
    http_request_body(req, &len);
    http_respond_json(req, 200, json_pack("{s:I}", "body_len", (json_int_t)len));
}

static void h_forgot(http_request_t *req, void *ud)
{
    (void)req;
    (void)ud;
}

static void h_query(http_request_t *req, void *ud)
{
    (void)ud;
    size_t n = 0;
    const http_kv_t *kv = http_request_query_all(req, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("[s,s]", kv[i].key, kv[i].value));
    http_respond_json(req, 200, arr);
}

static void h_header(http_request_t *req, void *ud)
{
    (void)ud;
    const char *v = http_request_header(req, "x-probe");
    http_respond_json(req, 200, json_pack("{s:s?}", "probe", v));
}

static void h_empty(http_request_t *req, void *ud)
{
    (void)ud;
    http_respond_json(req, 200, NULL);
}

static int auth(http_request_t *req, void *ud, const char **reason)
{
    (void)ud;
    http_request_body(req, &g_auth_body_len);
    const char *tok = http_request_header(req, "X-Token");
    if (tok && strcmp(tok, "good") == 0)
        return 0;
    if (tok && strcmp(tok, "down") == 0) {
        *reason = "token store down";
        return -EAGAIN;
    }
    if (tok && strcmp(tok, "io") == 0) {
        *reason = "token store broken";
        return -EIO;
    }
    *reason = "bad token";
    return -EACCES;
}

static unsigned sick(void *ud, json_t **body)
{
    (void)ud;
    *body = json_pack("{s:s, s:s}", "status", "unavailable", "redis", "down");
    return 503;
}

/* ---- fixture ---------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    log_init("test", LOG_LEVEL_ERROR, 2);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_reg = metrics_registry_new();
    http_server_opts_t o = {.listen = "127.0.0.1:0",
                            .threads = 4,
                            .max_body = MAX_BODY,
                            .max_connections = 64,
                            .timeout_s = 10,
                            .metric_prefix = "test",
                            .metrics = g_reg};
    g_srv = http_server_new(&o);
    if (!g_srv)
        return -1;
    static const struct {
        const char *method, *pattern;
        http_handler_fn fn;
        unsigned flags;
    } routes[] = {
        {"GET", "/items/{id}", h_item, 0},
        {"DELETE", "/items/{id}", h_delete, 0},
        {"GET", "/items/{id}/tags/{tag}", h_tag, 0},
        {"POST", "/items", h_create, 0},
        {"POST", "/secure", h_secure, HTTP_ROUTE_AUTH},
        {"GET", "/forgot", h_forgot, 0},
        {"GET", "/query", h_query, 0},
        {"GET", "/header", h_header, 0},
        {"GET", "/empty", h_empty, 0},
        {"GET", "/", h_empty, 0},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (http_server_route(g_srv, routes[i].method, routes[i].pattern, routes[i].fn, NULL,
                              routes[i].flags) != 0)
            return -1;
    }
    http_server_set_auth(g_srv, auth, NULL);
    if (http_server_start(g_srv) != 0)
        return -1;
    g_port = http_server_port(g_srv);
    return g_port ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    http_server_stop(g_srv);
    http_server_stop(g_srv); /* idempotent */
    http_server_free(g_srv);
    http_server_free(NULL);
    metrics_registry_free(g_reg);
    curl_global_cleanup();
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_route_validation(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    http_server_opts_t o = {.listen = "127.0.0.1:0", .threads = 1, .metrics = reg};
    http_server_t *s = http_server_new(&o);
    assert_non_null(s);
    assert_int_equal(http_server_route(s, "GET", "noslash", h_empty, NULL, 0), -EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/a/{}", h_empty, NULL, 0), -EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/a/{x", h_empty, NULL, 0), -EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/a/{x}/{x}", h_empty, NULL, 0), -EINVAL);
    assert_int_equal(http_server_route(s, "", "/a", h_empty, NULL, 0), -EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/a", NULL, NULL, 0), -EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/a/{x}", h_empty, NULL, 0), 0);
    assert_int_equal(http_server_route(s, "GET", "/a/{x}", h_empty, NULL, 0), -EINVAL);
    assert_int_equal(http_server_route(s, "GET", "/metrics", h_empty, NULL, 0), -EINVAL);
    http_server_free(s); /* never started */
    metrics_registry_free(reg);
}

static void test_start_errors(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    char taken[64];
    snprintf(taken, sizeof(taken), "127.0.0.1:%u", (unsigned)g_port);
    const char *bad[] = {"nonsense", "127.0.0.1:", "127.0.0.1:99999",
                         "::1:80",   "[::1:80",    "127.0.0.1:-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http_server_opts_t o = {.listen = bad[i], .threads = 1, .metrics = reg};
        http_server_t *s = http_server_new(&o);
        assert_non_null(s);
        assert_int_equal(http_server_start(s), -EINVAL);
        http_server_free(s);
    }
    http_server_opts_t o = {.listen = taken, .threads = 1, .metrics = reg};
    http_server_t *s = http_server_new(&o);
    assert_int_equal(http_server_start(s), -EADDRINUSE);
    http_server_free(s);

    o.listen = ":0"; /* all interfaces, ephemeral port */
    s = http_server_new(&o);
    assert_int_equal(http_server_start(s), 0);
    assert_true(http_server_port(s) > 0);
    http_server_free(s); /* stops it */

    http_server_opts_t none = {.listen = NULL, .metrics = reg};
    assert_null(http_server_new(&none));
    metrics_registry_free(reg);
}

static void test_routing_and_params(void **state)
{
    (void)state;
    resp_t r;
    assert_int_equal(get("/items/42?x=a%20b", &r), 200);
    assert_string_equal(r.content_type, "application/json");
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "42");
    assert_string_equal(json_string_value(json_object_get(j, "x")), "a b");
    assert_string_equal(json_string_value(json_object_get(j, "route")), "/items/{id}");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/items/42");
    assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
    assert_true(strncmp(json_string_value(json_object_get(j, "peer")), "127.0.0.1:", 10) == 0);
    json_decref(j);
    resp_free(&r);

    assert_int_equal(get("/items/7/tags/blue", &r), 200);
    assert_string_equal(r.body, "{\"id\":\"7\",\"tag\":\"blue\"}");
    resp_free(&r);

    assert_int_equal(request("DELETE", "/items/9", NULL, 0, false, NULL, &r), 204);
    assert_int_equal(r.len, 0);
    resp_free(&r);

    assert_int_equal(get("/empty", &r), 200);
    assert_string_equal(r.body, "{}");
    resp_free(&r);
    assert_int_equal(get("/", &r), 200);
    resp_free(&r);
}

static void test_not_found_and_method(void **state)
{
    (void)state;
    resp_t r;
    get("/nope", &r);
    expect_error(&r, 404, "not_found");
    resp_free(&r);
    get("/items/1/extra", &r); /* segment count must match */
    expect_error(&r, 404, "not_found");
    resp_free(&r);
    get("/items/", &r); /* a parameter never matches an empty segment */
    expect_error(&r, 404, "not_found");
    resp_free(&r);

    request("PUT", "/items/1", NULL, 0, false, NULL, &r);
    expect_error(&r, 405, "method_not_allowed");
    assert_string_equal(r.allow, "GET, DELETE");
    resp_free(&r);
    request("POST", "/metrics", NULL, 0, false, NULL, &r);
    expect_error(&r, 405, "method_not_allowed");
    assert_string_equal(r.allow, "GET");
    resp_free(&r);
}

static void test_query_and_headers(void **state)
{
    (void)state;
    resp_t r;
    assert_int_equal(get("/query?a=1&flag&b=x%26y&a=2", &r), 200);
    assert_string_equal(r.body, "[[\"a\",\"1\"],[\"flag\",\"\"],[\"b\",\"x&y\"],[\"a\",\"2\"]]");
    resp_free(&r);
    assert_int_equal(get("/query", &r), 200);
    assert_string_equal(r.body, "[]");
    resp_free(&r);

    static const char *const h[] = {"X-Probe: hello", NULL};
    assert_int_equal(request("GET", "/header", NULL, 0, false, h, &r), 200);
    assert_string_equal(r.body, "{\"probe\":\"hello\"}");
    resp_free(&r);
    assert_int_equal(get("/header", &r), 200);
    assert_string_equal(r.body, "{\"probe\":null}");
    resp_free(&r);
}

static void test_json_body_errors(void **state)
{
    (void)state;
    resp_t r;
    post_json("/items", "{bad", &r);
    const char *m = expect_error(&r, 400, "invalid_json");
    assert_non_null(strstr(m, "line 1"));
    assert_non_null(strstr(m, "column"));
    resp_free(&r);

    post_json("/items", "{\n  \"name\": \"a\",\n  oops\n}", &r);
    m = expect_error(&r, 400, "invalid_json");
    assert_non_null(strstr(m, "line 3"));
    resp_free(&r);

    post_json("/items", "[1,2]", &r);
    expect_error(&r, 400, "invalid_body");
    resp_free(&r);

    request("POST", "/items", NULL, 0, false, NULL, &r);
    expect_error(&r, 400, "invalid_json");
    resp_free(&r);

    static const char *const text[] = {"Content-Type: text/plain", NULL};
    request("POST", "/items", "{}", 2, false, text, &r);
    expect_error(&r, 415, "unsupported_media_type");
    resp_free(&r);

    static const char *const utf8[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};
    const char *ok = "{\"name\":\"a\",\"port\":80}";
    assert_int_equal(request("POST", "/items", ok, strlen(ok), false, utf8, &r), 201);
    resp_free(&r);
}

static void test_field_helpers(void **state)
{
    (void)state;
    resp_t r;
    post_json("/items", "{\"name\":\"a\"}", &r);
    assert_string_equal(expect_error(&r, 400, "missing_field"), "field 'port' is required");
    resp_free(&r);

    post_json("/items", "{\"name\":\"a\",\"port\":70000}", &r);
    assert_string_equal(expect_error(&r, 400, "invalid_field"),
                        "field 'port' must be an integer between 1 and 65535");
    resp_free(&r);

    post_json("/items", "{\"name\":\"a\",\"port\":\"80\"}", &r);
    expect_error(&r, 400, "invalid_field");
    resp_free(&r);

    post_json("/items", "{\"name\":5,\"port\":80}", &r);
    assert_string_equal(expect_error(&r, 400, "invalid_field"), "field 'name' must be a string");
    resp_free(&r);

    post_json("/items", "{\"name\":\"this-name-is-far-too-long\",\"port\":80}", &r);
    expect_error(&r, 400, "invalid_field");
    resp_free(&r);

    post_json("/items", "{\"name\":\"a\\u0000b\",\"port\":80}", &r);
    expect_error(&r, 400, "invalid_json"); /* jansson refuses NUL characters */
    resp_free(&r);

    post_json("/items", "{\"port\":80}", &r);
    assert_string_equal(expect_error(&r, 400, "missing_field"), "field 'name' is required");
    resp_free(&r);

    assert_int_equal(post_json("/items", "{\"name\":\"web\",\"port\":8080}", &r), 201);
    assert_string_equal(r.body, "{\"name\":\"web\",\"port\":8080,\"note\":\"default\"}");
    resp_free(&r);
    assert_int_equal(post_json("/items", "{\"name\":\"web\",\"port\":1,\"note\":\"n\"}", &r), 201);
    assert_string_equal(r.body, "{\"name\":\"web\",\"port\":1,\"note\":\"n\"}");
    resp_free(&r);
}

static void test_body_limit_content_length(void **state)
{
    (void)state;
    /* exactly max_body is accepted (and reaches the JSON parser) */
    char *body = malloc(MAX_BODY + 2);
    memset(body, ' ', MAX_BODY + 1);
    memcpy(body, "{\"name\":\"a\",\"port\":80}", 22);
    body[MAX_BODY + 1] = '\0';
    resp_t r;
    static const char *const h[] = {"Content-Type: application/json", NULL};
    assert_int_equal(request("POST", "/items", body, MAX_BODY, false, h, &r), 201);
    resp_free(&r);

    /* one byte more is refused before the body is read (client waits for 100-continue) */
    static const char *const expect[] = {"Content-Type: application/json", "Expect: 100-continue",
                                         NULL};
    request("POST", "/items", body, MAX_BODY + 1, false, expect, &r);
    expect_error(&r, 413, "body_too_large");
    assert_string_equal(r.connection, "close");
    resp_free(&r);
    free(body);

    /* the refusal does not wait for a body that never comes, and closes the connection */
    bool closed = false;
    const char *out = raw_exchange(g_port,
                                   "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                   "application/json\r\nContent-Length: 10000000\r\n\r\n",
                                   &closed);
    assert_non_null(strstr(out, "HTTP/1.1 413"));
    assert_non_null(strstr(out, "body_too_large"));
    assert_true(closed);

    /* an auth route refuses oversized bodies before the authenticator runs */
    g_auth_body_len = 12345;
    out = raw_exchange(
        g_port, "POST /secure HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", &closed);
    assert_non_null(strstr(out, "HTTP/1.1 413"));
    assert_int_equal(g_auth_body_len, 12345);
}

static void test_body_limit_chunked(void **state)
{
    (void)state;
    static const char *const h[] = {"Content-Type: application/json", NULL};
    char *big = malloc(3 * MAX_BODY);
    memset(big, ' ', 3 * MAX_BODY);
    memcpy(big, "{\"name\":\"a\",\"port\":80}", 22);
    resp_t r;
    request("POST", "/items", big, 3 * MAX_BODY, true, h, &r);
    expect_error(&r, 413, "body_too_large");
    resp_free(&r);

    /* within the limit, chunked bodies are assembled across calls */
    assert_int_equal(request("POST", "/items", big, MAX_BODY - 10, true, h, &r), 201);
    resp_free(&r);

    /* an endless stream is cut off instead of being read forever */
    bool closed = false;
    char *flood = malloc(200 * 1024);
    size_t off = (size_t)snprintf(flood, 200 * 1024,
                                  "POST /items HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                  "chunked\r\n\r\n");
    while (off + 1100 < 200 * 1024) {
        off += (size_t)snprintf(flood + off, 16, "400\r\n");
        memset(flood + off, 'a', 1024);
        off += 1024;
        memcpy(flood + off, "\r\n", 2);
        off += 2;
    }
    flood[off] = '\0';
    raw_exchange(g_port, flood, &closed);
    assert_true(closed);
    free(flood);
    free(big);

    /* still serving */
    assert_int_equal(get("/health", &r), 200);
    resp_free(&r);
}

static void test_auth(void **state)
{
    (void)state;
    resp_t r;
    const char *body = "{\"hello\":1}";
    static const char *const none[] = {NULL};
    request("POST", "/secure", body, strlen(body), false, none, &r);
    assert_string_equal(expect_error(&r, 401, "unauthorized"), "bad token");
    resp_free(&r);

    static const char *const down[] = {"X-Token: down", NULL};
    request("POST", "/secure", body, strlen(body), false, down, &r);
    expect_error(&r, 503, "unavailable");
    resp_free(&r);
    static const char *const io[] = {"X-Token: io", NULL};
    request("POST", "/secure", body, strlen(body), false, io, &r);
    expect_error(&r, 503, "unavailable");
    resp_free(&r);

    static const char *const good[] = {"X-Token: good", NULL};
    g_auth_body_len = 0;
    assert_int_equal(request("POST", "/secure", body, strlen(body), false, good, &r), 200);
    assert_int_equal(g_auth_body_len, strlen(body)); /* the authenticator saw the body */
    assert_string_equal(r.body, "{\"body_len\":11}");
    resp_free(&r);

    /* chunked body, complete before the authenticator runs */
    g_auth_body_len = 0;
    assert_int_equal(request("POST", "/secure", body, strlen(body), true, good, &r), 200);
    assert_int_equal(g_auth_body_len, strlen(body));
    resp_free(&r);
}

static void test_handler_without_answer(void **state)
{
    (void)state;
    resp_t r;
    get("/forgot", &r);
    expect_error(&r, 500, "internal");
    resp_free(&r);
}

static void test_health(void **state)
{
    (void)state;
    resp_t r;
    assert_int_equal(get("/health", &r), 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    assert_string_equal(r.content_type, "application/json");
    resp_free(&r);

    http_server_set_health(g_srv, sick, NULL);
    assert_int_equal(get("/health", &r), 503);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "unavailable");
    assert_string_equal(json_string_value(json_object_get(j, "redis")), "down");
    json_decref(j);
    resp_free(&r);
    http_server_set_health(g_srv, NULL, NULL);
}

static void test_metrics_endpoint(void **state)
{
    (void)state;
    resp_t r;
    get("/items/5", &r);
    resp_free(&r);
    get("/not-here", &r);
    resp_free(&r);
    assert_int_equal(get("/metrics", &r), 200);
    assert_string_equal(r.content_type, "text/plain; version=0.0.4");
    const char *want[] = {
        "# TYPE test_http_requests_total counter\n",
        "test_http_requests_total{route=\"/items/{id}\",method=\"GET\",code=\"200\"} ",
        "test_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} ",
        "test_http_requests_total{route=\"unmatched\",method=\"PUT\",code=\"405\"} ",
        "test_http_requests_total{route=\"/items\",method=\"POST\",code=\"413\"} ",
        "test_http_requests_total{route=\"/secure\",method=\"POST\",code=\"401\"} ",
        "test_http_requests_total{route=\"/forgot\",method=\"GET\",code=\"500\"} ",
        "# TYPE test_http_request_duration_seconds histogram\n",
        "test_http_request_duration_seconds_bucket{route=\"/items/{id}\",le=\"+Inf\"} ",
        "test_http_request_duration_seconds_count{route=\"unmatched\"} ",
        "# TYPE test_http_rejected_total counter\n",
        "test_http_rejected_total{reason=\"connection_limit\"} 0\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(r.body, want[i]))
            fail_msg("missing %s", want[i]);
    }
    /* 413s so far: curl and raw with Content-Length (3), chunked (2) */
    const char *rej = strstr(r.body, "test_http_rejected_total{reason=\"body_too_large\"} ");
    assert_non_null(rej);
    assert_true(atoi(rej + strlen("test_http_rejected_total{reason=\"body_too_large\"} ")) >= 4);
    /* one HELP per family */
    const char *first = strstr(r.body, "# HELP test_http_requests_total");
    assert_null(strstr(first + 1, "# HELP test_http_requests_total"));
    resp_free(&r);
}

static void test_still_serving_after_garbage(void **state)
{
    (void)state;
    bool closed = false;
    const char *out = raw_exchange(g_port, "GARBAGE\r\n\r\n", &closed);
    assert_true(closed);
    out = raw_exchange(g_port, "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                       &closed);
    assert_true(closed);
    out = raw_exchange(g_port, "GET /items/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                       &closed);
    assert_non_null(strstr(out, "HTTP/1.1 "));
    resp_t r;
    assert_int_equal(get("/health", &r), 200);
    resp_free(&r);
    assert_int_equal(get("/items/1", &r), 200);
    resp_free(&r);
}

#define CLIENTS  8
#define REQUESTS 25

static void *client(void *arg)
{
    int id = (int)(intptr_t)arg;
    int ok = 0;
    for (int i = 0; i < REQUESTS; i++) {
        char path[64], want[64];
        snprintf(path, sizeof(path), "/items/%d-%d?x=%d", id, i, i);
        snprintf(want, sizeof(want), "\"id\":\"%d-%d\"", id, i);
        resp_t r;
        if (get(path, &r) == 200 && strstr(r.body, want))
            ok++;
        resp_free(&r);
        char body[80];
        snprintf(body, sizeof(body), "{\"name\":\"c%d\",\"port\":%d}", id, i + 1);
        if (post_json("/items", body, &r) == 201)
            ok++;
        resp_free(&r);
    }
    return (void *)(intptr_t)ok;
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, client, (void *)(intptr_t)i), 0);
    for (int i = 0; i < CLIENTS; i++) {
        void *ok = NULL;
        pthread_join(t[i], &ok);
        assert_int_equal((int)(intptr_t)ok, 2 * REQUESTS);
    }
}

static int connect_idle(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void wait_gauge(metrics_gauge_t *g, double want)
{
    for (int i = 0; i < 500 && metrics_gauge_value(g) != want; i++)
        usleep(10000);
    assert_true(metrics_gauge_value(g) == want);
}

static void test_connection_limit(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    http_server_opts_t o = {.listen = "127.0.0.1:0",
                            .threads = 2,
                            .max_body = 1024,
                            .max_connections = 2,
                            .timeout_s = 10,
                            .metric_prefix = "lim",
                            .metrics = reg};
    http_server_t *s = http_server_new(&o);
    assert_int_equal(http_server_start(s), 0);
    uint16_t port = http_server_port(s);
    metrics_gauge_t *open_conns =
        metrics_gauge(reg, "lim_http_connections", "Open HTTP connections", NULL);
    int a = connect_idle(port);
    int b = connect_idle(port);
    wait_gauge(open_conns, 2);

    bool closed = false;
    const char *out = raw_exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", &closed);
    assert_true(closed);
    assert_string_equal(out, "");

    close(a);
    wait_gauge(open_conns, 1);
    out = raw_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                       &closed);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    assert_non_null(strstr(out, "lim_http_rejected_total{reason=\"connection_limit\"} 1\n"));
    close(b);
    http_server_free(s);
    metrics_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_validation),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_routing_and_params),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_query_and_headers),
        cmocka_unit_test(test_json_body_errors),
        cmocka_unit_test(test_field_helpers),
        cmocka_unit_test(test_body_limit_content_length),
        cmocka_unit_test(test_body_limit_chunked),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_handler_without_answer),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_metrics_endpoint),
        cmocka_unit_test(test_still_serving_after_garbage),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_connection_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
