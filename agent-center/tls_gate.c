#include "agent-center/tls_gate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "agent-center/ingest.h"
#include "common/log.h"
#include "common/xalloc.h"

#define SHUTTLE_CHUNK  (64 * 1024) /* bytes moved per read; most one direction may hold */
#define PUMP_BUDGET    (1 << 20)   /* bytes one connection moves before others get a turn */
#define MAX_EVENTS     256
#define ACCEPT_BATCH   64
#define TAG_LISTEN     0u
#define TAG_WAKE       2u
#define INNER_BIT      1u
#define LOG_PER_SECOND 10 /* refused-handshake log lines per second, the rest summed up */
#define PEER_MAX       64

/* Why a handshake or connection was refused: the label of the metrics. */
typedef enum {
    HS_OK,
    HS_NO_CERT,
    HS_VERIFY_FAILED,
    HS_TIMEOUT,
    HS_PROTOCOL,
    HS_CLOSED,
    HS_NRESULTS,
} hs_result_t;

static const char *const hs_names[HS_NRESULTS] = {"ok",      "no_cert",  "verify_failed",
                                                  "timeout", "protocol", "closed"};

typedef struct gconn gconn_t;
struct gconn {
    int tcp, inner; /* inner: the gate's end of the socketpair, -1 until the handshake is done */
    SSL *ssl;
    bool open;             /* handshake done, handed to gRPC */
    bool dead;             /* closed; freed after the current batch of events */
    bool tls_eof;          /* no more reading from TLS (close_notify, or the TCP side is gone) */
    bool up_shut;          /* socketpair half-closed towards gRPC */
    bool tcp_lost;         /* TCP/TLS unusable: deliver what is decrypted, then close */
    bool inner_eof;        /* gRPC closed its end (read returned 0 or failed) */
    bool inner_hup;        /* inner removed from epoll (hung up): read it until EOF */
    bool read_wants_write; /* SSL_read needs the TCP socket writable */
    bool write_wants_read; /* SSL_write needs the TCP socket readable */
    bool in_ready, lingering;
    uint32_t tcp_mask, inner_mask; /* events registered */
    uint8_t *up, *down;            /* shuttle buffers, only while bytes wait */
    size_t up_off, up_len, down_off, down_len;
    int64_t deadline;
    gconn_t *prev, *next;         /* handshake or linger list */
    gconn_t *all_prev, *all_next; /* every connection */
    gconn_t *ready_next, *dead_next;
    char peer[PEER_MAX];
};

typedef struct {
    gconn_t *head, *tail;
} glist_t;

typedef struct {
    char identity[INGEST_ID_MAX + 1];
    char peer[PEER_MAX];
} gpeer_t;

struct tls_gate {
    tls_gate_opts_t o;
    SSL_CTX *ctx;
    int lfd, ep, wake;
    uint16_t port;
    pthread_t thread;
    bool started;

    pthread_mutex_t mu; /* requests to the thread */
    pthread_cond_t cv;
    bool want_stop_accepting, stopped_accepting, want_exit;
    int64_t drain_deadline;

    /* the thread's own state */
    glist_t handshakes, lingering;
    gconn_t *all, *ready, *dead;
    bool accept_paused;
    int64_t accept_resume_at; /* 0: when a handshake slot frees */
    uint8_t *scratch;
    int64_t log_second;
    unsigned log_lines;
    unsigned long log_suppressed;

    atomic_size_t handshaking, nopen, buffered;

    pthread_mutex_t map_mu; /* fd -> identity, any thread */
    gpeer_t **map;
    size_t nmap;

