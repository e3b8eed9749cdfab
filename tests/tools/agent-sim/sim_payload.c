#include "sim_payload.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define WT_VARINT 0
#define WT_I64    1
#define WT_LEN    2
#define WT_I32    5

static void put_varint(strbuf_t *out, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    strbuf_append(out, b, n);
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_len_field(strbuf_t *out, unsigned field, const void *p, size_t n)
{
    put_varint(out, (uint64_t)field << 3 | WT_LEN);
    put_varint(out, n);
    strbuf_append(out, p, n);
}

/* One map entry (Payload field 1); value_first writes field 2 before field 1. */
static void put_entry(strbuf_t *out, const char *key, const char *value, size_t vlen,
                      bool value_first)
{
    size_t klen = strlen(key);
    size_t inner = 1 + varint_len(klen) + klen + 1 + varint_len(vlen) + vlen;
    put_varint(out, 1 << 3 | WT_LEN);
    put_varint(out, inner);
    if (value_first) {
        put_len_field(out, 2, value, vlen);
        put_len_field(out, 1, key, klen);
    } else {
        put_len_field(out, 1, key, klen);
        put_len_field(out, 2, value, vlen);
    }
}

void sim_payload_kv(strbuf_t *out, const char *key, const char *value)
{
    put_entry(out, key, value, strlen(value), false);
}

/* FNV-1a 64. */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void sim_payload_build(const char *agent_id, uint64_t seq, int data_type, size_t size,
                       strbuf_t *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t start = out->len;
    char num[32];
    put_entry(out, "agent", agent_id, strlen(agent_id), true);
    int n = snprintf(num, sizeof(num), "%" PRIu64, seq);
    put_entry(out, "seq", num, (size_t)n, true);
    n = snprintf(num, sizeof(num), "%d", data_type);
    put_entry(out, "dt", num, (size_t)n, true);
    put_len_field(out, SIM_PAYLOAD_UNKNOWN_FIELD, SIM_PAYLOAD_UNKNOWN_VALUE,
                  strlen(SIM_PAYLOAD_UNKNOWN_VALUE));

    /* The pad entry costs about 12 bytes of framing besides its value. */
    size_t used = out->len - start + 12;
    size_t padlen = size > used ? size - used : 0;
    char chunk[256];
    uint64_t x = hash_str(agent_id) ^ (seq + 1) * 0x9e3779b97f4a7c15ULL;
    size_t klen = 3, inner = 1 + varint_len(klen) + klen + 1 + varint_len(padlen) + padlen;
    put_varint(out, 1 << 3 | WT_LEN);
    put_varint(out, inner);
    put_varint(out, 2 << 3 | WT_LEN);
    put_varint(out, padlen);
    for (size_t done = 0; done < padlen;) {
        size_t k = padlen - done < sizeof(chunk) ? padlen - done : sizeof(chunk);
        for (size_t i = 0; i < k; i++) {
            /* xorshift64 */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk[i] = alphabet[x & 63];
        }
        strbuf_append(out, chunk, k);
        done += k;
    }
    put_len_field(out, 1, "pad", klen);
}

/* ---- parsing ---------------------------------------------------------------------------- */

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -EINVAL;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -EINVAL;
}

/* Reads one field header and, for length-delimited fields, the value; skips other types.
 * val/vlen are set only for WT_LEN. */
static int next_field(const uint8_t **p, const uint8_t *end, unsigned *field, unsigned *wt,
                      const uint8_t **val, size_t *vlen)
{
    uint64_t tag, v;
    if (get_varint(p, end, &tag) < 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
        return -EINVAL;
    *field = (unsigned)(tag >> 3);
    *wt = (unsigned)(tag & 7);
    switch (*wt) {
    case WT_VARINT:
        return get_varint(p, end, &v);
    case WT_I64:
    case WT_I32: {
        size_t k = *wt == WT_I64 ? 8 : 4;
        if ((size_t)(end - *p) < k)
            return -EINVAL;
        *p += k;
        return 0;
    }
    case WT_LEN:
        if (get_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p))
            return -EINVAL;
        *val = *p;
        *vlen = (size_t)v;
        *p += v;
        return 0;
    default:
        return -EINVAL;
    }
}

int sim_payload_parse(const uint8_t *p, size_t n, char *agent_id, size_t len, uint64_t *seq)
{
    const uint8_t *end = p + n;
    bool have_agent = false, have_seq = false;
    int rc = 0;
    while (p < end) {
        unsigned field, wt;
        const uint8_t *val = NULL;
        size_t vlen = 0;
        if (next_field(&p, end, &field, &wt, &val, &vlen) < 0)
            return -EINVAL;
        if (field != 1 || wt != WT_LEN)
            continue;
        /* A map entry: key and value in any order, the last occurrence wins. */
        const uint8_t *q = val, *qend = val + vlen, *k = NULL, *v = NULL;
        size_t klen = 0, vl = 0;
        while (q < qend) {
            unsigned f2, wt2;
            const uint8_t *x = NULL;
            size_t xl = 0;
            if (next_field(&q, qend, &f2, &wt2, &x, &xl) < 0)
                return -EINVAL;
            if (wt2 == WT_LEN && f2 == 1) {
                k = x;
                klen = xl;
            } else if (wt2 == WT_LEN && f2 == 2) {
                v = x;
                vl = xl;
            }
        }
        if (!k || !v)
            continue;
        if (klen == 5 && memcmp(k, "agent", 5) == 0) {
            if (vl >= len) {
                rc = -ENOSPC;
                continue;
            }
            memcpy(agent_id, v, vl);
            agent_id[vl] = '\0';
            have_agent = true;
        } else if (klen == 3 && memcmp(k, "seq", 3) == 0) {
            uint64_t s = 0;
            if (vl == 0 || vl > 20)
                return -EINVAL;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9' || s > (UINT64_MAX - 9) / 10)
                    return -EINVAL;
                s = s * 10 + (uint64_t)(v[i] - '0');
            }
            *seq = s;
            have_seq = true;
        }
    }
    if (rc < 0 && !have_agent)
        return rc;
    return have_agent && have_seq ? 0 : -ENOENT;
}
