/* The AgentCenter's TLS gate (agent-center/tls_gate.h) with real TLS over loopback: OpenSSL
 * clients on one side, the plaintext descriptors it hands over on the other (standing in for
 * gRPC). Certificates are made in memory by common/pki.
 *
 *   - a verified client: ALPN h2, its CN and address found through the descriptor number,
 *     8 MiB each way through the shuttle with the buffers bounded while one side waits and
 *     freed afterwards, close_notify when the plaintext side closes; fd numbers reused;
 *   - handshake timeout; no client certificate, a foreign CA, garbage, a silent close: refused
 *     and counted by reason, nothing handed over;
 *   - the agent closing mid-message (abruptly, or with close_notify while the other direction
 *     still carries data); max connections; stop accepting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "agent-center/tls_gate.h"
#include "common/metrics.h"
#include "common/pki.h"

#define BIG (8u << 20)

static struct {
    char *ca, *ca_key, *srv, *srv_key, *cli, *cli_key, *cli2, *cli2_key, *foreign, *foreign_key;
} P;

/* --- the gRPC stand-in: descriptors handed over ------------------------------------------- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fds[16];
    size_t n;
} handoffs_t;

static void on_handoff(void *ud, int fd)
{
    handoffs_t *h = ud;
    pthread_mutex_lock(&h->mu);
    if (h->n < 16)
        h->fds[h->n++] = fd;
    else
        close(fd);
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

/* The next descriptor handed over, or -1 after timeout_ms. */
static int next_handoff(handoffs_t *h, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    int fd = -1;
    pthread_mutex_lock(&h->mu);
    while (!h->n && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0)
        ;
    if (h->n) {
        fd = h->fds[0];
        memmove(h->fds, h->fds + 1, (--h->n) * sizeof(int));
    }
    pthread_mutex_unlock(&h->mu);
    return fd;
}

typedef struct {
    metrics_registry_t *m;
    handoffs_t h;
    tls_gate_t *g;
    uint16_t port;
} fixture_t;

static void gate_up(fixture_t *f, size_t max_connections, int64_t handshake_ms)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->h.mu, NULL);
    pthread_cond_init(&f->h.cv, NULL);
    f->m = metrics_registry_new();
    char err[256] = "";
    tls_gate_opts_t o = {.listen = "127.0.0.1:0",
                         .ca_pem = P.ca,
                         .cert_pem = P.srv,
                         .key_pem = P.srv_key,
                         .max_connections = max_connections,
                         .handshake_timeout_ms = handshake_ms,
                         .linger_ms = 2000,
                         .handoff = on_handoff,
                         .ud = &f->h,
                         .metrics = f->m};
    f->g = tls_gate_new(&o, err, sizeof(err));
    if (!f->g)
        fail_msg("tls_gate_new: %s", err);
    assert_int_equal(tls_gate_start(f->g), 0);
    f->port = tls_gate_port(f->g);
    assert_true(f->port > 0);
}

static void gate_down(fixture_t *f)
{
    tls_gate_free(f->g, 500);
    int fd;
    while ((fd = next_handoff(&f->h, 0)) >= 0)
        close(fd);
    metrics_registry_free(f->m);
    pthread_mutex_destroy(&f->h.mu);
    pthread_cond_destroy(&f->h.cv);
}

/* Value of one series exactly as rendered ("name{labels}"), -1 when absent. */
static double series(fixture_t *f, const char *name)
{
    char *text;
    size_t len;
    metrics_render(f->m, &text, &len);
    double v = -1;
    size_t n = strlen(name);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            v = strtod(line + n + 1, NULL);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return v;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to timeout_ms for a series to reach want; returns its last value. */
static double wait_series(fixture_t *f, const char *name, double want, int timeout_ms)
{
    double v = series(f, name);
    for (int i = 0; i < timeout_ms / 10 && v != want; i++) {
        sleep_ms(10);
        v = series(f, name);
    }
    return v;
}

/* --- clients ------------------------------------------------------------------------------ */

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A client context trusting ca, with the given certificate (NULL: none), offering h2. */
static SSL_CTX *client_ctx(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *b = BIO_new_mem_buf(P.ca, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x);
    X509_free(x);
    BIO_free(b);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
    if (cert) {
        b = BIO_new_mem_buf(cert, -1);
        x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
        X509_free(x);
        BIO_free(b);
        b = BIO_new_mem_buf(key, -1);
        EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k), 1);
        EVP_PKEY_free(k);
        BIO_free(b);
    }
    return ctx;
}

typedef struct {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
} client_t;

