/* registry: the service registry, all of it in Redis.
 *
 * Keys (prefix P, default "rampart:sd:"):
 *   P i:<name>:<ip>:<port>  hash {ip, port, w, m, r, n}: one instance; expires with its TTL
 *   P s:<name>              sorted set of "<ip>:<port>" scored by expiry (ms, Redis clock)
 *   P names                 sorted set of service names scored by their latest expiry
 *   P nonce:<key>:<nonce>   replay guard of signed requests, expires with the signature window
 * Every change runs as one Lua script, atomic and timed by Redis' own clock, so any number
 * of SD instances on one Redis serve the same view. Standalone Redis (or Sentinel); the
 * scripts touch keys of several slots, so Redis Cluster is not supported.
 *
 * All functions are thread-safe and return 0, -EIO when Redis cannot be reached (with *err
 * naming why), or the documented errors. */
#ifndef RAMPART_SD_REGISTRY_H
#define RAMPART_SD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "common/redis.h"

#define SD_NAME_MAX       64
#define SD_HOST_MAX       253
#define SD_METADATA_MAX   4096
#define SD_WEIGHT_MAX     1000000
#define SD_WEIGHT_DEFAULT 100

typedef struct registry registry_t;

/* What a client registers. */
typedef struct {
    char name[SD_NAME_MAX + 1];
    char ip[SD_HOST_MAX + 1];
    uint16_t port;
    int64_t weight;                     /* -1 in a renewal: keep the current weight */
    char metadata[SD_METADATA_MAX + 1]; /* compact JSON object text */
} sd_instance_spec_t;

/* One live instance as read back. */
typedef struct {
    char ip[SD_HOST_MAX + 1];
    uint16_t port;
    int64_t weight;
    char *metadata;        /* JSON object text, owned */
    int64_t registered_at; /* ms since the epoch, Redis clock */
    int64_t renewed_at;
    int64_t expires_at;
} registry_entry_t;

typedef struct {
    char name[SD_NAME_MAX + 1];
    int64_t instances;
} registry_service_t;

typedef struct {
    redis_pool_t *redis; /* borrowed */
    const char *prefix;
    int64_t ttl_ms;
    int64_t max_services;
    int64_t max_instances;
    int64_t cache_ms; /* keep look-up answers this long (0: every look-up asks Redis) */
    metrics_registry_t *metrics;
} registry_opts_t;

registry_t *registry_new(const registry_opts_t *opts);
void registry_free(registry_t *reg);

int64_t registry_ttl_ms(const registry_t *reg);

/* Registers or re-registers; *expires_at set. -ENOSPC with *err when a limit is reached. */
int registry_register(registry_t *reg, const sd_instance_spec_t *spec, int64_t *expires_at,
                      const char **err);
/* Extends an instance's TTL (and sets its weight unless spec->weight < 0). -ENOENT when the
 * instance is not registered (expired, evicted, or Redis lost it): register again. */
int registry_renew(registry_t *reg, const sd_instance_spec_t *spec, int64_t *expires_at,
                   const char **err);
/* Removes an instance. -ENOENT when it was not there. */
int registry_evict(registry_t *reg, const char *name, const char *ip, uint16_t port,
                   const char **err);
/* Live instances of name, in no particular order, from the look-up cache when it holds a
 * fresh answer (at most cache_ms old; writes through this instance drop it at once); *out is an
 * array of *n entries to give to registry_entries_free (NULL when *n is 0). */
int registry_lookup(registry_t *reg, const char *name, registry_entry_t **out, size_t *n,
                    const char **err);
void registry_entries_free(registry_entry_t *entries, size_t n);
/* Service names with at least one live instance and their counts (*out free()d by caller). */
int registry_services(registry_t *reg, registry_service_t **out, size_t *n, const char **err);
/* Replay guard for signed requests (an hmac_replay_fn: ud is the registry). */
int registry_nonce_check(void *ud, const char *key, const char *nonce, int64_t expires_at);
/* PING. */
int registry_ping(registry_t *reg, const char **err);

typedef enum {
    REGISTRY_PICK_WEIGHTED = 0,
    REGISTRY_PICK_LEAST = 1,
} registry_pick_t;

/* Reorders entries so that the first min(count, n) are the picked ones, and returns that
 * number. count == 0 keeps all (and returns n). WEIGHTED: weighted random sampling without
 * replacement (weight 0 is picked last: draining). LEAST: lowest weight first, ties random. */
size_t registry_pick(registry_entry_t *entries, size_t n, size_t count, registry_pick_t how);

#endif
