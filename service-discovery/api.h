/* api: the service-discovery HTTP API (docs/api/service-discovery.md).
 *
 *   POST /api/v1/register          signed  {name, ip, port, weight?, metadata?}
 *   POST /api/v1/renew             signed  {name, ip, port, weight?}
 *   POST /api/v1/evict             signed  {name, ip, port}
 *   GET  /api/v1/services                  names with live instance counts
 *   GET  /api/v1/services/{name}           ?count=N&pick=weighted|least
 *   GET  /api/v1/summary                   totals
 * plus /health and /metrics from common/http.
 *
 * Request parsing is kept apart from the handlers (api_parse_*) so that it can be fuzzed
 * without a network or a Redis. */
#ifndef RAMPART_SD_API_H
#define RAMPART_SD_API_H

#include <jansson.h>
#include <stddef.h>

#include "common/hmac.h"
#include "common/http.h"
#include "common/metrics.h"
#include "service-discovery/registry.h"

typedef struct api api_t;

typedef struct {
    registry_t *registry;       /* borrowed */
    const hmac_keyring_t *keys; /* borrowed */
    int auth_window_s;
    metrics_registry_t *metrics;
} api_opts_t;

api_t *api_new(const api_opts_t *opts);
void api_free(api_t *api);
/* Adds the routes, the authenticator and the health check to srv. 0 or -EINVAL. */
int api_install(api_t *api, http_server_t *srv);

/* A request refused by validation: HTTP status, short code, words. */
typedef struct {
    unsigned status;
    const char *code;
    char message[256];
} api_error_t;

typedef enum {
    API_REGISTER,
    API_RENEW,
    API_EVICT,
} api_kind_t;

/* Validates a register/renew/evict body. Unknown fields, wrong types and values out of range
 * are refused. 0 or -EINVAL with e filled. */
int api_parse_instance(const json_t *body, api_kind_t kind, sd_instance_spec_t *out,
                       api_error_t *e);
/* Validates a look-up: the name path segment and the count/pick query values (NULL = absent). */
int api_parse_lookup(const char *name, const char *count, const char *pick, size_t *count_out,
                     registry_pick_t *pick_out, api_error_t *e);
/* True if s is a valid service name: 1-64 of [A-Za-z0-9._-], starting with a letter or digit. */
bool api_valid_name(const char *s);

#endif
