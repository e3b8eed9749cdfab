/* envelope: writes the Kafka envelope (proto/envelope.proto, rampart.Envelope) around a
 * record's payload without touching the payload bytes.
 *
 * The agent metadata part of an envelope (agent_id, IPs, hostname, version, product,
 * agent_center) is the same for every record of one PackagedData, so it is encoded once per
 * message (envelope_meta_set) and copied after each record's own fields (data_type,
 * agent_time, payload, server_time). Protobuf readers accept fields in any order, so the
 * result decodes as an ordinary Envelope. */
#ifndef RAMPART_AC_ENVELOPE_H
#define RAMPART_AC_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "rampart.pb-c.h"

typedef struct {
    uint8_t *buf; /* encoded fields 4-11 and 16 */
    size_t len;
    size_t cap;
} envelope_meta_t;

/* Encodes the metadata of pd, with agent_id (the verified identity) in place of the declared
 * one and agent_center naming this instance. Reuses m's buffer. */
void envelope_meta_set(envelope_meta_t *m, const Grpc__PackagedData *pd, const char *agent_id,
                       const char *agent_center);
void envelope_meta_dispose(envelope_meta_t *m);

/* Exact size of the envelope for one record. */
size_t envelope_size(const envelope_meta_t *m, int32_t data_type, int64_t agent_time,
                     size_t payload_len, int64_t server_time);
/* Writes it to out (envelope_size bytes); returns the bytes written. */
size_t envelope_write(uint8_t *out, const envelope_meta_t *m, int32_t data_type, int64_t agent_time,
                      const uint8_t *payload, size_t payload_len, int64_t server_time);

#endif
