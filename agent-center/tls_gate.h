/* tls_gate: terminates the agents' mutual TLS in front of gRPC.
 *
 * gRPC's own TLS (TSI) keeps about 80 KB of buffers per connection whether or not the
 * connection carries anything, which puts 10,000 idle agents above 1 GiB. The gate does the
 * TLS itself with OpenSSL directly on the socket (SSL_MODE_RELEASE_BUFFERS: no record buffers
 * while idle) and hands gRPC a plaintext connection: one end of a socketpair, through
 * grpc_server_add_channel_from_fd() (the handoff callback). One thread with epoll owns the
 * listening socket, every handshake and the byte shuttle of every connection:
 *
 *   agent --TLS/TCP--> [gate: SSL_read]  --plaintext, socketpair--> gRPC
 *   agent <-TLS/TCP--  [gate: SSL_write] <--                        gRPC
 *
 * A shuttle buffer exists only while bytes are in flight: what one side cannot take yet is
 * kept (at most SHUTTLE_CHUNK bytes per direction) and that direction stops reading until it is
 * written (back-pressure both ways). TCP EOF or close_notify becomes a half-close of the
 * socketpair (gRPC sees EOF); gRPC closing its end becomes close_notify and a TCP close.
 *
 * Handshake: TLS 1.2 or later, the client certificate required and verified against the
 * platform CA, ALPN "h2" (gRPC clients insist on it), no session cache or tickets, a deadline
 * (handshake_timeout_ms) and at most GATE_HANDSHAKES_MAX handshakes at once (more wait in the
 * listen backlog). A refused handshake is counted by reason and logged (rate-limited).
 *
 * Identity: gRPC names a connection made from a descriptor "fd:N". Before the descriptor is
 * handed over, the gate records N -> {certificate CN, "ipv4:a.b.c.d:port"}; transfer.c looks
 * it up when a call arrives (tls_gate_lookup). gRPC closes the descriptor only once the last
 * call on that connection is gone, and the number is recorded again before it is handed out
 * again, so a lookup made while a call holds the connection is always that connection's.
 *
 * Descriptors: three per connection (TCP, the gate's end and gRPC's end of the socketpair). */
#ifndef RAMPART_AC_TLS_GATE_H
#define RAMPART_AC_TLS_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"

#define GATE_HANDSHAKES_MAX 256 /* TLS handshakes in progress at once */

typedef struct tls_gate tls_gate_t;

/* Called on the gate's thread with the plaintext descriptor of a new connection; takes
 * ownership of fd. */
typedef void (*tls_gate_handoff_fn)(void *ud, int fd);

typedef struct {
    const char *listen; /* host:port; port 0 picks a free one */
    const char *ca_pem, *cert_pem, *key_pem;
    size_t max_connections; /* TLS connections (handshaking or open); more are closed at once */
    int64_t handshake_timeout_ms;
    int64_t linger_ms; /* after one side half-closed, how long the other may take; 0: 10 s */
    tls_gate_handoff_fn handoff;
    void *ud;
    metrics_registry_t *metrics;
} tls_gate_opts_t;

/* Loads the certificates and binds the listening socket (not yet accepting). NULL with the
 * reason in err. */
tls_gate_t *tls_gate_new(const tls_gate_opts_t *opts, char *err, size_t errlen);
/* Starts the gate's thread: accepting begins. 0 or a negative errno. */
int tls_gate_start(tls_gate_t *g);
uint16_t tls_gate_port(const tls_gate_t *g);

/* Closes the listening socket and drops the handshakes in progress; connections already
 * handed to gRPC go on. Returns once done. Idempotent. */
void tls_gate_stop_accepting(tls_gate_t *g);
/* Waits up to drain_ms for the open connections to end (gRPC closes its ends), then closes
 * what is left, joins the thread and frees. Accepts NULL. */
void tls_gate_free(tls_gate_t *g, int64_t drain_ms);

/* The identity (certificate CN; "" when it has none that fits) and real peer address of the
 * connection gRPC knows as "fd:<fd>". 0, or -ENOENT when the gate never handed out fd. */
int tls_gate_lookup(tls_gate_t *g, int fd, char *identity, size_t idlen, char *peer,
                    size_t peerlen);

/* TLS connections open now (handed to gRPC and not yet closed). */
size_t tls_gate_live(tls_gate_t *g);

#endif