    metrics_counter_t *m_hs[HS_NRESULTS];
    metrics_counter_t *m_refused_full, *m_refused_fd;
    metrics_counter_t *m_bytes_in, *m_bytes_out;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- lists -------------------------------------------------------------------------------- */

static void list_append(glist_t *l, gconn_t *c)
{
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_remove(glist_t *l, gconn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

/* --- fd -> identity map ------------------------------------------------------------------- */

static void map_set(tls_gate_t *g, int fd, const char *identity, const char *peer)
{
    pthread_mutex_lock(&g->map_mu);
    if ((size_t)fd >= g->nmap) {
        size_t n = g->nmap ? g->nmap : 1024;
        while (n <= (size_t)fd)
            n *= 2;
        g->map = xrealloc(g->map, n * sizeof(*g->map));
        memset(g->map + g->nmap, 0, (n - g->nmap) * sizeof(*g->map));
        g->nmap = n;
    }
    if (!g->map[fd])
        g->map[fd] = xmalloc(sizeof(gpeer_t));
    snprintf(g->map[fd]->identity, sizeof(g->map[fd]->identity), "%s", identity);
    snprintf(g->map[fd]->peer, sizeof(g->map[fd]->peer), "%s", peer);
    pthread_mutex_unlock(&g->map_mu);
}

int tls_gate_lookup(tls_gate_t *g, int fd, char *identity, size_t idlen, char *peer, size_t peerlen)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&g->map_mu);
    if (fd >= 0 && (size_t)fd < g->nmap && g->map[fd]) {
        snprintf(identity, idlen, "%s", g->map[fd]->identity);
        snprintf(peer, peerlen, "%s", g->map[fd]->peer);
        rc = 0;
    }
    pthread_mutex_unlock(&g->map_mu);
    return rc;
}

/* --- epoll -------------------------------------------------------------------------------- */

static void ep_set(tls_gate_t *g, int fd, uint64_t tag, uint32_t *cur, uint32_t want)
{
    if (*cur == want)
        return;
    struct epoll_event ev = {.events = want, .data.u64 = tag};
    if (epoll_ctl(g->ep, EPOLL_CTL_MOD, fd, &ev) < 0)
        PANIC("epoll_ctl(MOD, %d): %s", fd, strerror(errno));
    *cur = want;
}

static uint64_t tag_of(gconn_t *c, bool inner)
{
    return (uint64_t)(uintptr_t)c | (inner ? INNER_BIT : 0);
}

/* --- logging ------------------------------------------------------------------------------ */

static void log_refused(tls_gate_t *g, const char *peer, const char *reason, const char *detail)
{
    int64_t sec = mono_ms() / 1000;
    if (sec != g->log_second) {
        if (g->log_suppressed)
            LOG_WARN("tls_refused_suppressed", "count=%lu (log lines above %d/s)",
                     g->log_suppressed, LOG_PER_SECOND);
        g->log_second = sec;
        g->log_lines = 0;
        g->log_suppressed = 0;
    }
    if (g->log_lines++ >= LOG_PER_SECOND) {
        g->log_suppressed++;
        return;
    }
    char q[300];
    LOG_WARN("tls_refused", "peer=%s reason=%s detail=%s", peer, reason,
             log_quote(q, sizeof(q), detail));
}

/* --- closing ------------------------------------------------------------------------------ */

static void drop_buffers(tls_gate_t *g, gconn_t *c, bool up, bool down)
{
    if (up && c->up) {
        atomic_fetch_sub(&g->buffered, c->up_len);
        free(c->up);
        c->up = NULL;
        c->up_off = c->up_len = 0;
    }
    if (down && c->down) {
        atomic_fetch_sub(&g->buffered, c->down_len);
        free(c->down);
        c->down = NULL;
        c->down_off = c->down_len = 0;
    }
}

/* Closes both sides now; graceful sends close_notify first (best effort). */
static void conn_close(tls_gate_t *g, gconn_t *c, bool graceful)
{
    if (c->dead)
        return;
    c->dead = true;
    if (graceful && c->open && !c->tcp_lost) {
        ERR_clear_error();
        SSL_shutdown(c->ssl);
    }
    ERR_clear_error();
    close(c->tcp);
    if (c->inner >= 0)
        close(c->inner);
    if (c->open)
        atomic_fetch_sub(&g->nopen, 1);
    else {
        list_remove(&g->handshakes, c);
        atomic_fetch_sub(&g->handshaking, 1);
    }
    if (c->lingering)
        list_remove(&g->lingering, c);
    drop_buffers(g, c, true, true);
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        g->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    c->dead_next = g->dead;
    g->dead = c;
}

/* The TLS side cannot be used any more: what was decrypted still goes to gRPC, then close. */
static void tcp_lost(tls_gate_t *g, gconn_t *c)
{
    if (c->tcp_lost)
        return;
    c->tcp_lost = true;
    c->tls_eof = true;
    epoll_ctl(g->ep, EPOLL_CTL_DEL, c->tcp, NULL);
    drop_buffers(g, c, false, true);
}

static void refuse(tls_gate_t *g, gconn_t *c, hs_result_t why, const char *detail)
{
    metrics_counter_inc(g->m_hs[why]);
    log_refused(g, c->peer, hs_names[why], detail);
    conn_close(g, c, false);
}

/* --- the shuttle -------------------------------------------------------------------------- */

static ssize_t send_inner(gconn_t *c, const uint8_t *p, size_t n)
{
    ssize_t w;
    do
        w = send(c->inner, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return w;
}

/* gRPC's end is gone: nothing more can be given to it. */
static void inner_gone(tls_gate_t *g, gconn_t *c)
{
    drop_buffers(g, c, true, false);
    c->tls_eof = c->up_shut = true;
}

/* TLS -> gRPC until one side blocks or the budget is spent. */
static void pump_up(tls_gate_t *g, gconn_t *c, size_t *budget)
{
    for (;;) {
        if (c->up_len) {
            ssize_t w = send_inner(c, c->up + c->up_off, c->up_len);
            if (w < 0) {
                inner_gone(g, c);
                return;
            }
            if (w == 0)
                return;
            c->up_off += (size_t)w;
            c->up_len -= (size_t)w;
            atomic_fetch_sub(&g->buffered, (size_t)w);
            if (c->up_len)
                continue;
            drop_buffers(g, c, true, false);
        }
        if (c->tls_eof) {
            if (!c->up_shut) {
                shutdown(c->inner, SHUT_WR);
                c->up_shut = true;
            }
            return;
        }
        if (c->read_wants_write || *budget == 0)
            return;
        size_t n = 0;
        int err = SSL_ERROR_NONE;
        while (n < SHUTTLE_CHUNK) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, g->scratch + n, (int)(SHUTTLE_CHUNK - n));
            if (r <= 0) {
                err = SSL_get_error(c->ssl, r);
                break;
            }
            n += (size_t)r;
        }
        if (n) {
            metrics_counter_add(g->m_bytes_in, n);
            *budget = *budget > n ? *budget - n : 0;
            ssize_t w = send_inner(c, g->scratch, n);
            if (w < 0) {
                inner_gone(g, c);
                return;
            }
            if ((size_t)w < n) {
                c->up_len = n - (size_t)w;
                c->up = xmalloc(c->up_len);
                memcpy(c->up, g->scratch + w, c->up_len);
                atomic_fetch_add(&g->buffered, c->up_len);
            }
        }
        switch (err) {
        case SSL_ERROR_NONE:
            break; /* the chunk was full: go on */
        case SSL_ERROR_WANT_READ:
            return;
        case SSL_ERROR_WANT_WRITE:
            c->read_wants_write = true;
            return;
        case SSL_ERROR_ZERO_RETURN: /* close_notify: the agent is done sending */
            c->tls_eof = true;
            break;
        default: /* reset, EOF without close_notify, bad record: the connection is over */
            tcp_lost(g, c);
            break;
        }
    }
}

