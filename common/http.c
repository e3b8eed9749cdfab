/* http: the shared HTTP server on libmicrohttpd (see http.h for the contract).
 *
 * One http_request_t lives in each MHD request's con_cls, from the first access-handler
 * call to MHD's request-completed notification, where the request is counted, timed, logged
 * and freed. The access handler accumulates the body, then routes, authenticates and runs
 * the handler in its last call (upload_data_size == 0).
 *
 * Connection limit: MHD refuses connections above MHD_OPTION_CONNECTION_LIMIT silently and
 * splits that limit between the pool threads, so it cannot be counted. The limit is
 * therefore enforced globally in the accept-policy callback against the number of open
 * connections (tracked with MHD_OPTION_NOTIFY_CONNECTION), which counts each refusal;
 * MHD's own limit is set to max_connections per worker as a backstop that never fires
 * first. Accepts racing on several workers may overshoot by at most threads - 1. */
#include "common/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

#define HTTP_ROUTES_MAX   128
#define HTTP_SEGMENTS_MAX 32
#define HTTP_HEADERS_MAX  16
#define DEFAULT_THREADS   1
#define DEFAULT_MAX_BODY  (1024 * 1024)
#define DEFAULT_MAX_CONNS 1024
#define DEFAULT_PREFIX    "rampart"
#define DRAIN_MIN         (64 * 1024)
#define UNMATCHED         "unmatched"

struct route {
    char *method;
    char *pattern;
    size_t nsegs;
    char *segs[HTTP_SEGMENTS_MAX]; /* literal text, or the parameter name when is_param */
    bool is_param[HTTP_SEGMENTS_MAX];
    http_handler_fn fn;
    void *ud;
    unsigned flags;
    metrics_histogram_t *duration;
};

struct http_server {
    char *listen;
    char *prefix;
    unsigned threads;
    size_t max_body;
    unsigned max_connections;
    unsigned timeout_s;
    metrics_registry_t *metrics;
    struct MHD_Daemon *daemon;
    uint16_t port;

    struct route *routes[HTTP_ROUTES_MAX];
    size_t nroutes;
    http_auth_fn auth;
    void *auth_ud;
    http_health_fn health;
    void *health_ud;

    atomic_uint open_connections;
    char *m_requests_name;
    metrics_counter_t *m_rejected_body;
    metrics_counter_t *m_rejected_conn;
    metrics_gauge_t *m_connections;
    metrics_histogram_t *m_unmatched_duration;
};

typedef struct {
    char *name;
    char *value;
} header_t;

struct http_request {
    http_server_t *srv;
    struct MHD_Connection *conn;
    char *method;
    char *path;
    const struct route *route;
    struct timespec started;
    char peer[INET6_ADDRSTRLEN + 10];

    char *body;
    size_t body_len;
    size_t body_cap;
    bool first_call_done;
    bool too_large;
    size_t drained; /* bytes discarded after the body got too large */

    char *params[HTTP_SEGMENTS_MAX];
    http_kv_t *query;
    size_t nquery;
    bool query_loaded;

    header_t headers[HTTP_HEADERS_MAX];
    size_t nheaders;
    bool close_after;
    bool responded;
    bool queue_failed;
    unsigned status;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static double elapsed_s(const struct timespec *from)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - from->tv_sec) + (double)(now.tv_nsec - from->tv_nsec) / 1e9;
}

/* Methods used as a metric label; anything else is "other" to bound the label set. */
static const char *method_label(const char *m)
{
    static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(m, known[i]) == 0)
            return known[i];
    }
    return "other";
}

/* A copy of s that is valid UTF-8 for jansson: bytes of invalid sequences become '?'. */
static json_t *json_string_lossy(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    j = json_string(copy);
    free(copy);
    return j;
}

/* ---- responses -------------------------------------------------------------------------- */

void http_response_header(http_request_t *req, const char *name, const char *value)
{
    if (req->responded || req->nheaders >= HTTP_HEADERS_MAX) {
        LOG_WARN("http_header_dropped", "route=%s header=%s",
                 req->route ? req->route->pattern : UNMATCHED, name);
        return;
    }
    req->headers[req->nheaders].name = xstrdup(name);
    req->headers[req->nheaders].value = xstrdup(value);
    req->nheaders++;
}

