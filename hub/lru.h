/* lru: a bounded hash table of fixed-size records keyed by 64-bit hashes.
 *
 * All memory is taken once at creation (capacity records of rec_size bytes); when the table
 * is full, inserting evicts the least recently used record (approximately: a record used
 * again soon after it was last moved to the front is not moved again, which saves cache
 * misses on the hot path). Look-ups and inserts are O(1) and
 * never allocate, which is what the hub's per-event state (process table, threshold groups,
 * sequences, alert merging) needs on its hot path. Keys are 64-bit hashes of the real key;
 * callers that cannot live with a collision keep the real key in the record and compare it.
 * Not thread-safe: each table belongs to one thread. */
#ifndef RAMPART_HUB_LRU_H
#define RAMPART_HUB_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lru lru_t;

/* capacity >= 1 records of rec_size bytes each (zeroed when inserted). */
lru_t *lru_new(size_t capacity, size_t rec_size);
void lru_free(lru_t *t);

/* The record for key, marked most recently used; NULL if absent. */
void *lru_get(lru_t *t, uint64_t key);
/* The record for key without touching its recency; NULL if absent. */
void *lru_peek(const lru_t *t, uint64_t key);
/* The record for key; inserted (zeroed, *created = true) when absent, evicting the least
 * recently used record if the table is full (*evicted, may be NULL, set to true then). */
void *lru_put(lru_t *t, uint64_t key, bool *created, bool *evicted);
/* Removes key if present. */
void lru_del(lru_t *t, uint64_t key);
/* Drops every record. */
void lru_clear(lru_t *t);
size_t lru_count(const lru_t *t);
size_t lru_capacity(const lru_t *t);
uint64_t lru_evictions(const lru_t *t);

/* Visits records from least to most recently used; fn returns true to remove the record.
 * fn must not call other lru functions on t. */
void lru_sweep(lru_t *t, bool (*fn)(void *rec, void *ud), void *ud);

/* 64-bit FNV-1a, and a helper to continue it over more bytes. */
uint64_t lru_hash(const void *p, size_t n);
uint64_t lru_hash_more(uint64_t h, const void *p, size_t n);
static inline uint64_t lru_hash_str(uint64_t h, const char *s)
{
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 0x100000001b3ULL;
    }
    h ^= 0xff; /* separator, so ("ab","c") and ("a","bc") differ */
    h *= 0x100000001b3ULL;
    return h;
}
#define LRU_HASH_INIT 0xcbf29ce484222325ULL

#endif
