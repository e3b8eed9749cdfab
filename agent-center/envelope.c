#include "agent-center/envelope.h"

#include <stdlib.h>
#include <string.h>

#include "common/pbwire.h"
#include "common/xalloc.h"

static size_t tag_size(unsigned field)
{
    return pbwire_varint_size((uint64_t)field << 3);
}

/* --- metadata --- */
static void meta_reserve(envelope_meta_t *m, size_t more)
{
    if (m->len + more <= m->cap)
        return;
    size_t cap = m->cap ? m->cap : 256;
    while (cap < m->len + more)
        cap *= 2;
    m->buf = xrealloc(m->buf, cap);
    m->cap = cap;
}

static void meta_string(envelope_meta_t *m, unsigned field, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0) /* proto3 leaves empty strings out */
        return;
    meta_reserve(m, tag_size(field) + pbwire_varint_size(n) + n);
    m->len += pbwire_put_varint(m->buf + m->len, ((uint64_t)field << 3) | PBWIRE_LEN);
    m->len += pbwire_put_varint(m->buf + m->len, n);
    memcpy(m->buf + m->len, s, n);
    m->len += n;
}

static void meta_strings(envelope_meta_t *m, unsigned field, char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* A repeated string keeps empty elements (their position may matter). */
        size_t len = v[i] ? strlen(v[i]) : 0;
        meta_reserve(m, tag_size(field) + pbwire_varint_size(len) + len);
        m->len += pbwire_put_varint(m->buf + m->len, ((uint64_t)field << 3) | PBWIRE_LEN);
        m->len += pbwire_put_varint(m->buf + m->len, len);
        if (len)
            memcpy(m->buf + m->len, v[i], len);
        m->len += len;
    }
}

void envelope_meta_set(envelope_meta_t *m, const Grpc__PackagedData *pd, const char *agent_id,
                       const char *agent_center)
{
    m->len = 0;
    meta_string(m, 4, agent_id);
    meta_strings(m, 5, pd->intranet_ipv4, pd->n_intranet_ipv4);
    meta_strings(m, 6, pd->extranet_ipv4, pd->n_extranet_ipv4);
    meta_strings(m, 7, pd->intranet_ipv6, pd->n_intranet_ipv6);
    meta_strings(m, 8, pd->extranet_ipv6, pd->n_extranet_ipv6);
    meta_string(m, 9, pd->hostname);
    meta_string(m, 10, pd->version);
    meta_string(m, 11, pd->product);
    meta_string(m, 16, agent_center);
}

void envelope_meta_dispose(envelope_meta_t *m)
{
    free(m->buf);
    memset(m, 0, sizeof(*m));
}

/* --- per record --- */
size_t envelope_size(const envelope_meta_t *m, int32_t data_type, int64_t agent_time,
                     size_t payload_len, int64_t server_time)
{
    size_t n = m->len;
    /* int32 and int64 are varints of the two's complement 64-bit value (10 bytes if < 0). */
    if (data_type)
        n += 1 + pbwire_varint_size((uint64_t)(int64_t)data_type);
    if (agent_time)
        n += 1 + pbwire_varint_size((uint64_t)agent_time);
    if (payload_len)
        n += 1 + pbwire_varint_size(payload_len) + payload_len;
    if (server_time)
        n += 1 + pbwire_varint_size((uint64_t)server_time);
    return n;
}

size_t envelope_write(uint8_t *out, const envelope_meta_t *m, int32_t data_type, int64_t agent_time,
                      const uint8_t *payload, size_t payload_len, int64_t server_time)
{
    uint8_t *p = out;
    if (data_type) {
        *p++ = (1 << 3) | PBWIRE_VARINT;
        p += pbwire_put_varint(p, (uint64_t)(int64_t)data_type);
    }
    if (agent_time) {
        *p++ = (2 << 3) | PBWIRE_VARINT;
        p += pbwire_put_varint(p, (uint64_t)agent_time);
    }
    if (payload_len) {
        *p++ = (3 << 3) | PBWIRE_LEN;
        p += pbwire_put_varint(p, payload_len);
        memcpy(p, payload, payload_len);
        p += payload_len;
    }
    if (server_time) {
        *p++ = (12 << 3) | PBWIRE_VARINT;
        p += pbwire_put_varint(p, (uint64_t)server_time);
    }
    if (m->len) {
        memcpy(p, m->buf, m->len);
        p += m->len;
    }
    return (size_t)(p - out);
}
