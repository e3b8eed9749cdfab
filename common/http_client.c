#include "common/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
    int64_t left = deadline - mono_ms();
    return left > 0 ? (int)left : 0;
}

/* Splits "http://host:port" (scheme optional, path not allowed) into host and port. */
static int split_base(const char *base, char *host, size_t hostlen, char *port, size_t portlen)
{
    if (strncmp(base, "https://", 8) == 0)
        return -EPROTONOSUPPORT;
    if (strncmp(base, "http://", 7) == 0)
        base += 7;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    const char *end = base + n, *colon;
    const char *h = base, *hend;
    if (*base == '[') {
        h = base + 1;
        hend = memchr(h, ']', (size_t)(end - h));
        if (!hend)
            return -EINVAL;
        colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
        if (!colon && hend + 1 != end)
            return -EINVAL;
    } else {
        colon = memchr(base, ':', n);
        hend = colon ? colon : end;
    }
    if (hend == h || (size_t)(hend - h) >= hostlen || memchr(h, '/', (size_t)(hend - h)))
        return -EINVAL;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    const char *p = colon ? colon + 1 : "80";
    size_t plen = colon ? (size_t)(end - p) : 2;
    if (plen == 0 || plen >= portlen)
        return -EINVAL;
    for (size_t i = 0; i < plen; i++)
        if (p[i] < '0' || p[i] > '9')
            return -EINVAL;
    memcpy(port, p, plen);
    port[plen] = '\0';
    return 0;
}

static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -errno;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    int rc = -errno;
    if (rc == -EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n = poll(&pfd, 1, remaining(deadline));
        if (n == 0) {
            rc = -ETIMEDOUT;
        } else if (n < 0) {
            rc = -errno;
        } else {
            int err = 0;
            socklen_t len = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                rc = -errno;
            else
                rc = err ? -err : 0;
        }
    }
    if (rc == 0)
        return fd;
    close(fd);
    return rc;
}

static int dial(const char *host, const char *port, int64_t deadline)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    int rc = -EHOSTUNREACH;
    for (struct addrinfo *ai = res; ai && remaining(deadline) > 0; ai = ai->ai_next) {
        rc = connect_one(ai, deadline);
        if (rc >= 0)
            break;
    }
    freeaddrinfo(res);
    return rc == -EHOSTUNREACH && remaining(deadline) == 0 ? -ETIMEDOUT : rc;
}

static int send_all(int fd, const char *p, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return -errno;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n = poll(&pfd, 1, remaining(deadline));
        if (n == 0)
            return -ETIMEDOUT;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
    return 0;
}