/* Connects and handshakes; returns SSL_connect's result (1 = done). */
static int client_open(client_t *c, uint16_t port, const char *cert, const char *key)
{
    c->ctx = client_ctx(cert, key);
    c->fd = tcp_connect(port);
    assert_true(c->fd >= 0);
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set1_host(c->ssl, "localhost");
    int rc = SSL_connect(c->ssl);
    ERR_clear_error();
    return rc;
}

static void client_close(client_t *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* True when the server closes the connection (a read ends) within timeout_ms. */
static bool closed_by_server(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char buf[4096];
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (poll(&p, 1, 50) == 1) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0)
                return true;
        }
    }
    return false;
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

/* --- plaintext side helpers --------------------------------------------------------------- */

/* Reads exactly n bytes from fd (non-blocking) checking the pattern from offset off. */
static void read_inner(int fd, size_t off, size_t n)
{
    uint8_t buf[65536];
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 10000), 1);
        size_t want = n - got < sizeof(buf) ? n - got : sizeof(buf);
        ssize_t r = recv(fd, buf, want, 0);
        if (r < 0 && errno == EAGAIN)
            continue;
        assert_true(r > 0);
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pattern(off + got + (size_t)i))
                fail_msg("byte %zu differs", off + got + (size_t)i);
        got += (size_t)r;
    }
}

static void write_inner(int fd, size_t n)
{
    uint8_t buf[65536];
    size_t put = 0;
    while (put < n) {
        size_t k = n - put < sizeof(buf) ? n - put : sizeof(buf);
        for (size_t i = 0; i < k; i++)
            buf[i] = pattern(put + i);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        assert_int_equal(poll(&p, 1, 10000), 1);
        ssize_t w = send(fd, buf, k, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN)
            continue;
        assert_true(w > 0);
        put += (size_t)w;
    }
}

/* A thread writing or reading BIG pattern bytes through a client's TLS. */
typedef struct {
    client_t *c;
    bool write;
    size_t done;
} big_t;

static void *big_main(void *arg)
{
    big_t *b = arg;
    static uint8_t buf[65536];
    while (b->done < BIG) {
        size_t k = BIG - b->done < sizeof(buf) ? BIG - b->done : sizeof(buf);
        if (b->write) {
            for (size_t i = 0; i < k; i++)
                buf[i] = pattern(b->done + i);
            int w = SSL_write(b->c->ssl, buf, (int)k);
            if (w <= 0)
                break;
            b->done += (size_t)w;
        } else {
            int r = SSL_read(b->c->ssl, buf, (int)k);
            if (r <= 0)
                break;
            for (int i = 0; i < r; i++)
                if (buf[i] != pattern(b->done + (size_t)i))
                    return NULL;
            b->done += (size_t)r;
        }
    }
    return NULL;
}

/* --- tests -------------------------------------------------------------------------------- */