/* Writes p[0..n) as TLS; what is not taken yet is kept in c->down. */
static void tls_write(tls_gate_t *g, gconn_t *c, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ERR_clear_error();
        int r = SSL_write(c->ssl, p + off, (int)(n - off));
        if (r > 0) {
            off += (size_t)r;
            metrics_counter_add(g->m_bytes_out, (uint64_t)r);
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
            tcp_lost(g, c);
            return;
        }
        c->write_wants_read = e == SSL_ERROR_WANT_READ;
        if (p != c->down) {
            c->down_len = n - off;
            c->down = xmalloc(c->down_len);
            memcpy(c->down, p + off, c->down_len);
            atomic_fetch_add(&g->buffered, c->down_len);
        } else {
            atomic_fetch_sub(&g->buffered, off);
            c->down_off += off;
            c->down_len -= off;
        }
        return;
    }
    if (p == c->down)
        drop_buffers(g, c, false, true);
}

/* gRPC -> TLS until one side blocks or the budget is spent. */
static void pump_down(tls_gate_t *g, gconn_t *c, size_t *budget)
{
    for (;;) {
        if (c->tcp_lost)
            return;
        if (c->down_len) {
            /* The retry must offer the same bytes (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). */
            uint8_t *p = c->down;
            if (c->down_off) {
                memmove(p, p + c->down_off, c->down_len);
                c->down_off = 0;
            }
            tls_write(g, c, p, c->down_len);
            if (c->down_len || c->tcp_lost)
                return;
        }
        if (c->inner_eof || c->write_wants_read || *budget == 0)
            return;
        ssize_t n = recv(c->inner, g->scratch, SHUTTLE_CHUNK, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            c->inner_eof = true;
            return;
        }
        *budget = *budget > (size_t)n ? *budget - (size_t)n : 0;
        tls_write(g, c, g->scratch, (size_t)n);
    }
}

