/* ingest: decodes and validates one PackagedData from an agent and turns its records into
 * Kafka envelopes. No gRPC and no Kafka here: the stream code (transfer.c) and the fuzz target
 * (tests/fuzz/fuzz_ac_ingest.c) both drive it.
 *
 * Checks, each with its own reason (the label of rampart_ac_streams_closed_total):
 *   malformed          the bytes are not a PackagedData
 *   empty_agent_id     agent_id is empty
 *   bad_agent_id       agent_id longer than INGEST_ID_MAX or outside [A-Za-z0-9._:-]
 *   agent_id_mismatch  agent_id differs from the identity of the stream (client certificate CN,
 *                      or the first declared id in plaintext test mode)
 *   too_many_records   more records than the configured limit
 *   bad_metadata       hostname, version, product or an IP that is too long, not printable
 *                      ASCII, or too many IPs
 * Any of these closes the stream. A record whose data_type has no route is not an error of the
 * message: the caller skips it and counts unknown_data_type. */
#ifndef RAMPART_AC_INGEST_H
#define RAMPART_AC_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "agent-center/envelope.h"
#include "rampart.pb-c.h"

#define INGEST_ID_MAX       128
#define INGEST_HOSTNAME_MAX 255
#define INGEST_FIELD_MAX    64 /* version, product, each IP */
#define INGEST_IPS_MAX      64 /* entries per IP list */

typedef enum {
    INGEST_OK = 0,
    INGEST_MALFORMED,
    INGEST_EMPTY_ID,
    INGEST_BAD_ID,
    INGEST_ID_MISMATCH,
    INGEST_TOO_MANY_RECORDS,
    INGEST_BAD_METADATA,
    INGEST_NRESULTS,
} ingest_result_t;

/* The reason label of a result ("malformed", "empty_agent_id", ...). */
const char *ingest_result_name(ingest_result_t r);

/* One decoded message and where its production stands. */
typedef struct {
    Grpc__PackagedData *pd; /* NULL when empty */
    envelope_meta_t meta;   /* encoded metadata of pd */
    size_t next;            /* index of the next record to hand to Kafka */
} ingest_msg_t;

/* Validates id as an agent id (see above). */
int ingest_id_valid(const char *id);

/* Decodes buf into m (m must be empty: see ingest_msg_clear). identity is the stream's agent
 * id, or NULL when it is not known yet (plaintext, first message): then any valid id passes.
 * agent_center is written into every envelope. On any result but INGEST_OK, m stays empty. */
ingest_result_t ingest_decode(ingest_msg_t *m, const uint8_t *buf, size_t len, const char *identity,
                              size_t max_records, const char *agent_center);

/* The envelope of record i as a new buffer (free() it); *len set. */
uint8_t *ingest_envelope(const ingest_msg_t *m, size_t i, int64_t server_time, size_t *len);

/* Frees the decoded message; keeps the metadata buffer for the next one. */
void ingest_msg_clear(ingest_msg_t *m);
void ingest_msg_dispose(ingest_msg_t *m);

#endif
