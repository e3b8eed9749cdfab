#include "hub/event.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "envelope.pb-c.h"
#include "hub/lru.h"

/* A bump allocator: one block, plus overflow blocks for a message that does not fit. At the
 * next reset the block grows to what the largest message needed. */
typedef struct {
    unsigned char *block;
    size_t cap, used;
    void **overflow;
    size_t noverflow, capoverflow, overflow_bytes;
} arena_t;

#define MAX_IPS 64

struct event_decoder {
    arena_t arena;
    ProtobufCAllocator alloc;
    /* wire decoder: reused arrays */
    Grpc__Payload__FieldsEntry *ent;
    Grpc__Payload__FieldsEntry **ptr;
    size_t cap;
    char *ipv4[MAX_IPS];
};

static void *arena_alloc(void *ud, size_t size)
{
    arena_t *a = ud;
    size = (size + 15) & ~(size_t)15;
    if (a->used + size <= a->cap) {
        void *p = a->block + a->used;
        a->used += size;
        return p;
    }
    if (a->noverflow == a->capoverflow) {
        a->capoverflow = a->capoverflow ? a->capoverflow * 2 : 16;
        a->overflow = xrealloc(a->overflow, a->capoverflow * sizeof(void *));
    }
    void *p = xmalloc(size);
    a->overflow[a->noverflow++] = p;
    a->overflow_bytes += size;
    return p;
}

static void arena_free(void *ud, void *p)
{
    (void)ud;
    (void)p; /* everything goes at the next reset */
}

static void arena_reset(arena_t *a)
{
    if (a->noverflow) {
        size_t need = a->used + a->overflow_bytes;
        for (size_t i = 0; i < a->noverflow; i++)
            free(a->overflow[i]);
        a->noverflow = 0;
        a->overflow_bytes = 0;
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < need * 2)
            cap *= 2;
        free(a->block);
        a->block = xmalloc(cap);
        a->cap = cap;
    }
    a->used = 0;
}

event_decoder_t *event_decoder_new(void)
{
    event_decoder_t *d = xcalloc(1, sizeof(*d));
    d->arena.cap = 16384;
    d->arena.block = xmalloc(d->arena.cap);
    d->alloc =
        (ProtobufCAllocator){.alloc = arena_alloc, .free = arena_free, .allocator_data = &d->arena};
    return d;
}

void event_decoder_free(event_decoder_t *d)
{
    if (!d)
        return;
    arena_reset(&d->arena);
    free(d->arena.block);
    free(d->arena.overflow);
    free(d->ent);
    free(d->ptr);
    free(d);
}

int event_decode_pb(event_decoder_t *d, const void *buf, size_t len, hub_event_t *out)
{
    arena_reset(&d->arena);
    memset(out, 0, sizeof(*out));
    out->partition = -1;
    if (len > EVENT_MAX_BYTES)
        return -EMSGSIZE;
    Rampart__EnvelopeView *m = rampart__envelope_view__unpack(&d->alloc, len, buf);
    if (!m)
        return -EINVAL;
    if (m->data_type < 0 || !m->agent_id || !m->agent_id[0])
        return -EINVAL;
    out->data_type = m->data_type;
    out->time_ms = m->agent_time > INT64_MAX / 1000 || m->agent_time < 0 ? 0 : m->agent_time * 1000;
    out->server_time = m->server_time;
    out->agent_id = m->agent_id;
    out->hostname = m->hostname;
    out->ipv4 = m->intranet_ipv4;
    out->nipv4 = m->n_intranet_ipv4;
    if (m->payload) {
        out->fields = m->payload->fields;
        out->nfields = m->payload->n_fields;
    }
    out->identity = 0; /* hashed from raw only when an alert needs it */
    out->raw = buf;
    out->raw_len = len;
    return 0;
}

/* ---- the wire decoder ---------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} rd_t;

static int varint(rd_t *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

/* Reads a tag; 0 at the end, 1 with a tag, -1 on a malformed one. Parsed exactly as
 * protobuf-c does (at most 5 bytes, field number kept in 32 bits, zero refused when the
 * first byte says so), so both decoders accept the same inputs. */
static int tag(rd_t *r, uint32_t *field, uint32_t *wire)
{
    if (r->p >= r->end)
        return 0;
    const uint8_t *d = r->p;
    size_t avail = (size_t)(r->end - r->p), max = avail > 5 ? 5 : avail;
    if ((d[0] & 0xf8) == 0)
        return -1;
    uint32_t t = (d[0] & 0x7f) >> 3;
    *wire = d[0] & 7;
    if (!(d[0] & 0x80)) {
        *field = t;
        r->p += 1;
        return 1;
    }
    unsigned shift = 4;
    for (size_t i = 1; i < max; i++) {
        if (d[i] & 0x80) {
            t |= (uint32_t)(d[i] & 0x7f) << shift;
            shift += 7;
        } else {
            t |= (uint32_t)d[i] << shift;
            *field = t;
            r->p += i + 1;
            return 1;
        }
    }
    return -1;
}

