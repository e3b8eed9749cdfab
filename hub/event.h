/* event: decodes a rampart.events message (protobuf rampart.Envelope with its grpc.Payload)
 * into a hub_event_t in one pass.
 *
 * Two decoders give the same result:
 * - event_decode() reads the protobuf wire format directly (the hot path): every string is
 *   copied once, NUL-terminated, into an arena; map entries land in a reused array.
 * - event_decode_pb() is protobuf-c's rampart__envelope_view__unpack (EnvelopeView declares
 *   the payload as the embedded message, so the one unpack yields the fields), allocating
 *   through the same arena. It is the reference: fuzz_hub_envelope checks that both agree.
 * The wire decoder costs about a fifth of the unpack (docs/benchmarks.md).
 * The arena is reset for every message and only grows when a message is larger than any
 * before, so decoding allocates nothing in the steady state. The event points into the
 * decoder and is valid until the next decode. */
#ifndef RAMPART_HUB_EVENT_H
#define RAMPART_HUB_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "hub/engine.h"

#define EVENT_MAX_BYTES (4u << 20) /* larger messages are refused undecoded */

typedef struct event_decoder event_decoder_t;

event_decoder_t *event_decoder_new(void);
void event_decoder_free(event_decoder_t *d);

/* 0, or -EINVAL for an undecodable or invalid message (-EMSGSIZE when too large). A valid
 * event has a data_type >= 0 and a non-empty agent_id. */
int event_decode(event_decoder_t *d, const void *buf, size_t len, hub_event_t *out);
int event_decode_pb(event_decoder_t *d, const void *buf, size_t len, hub_event_t *out);

#endif
