#include "agent-center/conn_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct conn_table {
    pthread_mutex_t mu;
    conn_t **buckets;
    size_t nbuckets;
    size_t count;
};

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

conn_table_t *conn_table_new(size_t buckets)
{
    conn_table_t *t = xcalloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    t->nbuckets = buckets < 16 ? 16 : buckets;
    t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
    return t;
}

void conn_table_free(conn_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        conn_t *c = t->buckets[i];
        while (c) {
            conn_t *next = c->hash_next;
            conn_unref(c);
            c = next;
        }
    }
    free(t->buckets);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

conn_t *conn_table_bind(conn_table_t *t, conn_t *c)
{
    conn_t *old = NULL;
    conn_ref(c);
    pthread_mutex_lock(&t->mu);
    conn_t **pp = &t->buckets[hash(c->identity) % t->nbuckets];
    for (; *pp; pp = &(*pp)->hash_next) {
        if (strcmp((*pp)->identity, c->identity) == 0) {
            old = *pp;
            *pp = old->hash_next;
            old->hash_next = NULL;
            t->count--;
            break;
        }
    }
    c->hash_next = t->buckets[hash(c->identity) % t->nbuckets];
    t->buckets[hash(c->identity) % t->nbuckets] = c;
    t->count++;
    pthread_mutex_unlock(&t->mu);
    return old;
}

void conn_table_remove(conn_table_t *t, conn_t *c)
{
    bool found = false;
    pthread_mutex_lock(&t->mu);
    for (conn_t **pp = &t->buckets[hash(c->identity) % t->nbuckets]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == c) {
            *pp = c->hash_next;
            c->hash_next = NULL;
            t->count--;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (found)
        conn_unref(c);
}

conn_t *conn_table_get(conn_table_t *t, const char *agent_id)
{
    conn_t *c;
    pthread_mutex_lock(&t->mu);
    for (c = t->buckets[hash(agent_id) % t->nbuckets]; c; c = c->hash_next)
        if (strcmp(c->identity, agent_id) == 0)
            break;
    if (c)
        conn_ref(c);
    pthread_mutex_unlock(&t->mu);
    return c;
}

size_t conn_table_count(conn_table_t *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->count;
    pthread_mutex_unlock(&t->mu);
    return n;
}

static int by_identity(const void *a, const void *b)
{
    return strcmp((*(conn_t *const *)a)->identity, (*(conn_t *const *)b)->identity);
}

conn_t **conn_table_snapshot(conn_table_t *t, size_t *n)
{
    pthread_mutex_lock(&t->mu);
    conn_t **v = xmalloc((t->count ? t->count : 1) * sizeof(*v));
    size_t k = 0;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (conn_t *c = t->buckets[i]; c; c = c->hash_next) {
            conn_ref(c);
            v[k++] = c;
        }
    pthread_mutex_unlock(&t->mu);
    qsort(v, k, sizeof(*v), by_identity);
    *n = k;
    return v;
}
