#include "hub/event.h"

#include <errno.h>
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

struct event_decoder {
    arena_t arena;
    ProtobufCAllocator alloc;
    Rampart__EnvelopeView *msg;
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
    free(d);
}

int event_decode(event_decoder_t *d, const void *buf, size_t len, hub_event_t *out)
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
