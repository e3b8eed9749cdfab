/* http: HTTP server helpers on libmicrohttpd, shared by every daemon's API.
 *
 * - Routing: method + pattern; a pattern segment "{name}" matches one path segment and is
 *   available through http_request_param(). Unknown path -> 404, known path with another
 *   method -> 405 with Allow, both as JSON errors.
 * - Bodies are read into memory up to opts.max_body bytes; a larger body (by Content-Length
 *   or as it streams) is refused with 413 before the handler runs and the connection closed.
 * - Routes flagged HTTP_ROUTE_AUTH run the server's authenticator first; a refusal answers
 *   401 {"error":{"code":"unauthorized","message":<reason>}}.
 * - Every response to a client error or server error is JSON:
 *     {"error":{"code":"<short_code>","message":"<words>"}}
 * - Each request is counted in <prefix>_http_requests_total{route,method,code} and timed in
 *   <prefix>_http_request_duration_seconds{route}; refusals before routing (body too large,
 *   connection limit) in <prefix>_http_rejected_total{reason}. One log line per request at
 *   debug level, per 5xx at warn.
 * - GET /metrics (Prometheus text of the server's registry) and GET /health (the health
 *   callback, default {"status":"ok"}) are built in.
 *
 * Handlers run on libmicrohttpd's worker threads (thread pool), several at once. A handler
 * must answer exactly once with one of the http_respond_* functions and then return.
 */
#ifndef RAMPART_COMMON_HTTP_H
#define RAMPART_COMMON_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/metrics.h"

typedef struct http_server http_server_t;
typedef struct http_request http_request_t;

typedef void (*http_handler_fn)(http_request_t *req, void *ud);

/* Authenticator for HTTP_ROUTE_AUTH routes: 0 to accept; otherwise a negative errno and a
 * static reason string in *reason. -EACCES -> 401, -EAGAIN/-EIO -> 503 (backing store down). */
typedef int (*http_auth_fn)(http_request_t *req, void *ud, const char **reason);

/* Health callback: fills *body (a new JSON object, status key included) and returns the HTTP
 * status (200 healthy, 503 not). */
typedef unsigned (*http_health_fn)(void *ud, json_t **body);

typedef struct {
    const char *listen; /* "host:port" or ":port"; port 0 = ephemeral (see http_server_port) */
    unsigned threads;   /* worker threads (>= 1) */
    size_t max_body;    /* bytes; larger bodies get 413 */
    unsigned max_connections;    /* concurrent connections; more are refused and counted */
    unsigned timeout_s;          /* idle connection timeout */
    const char *metric_prefix;   /* e.g. "rampart_sd" */
    metrics_registry_t *metrics; /* required; served on /metrics */
} http_server_opts_t;

enum {
    HTTP_ROUTE_AUTH = 1 << 0, /* run the authenticator first */
};

http_server_t *http_server_new(const http_server_opts_t *opts);
void http_server_free(http_server_t *srv); /* stops it first; accepts NULL */

/* Adds a route before start. Returns 0 or -EINVAL (bad pattern, too many routes). */
int http_server_route(http_server_t *srv, const char *method, const char *pattern,
                      http_handler_fn fn, void *ud, unsigned flags);
void http_server_set_auth(http_server_t *srv, http_auth_fn fn, void *ud);
void http_server_set_health(http_server_t *srv, http_health_fn fn, void *ud);

/* Binds and starts serving. 0 or a negative errno (-EADDRINUSE, -EINVAL for a bad listen). */
int http_server_start(http_server_t *srv);
/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const http_server_t *srv);
/* Stops accepting, waits for running handlers. Idempotent. */
void http_server_stop(http_server_t *srv);

/* --- request accessors (valid until the handler returns) --- */
const char *http_request_method(const http_request_t *req);
const char *http_request_path(const http_request_t *req);  /* decoded path, no query */
const char *http_request_route(const http_request_t *req); /* the matched pattern */
const char *http_request_header(const http_request_t *req, const char *name); /* or NULL */
const char *http_request_query(const http_request_t *req, const char *name);  /* or NULL */
const char *http_request_param(const http_request_t *req, const char *name);  /* {name} */
const void *http_request_body(const http_request_t *req, size_t *len);
const char *http_request_peer(const http_request_t *req); /* "ip:port" */

/* Query arguments as decoded (key, value) pairs in arrival order. *n set; array valid until
 * the handler returns. Keys without '=' have value "". */
typedef struct {
    const char *key;
    const char *value;
} http_kv_t;
const http_kv_t *http_request_query_all(http_request_t *req, size_t *n);

/* Parses the body as a JSON object. On failure answers 400 (empty or malformed body, with
 * line and column) or 415 (Content-Type not application/json) itself, and returns NULL. */
json_t *http_request_json(http_request_t *req);

/* --- responses --- */
/* Sends body (reference stolen; NULL sends {}) with Content-Type application/json. */
void http_respond_json(http_request_t *req, unsigned status, json_t *body);
/* Sends {"error":{"code":code,"message":<formatted>}}. */
void http_respond_error(http_request_t *req, unsigned status, const char *code, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
void http_respond_raw(http_request_t *req, unsigned status, const char *content_type,
                      const void *body, size_t len);
/* Adds a header to the response about to be sent (call before http_respond_*). */
void http_response_header(http_request_t *req, const char *name, const char *value);

/* --- JSON field helpers for handlers: each answers 400 itself and returns -EINVAL when the
 * field is missing (if required) or has the wrong type / is out of range. --- */
int http_json_string(http_request_t *req, json_t *obj, const char *key, int required,
                     size_t max_len, const char **out);
int http_json_int(http_request_t *req, json_t *obj, const char *key, int required, int64_t min,
                  int64_t max, int64_t *out);

#endif
