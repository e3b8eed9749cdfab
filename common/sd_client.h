/* sd_client: the service-discovery client every Rampart service and agent uses.
 *
 * Registration: sd_client_register() adds an instance that a background thread registers
 * and then renews every renew_interval (default TTL/3) at one of the configured SD
 * addresses, failing over to the next on error. A renewal answered 404 (the registry lost
 * the instance, e.g. Redis was restarted empty) is followed by a fresh registration, so
 * instances come back by themselves. sd_client_free() evicts every registration.
 *
 * Look-up: sd_client_lookup() asks SD for the instances of a name, trying each address in
 * turn, and caches the answer for cache_ttl. When every SD address fails, the last cached
 * answer is served (stale) if there is one. Thread-safe. */
#ifndef RAMPART_COMMON_SD_CLIENT_H
#define RAMPART_COMMON_SD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct sd_client sd_client_t;

typedef struct {
    const char *const *addrs; /* SD base addresses, "host:port" or "http://host:port" */
    size_t naddrs;
    const char *access_key; /* for register/renew/evict; may be NULL for look-up only */
    const char *secret_key;
    int renew_interval_ms; /* 0: 10 s */
    int timeout_ms;        /* per HTTP request; 0: 2 s */
    int cache_ttl_ms;      /* look-up cache; 0: 5 s, < 0: no cache */
} sd_client_opts_t;

typedef struct {
    char name[128];
    char ip[64];
    uint16_t port;
    int weight;
} sd_instance_t;

typedef enum {
    SD_PICK_WEIGHTED = 0, /* N picked at random, more likely the higher the weight */
    SD_PICK_LEAST = 1,    /* the N with the lowest weight (weight = load) */
} sd_pick_t;

sd_client_t *sd_client_new(const sd_client_opts_t *opts);

/* A daemon's usual setup: a client for addrs (NULL-terminated, from the config's sd.addrs)
 * that signs with access_key's secret in keys. 0 with *out = NULL when addrs is empty (no
 * service discovery), 0 with *out set, or -EINVAL with the reason in err when access_key is
 * not in keys. */
struct hmac_keyring;
int sd_client_from_keyring(char *const *addrs, const struct hmac_keyring *keys,
                           const char *access_key, int renew_interval_ms, sd_client_t **out,
                           char *err, size_t errlen);
/* Stops the background thread and evicts every registration (best effort). Accepts NULL. */
void sd_client_free(sd_client_t *c);

/* Adds a registration; metadata_json is a JSON object text or NULL. Registers at once on the
 * background thread. Returns a registration id >= 0, or -EINVAL. */
int sd_client_register(sd_client_t *c, const char *name, const char *ip, uint16_t port, int weight,
                       const char *metadata_json);
/* Changes the weight sent with the next renewal. 0 or -ENOENT. */
int sd_client_set_weight(sd_client_t *c, int id, int weight);
/* Removes a registration and evicts it from SD. 0 or -ENOENT. */
int sd_client_deregister(sd_client_t *c, int id);
/* Number of registrations currently confirmed by SD (registered or renewed on last try). */
size_t sd_client_registered(sd_client_t *c);

/* Looks up to max instances of name (count = 0: all, else N picked by pick). Fills out and *n.
 * 0; -ENOENT when SD knows no instance; -EIO when no SD answered and nothing is cached. */
int sd_client_lookup(sd_client_t *c, const char *name, size_t count, sd_pick_t pick,
                     sd_instance_t *out, size_t max, size_t *n);

#endif
