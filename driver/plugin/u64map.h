/* u64map: an open-addressing hash table from a 64-bit key to a pointer (linear probing,
 * backward-shift deletion, grows at 3/4 load). The caches of the driver plugin use it. */
#ifndef RAMPART_DRIVER_U64MAP_H
#define RAMPART_DRIVER_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64map u64map_t;

u64map_t *u64map_new(void);
/* Frees the table; free_val (may be NULL) is called on every value. NULL is fine. */
void u64map_free(u64map_t *m, void (*free_val)(void *));
void *u64map_get(const u64map_t *m, uint64_t key);
/* Inserts or replaces; returns the value it replaced (caller frees) or NULL. */
void *u64map_put(u64map_t *m, uint64_t key, void *val);
/* Removes key; returns its value (caller frees) or NULL. */
void *u64map_del(u64map_t *m, uint64_t key);
size_t u64map_len(const u64map_t *m);
/* Calls fn on each entry; fn returns nonzero to remove the entry (after freeing its value). */
void u64map_sweep(u64map_t *m, int (*fn)(uint64_t key, void *val, void *ctx), void *ctx);

#endif