static void update_masks(tls_gate_t *g, gconn_t *c)
{
    if (!c->tcp_lost) {
        uint32_t m = 0;
        if ((!c->tls_eof && !c->up_len && !c->read_wants_write) || c->write_wants_read)
            m |= EPOLLIN;
        if ((c->down_len && !c->write_wants_read) || c->read_wants_write)
            m |= EPOLLOUT;
        ep_set(g, c->tcp, tag_of(c, false), &c->tcp_mask, m);
    }
    if (!c->inner_hup) {
        uint32_t m = 0;
        if (!c->inner_eof && !c->down_len && !c->write_wants_read && !c->tcp_lost)
            m |= EPOLLIN;
        if (c->up_len)
            m |= EPOLLOUT;
        ep_set(g, c->inner, tag_of(c, true), &c->inner_mask, m);
    }
}

static void pump(tls_gate_t *g, gconn_t *c)
{
    size_t budget = PUMP_BUDGET;
    pump_up(g, c, &budget);
    pump_down(g, c, &budget);
    if (c->inner_eof && !c->down_len) {
        conn_close(g, c, true); /* gRPC is done: close_notify, then close */
        return;
    }
    if (c->tcp_lost && !c->up_len) {
        conn_close(g, c, false);
        return;
    }
    if (budget == 0 && !c->in_ready) {
        c->in_ready = true;
        c->ready_next = g->ready;
        g->ready = c;
    }
    /* One side is finished: the other gets linger_ms to follow. */
    if ((c->up_shut || c->tcp_lost) && !c->lingering) {
        c->lingering = true;
        c->deadline = mono_ms() + g->o.linger_ms;
        list_append(&g->lingering, c);
    }
    update_masks(g, c);
}

/* --- handshakes --------------------------------------------------------------------------- */

static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)s;
    (void)arg;
    static const unsigned char h2[] = {2, 'h', '2'};
    unsigned char *o = NULL;
    if (SSL_select_next_proto(&o, outlen, h2, sizeof(h2), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

/* The subject CN of the verified client certificate, "" when there is none or several, or it
 * does not fit an agent id. */
static void cert_cn(X509 *x, char *out, size_t len)
{
    out[0] = '\0';
    if (!x)
        return;
    X509_NAME *name = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
        return;
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n > 0 && (size_t)n < len && !memchr(u, 0, (size_t)n)) {
        memcpy(out, u, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(u);
}

static hs_result_t classify(gconn_t *c, int sslerr, char *detail, size_t len)
{
    long v = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_REASON(e);
    if (v != X509_V_OK) {
        snprintf(detail, len, "client certificate: %s", X509_verify_cert_error_string(v));
        return HS_VERIFY_FAILED;
    }
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        snprintf(detail, len, "no client certificate");
        return HS_NO_CERT;
    }
    if (sslerr == SSL_ERROR_SYSCALL || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        snprintf(detail, len, "connection closed during the handshake%s%s", errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return HS_CLOSED;
    }
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(detail, len, "%s", r ? r : "TLS handshake failed");
    return HS_PROTOCOL;
}

static void handshake_done(tls_gate_t *g, gconn_t *c)
{
    char identity[INGEST_ID_MAX + 1];
    cert_cn(SSL_get0_peer_certificate(c->ssl), identity, sizeof(identity));
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        metrics_counter_inc(g->m_refused_fd);
        log_refused(g, c->peer, "fd_limit", strerror(errno));
        conn_close(g, c, false);
        return;
    }
    /* Recorded before gRPC owns the number, so a call on it always finds this connection. */
    map_set(g, sv[1], identity, c->peer);
    c->inner = sv[0];
    list_remove(&g->handshakes, c);
    atomic_fetch_sub(&g->handshaking, 1);
    atomic_fetch_add(&g->nopen, 1);
    c->open = true;
    struct epoll_event ev = {.events = 0, .data.u64 = tag_of(c, true)};
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->inner, &ev) < 0)
        PANIC("epoll_ctl(ADD, %d): %s", c->inner, strerror(errno));
    c->inner_mask = 0;
    metrics_counter_inc(g->m_hs[HS_OK]);
    LOG_DEBUG("tls_accepted", "peer=%s cn=%s protocol=%s cipher=%s fd=%d", c->peer,
              identity[0] ? identity : "-", SSL_get_version(c->ssl),
              SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)), sv[1]);
    g->o.handoff(g->o.ud, sv[1]);
    pump(g, c);
}