void http_respond_raw(http_request_t *req, unsigned status, const char *content_type,
                      const void *body, size_t len)
{
    if (req->responded) {
        LOG_WARN("http_double_response", "route=%s status=%u",
                 req->route ? req->route->pattern : UNMATCHED, status);
        return;
    }
    req->responded = true;
    req->status = status;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)(body && len ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        req->queue_failed = true;
        return;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (size_t i = 0; i < req->nheaders; i++)
        MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
    if (req->close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    if (MHD_queue_response(req->conn, status, resp) != MHD_YES) {
        req->queue_failed = true;
        LOG_WARN("http_queue_failed", "route=%s status=%u",
                 req->route ? req->route->pattern : UNMATCHED, status);
    }
    MHD_destroy_response(resp);
}

void http_respond_json(http_request_t *req, unsigned status, json_t *body)
{
    if (!body)
        body = json_object();
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!text) {
        static const char fallback[] = "{}";
        http_respond_raw(req, status, "application/json", fallback, sizeof(fallback) - 1);
        return;
    }
    http_respond_raw(req, status, "application/json", text, strlen(text));
    free(text);
}

static void respond_verror(http_request_t *req, unsigned status, const char *code, const char *fmt,
                           va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_t *err = json_object();
    json_object_set_new(err, "code", json_string_lossy(code));
    json_object_set_new(err, "message", json_string_lossy(msg));
    json_t *body = json_object();
    json_object_set_new(body, "error", err);
    http_respond_json(req, status, body);
}

void http_respond_error(http_request_t *req, unsigned status, const char *code, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_verror(req, status, code, fmt, ap);
    va_end(ap);
}

/* ---- request accessors ------------------------------------------------------------------ */

const char *http_request_method(const http_request_t *req)
{
    return req->method;
}

const char *http_request_path(const http_request_t *req)
{
    return req->path;
}

const char *http_request_route(const http_request_t *req)
{
    return req->route ? req->route->pattern : UNMATCHED;
}

const char *http_request_header(const http_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(const http_request_t *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v)
        return v;
    /* A key without '=' has a NULL value in MHD; report it as "". */
    size_t n = 0;
    const http_kv_t *all = http_request_query_all((http_request_t *)req, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].key, name) == 0)
            return all[i].value;
    }
    return NULL;
}

const char *http_request_param(const http_request_t *req, const char *name)
{
    if (!req->route)
        return NULL;
    for (size_t i = 0; i < req->route->nsegs; i++) {
        if (req->route->is_param[i] && strcmp(req->route->segs[i], name) == 0)
            return req->params[i];
    }
    return NULL;
}

const void *http_request_body(const http_request_t *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

const char *http_request_peer(const http_request_t *req)
{
    return req->peer;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    http_request_t *req = cls;
    req->query = xrealloc(req->query, (req->nquery + 1) * sizeof(*req->query));
    req->query[req->nquery].key = key ? key : "";
    req->query[req->nquery].value = value ? value : "";
    req->nquery++;
    return MHD_YES;
}

const http_kv_t *http_request_query_all(http_request_t *req, size_t *n)
{
    if (!req->query_loaded) {
        req->query_loaded = true;
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_query, req);
    }
    *n = req->nquery;
    return req->query;
}

/* ---- JSON bodies and fields ------------------------------------------------------------- */

/* True when the media type (before any ';' parameters) is application/json. */
static bool is_json_type(const char *ct)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    static const char want[] = "application/json";
    return n == sizeof(want) - 1 && strncasecmp(ct, want, n) == 0;
}

