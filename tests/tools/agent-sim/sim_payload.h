/* sim_payload: the reproducible record payloads of rampart-agent-sim.
 *
 * A payload is a serialized grpc.Payload (map<string,string> fields = 1) whose bytes depend
 * only on (agent_id, seq, data_type, size), so a test can rebuild the exact bytes a simulated
 * agent sent and compare them with what came out of Kafka. The encoding is deliberately
 * NOT the one a protobuf library writes, so that any decode + re-encode on the way changes
 * the bytes:
 *   - each map entry carries its value (field 2) before its key (field 1);
 *   - the Payload holds an unknown field 15 (bytes "rampart-sim") between the entries.
 * A protobuf parser still reads it as a grpc.Payload with the fields
 *   agent = agent_id, seq = decimal sequence number, dt = decimal data_type,
 *   pad = deterministic filler of [A-Za-z0-9+/] bringing the total to about size bytes.
 * Entry order: agent, seq, dt, <field 15>, pad. */
#ifndef RAMPART_TESTS_SIM_PAYLOAD_H
#define RAMPART_TESTS_SIM_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* The unknown field inside every payload. */
#define SIM_PAYLOAD_UNKNOWN_FIELD 15
#define SIM_PAYLOAD_UNKNOWN_VALUE "rampart-sim"

/* Appends the payload for (agent_id, seq, data_type) of about size bytes (never less than
 * the fixed fields need) to out. */
void sim_payload_build(const char *agent_id, uint64_t seq, int data_type, size_t size,
                       strbuf_t *out);

/* Reads agent (copied into agent_id, NUL-terminated) and seq back from any grpc.Payload
 * encoding (entries in any order, unknown fields skipped). 0; -ENOENT when a field is
 * missing; -EINVAL for malformed bytes or a bad seq; -ENOSPC when agent_id is too small. */
int sim_payload_parse(const uint8_t *p, size_t n, char *agent_id, size_t len, uint64_t *seq);

/* Appends one map entry to a Payload being built, in the canonical order (key, then value).
 * Used for the heartbeat and task-result records. */
void sim_payload_kv(strbuf_t *out, const char *key, const char *value);

#endif
