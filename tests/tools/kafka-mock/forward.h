/* forward: a fixed bootstrap port in front of the mock cluster.
 *
 * librdkafka 2.0.2's mock cluster listens on ephemeral ports only. A Kafka client needs a
 * fixed address for bootstrap alone: it asks the bootstrap server for metadata, which
 * advertises the brokers' real addresses, and then connects to those. So a plain TCP relay
 * on the requested port to the first mock broker gives clients a stable bootstrap address.
 *
 * One thread relays every connection (poll(2), non-blocking sockets), at most
 * FORWARD_MAX_CONNS at a time; a connection beyond that is closed at once. */
#ifndef RAMPART_KAFKA_MOCK_FORWARD_H
#define RAMPART_KAFKA_MOCK_FORWARD_H

#include <stdint.h>

#define FORWARD_MAX_CONNS 64

typedef struct forward forward_t;

/* Listens on 127.0.0.1:port and relays to upstream ("host:port", IPv4 literal). Starts the
 * relay thread. 0 with *out set, or a negative errno (-EADDRINUSE when the port is taken,
 * -EINVAL on a bad upstream). */
int forward_new(uint16_t port, const char *upstream, forward_t **out);
/* Stops the thread and closes every connection. Accepts NULL. */
void forward_free(forward_t *f);

#endif