static void test_verified_client_and_shuttle(void **state)
{
    (void)state;
    fixture_t f;
    gate_up(&f, 100, 5000);
    client_t c;
    assert_int_equal(client_open(&c, f.port, P.cli, P.cli_key), 1);
    const unsigned char *alpn;
    unsigned alen;
    SSL_get0_alpn_selected(c.ssl, &alpn, &alen);
    assert_int_equal(alen, 2);
    assert_memory_equal(alpn, "h2", 2);

    int fd = next_handoff(&f.h, 5000);
    assert_true(fd >= 0);
    char id[160], peer[80], want[80];
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    getsockname(c.fd, (struct sockaddr *)&me, &ml);
    snprintf(want, sizeof(want), "ipv4:127.0.0.1:%u", (unsigned)ntohs(me.sin_port));
    assert_int_equal(tls_gate_lookup(f.g, fd, id, sizeof(id), peer, sizeof(peer)), 0);
    assert_string_equal(id, "agent-0042");
    assert_string_equal(peer, want);
    assert_int_equal(tls_gate_lookup(f.g, 100000, id, sizeof(id), peer, sizeof(peer)), -ENOENT);
    assert_true(series(&f, "rampart_ac_tls_handshakes_total{result=\"ok\"}") == 1);
    assert_true(wait_series(&f, "rampart_ac_tls_connections", 1, 2000) == 1);

    /* Agent -> plaintext, the reader late: the gate holds at most one chunk meanwhile. */
    big_t up = {.c = &c, .write = true};
    pthread_t th;
    pthread_create(&th, NULL, big_main, &up);
    sleep_ms(300);
    double held = series(&f, "rampart_ac_tls_buffered_bytes");
    print_message("held while the reader waits: %.0f bytes, sent so far %zu\n", held, up.done);
    assert_true(held <= 64 * 1024);
    assert_true(up.done < BIG); /* back-pressure reached the agent */
    read_inner(fd, 0, BIG);
    pthread_join(th, NULL);
    assert_int_equal(up.done, BIG);

    /* Plaintext -> agent. */
    big_t down = {.c = &c, .write = false};
    pthread_create(&th, NULL, big_main, &down);
    write_inner(fd, BIG);
    pthread_join(th, NULL);
    assert_int_equal(down.done, BIG);
    assert_true(wait_series(&f, "rampart_ac_tls_buffered_bytes", 0, 2000) == 0);
    assert_true(series(&f, "rampart_ac_tls_bytes_total{direction=\"in\"}") == BIG);
    assert_true(series(&f, "rampart_ac_tls_bytes_total{direction=\"out\"}") == BIG);

    /* The plaintext side closes: the agent gets close_notify. */
    close(fd);
    char b;
    int r = SSL_read(c.ssl, &b, 1);
    assert_true(r <= 0);
    assert_int_equal(SSL_get_error(c.ssl, r), SSL_ERROR_ZERO_RETURN);
    client_close(&c);
    assert_true(wait_series(&f, "rampart_ac_tls_connections", 0, 2000) == 0);

    /* Descriptor numbers come back: the lookup always names the newest connection. */
    for (int i = 0; i < 3; i++) {
        const char *cert = i % 2 ? P.cli : P.cli2, *key = i % 2 ? P.cli_key : P.cli2_key;
        assert_int_equal(client_open(&c, f.port, cert, key), 1);
        int fd2 = next_handoff(&f.h, 5000);
        assert_true(fd2 >= 0);
        assert_int_equal(tls_gate_lookup(f.g, fd2, id, sizeof(id), peer, sizeof(peer)), 0);
        assert_string_equal(id, i % 2 ? "agent-0042" : "agent-0043");
        print_message("connection %d: fd %d (first was %d)\n", i, fd2, fd);
        close(fd2);
        client_close(&c);
        assert_true(wait_series(&f, "rampart_ac_tls_connections", 0, 2000) == 0);
    }
    gate_down(&f);
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    fixture_t f;
    gate_up(&f, 100, 300);
    int fd = tcp_connect(f.port);
    assert_true(fd >= 0);
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    assert_true(wait_series(&f, "rampart_ac_tls_handshakes_total{result=\"timeout\"}", 1, 2000) ==
                1);
    /* the refusal is counted before the connection is torn down: wait for the gauge */
    assert_true(wait_series(&f, "rampart_ac_tls_handshakes_in_progress", 0, 2000) == 0);
    assert_int_equal(next_handoff(&f.h, 0), -1);
    gate_down(&f);
}

static void test_refused_handshakes(void **state)
{
    (void)state;
    fixture_t f;
    gate_up(&f, 100, 5000);
    client_t c;

    /* No client certificate (TLS 1.3 clients learn it on their first read). */
    client_open(&c, f.port, NULL, NULL);
    char b;
    assert_true(SSL_read(c.ssl, &b, 1) <= 0);
    client_close(&c);
    assert_true(wait_series(&f, "rampart_ac_tls_handshakes_total{result=\"no_cert\"}", 1, 2000) ==
                1);

    /* A certificate from another CA. */
    client_open(&c, f.port, P.foreign, P.foreign_key);
    assert_true(SSL_read(c.ssl, &b, 1) <= 0);
    client_close(&c);
    assert_true(
        wait_series(&f, "rampart_ac_tls_handshakes_total{result=\"verify_failed\"}", 1, 2000) == 1);

    /* Not TLS at all. */
    int fd = tcp_connect(f.port);
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(send(fd, http, strlen(http), MSG_NOSIGNAL) > 0);
    assert_true(closed_by_server(fd, 3000));
    close(fd);
    assert_true(wait_series(&f, "rampart_ac_tls_handshakes_total{result=\"protocol\"}", 1, 2000) ==
                1);

    /* Connected and gone. */
    fd = tcp_connect(f.port);
    close(fd);
    assert_true(wait_series(&f, "rampart_ac_tls_handshakes_total{result=\"closed\"}", 1, 2000) ==
                1);

    assert_int_equal(next_handoff(&f.h, 200), -1);
    assert_true(series(&f, "rampart_ac_tls_handshakes_total{result=\"ok\"}") == 0);
    assert_true(series(&f, "rampart_ac_tls_connections") == 0);
    gate_down(&f);
}