static int bytes(rd_t *r, rd_t *sub)
{
    uint64_t n;
    if (varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
        return -1;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

static int skip(rd_t *r, uint32_t wire)
{
    uint64_t v;
    rd_t sub;
    switch (wire) {
    case 0:
        return varint(r, &v);
    case 1:
        if (r->end - r->p < 8)
            return -1;
        r->p += 8;
        return 0;
    case 2:
        return bytes(r, &sub);
    case 5:
        if (r->end - r->p < 4)
            return -1;
        r->p += 4;
        return 0;
    default:
        return -1; /* groups (3, 4) and unknown wire types */
    }
}

static char *str(event_decoder_t *d, const rd_t *s)
{
    size_t n = (size_t)(s->end - s->p);
    char *c = arena_alloc(&d->arena, n + 1);
    memcpy(c, s->p, n);
    c[n] = '\0';
    return c;
}

static char *const empty = "";

static int entry(event_decoder_t *d, rd_t *r, size_t *n)
{
    if (*n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->ent = xrealloc(d->ent, d->cap * sizeof(*d->ent));
        d->ptr = xrealloc(d->ptr, d->cap * sizeof(*d->ptr));
        /* the entries moved: the pointers to those already decoded must follow them (an
         * event with more than 64 fields read freed memory before; found by the fuzzer) */
        for (size_t i = 0; i < *n; i++)
            d->ptr[i] = &d->ent[i];
    }
    Grpc__Payload__FieldsEntry *e = &d->ent[*n];
    e->key = empty;
    e->value = empty;
    uint32_t f, w;
    int t;
    while ((t = tag(r, &f, &w)) > 0) {
        rd_t s;
        if ((f == 1 || f == 2) && w == 2) {
            if (bytes(r, &s) < 0)
                return -1;
            if (f == 1)
                e->key = str(d, &s);
            else
                e->value = str(d, &s);
        } else if ((f == 1 || f == 2) || skip(r, w) < 0) {
            return -1;
        }
    }
    if (t < 0)
        return -1;
    d->ptr[*n] = e;
    (*n)++;
    return 0;
}

static int payload(event_decoder_t *d, rd_t *r, size_t *n)
{
    uint32_t f, w;
    int t;
    while ((t = tag(r, &f, &w)) > 0) {
        rd_t s;
        if (f == 1 && w == 2) {
            if (bytes(r, &s) < 0 || entry(d, &s, n) < 0)
                return -1;
        } else if (f == 1 || skip(r, w) < 0) {
            return -1;
        }
    }
    return t;
}

int event_decode(event_decoder_t *d, const void *buf, size_t len, hub_event_t *out)
{
    arena_reset(&d->arena);
    memset(out, 0, sizeof(*out));
    out->partition = -1;
    if (len > EVENT_MAX_BYTES)
        return -EMSGSIZE;
    rd_t r = {.p = buf, .end = (const uint8_t *)buf + len};
    size_t n = 0, nip = 0;
    int64_t agent_time = 0;
    int32_t data_type = 0;
    const char *agent = NULL;
    uint32_t f, w;
    int t;
    while ((t = tag(&r, &f, &w)) > 0) {
        uint64_t v;
        rd_t s;
        bool is_varint = f == 1 || f == 2 || f == 12;
        bool is_bytes = (f >= 3 && f <= 11) || f == 16;
        if (is_varint && w == 0) {
            if (varint(&r, &v) < 0)
                return -EINVAL;
            if (f == 1)
                data_type = (int32_t)(uint32_t)v;
            else if (f == 2)
                agent_time = (int64_t)v;
            else
                out->server_time = (int64_t)v;
        } else if (is_bytes && w == 2) {
            if (bytes(&r, &s) < 0)
                return -EINVAL;
            if (f == 3) {
                if (payload(d, &s, &n) < 0)
                    return -EINVAL;
            } else if (f == 4) {
                agent = str(d, &s);
            } else if (f == 5) {
                if (nip < MAX_IPS)
                    d->ipv4[nip++] = str(d, &s);
            } else if (f == 9) {
                out->hostname = str(d, &s);
            }
        } else if (is_varint || is_bytes || skip(&r, w) < 0) {
            return -EINVAL;
        }
    }
    if (t < 0 || data_type < 0 || !agent || !agent[0])
        return -EINVAL;
    out->data_type = data_type;
    out->time_ms = agent_time > INT64_MAX / 1000 || agent_time < 0 ? 0 : agent_time * 1000;
    out->agent_id = agent;
    if (!out->hostname)
        out->hostname = empty;
    out->ipv4 = d->ipv4;
    out->nipv4 = nip;
    out->fields = d->ptr;
    out->nfields = n;
    out->raw = buf;
    out->raw_len = len;
    return 0;
}