json_t *http_request_json(http_request_t *req)
{
    const char *ct = http_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct && !is_json_type(ct)) {
        char q[128];
        http_respond_error(req, 415, "unsupported_media_type",
                           "Content-Type must be application/json, not %s",
                           log_quote(q, sizeof(q), ct));
        return NULL;
    }
    if (req->body_len == 0) {
        http_respond_error(req, 400, "invalid_json", "the body is empty; a JSON object is needed");
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(req->body, req->body_len, 0, &err);
    if (!j) {
        http_respond_error(req, 400, "invalid_json", "malformed JSON at line %d, column %d: %s",
                           err.line, err.column, err.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_respond_error(req, 400, "invalid_body", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* An absent optional field (or JSON null) leaves *out unchanged and returns 0. */
int http_json_string(http_request_t *req, json_t *obj, const char *key, int required,
                     size_t max_len, const char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        http_respond_error(req, 400, "missing_field", "field '%s' is required", key);
        return -EINVAL;
    }
    if (!json_is_string(v)) {
        http_respond_error(req, 400, "invalid_field", "field '%s' must be a string", key);
        return -EINVAL;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (strlen(s) != len) {
        http_respond_error(req, 400, "invalid_field", "field '%s' must not contain NUL characters",
                           key);
        return -EINVAL;
    }
    if (max_len && len > max_len) {
        http_respond_error(req, 400, "invalid_field", "field '%s' must be at most %zu bytes long",
                           key, max_len);
        return -EINVAL;
    }
    *out = s;
    return 0;
}

int http_json_int(http_request_t *req, json_t *obj, const char *key, int required, int64_t min,
                  int64_t max, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        http_respond_error(req, 400, "missing_field", "field '%s' is required", key);
        return -EINVAL;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        http_respond_error(req, 400, "invalid_field",
                           "field '%s' must be an integer between %" PRId64 " and %" PRId64, key,
                           min, max);
        return -EINVAL;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* ---- routing ---------------------------------------------------------------------------- */

/* Splits "/a/b" after the leading '/' into segments; returns the count or -1 when there are
 * more than HTTP_SEGMENTS_MAX. Segments are (start, length) pairs into path. */
static int split_path(const char *path, const char *starts[], size_t lens[])
{
    if (*path == '/')
        path++;
    int n = 0;
    for (;;) {
        if (n >= HTTP_SEGMENTS_MAX)
            return -1;
        size_t l = strcspn(path, "/");
        starts[n] = path;
        lens[n] = l;
        n++;
        if (path[l] == '\0')
            return n;
        path += l + 1;
    }
}

static bool route_matches(const struct route *r, int nsegs, const char *const starts[],
                          const size_t lens[])
{
    if ((size_t)nsegs != r->nsegs)
        return false;
    for (size_t i = 0; i < r->nsegs; i++) {
        if (r->is_param[i]) {
            if (lens[i] == 0)
                return false;
        } else if (strlen(r->segs[i]) != lens[i] || memcmp(r->segs[i], starts[i], lens[i]) != 0) {
            return false;
        }
    }
    return true;
}

static void route_free(struct route *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsegs; i++)
        free(r->segs[i]);
    free(r->method);
    free(r->pattern);
    free(r);
}

static metrics_histogram_t *duration_histogram(http_server_t *srv, const char *route)
{
    char name[160], esc[300], labels[320];
    snprintf(name, sizeof(name), "%s_http_request_duration_seconds", srv->prefix);
    snprintf(labels, sizeof(labels), "route=\"%s\"", metrics_label_escape(esc, sizeof(esc), route));
    return metrics_histogram(srv->metrics, name,
                             "HTTP request duration from the first byte to the response, by route",
                             labels, NULL, 0);
}

static int add_route(http_server_t *srv, const char *method, const char *pattern,
                     http_handler_fn fn, void *ud, unsigned flags)
{
    if (!method || !*method || !pattern || pattern[0] != '/' || !fn || srv->daemon ||
        srv->nroutes >= HTTP_ROUTES_MAX)
        return -EINVAL;
    const char *starts[HTTP_SEGMENTS_MAX];
    size_t lens[HTTP_SEGMENTS_MAX];
    int n = split_path(pattern, starts, lens);
    if (n < 0)
        return -EINVAL;
    struct route *r = xcalloc(1, sizeof(*r));
    r->method = xstrdup(method);
    r->pattern = xstrdup(pattern);
    r->fn = fn;
    r->ud = ud;
    r->flags = flags;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *s = starts[i];
        size_t l = lens[i];
        bool param = l >= 2 && s[0] == '{' && s[l - 1] == '}';
        if (param) {
            s++;
            l -= 2;
        }
        r->segs[i] = xstrndup(s, l);
        r->is_param[i] = param;
        r->nsegs++;
        if ((param && l == 0) || memchr(s, '{', l) || memchr(s, '}', l)) {
            rc = -EINVAL;
            goto cleanup;
        }
        for (int j = 0; param && j < i; j++) {
            if (r->is_param[j] && strcmp(r->segs[j], r->segs[i]) == 0) {
                rc = -EINVAL;
                goto cleanup;
            }
        }
    }
    for (size_t i = 0; i < srv->nroutes; i++) {
        if (strcmp(srv->routes[i]->method, method) == 0 &&
            strcmp(srv->routes[i]->pattern, pattern) == 0) {
            rc = -EINVAL;
            goto cleanup;
        }
    }
    r->duration = duration_histogram(srv, pattern);
    srv->routes[srv->nroutes++] = r;
    return 0;

cleanup:
    route_free(r);
    return rc;
}

int http_server_route(http_server_t *srv, const char *method, const char *pattern,
                      http_handler_fn fn, void *ud, unsigned flags)
{
    return add_route(srv, method, pattern, fn, ud, flags);
}

void http_server_set_auth(http_server_t *srv, http_auth_fn fn, void *ud)
{
    srv->auth = fn;
    srv->auth_ud = ud;
}

void http_server_set_health(http_server_t *srv, http_health_fn fn, void *ud)
{
    srv->health = fn;
    srv->health_ud = ud;
}

/* ---- built-in routes -------------------------------------------------------------------- */

static void h_metrics(http_request_t *req, void *ud)
{
    http_server_t *srv = ud;
    char *text = NULL;
    size_t len = 0;
    metrics_render(srv->metrics, &text, &len);
    http_respond_raw(req, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

static void h_health(http_request_t *req, void *ud)
{
    http_server_t *srv = ud;
    if (!srv->health) {
        http_respond_json(req, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    json_t *body = NULL;
    unsigned status = srv->health(srv->health_ud, &body);
    http_respond_json(req, status, body);
}

/* ---- request lifecycle ------------------------------------------------------------------ */

static void format_peer(http_request_t *req)
{
    snprintf(req->peer, sizeof(req->peer), "unknown");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    char ip[INET6_ADDRSTRLEN];
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        if (inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)))
            snprintf(req->peer, sizeof(req->peer), "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip)))
            snprintf(req->peer, sizeof(req->peer), "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    }
}

static http_request_t *request_new(http_server_t *srv, struct MHD_Connection *conn, const char *url,
                                   const char *method)
{
    http_request_t *req = xcalloc(1, sizeof(*req));
    clock_gettime(CLOCK_MONOTONIC, &req->started);
    req->srv = srv;
    req->conn = conn;
    req->method = xstrdup(method);
    req->path = xstrdup(url);
    format_peer(req);
    return req;
}

static void request_free(http_request_t *req)
{
    for (size_t i = 0; i < HTTP_SEGMENTS_MAX; i++)
        free(req->params[i]);
    for (size_t i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    free(req->query);
    free(req->body);
    free(req->method);
    free(req->path);
    free(req);
}

/* Counts the refusal once, when the body is first known to be too large. */
static void mark_too_large(http_request_t *req)
{
    req->too_large = true;
    metrics_counter_inc(req->srv->m_rejected_body);
}

static void reject_too_large(http_request_t *req)
{
    /* Resolve the route only to label the metrics; the handler never runs. */
    const char *starts[HTTP_SEGMENTS_MAX];
    size_t lens[HTTP_SEGMENTS_MAX];
    int n = split_path(req->path, starts, lens);
    for (size_t i = 0; n > 0 && i < req->srv->nroutes && !req->route; i++) {
        const struct route *r = req->srv->routes[i];
        if (strcmp(r->method, req->method) == 0 && route_matches(r, n, starts, lens))
            req->route = r;
    }
    req->close_after = true;
    http_respond_error(req, 413, "body_too_large", "the request body is larger than %zu bytes",
                       req->srv->max_body);
}

/* Routes, authenticates and runs the handler once the body is complete. */
static void dispatch(http_request_t *req)
{
    http_server_t *srv = req->srv;
    const char *starts[HTTP_SEGMENTS_MAX];
    size_t lens[HTTP_SEGMENTS_MAX];
    int n = split_path(req->path, starts, lens);
    const struct route *path_match = NULL;
    strbuf_t allow = STRBUF_INIT;
    for (size_t i = 0; n > 0 && i < srv->nroutes; i++) {
        const struct route *r = srv->routes[i];
        if (!route_matches(r, n, starts, lens))
            continue;
        if (strcmp(r->method, req->method) == 0) {
            req->route = r;
            break;
        }
        path_match = r;
        /* Allow lists each method once. */
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            const struct route *o = srv->routes[j];
            seen = seen || (strcmp(o->method, r->method) == 0 && route_matches(o, n, starts, lens));
        }
        if (!seen) {
            if (allow.len)
                strbuf_appends(&allow, ", ");
            strbuf_appends(&allow, r->method);
        }
    }
    if (!req->route) {
        if (path_match) {
            http_response_header(req, MHD_HTTP_HEADER_ALLOW, allow.data);
            http_respond_error(req, 405, "method_not_allowed", "%s is not allowed here; use %s",
                               method_label(req->method), allow.data);
        } else {
            char q[160];
            http_respond_error(req, 404, "not_found", "no such resource: %s",
                               log_quote(q, sizeof(q), req->path));
        }
        strbuf_dispose(&allow);
        return;
    }
    strbuf_dispose(&allow);

    const struct route *r = req->route;
    for (size_t i = 0; i < r->nsegs; i++) {
        if (r->is_param[i])
            req->params[i] = xstrndup(starts[i], lens[i]);
    }

    if (r->flags & HTTP_ROUTE_AUTH) {
        const char *reason = NULL;
        int rc = srv->auth ? srv->auth(req, srv->auth_ud, &reason) : -EIO;
        if (!srv->auth)
            reason = "no authenticator configured";
        if (rc == -EACCES) {
            http_respond_error(req, 401, "unauthorized", "%s", reason ? reason : "unauthorized");
            return;
        }
        if (rc < 0) {
            http_respond_error(req, 503, "unavailable", "authentication unavailable: %s",
                               reason ? reason : strerror(-rc));
            return;
        }
        if (req->responded)
            return;
    }

    r->fn(req, r->ud);
    if (!req->responded)
        http_respond_error(req, 500, "internal", "the handler did not answer");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_server_t *srv = cls;
    http_request_t *req = *con_cls;

    if (!req) {
        req = request_new(srv, conn, url, method);
        *con_cls = req;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno == ERANGE || (end && *end == '\0' && v > srv->max_body)) {
                mark_too_large(req);
                reject_too_large(req); /* answered before the body is read */
            }
        }
        return req->queue_failed ? MHD_NO : MHD_YES;
    }

    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->responded || req->too_large) {
            /* Discard what follows an early refusal, up to a bound. */
            req->drained += n;
            return req->drained > (srv->max_body > DRAIN_MIN ? srv->max_body : DRAIN_MIN) ? MHD_NO
                                                                                          : MHD_YES;
        }
        if (n > srv->max_body - req->body_len) {
            /* MHD 0.9.75 cannot queue a response in the middle of an upload: drain a bounded
             * amount and answer 413 at the end, or drop the connection past the bound. */
            mark_too_large(req);
            req->drained = n;
            return MHD_YES;
        }
        if (req->body_len + n + 1 > req->body_cap) {
            size_t cap = req->body_cap ? req->body_cap : 1024;
            while (cap < req->body_len + n + 1)
                cap *= 2;
            req->body = xrealloc(req->body, cap);
            req->body_cap = cap;
        }
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return MHD_YES;
    }

    if (req->responded)
        return req->queue_failed ? MHD_NO : MHD_YES;
    if (req->too_large)
        reject_too_large(req);
    else
        dispatch(req);
    return req->queue_failed ? MHD_NO : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    http_server_t *srv = cls;
    http_request_t *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    double dur = elapsed_s(&req->started);
    const char *route = req->route ? req->route->pattern : UNMATCHED;
    char q[160];
    if (req->status) {
        char esc[300], labels[400];
        snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\",code=\"%u\"",
                 metrics_label_escape(esc, sizeof(esc), route), method_label(req->method),
                 req->status);
        metrics_counter_inc(metrics_counter(srv->metrics, srv->m_requests_name,
                                            "HTTP requests answered, by route, method and status",
                                            labels));
        metrics_histogram_observe(req->route ? req->route->duration : srv->m_unmatched_duration,
                                  dur);
        log_level_t lvl = req->status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG;
        LOG_AT(lvl, "http_request", "method=%s path=%s route=%s status=%u ms=%.3f peer=%s",
               method_label(req->method), log_quote(q, sizeof(q), req->path), route, req->status,
               dur * 1e3, req->peer);
    } else {
        LOG_DEBUG("http_request_aborted", "method=%s path=%s route=%s reason=%d peer=%s",
                  method_label(req->method), log_quote(q, sizeof(q), req->path), route, (int)toe,
                  req->peer);
    }
    request_free(req);
}

/* ---- connection accounting -------------------------------------------------------------- */

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    http_server_t *srv = cls;
    if (atomic_load(&srv->open_connections) >= srv->max_connections) {
        metrics_counter_inc(srv->m_rejected_conn);
        LOG_DEBUG("http_connection_refused", "reason=connection_limit limit=%u",
                  srv->max_connections);
        return MHD_NO;
    }
    return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    (void)socket_context;
    http_server_t *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&srv->open_connections, 1);
        metrics_gauge_add(srv->m_connections, 1);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&srv->open_connections, 1);
        metrics_gauge_add(srv->m_connections, -1);
    }
}