static void test_peer_closes_mid_message(void **state)
{
    (void)state;
    fixture_t f;
    gate_up(&f, 100, 5000);
    client_t c;

    /* Abruptly: the TCP connection closes after part of a message, no close_notify. */
    assert_int_equal(client_open(&c, f.port, P.cli, P.cli_key), 1);
    int fd = next_handoff(&f.h, 5000);
    assert_true(fd >= 0);
    static uint8_t part[100000];
    for (size_t i = 0; i < sizeof(part); i++)
        part[i] = pattern(i);
    assert_int_equal(SSL_write(c.ssl, part, sizeof(part)), (int)sizeof(part));
    close(c.fd);
    c.fd = -1;
    read_inner(fd, 0, sizeof(part));
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(recv(fd, part, 1, 0), 0); /* EOF right after what was sent */
    close(fd);
    client_close(&c);
    assert_true(wait_series(&f, "rampart_ac_tls_connections", 0, 3000) == 0);

    /* With close_notify: the plaintext side sees EOF, yet can still answer before closing. */
    assert_int_equal(client_open(&c, f.port, P.cli, P.cli_key), 1);
    fd = next_handoff(&f.h, 5000);
    assert_true(fd >= 0);
    assert_int_equal(SSL_write(c.ssl, part, 5000), 5000);
    SSL_shutdown(c.ssl);
    read_inner(fd, 0, 5000);
    p.fd = fd;
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(recv(fd, part, 1, 0), 0);
    write_inner(fd, 3000);
    close(fd);
    uint8_t got[3000];
    size_t n = 0;
    int r;
    while (n < sizeof(got) && (r = SSL_read(c.ssl, got + n, (int)(sizeof(got) - n))) > 0)
        n += (size_t)r;
    assert_int_equal(n, sizeof(got));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], pattern(i));
    client_close(&c);
    assert_true(wait_series(&f, "rampart_ac_tls_connections", 0, 3000) == 0);
    assert_true(wait_series(&f, "rampart_ac_tls_buffered_bytes", 0, 1000) == 0);
    gate_down(&f);
}

static void test_limits_and_stop(void **state)
{
    (void)state;
    fixture_t f;
    gate_up(&f, 2, 5000);
    client_t c[3];
    int fds[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(client_open(&c[i], f.port, P.cli, P.cli_key), 1);
        assert_true((fds[i] = next_handoff(&f.h, 5000)) >= 0);
    }
    /* The third is closed unserved. */
    assert_true(client_open(&c[2], f.port, P.cli, P.cli_key) != 1);
    client_close(&c[2]);
    assert_true(wait_series(&f, "rampart_ac_tls_refused_total{reason=\"too_many\"}", 1, 2000) == 1);

    /* Stop accepting: new connections are refused, the open ones go on. */
    tls_gate_stop_accepting(f.g);
    assert_int_equal(tcp_connect(f.port), -1);
    assert_int_equal(SSL_write(c[0].ssl, "ping", 4), 4);
    char buf[8];
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(recv(fds[0], buf, sizeof(buf), 0), 4);
    assert_memory_equal(buf, "ping", 4);
    for (int i = 0; i < 2; i++) {
        close(fds[i]);
        client_close(&c[i]);
    }
    gate_down(&f);
}

static int setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    static const char *const sans[] = {"DNS:localhost", "IP:127.0.0.1", NULL};
    char *fca, *fca_key;
    if (pki_ca_new("gate test CA", 1, &P.ca, &P.ca_key) < 0 ||
        pki_issue(P.ca, P.ca_key, "agent-center", sans, PKI_SERVER, 1, &P.srv, &P.srv_key) < 0 ||
        pki_issue(P.ca, P.ca_key, "agent-0042", NULL, PKI_CLIENT, 1, &P.cli, &P.cli_key) < 0 ||
        pki_issue(P.ca, P.ca_key, "agent-0043", NULL, PKI_CLIENT, 1, &P.cli2, &P.cli2_key) < 0 ||
        pki_ca_new("another CA", 1, &fca, &fca_key) < 0 ||
        pki_issue(fca, fca_key, "agent-0042", NULL, PKI_CLIENT, 1, &P.foreign, &P.foreign_key) < 0)
        return -1;
    free(fca);
    free(fca_key);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char **v[] = {&P.ca,      &P.ca_key, &P.srv,      &P.srv_key, &P.cli,
                  &P.cli_key, &P.cli2,   &P.cli2_key, &P.foreign, &P.foreign_key};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        free(*v[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_client_and_shuttle),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_refused_handshakes),
        cmocka_unit_test(test_peer_closes_mid_message),
        cmocka_unit_test(test_limits_and_stop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
