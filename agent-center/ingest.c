#include "agent-center/ingest.h"

#include <string.h>

#include "common/xalloc.h"

static const char *const result_names[INGEST_NRESULTS] = {
    [INGEST_OK] = "ok",
    [INGEST_MALFORMED] = "malformed",
    [INGEST_EMPTY_ID] = "empty_agent_id",
    [INGEST_BAD_ID] = "bad_agent_id",
    [INGEST_ID_MISMATCH] = "agent_id_mismatch",
    [INGEST_TOO_MANY_RECORDS] = "too_many_records",
    [INGEST_BAD_METADATA] = "bad_metadata",
};

const char *ingest_result_name(ingest_result_t r)
{
    return r < INGEST_NRESULTS ? result_names[r] : "unknown";
}

int ingest_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > INGEST_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

/* Printable ASCII of at most max bytes (so logs and JSON never carry control bytes). */
static int field_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || (unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
            return 0;
    return 1;
}

static int list_ok(char *const *v, size_t n)
{
    if (n > INGEST_IPS_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!field_ok(v[i], INGEST_FIELD_MAX))
            return 0;
    return 1;
}

static ingest_result_t check(const Grpc__PackagedData *pd, const char *identity, size_t max_records)
{
    if (!pd->agent_id[0])
        return INGEST_EMPTY_ID;
    if (!ingest_id_valid(pd->agent_id))
        return INGEST_BAD_ID;
    if (identity && strcmp(identity, pd->agent_id) != 0)
        return INGEST_ID_MISMATCH;
    if (pd->n_records > max_records)
        return INGEST_TOO_MANY_RECORDS;
    if (!field_ok(pd->hostname, INGEST_HOSTNAME_MAX) || !field_ok(pd->version, INGEST_FIELD_MAX) ||
        !field_ok(pd->product, INGEST_FIELD_MAX) ||
        !list_ok(pd->intranet_ipv4, pd->n_intranet_ipv4) ||
        !list_ok(pd->extranet_ipv4, pd->n_extranet_ipv4) ||
        !list_ok(pd->intranet_ipv6, pd->n_intranet_ipv6) ||
        !list_ok(pd->extranet_ipv6, pd->n_extranet_ipv6))
        return INGEST_BAD_METADATA;
    return INGEST_OK;
}

ingest_result_t ingest_decode(ingest_msg_t *m, const uint8_t *buf, size_t len, const char *identity,
                              size_t max_records, const char *agent_center)
{
    Grpc__PackagedData *pd = grpc__packaged_data__unpack(NULL, len, buf);
    if (!pd)
        return INGEST_MALFORMED;
    ingest_result_t r = check(pd, identity, max_records);
    if (r != INGEST_OK) {
        grpc__packaged_data__free_unpacked(pd, NULL);
        return r;
    }
    m->pd = pd;
    m->next = 0;
    envelope_meta_set(&m->meta, pd, pd->agent_id, agent_center);
    return INGEST_OK;
}

uint8_t *ingest_envelope(const ingest_msg_t *m, size_t i, int64_t server_time, size_t *len)
{
    const Grpc__EncodedRecord *r = m->pd->records[i];
    size_t n = envelope_size(&m->meta, r->data_type, r->timestamp, r->data.len, server_time);
    uint8_t *out = xmalloc(n ? n : 1);
    *len = envelope_write(out, &m->meta, r->data_type, r->timestamp, r->data.data, r->data.len,
                          server_time);
    return out;
}

void ingest_msg_clear(ingest_msg_t *m)
{
    if (m->pd)
        grpc__packaged_data__free_unpacked(m->pd, NULL);
    m->pd = NULL;
    m->next = 0;
}

void ingest_msg_dispose(ingest_msg_t *m)
{
    ingest_msg_clear(m);
    envelope_meta_dispose(&m->meta);
}
