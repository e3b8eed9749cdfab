#include "asset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

asset_t *asset_set_add(asset_set_t *s)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
    }
    asset_t *a = &s->items[s->n++];
    memset(a, 0, sizeof(*a));
    return a;
}

void asset_set_pop(asset_set_t *s)
{
    if (s->n == 0)
        return;
    asset_dispose(&s->items[--s->n]);
}

void asset_set_dispose(asset_set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        asset_dispose(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof(*s));
}

const asset_t *asset_set_find(const asset_set_t *s, const char *key, const char *value)
{
    for (size_t i = 0; i < s->n; i++) {
        const char *v = asset_get(&s->items[i], key);
        if (v && strcmp(v, value) == 0)
            return &s->items[i];
    }
    return NULL;
}

void asset_addn(asset_t *a, const char *key, const char *value, size_t n)
{
    if (!value) {
        value = "";
        n = 0;
    }
    if (n > ASSET_MAX_VALUE)
        n = ASSET_MAX_VALUE;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->kv[i].key, key) == 0) {
            free(a->kv[i].value);
            a->kv[i].value = xstrndup(value, n);
            return;
        }
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->kv = xrealloc(a->kv, a->cap * sizeof(*a->kv));
    }
    a->kv[a->n].key = xstrdup(key);
    a->kv[a->n].value = xstrndup(value, n);
    a->n++;
}

void asset_add(asset_t *a, const char *key, const char *value)
{
    asset_addn(a, key, value, value ? strlen(value) : 0);
}

void asset_addf(asset_t *a, const char *key, const char *fmt, ...)
{
    char buf[ASSET_MAX_VALUE + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    asset_addn(a, key, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

const char *asset_get(const asset_t *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->kv[i].key, key) == 0)
            return a->kv[i].value;
    return NULL;
}

void asset_dispose(asset_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->kv[i].key);
        free(a->kv[i].value);
    }
    free(a->kv);
    memset(a, 0, sizeof(*a));
}
