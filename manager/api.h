/* api: the REST handlers (api_*.c), listed in the route table of api_routes.c. */
#ifndef RAMPART_MGR_API_H
#define RAMPART_MGR_API_H

#include "manager/router.h"

/* api_auth.c */
void api_login(ctx_t *c);
void api_refresh(ctx_t *c);
void api_logout(ctx_t *c);
void api_password(ctx_t *c);
void api_me(ctx_t *c);
void api_users_list(ctx_t *c);
void api_users_create(ctx_t *c);
void api_users_update(ctx_t *c);
void api_users_delete(ctx_t *c);
void api_tokens_list(ctx_t *c);
void api_tokens_create(ctx_t *c);
void api_tokens_delete(ctx_t *c);

/* api_hosts.c */
void api_hosts_list(ctx_t *c);
void api_host_get(ctx_t *c);
void api_host_tags(ctx_t *c);
void api_host_assets(ctx_t *c);
void api_assets_search(ctx_t *c);

/* api_alerts.c */
void api_alerts_list(ctx_t *c);
void api_alerts_stats(ctx_t *c);
void api_alert_get(ctx_t *c);
void api_alert_update(ctx_t *c);
void api_alerts_bulk(ctx_t *c);

/* api_rules.c */
void api_whitelist_list(ctx_t *c);
void api_whitelist_create(ctx_t *c);
void api_whitelist_delete(ctx_t *c);
void api_rules_list(ctx_t *c);
void api_rule_enable(ctx_t *c);
void api_rule_disable(ctx_t *c);

/* api_tasks.c */
void api_tasks_list(ctx_t *c);
void api_tasks_create(ctx_t *c);
void api_task_get(ctx_t *c);
void api_task_hosts(ctx_t *c);

/* api_system.c */
void api_overview(ctx_t *c);
void api_system_status(ctx_t *c);
void api_audit_list(ctx_t *c);
void api_openapi(ctx_t *c);

#endif
