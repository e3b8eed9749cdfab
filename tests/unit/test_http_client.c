/* Unit tests for common/http_client.c: ordinary exchanges against the tree's real HTTP server
 * (common/http.c on libmicrohttpd), and broken or hostile answers from a scripted raw socket
 * server: chunked bodies, early close, oversized heads and bodies, silence (deadline),
 * garbage status lines, refused connections and bad addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/http.h"
#include "common/http_client.h"
#include "common/metrics.h"

/* ---- a real server ---------------------------------------------------------------------- */

static void echo(http_request_t *req, void *ud)
{
    (void)ud;
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    const char *x = http_request_header(req, "X-Test");
    json_t *o = json_pack("{s:s, s:s, s:s%, s:s}", "method", http_request_method(req), "path",
                          http_request_path(req), "body", body ? body : "", len, "x", x ? x : "");
    const char *q = http_request_query(req, "q");
    if (q)
        json_object_set_new(o, "q", json_string(q));
    http_respond_json(req, 201, o);
}

static void test_real_server(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    http_server_opts_t o = {.listen = "127.0.0.1:0",
                            .threads = 1,
                            .max_body = 1 << 20,
                            .max_connections = 16,
                            .timeout_s = 5,
                            .metric_prefix = "t",
                            .metrics = reg};
    http_server_t *srv = http_server_new(&o);
    assert_non_null(srv);
    assert_int_equal(http_server_route(srv, "POST", "/echo", echo, NULL, 0), 0);
    assert_int_equal(http_server_start(srv), 0);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)http_server_port(srv));

    http_client_header_t h[] = {{"X-Test", "yes"}};
    const char *body = "{\"k\":1}";
    http_client_request_t req = {.method = "POST",
                                 .base = base,
                                 .target = "/echo?q=a%20b",
                                 .headers = h,
                                 .nheaders = 1,
                                 .body = body,
                                 .body_len = strlen(body),
                                 .timeout_ms = 2000,
                                 .max_body = 4096};
    int status = 0;
    strbuf_t out = STRBUF_INIT;
    assert_int_equal(http_client_request(&req, &status, &out), 0);
    assert_int_equal(status, 201);
    json_t *j = json_loads(out.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(j, "path")), "/echo");
    assert_string_equal(json_string_value(json_object_get(j, "body")), body);
    assert_string_equal(json_string_value(json_object_get(j, "x")), "yes");
    assert_string_equal(json_string_value(json_object_get(j, "q")), "a b");
    json_decref(j);
    strbuf_dispose(&out);

    /* no scheme, a 404 with its JSON error body */
    snprintf(base, sizeof(base), "127.0.0.1:%u", (unsigned)http_server_port(srv));
    req = (http_client_request_t){
        .method = "GET", .base = base, .target = "/nowhere", .timeout_ms = 2000, .max_body = 4096};
    assert_int_equal(http_client_request(&req, &status, &out), 0);
    assert_int_equal(status, 404);
    assert_non_null(strstr(out.data, "not_found"));
    strbuf_dispose(&out);

    /* an answer over max_body */
    req.max_body = 4;
    assert_int_equal(http_client_request(&req, &status, &out), -EMSGSIZE);
    strbuf_dispose(&out);
    http_server_free(srv);
    metrics_registry_free(reg);
}

/* ---- a scripted raw server -------------------------------------------------------------- */

typedef struct {
    int lfd;
    uint16_t port;
    const char *answer; /* sent after the request head arrived; NULL: stay silent */
    size_t answer_len;
    int hold_ms; /* keep the connection open this long after answering */
    char request[2048];
    pthread_t thread;
} raw_t;