static void handshake_step(tls_gate_t *g, gconn_t *c)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_accept(c->ssl);
    if (r == 1) {
        handshake_done(g, c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ep_set(g, c->tcp, tag_of(c, false), &c->tcp_mask,
               e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
        return;
    }
    char detail[256];
    hs_result_t why = classify(c, e, detail, sizeof(detail));
    refuse(g, c, why, detail);
}

/* --- accepting ---------------------------------------------------------------------------- */

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        snprintf(out, len, "ipv4:%s:%u", ip, (unsigned)ntohs(s->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&s->sin6_addr)) {
            inet_ntop(AF_INET, &s->sin6_addr.s6_addr[12], ip, sizeof(ip));
            snprintf(out, len, "ipv4:%s:%u", ip, (unsigned)ntohs(s->sin6_port));
        } else {
            inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
            snprintf(out, len, "ipv6:[%s]:%u", ip, (unsigned)ntohs(s->sin6_port));
        }
    } else {
        snprintf(out, len, "unknown");
    }
}

static void set_accepting(tls_gate_t *g, bool on, int64_t resume_at)
{
    if (g->lfd < 0 || g->accept_paused == !on)
        return;
    struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.u64 = TAG_LISTEN};
    epoll_ctl(g->ep, EPOLL_CTL_MOD, g->lfd, &ev);
    g->accept_paused = !on;
    g->accept_resume_at = resume_at;
}

