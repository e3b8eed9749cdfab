/* hubs: the manager's side of the hubs' admin API (docs/rules.md).
 *
 * The whitelist entries (collection whitelist) and the rules disabled in the manager
 * (collection rule_state) together make one pushed whitelist, sent to every hub found in
 * service discovery with PUT /api/v1/whitelist (HMAC-signed) after each change and every
 * hubs.sync_interval. A disabled rule becomes an entry "off_<hash>" that matches every event
 * of that rule ({data_type: {exists: true}}). */
#ifndef RAMPART_MGR_HUBS_H
#define RAMPART_MGR_HUBS_H

#include <jansson.h>

typedef struct mgr mgr_t;

/* The YAML text pushed (free() it), or NULL when the store cannot be read. *entries is set to
 * the number of entries. */
char *hubs_whitelist_yaml(mgr_t *m, size_t *entries);
/* Pushes to every hub. Returns the number of hubs that accepted, or -EIO (store or service
 * discovery unavailable). *total: hubs found. */
int hubs_push(mgr_t *m, int *total);
/* GET /api/v1/rules of the first hub that answers (new reference) or NULL. */
json_t *hubs_rules(mgr_t *m);

#endif
