/* asset: one collected item (an ordered list of string fields) and a set of them, the form
 * every collector parser fills and the emitter turns into records. Values are cut at
 * ASSET_MAX_VALUE bytes so that one odd input cannot make a record too big. */
#ifndef RAMPART_COLLECTOR_ASSET_H
#define RAMPART_COLLECTOR_ASSET_H

#include <stddef.h>

#define ASSET_MAX_VALUE 4096

typedef struct {
    char *key;
    char *value;
} asset_kv_t;

typedef struct {
    asset_kv_t *kv;
    size_t n, cap;
} asset_t;

typedef struct {
    asset_t *items;
    size_t n, cap;
} asset_set_t;

/* Appends an empty item; the pointer is valid until the next asset_set_add. */
asset_t *asset_set_add(asset_set_t *s);
/* Drops the last item (a parser that found it incomplete). */
void asset_set_pop(asset_set_t *s);
void asset_set_dispose(asset_set_t *s);
/* First item whose field key equals value; NULL when none. */
const asset_t *asset_set_find(const asset_set_t *s, const char *key, const char *value);

/* Adds (or, for a key already there, replaces) a field. NULL value adds "". */
void asset_add(asset_t *a, const char *key, const char *value);
void asset_addn(asset_t *a, const char *key, const char *value, size_t n);
void asset_addf(asset_t *a, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *asset_get(const asset_t *a, const char *key);
void asset_dispose(asset_t *a);

#endif