/* ---- lifecycle -------------------------------------------------------------------------- */

http_server_t *http_server_new(const http_server_opts_t *opts)
{
    if (!opts || !opts->listen || !opts->metrics)
        return NULL;
    http_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->listen = xstrdup(opts->listen);
    srv->prefix =
        xstrdup(opts->metric_prefix && *opts->metric_prefix ? opts->metric_prefix : DEFAULT_PREFIX);
    srv->threads = opts->threads ? opts->threads : DEFAULT_THREADS;
    srv->max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    srv->max_connections = opts->max_connections ? opts->max_connections : DEFAULT_MAX_CONNS;
    srv->timeout_s = opts->timeout_s;
    srv->metrics = opts->metrics;
    atomic_init(&srv->open_connections, 0);

    char name[160];
    srv->m_requests_name = xasprintf("%s_http_requests_total", srv->prefix);
    snprintf(name, sizeof(name), "%s_http_rejected_total", srv->prefix);
    static const char rejected_help[] = "HTTP requests and connections refused before routing";
    srv->m_rejected_body =
        metrics_counter(srv->metrics, name, rejected_help, "reason=\"body_too_large\"");
    srv->m_rejected_conn =
        metrics_counter(srv->metrics, name, rejected_help, "reason=\"connection_limit\"");
    snprintf(name, sizeof(name), "%s_http_connections", srv->prefix);
    srv->m_connections = metrics_gauge(srv->metrics, name, "Open HTTP connections", NULL);
    srv->m_unmatched_duration = duration_histogram(srv, UNMATCHED);

    add_route(srv, "GET", "/metrics", h_metrics, srv, 0);
    add_route(srv, "GET", "/health", h_health, srv, 0);
    return srv;
}