static void on_accept(tls_gate_t *g)
{
    for (int i = 0; i < ACCEPT_BATCH && g->lfd >= 0; i++) {
        if (atomic_load(&g->handshaking) >= GATE_HANDSHAKES_MAX) {
            set_accepting(g, false, 0); /* the rest wait in the backlog */
            return;
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(g->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            metrics_counter_inc(g->m_refused_fd);
            log_refused(g, "-", "fd_limit", strerror(errno));
            set_accepting(g, false, mono_ms() + 100);
            return;
        }
        char peer[PEER_MAX];
        format_peer(&ss, peer, sizeof(peer));
        if (atomic_load(&g->handshaking) + atomic_load(&g->nopen) >= g->o.max_connections) {
            metrics_counter_inc(g->m_refused_full);
            log_refused(g, peer, "too_many", "at grpc.max_connections");
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        gconn_t *c = xcalloc(1, sizeof(*c));
        c->tcp = fd;
        c->inner = -1;
        memcpy(c->peer, peer, sizeof(peer));
        c->ssl = SSL_new(g->ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1)
            PANIC("SSL_new/SSL_set_fd failed");
        SSL_set_accept_state(c->ssl);
        c->tcp_mask = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag_of(c, false)};
        if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            PANIC("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
        c->deadline = mono_ms() + g->o.handshake_timeout_ms;
        list_append(&g->handshakes, c);
        c->all_next = g->all;
        if (g->all)
            g->all->all_prev = c;
        g->all = c;
        atomic_fetch_add(&g->handshaking, 1);
    }
}

static void stop_accepting_now(tls_gate_t *g)
{
    if (g->lfd >= 0) {
        epoll_ctl(g->ep, EPOLL_CTL_DEL, g->lfd, NULL);
        close(g->lfd);
        g->lfd = -1;
    }
    while (g->handshakes.head)
        conn_close(g, g->handshakes.head, false);
}

/* --- the thread --------------------------------------------------------------------------- */

static void on_tcp_event(tls_gate_t *g, gconn_t *c, uint32_t events)
{
    if (!c->open) {
        handshake_step(g, c);
        return;
    }
    if (events & EPOLLOUT)
        c->read_wants_write = false;
    if (events & EPOLLIN)
        c->write_wants_read = false;
    if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
        tcp_lost(g, c);
    pump(g, c);
}

static void on_inner_event(tls_gate_t *g, gconn_t *c, uint32_t events)
{
    if ((events & (EPOLLERR | EPOLLHUP)) && !c->inner_hup) {
        /* gRPC closed: read what it left until EOF, without further events. */
        c->inner_hup = true;
        epoll_ctl(g->ep, EPOLL_CTL_DEL, c->inner, NULL);
    }
    pump(g, c);
}

static void on_wake(tls_gate_t *g)
{
    uint64_t v;
    if (read(g->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
        LOG_WARN("tls_gate_wake_failed", "error=\"%s\"", strerror(errno));
    pthread_mutex_lock(&g->mu);
    if ((g->want_stop_accepting || g->want_exit) && !g->stopped_accepting) {
        stop_accepting_now(g);
        g->stopped_accepting = true;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
}

static int next_timeout(tls_gate_t *g, int64_t now)
{
    if (g->ready)
        return 0;
    int64_t at = now + 1000;
    if (g->handshakes.head && g->handshakes.head->deadline < at)
        at = g->handshakes.head->deadline;
    if (g->lingering.head && g->lingering.head->deadline < at)
        at = g->lingering.head->deadline;
    if (g->accept_paused && g->accept_resume_at && g->accept_resume_at < at)
        at = g->accept_resume_at;
    return at <= now ? 0 : (int)(at - now);
}

static void run_timers(tls_gate_t *g)
{
    int64_t now = mono_ms();
    while (g->handshakes.head && g->handshakes.head->deadline <= now) {
        char d[96];
        snprintf(d, sizeof(d), "no TLS handshake within %lld ms",
                 (long long)g->o.handshake_timeout_ms);
        refuse(g, g->handshakes.head, HS_TIMEOUT, d);
    }
    while (g->lingering.head && g->lingering.head->deadline <= now)
        conn_close(g, g->lingering.head, false);
    if (g->accept_paused && atomic_load(&g->handshaking) < GATE_HANDSHAKES_MAX &&
        (!g->accept_resume_at || g->accept_resume_at <= now))
        set_accepting(g, true, 0);
}

static void run_ready(tls_gate_t *g)
{
    gconn_t *list = g->ready;
    g->ready = NULL;
    while (list) {
        gconn_t *c = list;
        list = c->ready_next;
        c->in_ready = false;
        if (!c->dead)
            pump(g, c);
    }
}

/* Frees the closed connections, except those still on the ready list (the next run_ready
 * drops them from it). */
static void reap(tls_gate_t *g)
{
    gconn_t **pp = &g->dead;
    while (*pp) {
        gconn_t *c = *pp;
        if (c->in_ready) {
            pp = &c->dead_next;
            continue;
        }
        *pp = c->dead_next;
        free(c);
    }
}

static void *gate_main(void *arg)
{
    tls_gate_t *g = arg;
    /* OpenSSL writes to sockets with write(2): a reset peer must not kill the process. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    struct epoll_event ev[MAX_EVENTS];
    for (;;) {
        pthread_mutex_lock(&g->mu);
        bool exiting = g->want_exit;
        int64_t drain_deadline = g->drain_deadline;
        pthread_mutex_unlock(&g->mu);
        if (exiting && (!g->all || mono_ms() >= drain_deadline))
            break;
        int timeout = next_timeout(g, mono_ms());
        if (exiting && timeout > 50)
            timeout = 50;
        int n = epoll_wait(g->ep, ev, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR)
            PANIC("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            uint64_t tag = ev[i].data.u64;
            if (tag == TAG_LISTEN) {
                on_accept(g);
                continue;
            }
            if (tag == TAG_WAKE) {
                on_wake(g);
                continue;
            }
            gconn_t *c = (gconn_t *)(uintptr_t)(tag & ~(uint64_t)INNER_BIT);
            if (c->dead)
                continue;
            if (tag & INNER_BIT)
                on_inner_event(g, c, ev[i].events);
            else
                on_tcp_event(g, c, ev[i].events);
        }
        run_ready(g);
        run_timers(g);
        reap(g);
    }
    while (g->all)
        conn_close(g, g->all, true);
    for (gconn_t *c = g->ready; c; c = c->ready_next)
        c->in_ready = false;
    g->ready = NULL;
    reap(g);
    return NULL;
}

/* --- setup -------------------------------------------------------------------------------- */

static SSL_CTX *make_ctx(const tls_gate_opts_t *o, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    X509 *x = NULL;
    EVP_PKEY *key = NULL;
    BIO *b = NULL;
    int ncas = 0;
    if (!ctx) {
        snprintf(err, errlen, "SSL_CTX_new failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"rampart-ac", 10);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_verify_depth(ctx, 5);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);

    b = BIO_new_mem_buf(o->cert_pem, -1);
    if (!b || !(x = PEM_read_bio_X509(b, NULL, NULL, NULL)) ||
        SSL_CTX_use_certificate(ctx, x) != 1) {
        snprintf(err, errlen, "tls.cert_file: no usable PEM certificate");
        goto fail;
    }
    X509_free(x);
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
            snprintf(err, errlen, "tls.cert_file: bad chain certificate");
            goto fail;
        }
    BIO_free(b);
    b = BIO_new_mem_buf(o->key_pem, -1);
    if (!b || !(key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) ||
        SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "tls.key_file: no PEM private key matching tls.cert_file");
        goto fail;
    }
    BIO_free(b);
    b = BIO_new_mem_buf(o->ca_pem, -1);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (X509_STORE_add_cert(store, x) != 1 || SSL_CTX_add_client_CA(ctx, x) != 1) {
            snprintf(err, errlen, "tls.ca_file: cannot use a CA certificate");
            goto fail;
        }
        X509_free(x);
        x = NULL;
        ncas++;
    }
    if (!ncas) {
        snprintf(err, errlen, "tls.ca_file: no PEM certificate");
        goto fail;
    }
    BIO_free(b);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ctx;
fail:
    X509_free(x);
    EVP_PKEY_free(key);
    BIO_free(b);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return NULL;
}

static int bind_listener(tls_gate_t *g, char *err, size_t errlen)
{
    const char *addr = g->o.listen;
    const char *colon = strrchr(addr, ':');
    char host[256];
    if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
        snprintf(err, errlen, "\"%s\" is not host:port", addr);
        return -EINVAL;
    }
    size_t hl = (size_t)(colon - addr);
    const char *h = addr;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
        return -EINVAL;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -EADDRINUSE;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    g->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    g->lfd = fd;
    return 0;
}

static double g_open(void *ud)
{
    return (double)atomic_load(&((tls_gate_t *)ud)->nopen);
}

static double g_handshaking(void *ud)
{
    return (double)atomic_load(&((tls_gate_t *)ud)->handshaking);
}

static double g_buffered(void *ud)
{
    return (double)atomic_load(&((tls_gate_t *)ud)->buffered);
}

static void make_metrics(tls_gate_t *g, metrics_registry_t *m)
{
    for (int r = 0; r < HS_NRESULTS; r++) {
        char lbl[48];
        snprintf(lbl, sizeof(lbl), "result=\"%s\"", hs_names[r]);
        g->m_hs[r] = metrics_counter(m, "rampart_ac_tls_handshakes_total",
                                     "Agent TLS handshakes, by result", lbl);
    }
    g->m_refused_full =
        metrics_counter(m, "rampart_ac_tls_refused_total",
                        "Agent TCP connections closed unserved, by reason", "reason=\"too_many\"");
    g->m_refused_fd =
        metrics_counter(m, "rampart_ac_tls_refused_total",
                        "Agent TCP connections closed unserved, by reason", "reason=\"fd_limit\"");
    g->m_bytes_in =
        metrics_counter(m, "rampart_ac_tls_bytes_total",
                        "Plaintext bytes through the TLS gate, by direction", "direction=\"in\"");
    g->m_bytes_out =
        metrics_counter(m, "rampart_ac_tls_bytes_total",
                        "Plaintext bytes through the TLS gate, by direction", "direction=\"out\"");
    metrics_gauge_fn(m, "rampart_ac_tls_connections", "Agent TLS connections open now", NULL,
                     g_open, g);
    metrics_gauge_fn(m, "rampart_ac_tls_handshakes_in_progress",
                     "Agent TLS handshakes under way now", NULL, g_handshaking, g);
    metrics_gauge_fn(m, "rampart_ac_tls_buffered_bytes",
                     "Bytes the TLS gate holds because one side cannot take them yet", NULL,
                     g_buffered, g);
}

tls_gate_t *tls_gate_new(const tls_gate_opts_t *o, char *err, size_t errlen)
{
    tls_gate_t *g = xcalloc(1, sizeof(*g));
    g->o = *o;
    g->lfd = g->ep = g->wake = -1;
    if (g->o.linger_ms <= 0)
        g->o.linger_ms = 10000;
    if (g->o.handshake_timeout_ms <= 0)
        g->o.handshake_timeout_ms = 10000;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    pthread_mutex_init(&g->map_mu, NULL);
    if (!(g->ctx = make_ctx(o, err, errlen)) || bind_listener(g, err, errlen) < 0)
        goto fail;
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    g->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (g->ep < 0 || g->wake < 0) {
        snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    epoll_ctl(g->ep, EPOLL_CTL_ADD, g->lfd, &ev);
    ev.data.u64 = TAG_WAKE;
    epoll_ctl(g->ep, EPOLL_CTL_ADD, g->wake, &ev);
    g->scratch = xmalloc(SHUTTLE_CHUNK);
    make_metrics(g, o->metrics);
    return g;
fail:
    tls_gate_free(g, 0);
    return NULL;
}

int tls_gate_start(tls_gate_t *g)
{
    if (pthread_create(&g->thread, NULL, gate_main, g) != 0)
        return -EAGAIN;
    g->started = true;
    return 0;
}

uint16_t tls_gate_port(const tls_gate_t *g)
{
    return g->port;
}

size_t tls_gate_live(tls_gate_t *g)
{
    return atomic_load(&g->nopen);
}

static void wake(tls_gate_t *g)
{
    uint64_t one = 1;
    if (write(g->wake, &one, sizeof(one)) < 0)
        LOG_WARN("tls_gate_wake_failed", "error=\"%s\"", strerror(errno));
}

void tls_gate_stop_accepting(tls_gate_t *g)
{
    pthread_mutex_lock(&g->mu);
    if (!g->started) {
        if (g->lfd >= 0)
            close(g->lfd);
        g->lfd = -1;
        g->stopped_accepting = true;
    }
    g->want_stop_accepting = true;
    if (!g->stopped_accepting)
        wake(g);
    while (!g->stopped_accepting)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

void tls_gate_free(tls_gate_t *g, int64_t drain_ms)
{
    if (!g)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->want_exit = true;
        g->drain_deadline = mono_ms() + drain_ms;
        pthread_mutex_unlock(&g->mu);
        wake(g);
        pthread_join(g->thread, NULL);
    }
    if (g->lfd >= 0)
        close(g->lfd);
    if (g->ep >= 0)
        close(g->ep);
    if (g->wake >= 0)
        close(g->wake);
    SSL_CTX_free(g->ctx);
    for (size_t i = 0; i < g->nmap; i++)
        free(g->map[i]);
    free(g->map);
    free(g->scratch);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->map_mu);
    free(g);
}
