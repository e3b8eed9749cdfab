/* api: the hub's HTTP admin API (HMAC-signed, common/http_hmac.h), for the manager:
 *
 *   GET    /api/v1/rules      what is in force: rule ids, sources, version, pushed ruleset
 *   PUT    /api/v1/rules      body: a YAML ruleset; compiled with the rules directory, its
 *                             rules replacing same-id ones; 200 {version, rules} or 400 with
 *                             file:line, the rules in force staying
 *   DELETE /api/v1/rules      drop the pushed ruleset
 *   GET    /api/v1/whitelist  the whitelist entries in force and the pushed whitelist
 *   PUT    /api/v1/whitelist  body: YAML with a top-level `whitelist:` list
 *   DELETE /api/v1/whitelist  drop the pushed whitelist
 *   POST   /api/v1/reload     re-read the rules directory (what SIGHUP does)
 *
 * plus /health (pipeline state) and /metrics, unsigned. docs/rules.md documents them. */
#ifndef RAMPART_HUB_API_H
#define RAMPART_HUB_API_H

#include "common/hmac.h"
#include "common/http.h"
#include "hub/pipeline.h"
#include "hub/rulestore.h"

typedef struct api api_t;

typedef struct {
    rulestore_t *rules;
    pipeline_t *pipeline;
    const hmac_keyring_t *keys; /* NULL: admin routes are not served */
    int auth_window_s;
    metrics_registry_t *metrics;
} api_opts_t;

api_t *api_new(const api_opts_t *opts);
void api_free(api_t *api);
int api_install(api_t *api, http_server_t *srv);

#endif
