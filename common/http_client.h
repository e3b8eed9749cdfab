/* http_client: a small HTTP/1.1 client for calls between Rampart's own services on plain
 * http://host:port addresses (service discovery). One request per connection (Connection:
 * close), bodies by Content-Length, chunked encoding or read to close, a bounded answer and
 * one deadline for the whole exchange.
 *
 * Why not libcurl: the host agent looks AgentCenters up in service discovery, and libcurl with
 * the 27 libraries it loads (Kerberos, LDAP, SSH, RTMP, ...) cost every host 1.6 MiB of agent
 * RSS for one GET every few seconds. Services that need more (TLS, redirects, proxies) use
 * libcurl directly. */
#ifndef RAMPART_COMMON_HTTP_CLIENT_H
#define RAMPART_COMMON_HTTP_CLIENT_H

#include <stddef.h>

#include "common/strbuf.h"

#define HTTP_CLIENT_HEADERS_MAX (16 * 1024) /* status line and headers of an answer */

typedef struct {
    const char *name;
    const char *value;
} http_client_header_t;

typedef struct {
    const char *method; /* "GET", "POST", ... */
    const char *base;   /* "http://host:port" or "host:port"; IPv6 as [addr]:port */
    const char *target; /* path and query, starting with '/' */
    const http_client_header_t *headers;
    size_t nheaders;
    const void *body; /* NULL: none */
    size_t body_len;
    int timeout_ms;  /* the whole exchange: resolve, connect, send, receive */
    size_t max_body; /* a longer answer fails with -EMSGSIZE */
} http_client_request_t;

/* Performs the request. On 0, *status holds the HTTP status and out the body (appended).
 * Errors: -EINVAL (bad address or request), -EPROTONOSUPPORT (not http://), -EHOSTUNREACH
 * (name not resolved), -ECONNREFUSED and other connect errors, -ETIMEDOUT, -EPROTO (not an
 * HTTP answer, or a broken one), -EMSGSIZE (answer over the limits). */
int http_client_request(const http_client_request_t *req, int *status, strbuf_t *out);

/* Decodes a chunked body in place; returns its length, or -EPROTO when it is malformed or
 * incomplete. Exposed for tests. */
long http_client_dechunk(char *p, size_t len);

#endif
