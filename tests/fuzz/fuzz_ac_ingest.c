/* Fuzzes the AgentCenter's decode path: a PackagedData from an agent through validation and
 * envelope writing (ingest.c, envelope.c), and, when the first byte is odd, an admin command
 * body (admin_command_from_json). Properties checked on every accepted input:
 *   - each envelope decodes with protobuf-c, carries the record's data_type and time, the
 *     validated agent id, and the payload bytes exactly as received;
 *   - a built command decodes as a grpc.Command with exactly one of task and configs. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent-center/admin.h"
#include "agent-center/ingest.h"
#include "envelope.pb-c.h"
#include "rampart.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_ingest(const uint8_t *data, size_t size)
{
    ingest_msg_t m = {0};
    if (ingest_decode(&m, data, size, NULL, 1000, "fuzz-ac") != INGEST_OK) {
        if (m.pd)
            abort(); /* a refusal leaves nothing behind */
        ingest_msg_dispose(&m);
        return;
    }
    if (!ingest_id_valid(m.pd->agent_id))
        abort();
    for (size_t i = 0; i < m.pd->n_records; i++) {
        const Grpc__EncodedRecord *r = m.pd->records[i];
        size_t len;
        uint8_t *e = ingest_envelope(&m, i, 1763900000, &len);
        Rampart__Envelope *env = rampart__envelope__unpack(NULL, len, e);
        if (!env || env->data_type != r->data_type || env->agent_time != r->timestamp ||
            strcmp(env->agent_id, m.pd->agent_id) != 0 || env->payload.len != r->data.len ||
            (r->data.len && memcmp(env->payload.data, r->data.data, r->data.len) != 0) ||
            strcmp(env->agent_center, "fuzz-ac") != 0 || env->server_time != 1763900000)
            abort();
        rampart__envelope__free_unpacked(env, NULL);
        free(e);
    }
    ingest_msg_dispose(&m);
}

static void fuzz_command(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    char err[256], *token = NULL;
    size_t len = 0;
    uint8_t *cmd = admin_command_from_json(j, &len, &token, err, sizeof(err));
    json_decref(j);
    if (!cmd)
        return;
    Grpc__Command *c = grpc__command__unpack(NULL, len, cmd);
    if (!c)
        abort();
    if (c->task && (c->n_configs != 0 || !token || strcmp(c->task->token, token) != 0))
        abort();
    if (!c->task && token)
        abort();
    grpc__command__free_unpacked(c, NULL);
    free(cmd);
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_command(data + 1, size - 1);
    else
        fuzz_ingest(data + 1, size - 1);
    return 0;
}
