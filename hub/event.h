/* event: decodes a rampart.events message (protobuf rampart.Envelope, read as EnvelopeView so
 * the payload's fields come out of the same unpack) into a hub_event_t.
 *
 * protobuf-c allocates through an arena owned by the decoder: it is reset for every message
 * and only grows when a message is larger than any before, so decoding allocates nothing in
 * the steady state. The event points into the arena and is valid until the next decode. */
#ifndef RAMPART_HUB_EVENT_H
#define RAMPART_HUB_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "hub/engine.h"

#define EVENT_MAX_BYTES (4u << 20) /* larger messages are refused undecoded */

typedef struct event_decoder event_decoder_t;

event_decoder_t *event_decoder_new(void);
void event_decoder_free(event_decoder_t *d);

/* 0, or -EINVAL for an undecodable or invalid message (-EMSGSIZE when too large). */
int event_decode(event_decoder_t *d, const void *buf, size_t len, hub_event_t *out);

#endif
