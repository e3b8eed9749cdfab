#include "u64map.h"

#include <stdlib.h>

#include "common/xalloc.h"

struct slot {
    uint64_t key;
    void *val; /* NULL = empty */
};

struct u64map {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t len;
};

static size_t slot_of(const u64map_t *m, uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)key & (m->cap - 1);
}

u64map_t *u64map_new(void)
{
    u64map_t *m = xcalloc(1, sizeof(*m));
    m->cap = 64;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    return m;
}

void u64map_free(u64map_t *m, void (*free_val)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; free_val && i < m->cap; i++)
        if (m->slots[i].val)
            free_val(m->slots[i].val);
    free(m->slots);
    free(m);
}

void *u64map_get(const u64map_t *m, uint64_t key)
{
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].val)
            return NULL;
        if (m->slots[i].key == key)
            return m->slots[i].val;
    }
}

static void grow(u64map_t *m)
{
    struct slot *old = m->slots;
    size_t oldcap = m->cap;
    m->cap *= 2;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    m->len = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].val)
            u64map_put(m, old[i].key, old[i].val);
    free(old);
}

void *u64map_put(u64map_t *m, uint64_t key, void *val)
{
    if ((m->len + 1) * 4 > m->cap * 3)
        grow(m);
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].val) {
            m->slots[i].key = key;
            m->slots[i].val = val;
            m->len++;
            return NULL;
        }
        if (m->slots[i].key == key) {
            void *prev = m->slots[i].val;
            m->slots[i].val = val;
            return prev;
        }
    }
}

/* Removes slot i and shifts the following run back so probes stay unbroken. */
static void remove_at(u64map_t *m, size_t i)
{
    size_t mask = m->cap - 1;
    m->slots[i].val = NULL;
    m->len--;
    for (size_t j = (i + 1) & mask; m->slots[j].val; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->slots[j].key);
        /* move j back to i when its home is not in the cyclic range (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            m->slots[j].val = NULL;
            i = j;
        }
    }
}

void *u64map_del(u64map_t *m, uint64_t key)
{
    for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].val)
            return NULL;
        if (m->slots[i].key == key) {
            void *v = m->slots[i].val;
            remove_at(m, i);
            return v;
        }
    }
}

size_t u64map_len(const u64map_t *m)
{
    return m->len;
}

void u64map_sweep(u64map_t *m, int (*fn)(uint64_t key, void *val, void *ctx), void *ctx)
{
    /* collect first: removal shifts entries around */
    size_t n = 0;
    uint64_t *doomed = xmalloc((m->len + 1) * sizeof(*doomed));
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].val && fn(m->slots[i].key, m->slots[i].val, ctx))
            doomed[n++] = m->slots[i].key;
    for (size_t i = 0; i < n; i++)
        u64map_del(m, doomed[i]);
    free(doomed);
}
