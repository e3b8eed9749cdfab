#include "hub/lru.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define NIL UINT32_MAX

typedef struct {
    uint64_t key;
    uint32_t next;           /* hash chain */
    uint32_t prev_u, next_u; /* recency list: head = most recent */
    uint32_t stamp;          /* t->tick when last moved to the front */
} slot_t;

struct lru {
    size_t cap, rec_size, count;
    uint32_t nbuckets_mask;
    uint32_t *buckets;
    slot_t *slots;
    unsigned char *recs;
    uint32_t head, tail, free_head;
    uint32_t tick;
    uint64_t evictions;
};

static void *rec_of(const lru_t *t, uint32_t i)
{
    return t->recs + (size_t)i * t->rec_size;
}

lru_t *lru_new(size_t capacity, size_t rec_size)
{
    if (capacity == 0 || capacity >= NIL || rec_size == 0)
        return NULL;
    lru_t *t = xcalloc(1, sizeof(*t));
    t->cap = capacity;
    t->rec_size = rec_size;
    size_t nb = 16;
    while (nb < capacity * 2)
        nb <<= 1;
    t->nbuckets_mask = (uint32_t)(nb - 1);
    t->buckets = xmalloc(nb * sizeof(uint32_t));
    t->slots = xcalloc(capacity, sizeof(slot_t));
    t->recs = xcalloc(capacity, rec_size);
    lru_clear(t);
    return t;
}

void lru_free(lru_t *t)
{
    if (!t)
        return;
    free(t->buckets);
    free(t->slots);
    free(t->recs);
    free(t);
}

void lru_clear(lru_t *t)
{
    memset(t->buckets, 0xff, ((size_t)t->nbuckets_mask + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < t->cap; i++) {
        t->slots[i].next = i + 1 < t->cap ? (uint32_t)(i + 1) : NIL;
    }
    t->free_head = 0;
    t->head = t->tail = NIL;
    t->count = 0;
}

static uint32_t bucket_of(const lru_t *t, uint64_t key)
{
    return (uint32_t)((key ^ (key >> 29)) * 0x9e3779b97f4a7c15ULL >> 32) & t->nbuckets_mask;
}

static uint32_t find(const lru_t *t, uint64_t key)
{
    for (uint32_t i = t->buckets[bucket_of(t, key)]; i != NIL; i = t->slots[i].next)
        if (t->slots[i].key == key)
            return i;
    return NIL;
}

static void unlink_u(lru_t *t, uint32_t i)
{
    slot_t *s = &t->slots[i];
    if (s->prev_u != NIL)
        t->slots[s->prev_u].next_u = s->next_u;
    else
        t->head = s->next_u;
    if (s->next_u != NIL)
        t->slots[s->next_u].prev_u = s->prev_u;
    else
        t->tail = s->prev_u;
}

static void push_front(lru_t *t, uint32_t i)
{
    slot_t *s = &t->slots[i];
    s->prev_u = NIL;
    s->next_u = t->head;
    if (t->head != NIL)
        t->slots[t->head].prev_u = i;
    t->head = i;
    if (t->tail == NIL)
        t->tail = i;
}

static void remove_slot(lru_t *t, uint32_t i)
{
    uint32_t *pp = &t->buckets[bucket_of(t, t->slots[i].key)];
    while (*pp != i)
        pp = &t->slots[*pp].next;
    *pp = t->slots[i].next;
    unlink_u(t, i);
    t->slots[i].next = t->free_head;
    t->free_head = i;
    t->count--;
}

void *lru_get(lru_t *t, uint64_t key)
{
    uint32_t i = find(t, key);
    if (i == NIL)
        return NULL;
    /* Moving a record to the front touches its neighbours, each likely a cache miss; a record
     * moved recently enough is still far from the tail, so it stays where it is. The order is
     * thereby approximately, not exactly, least recently used. */
    t->tick++;
    if (t->head != i && t->tick - t->slots[i].stamp > t->cap / 8) {
        unlink_u(t, i);
        push_front(t, i);
        t->slots[i].stamp = t->tick;
    }
    return rec_of(t, i);
}

void *lru_peek(const lru_t *t, uint64_t key)
{
    uint32_t i = find(t, key);
    return i == NIL ? NULL : rec_of(t, i);
}

void *lru_put(lru_t *t, uint64_t key, bool *created, bool *evicted)
{
    if (evicted)
        *evicted = false;
    void *r = lru_get(t, key);
    if (r) {
        *created = false;
        return r;
    }
    if (t->free_head == NIL) {
        remove_slot(t, t->tail);
        t->evictions++;
        if (evicted)
            *evicted = true;
    }
    uint32_t i = t->free_head;
    t->free_head = t->slots[i].next;
    slot_t *s = &t->slots[i];
    s->key = key;
    s->stamp = t->tick;
    uint32_t b = bucket_of(t, key);
    s->next = t->buckets[b];
    t->buckets[b] = i;
    push_front(t, i);
    t->count++;
    r = rec_of(t, i);
    memset(r, 0, t->rec_size);
    *created = true;
    return r;
}

void lru_del(lru_t *t, uint64_t key)
{
    uint32_t i = find(t, key);
    if (i != NIL)
        remove_slot(t, i);
}

size_t lru_count(const lru_t *t)
{
    return t->count;
}

size_t lru_capacity(const lru_t *t)
{
    return t->cap;
}

uint64_t lru_evictions(const lru_t *t)
{
    return t->evictions;
}

void lru_sweep(lru_t *t, bool (*fn)(void *rec, void *ud), void *ud)
{
    uint32_t i = t->tail;
    while (i != NIL) {
        uint32_t prev = t->slots[i].prev_u;
        if (fn(rec_of(t, i), ud))
            remove_slot(t, i);
        i = prev;
    }
}

uint64_t lru_hash_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t lru_hash(const void *p, size_t n)
{
    return lru_hash_more(LRU_HASH_INIT, p, n);
}