static bool valid_token(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

static int build_request(const http_client_request_t *req, const char *host, const char *port,
                         strbuf_t *sb)
{
    if (!req->method || !*req->method || !req->target || req->target[0] != '/' ||
        !valid_token(req->method) || !valid_token(req->target) || strchr(req->target, ' '))
        return -EINVAL;
    bool v6 = strchr(host, ':') != NULL;
    strbuf_appendf(sb, "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nConnection: close\r\n", req->method,
                   req->target, v6 ? "[" : "", host, v6 ? "]" : "", port);
    if (req->body || strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0)
        strbuf_appendf(sb, "Content-Length: %zu\r\n", req->body ? req->body_len : 0);
    for (size_t i = 0; i < req->nheaders; i++) {
        const http_client_header_t *h = &req->headers[i];
        if (!h->name || !h->value || !*h->name || strchr(h->name, ':') || !valid_token(h->name) ||
            !valid_token(h->value))
            return -EINVAL;
        strbuf_appendf(sb, "%s: %s\r\n", h->name, h->value);
    }
    strbuf_appends(sb, "\r\n");
    if (req->body && req->body_len)
        strbuf_append(sb, req->body, req->body_len);
    return 0;
}

long http_client_dechunk(char *p, size_t len)
{
    size_t in = 0, out = 0;
    for (;;) {
        size_t size = 0, digits = 0;
        while (in < len) {
            char c = p[in];
            int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (v < 0)
                break;
            if (size > (SIZE_MAX >> 4))
                return -EPROTO;
            size = size << 4 | (size_t)v;
            digits++;
            in++;
        }
        if (digits == 0)
            return -EPROTO;
        /* chunk extensions up to the line end */
        const char *eol = memchr(p + in, '\n', len - in);
        if (!eol)
            return -EPROTO;
        in = (size_t)(eol - p) + 1;
        if (size == 0)
            return (long)out; /* trailers, if any, are not needed */
        if (len - in < size + 2 || (p[in + size] != '\r' && p[in + size] != '\n'))
            return -EPROTO;
        memmove(p + out, p + in, size);
        out += size;
        in += size + (p[in + size] == '\r' ? 2 : 1);
        if (p[in - 1] != '\n')
            return -EPROTO;
    }
}

/* Parses the status line and the headers of buf[0..hlen) (hlen ends after the blank line). */
static int parse_head(const char *buf, size_t hlen, int *status, long long *clen, bool *chunked)
{
    if (hlen < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
        return -EPROTO;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -EPROTO;
        st = st * 10 + (buf[i] - '0');
    }
    *status = st;
    *clen = -1;
    *chunked = false;
    const char *line = memchr(buf, '\n', hlen);
    while (line && (size_t)(line + 1 - buf) < hlen) {
        line++;
        const char *eol = memchr(line, '\n', hlen - (size_t)(line - buf));
        if (!eol)
            break;
        size_t n = (size_t)(eol - line);
        if (n >= 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
            char num[24];
            size_t k = 0;
            for (size_t i = 15; i < n && k + 1 < sizeof(num); i++)
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
                    num[k++] = line[i];
            num[k] = '\0';
            char *end;
            errno = 0;
            long long v = strtoll(num, &end, 10);
            if (k == 0 || *end || errno || v < 0)
                return -EPROTO;
            *clen = v;
        } else if (n >= 18 && strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            char v[64];
            size_t k = n - 18 < sizeof(v) - 1 ? n - 18 : sizeof(v) - 1;
            memcpy(v, line + 18, k);
            v[k] = '\0';
            *chunked = strcasestr(v, "chunked") != NULL;
        }
        line = eol;
    }
    return 0;
}

/* Where the head ends (just past the blank line), or 0 when it is not all there yet. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int receive(int fd, const http_client_request_t *req, int64_t deadline, int *status,
                   strbuf_t *out)
{
    size_t cap = 4096, len = 0, hlen = 0;
    size_t limit = HTTP_CLIENT_HEADERS_MAX + req->max_body + 64;
    char *buf = xmalloc(cap);
    long long clen = -1;
    bool chunked = false, eof = false;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= limit) {
                rc = -EMSGSIZE;
                goto done;
            }
            cap = cap * 2 < limit ? cap * 2 : limit;
            buf = xrealloc(buf, cap);
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r > 0) {
            len += (size_t)r;
        } else if (r == 0) {
            eof = true;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int n = poll(&pfd, 1, remaining(deadline));
            if (n == 0) {
                rc = -ETIMEDOUT;
                goto done;
            }
            continue;
        } else {
            rc = -errno;
            goto done;
        }
        if (!hlen) {
            hlen = head_end(buf, len);
            if (!hlen && len > HTTP_CLIENT_HEADERS_MAX) {
                rc = -EMSGSIZE;
                goto done;
            }
            if (hlen && (rc = parse_head(buf, hlen, status, &clen, &chunked)) < 0)
                goto done;
        }
        if (hlen && !chunked && clen >= 0) {
            if ((unsigned long long)clen > req->max_body) {
                rc = -EMSGSIZE;
                goto done;
            }
            if (len - hlen >= (size_t)clen)
                break;
        }
        if (eof)
            break;
    }
    if (!hlen) {
        rc = -EPROTO;
        goto done;
    }
    size_t blen = len - hlen;
    if (chunked) {
        long n = http_client_dechunk(buf + hlen, blen);
        if (n < 0) {
            rc = (int)n;
            goto done;
        }
        blen = (size_t)n;
    } else if (clen >= 0) {
        if (blen < (size_t)clen) {
            rc = -EPROTO; /* closed before the whole body came */
            goto done;
        }
        blen = (size_t)clen;
    }
    if (blen > req->max_body) {
        rc = -EMSGSIZE;
        goto done;
    }
    strbuf_append(out, buf + hlen, blen);
done:
    free(buf);
    return rc;
}

int http_client_request(const http_client_request_t *req, int *status, strbuf_t *out)
{
    char host[256], port[8];
    int rc = split_base(req->base ? req->base : "", host, sizeof(host), port, sizeof(port));
    if (rc < 0)
        return rc;
    strbuf_t rq = STRBUF_INIT;
    if ((rc = build_request(req, host, port, &rq)) < 0) {
        strbuf_dispose(&rq);
        return rc;
    }
    int64_t deadline = mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : 2000);
    int fd = dial(host, port, deadline);
    if (fd < 0) {
        strbuf_dispose(&rq);
        return fd;
    }
    rc = send_all(fd, rq.data, rq.len, deadline);
    strbuf_dispose(&rq);
    if (rc == 0)
        rc = receive(fd, req, deadline, status, out);
    close(fd);
    return rc;
}
