/* services: the manager as a client of other Rampart services.
 *
 * Look-ups go to service discovery's unsigned GET /api/v1/services[/{name}] (the instances
 * with their metadata, which common/sd_client does not return: AgentCenters publish their
 * admin port there). Calls to AgentCenters' and hubs' admin APIs are signed with the manager's
 * access key (common/hmac.h). Every call has a timeout (look-ups and health: the one given
 * to services_new; signed calls: 15 s, as a hub compiles its rules before answering a push) and
 * a bounded answer (1 MiB). */
#ifndef RAMPART_MGR_SERVICES_H
#define RAMPART_MGR_SERVICES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct services services_t;

typedef struct {
    char ip[64];
    uint16_t port;       /* registered port */
    uint16_t admin_port; /* metadata.admin_port, else port */
    char instance[128];  /* metadata.instance, or "" */
    int weight;
} svc_instance_t;

/* sd_addrs NULL-terminated (may be empty: look-ups then fail with -ENOENT). access_key and
 * secret may be NULL: signed calls then fail with -EPERM. */
services_t *services_new(char *const *sd_addrs, const char *access_key, const char *secret,
                         int timeout_ms);
void services_free(services_t *s);

/* Instances of name. 0 (n may be 0); -EIO when no SD address answered. */
int services_lookup(services_t *s, const char *name, svc_instance_t *out, size_t max, size_t *n);
/* The SD service list {"services":[{"name","instances"}]} (new reference) or NULL. */
json_t *services_list(services_t *s);

/* A signed request to http://hostport path (query included in path). body may be NULL.
 * *status = HTTP status (0 on transport failure); *resp = parsed JSON answer or NULL (may be
 * NULL). 0, or -EIO on transport failure, -EPERM without keys. */
int services_call(services_t *s, const char *method, const char *hostport, const char *path,
                  const char *content_type, const void *body, size_t len, long *status,
                  json_t **resp);
/* Unsigned GET http://hostport/health: the status (0 when unreachable). */
long services_health(services_t *s, const char *hostport, json_t **resp);

#endif