static void *raw_main(void *arg)
{
    raw_t *r = arg;
    int fd = accept(r->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t n = 0;
    while (n + 1 < sizeof(r->request)) {
        ssize_t k = read(fd, r->request + n, sizeof(r->request) - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        r->request[n] = '\0';
        if (strstr(r->request, "\r\n\r\n"))
            break;
    }
    if (r->answer) {
        size_t off = 0;
        while (off < r->answer_len) {
            ssize_t w = write(fd, r->answer + off, r->answer_len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
    }
    if (r->hold_ms > 0) {
        struct timespec ts = {r->hold_ms / 1000, (long)(r->hold_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    close(fd);
    return NULL;
}

static void raw_start(raw_t *r, const char *answer, size_t len, int hold_ms)
{
    memset(r, 0, sizeof(*r));
    r->answer = answer;
    r->answer_len = len;
    r->hold_ms = hold_ms;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(r->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &al), 0);
    r->port = ntohs(a.sin_port);
    assert_int_equal(listen(r->lfd, 4), 0);
    assert_int_equal(pthread_create(&r->thread, NULL, raw_main, r), 0);
}

static void raw_stop(raw_t *r)
{
    pthread_join(r->thread, NULL);
    close(r->lfd);
}

/* One GET against a scripted answer; returns the client's result. */
static double g_took; /* seconds the last client call took */

static int against(const char *answer, int hold_ms, int timeout_ms, size_t max_body, int *status,
                   strbuf_t *out, raw_t *r)
{
    raw_start(r, answer, answer ? strlen(answer) : 0, hold_ms);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)r->port);
    http_client_request_t req = {.method = "GET",
                                 .base = base,
                                 .target = "/x",
                                 .timeout_ms = timeout_ms,
                                 .max_body = max_body};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = http_client_request(&req, status, out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    g_took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    raw_stop(r);
    return rc;
}

static void test_scripted_answers(void **state)
{
    (void)state;
    raw_t r;
    int status = 0;
    strbuf_t out = STRBUF_INIT;

    /* chunked, with an extension and a trailer; the request said Connection: close */
    assert_int_equal(against("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-T: 1\r\n\r\n",
                             0, 2000, 100, &status, &out, &r),
                     0);
    assert_int_equal(status, 200);
    assert_string_equal(out.data, "hello, world");
    assert_non_null(strstr(r.request, "GET /x HTTP/1.1\r\n"));
    assert_non_null(strstr(r.request, "Connection: close\r\n"));
    strbuf_dispose(&out);

    /* Content-Length satisfied while the server keeps the connection open for 3 s: the
     * client returns without waiting for the close */
    assert_int_equal(against("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA", 3000, 5000,
                             100, &status, &out, &r),
                     0);
    assert_string_equal(out.data, "abc");
    assert_true(g_took < 2.5);
    strbuf_dispose(&out);

    /* no length: the body runs to the close */
    assert_int_equal(against("HTTP/1.0 204 No Content\r\n\r\nxyz", 0, 2000, 100, &status, &out, &r),
                     0);
    assert_int_equal(status, 204);
    assert_string_equal(out.data, "xyz");
    strbuf_dispose(&out);

    /* closed before the promised body */
    assert_int_equal(against("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, 2000, 100,
                             &status, &out, &r),
                     -EPROTO);
    /* a promised body over the limit is refused before it is read */
    assert_int_equal(against("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", 0, 2000, 100,
                             &status, &out, &r),
                     -EMSGSIZE);
    /* broken chunking, garbage status lines, nothing at all */
    assert_int_equal(against("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 2000,
                             100, &status, &out, &r),
                     -EPROTO);
    assert_int_equal(against("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0,
                             2000, 100, &status, &out, &r),
                     -EPROTO);
    assert_int_equal(against("SSH-2.0-OpenSSH\r\n\r\n", 0, 2000, 100, &status, &out, &r), -EPROTO);
    assert_int_equal(against("HTTP/1.1 2x0 OK\r\n\r\n", 0, 2000, 100, &status, &out, &r), -EPROTO);
    assert_int_equal(against("", 0, 2000, 100, &status, &out, &r), -EPROTO);
    assert_int_equal(
        against("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 2000, 100, &status, &out, &r),
        -EPROTO);
    assert_null(out.data);

    /* a head that never ends is cut at the limit */
    size_t big = HTTP_CLIENT_HEADERS_MAX + 4096;
    char *head = malloc(big + 1);
    memcpy(head, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(head + 20, 'a', big - 20);
    head[big] = '\0';
    assert_int_equal(against(head, 0, 2000, 100, &status, &out, &r), -EMSGSIZE);
    free(head);

    /* a silent server that holds the connection for 3 s: the 300 ms deadline ends the call */
    assert_int_equal(against(NULL, 3000, 300, 100, &status, &out, &r), -ETIMEDOUT);
    assert_true(g_took >= 0.29 && g_took < 2.5);
}

static void test_bad_requests_and_addresses(void **state)
{
    (void)state;
    int status = 0;
    strbuf_t out = STRBUF_INIT;
    http_client_request_t req = {.method = "GET", .target = "/", .timeout_ms = 500, .max_body = 10};
    const char *bad[] = {"",     "http://", "https://127.0.0.1:1", "127.0.0.1:", "127.0.0.1:8x",
                         "[::1", "[::1]x",  "host/path:80"};
    const int want[] = {-EINVAL, -EINVAL, -EPROTONOSUPPORT, -EINVAL,
                        -EINVAL, -EINVAL, -EINVAL,          -EINVAL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        req.base = bad[i];
        assert_int_equal(http_client_request(&req, &status, &out), want[i]);
    }
    /* header injection is refused before anything is sent */
    req.base = "127.0.0.1:1";
    http_client_header_t inj[] = {{"X", "a\r\nEvil: 1"}};
    req.headers = inj;
    req.nheaders = 1;
    assert_int_equal(http_client_request(&req, &status, &out), -EINVAL);
    req.nheaders = 0;
    req.target = "/a b";
    assert_int_equal(http_client_request(&req, &status, &out), -EINVAL);
    req.target = "nolead";
    assert_int_equal(http_client_request(&req, &status, &out), -EINVAL);

    /* nobody listening on a port that was just freed */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t al = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    char base[64];
    snprintf(base, sizeof(base), "[::ffff:127.0.0.1]:%u", (unsigned)ntohs(a.sin_port));
    req.base = base;
    req.target = "/";
    int rc = http_client_request(&req, &status, &out);
    assert_true(rc == -ECONNREFUSED || rc == -EHOSTUNREACH);
    assert_null(out.data);
}

static void test_dechunk(void **state)
{
    (void)state;
    char a[] = "3\r\nabc\r\n0\r\n\r\n";
    assert_int_equal(http_client_dechunk(a, strlen(a)), 3);
    assert_memory_equal(a, "abc", 3);
    char b[] = "3\nabc\n0\n\n"; /* bare LF line ends */
    assert_int_equal(http_client_dechunk(b, strlen(b)), 3);
    char c[] = "ffffffffffffffffff\r\n";
    assert_int_equal(http_client_dechunk(c, strlen(c)), -EPROTO);
    char d[] = "5\r\nabc\r\n0\r\n\r\n"; /* size runs past the chunk end */
    assert_int_equal(http_client_dechunk(d, strlen(d)), -EPROTO);
    char e[] = "";
    assert_int_equal(http_client_dechunk(e, 0), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_server),
        cmocka_unit_test(test_scripted_answers),
        cmocka_unit_test(test_bad_requests_and_addresses),
        cmocka_unit_test(test_dechunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