void http_server_free(http_server_t *srv)
{
    if (!srv)
        return;
    http_server_stop(srv);
    for (size_t i = 0; i < srv->nroutes; i++)
        route_free(srv->routes[i]);
    free(srv->m_requests_name);
    free(srv->listen);
    free(srv->prefix);
    free(srv);
}

/* Parses "host:port", ":port" or "[v6]:port" into an address. 0 or -EINVAL. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon[1] == '\0')
        return -EINVAL;
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || *end || port > 65535 || colon[1] == '-' || colon[1] == '+')
        return -EINVAL;
    char host[256];
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof(host))
        return -EINVAL;
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    } else if (strchr(host, ':') || strchr(host, '[') || strchr(host, ']')) {
        return -EINVAL;
    }

    memset(ss, 0, sizeof(*ss));
    if (host[0] == '\0') {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        in->sin_port = htons((uint16_t)port);
        *sslen = sizeof(*in);
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    else
        return -EINVAL;
    return 0;
}

/* MHD does not report why it could not start; binding the address ourselves tells. */
static int diagnose_bind(const struct sockaddr_storage *ss, socklen_t sslen)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, (const struct sockaddr *)ss, sslen) < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

int http_server_start(http_server_t *srv)
{
    if (srv->daemon)
        return -EALREADY;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    char q[300];
    if (parse_listen(srv->listen, &ss, &sslen) < 0) {
        LOG_ERROR("http_listen_invalid", "listen=%s", log_quote(q, sizeof(q), srv->listen));
        return -EINVAL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                  : ((struct sockaddr_in6 *)&ss)->sin6_port);
    /* MHD's own limit (split across the pool) stays above ours; see the top of the file. */
    unsigned mhd_limit = (srv->max_connections + 1) * srv->threads;
    srv->daemon = MHD_start_daemon(
        flags, port, on_accept, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, log_bridge_mhd,
        NULL, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        srv->threads, MHD_OPTION_CONNECTION_LIMIT, mhd_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        srv->timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        int rc = diagnose_bind(&ss, sslen);
        LOG_ERROR("http_start_failed", "listen=%s err=%s", log_quote(q, sizeof(q), srv->listen),
                  strerror(-rc));
        return rc;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    LOG_INFO("http_listening", "listen=%s port=%u threads=%u max_connections=%u max_body=%zu",
             log_quote(q, sizeof(q), srv->listen), (unsigned)srv->port, srv->threads,
             srv->max_connections, srv->max_body);
    return 0;
}

uint16_t http_server_port(const http_server_t *srv)
{
    return srv->port;
}

void http_server_stop(http_server_t *srv)
{
    if (!srv || !srv->daemon)
        return;
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    LOG_INFO("http_stopped", "port=%u", (unsigned)srv->port);
}
