#include "hub/offtrack.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define SEQ_BITS   40
#define EPOCH_BITS 8
#define SEQ_MASK   ((1ULL << SEQ_BITS) - 1)

typedef struct {
    int64_t offset;
    uint32_t pending;
} ent_t;

typedef struct {
    bool active;
    uint8_t epoch;
    ent_t *ring;
    size_t cap, head, n; /* entries [head, head+n) mod cap */
    uint64_t head_seq;   /* sequence number of ring[head] */
    int64_t committed;   /* last value returned by committable, -1 none */
} part_t;

struct offtrack {
    part_t parts[OFFTRACK_MAX_PARTITIONS];
    size_t inflight;
};

offtrack_t *offtrack_new(void)
{
    return xcalloc(1, sizeof(offtrack_t));
}

void offtrack_free(offtrack_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < OFFTRACK_MAX_PARTITIONS; i++)
        free(t->parts[i].ring);
    free(t);
}

static part_t *part(offtrack_t *t, int32_t p)
{
    return p >= 0 && p < OFFTRACK_MAX_PARTITIONS ? &t->parts[p] : NULL;
}

void offtrack_assign(offtrack_t *t, int32_t partition)
{
    part_t *p = part(t, partition);
    if (!p)
        return;
    t->inflight -= p->n;
    uint8_t epoch = (uint8_t)(p->epoch + 1);
    free(p->ring);
    memset(p, 0, sizeof(*p));
    p->epoch = epoch;
    p->active = true;
    p->committed = -1;
}

void offtrack_revoke(offtrack_t *t, int32_t partition)
{
    part_t *p = part(t, partition);
    if (!p)
        return;
    offtrack_assign(t, partition); /* drops entries, bumps the epoch */
    p->active = false;
}

bool offtrack_assigned(const offtrack_t *t, int32_t partition)
{
    return partition >= 0 && partition < OFFTRACK_MAX_PARTITIONS && t->parts[partition].active;
}

uint64_t offtrack_add(offtrack_t *t, int32_t partition, int64_t offset)
{
    part_t *p = part(t, partition);
    if (!p || !p->active)
        return 0;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 1024;
        ent_t *r = xmalloc(ncap * sizeof(ent_t));
        for (size_t i = 0; i < p->n; i++)
            r[i] = p->ring[(p->head + i) % p->cap];
        free(p->ring);
        p->ring = r;
        p->cap = ncap;
        p->head = 0;
    }
    p->ring[(p->head + p->n) % p->cap] = (ent_t){.offset = offset, .pending = 0};
    uint64_t seq = (p->head_seq + p->n) & SEQ_MASK;
    p->n++;
    t->inflight++;
    return ((uint64_t)(partition + 1) << (SEQ_BITS + EPOCH_BITS)) |
           ((uint64_t)p->epoch << SEQ_BITS) | seq;
}

static ent_t *find(offtrack_t *t, uint64_t h)
{
    if (!h)
        return NULL;
    int32_t partition = (int32_t)(h >> (SEQ_BITS + EPOCH_BITS)) - 1;
    part_t *p = part(t, partition);
    if (!p || !p->active || ((h >> SEQ_BITS) & 0xff) != p->epoch)
        return NULL;
    uint64_t seq = h & SEQ_MASK;
    uint64_t idx = (seq - p->head_seq) & SEQ_MASK;
    if (idx >= p->n)
        return NULL;
    return &p->ring[(p->head + idx) % p->cap];
}

void offtrack_hold(offtrack_t *t, uint64_t handle)
{
    ent_t *e = find(t, handle);
    if (e)
        e->pending++;
}

void offtrack_release(offtrack_t *t, uint64_t handle)
{
    ent_t *e = find(t, handle);
    if (e && e->pending)
        e->pending--;
}

int64_t offtrack_committable(offtrack_t *t, int32_t partition)
{
    part_t *p = part(t, partition);
    if (!p || !p->active)
        return -1;
    int64_t next = -1;
    while (p->n && p->ring[p->head].pending == 0) {
        next = p->ring[p->head].offset + 1;
        p->head = (p->head + 1) % p->cap;
        p->head_seq = (p->head_seq + 1) & SEQ_MASK;
        p->n--;
        t->inflight--;
    }
    if (next < 0 || next == p->committed)
        return -1;
    p->committed = next;
    return next;
}

int64_t offtrack_position(const offtrack_t *t, int32_t partition)
{
    return offtrack_assigned(t, partition) ? t->parts[partition].committed : -1;
}

size_t offtrack_inflight(const offtrack_t *t)
{
    return t->inflight;
}

void offtrack_foreach(const offtrack_t *t, void (*fn)(int32_t partition, void *ud), void *ud)
{
    for (int32_t i = 0; i < OFFTRACK_MAX_PARTITIONS; i++)
        if (t->parts[i].active)
            fn(i, ud);
}
