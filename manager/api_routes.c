/* The route table: every REST route of the manager, its role and its OpenAPI description. */
#include "manager/api.h"

#define PAGE                                                                                       \
    "limit:integer:page size, 1-500 (default 50);offset:integer:items to skip (<= 1,000,000)"
#define ORDER "order:string:asc or desc"

const route_def_t api_routes[] = {
    /* auth */
    {"POST", "/api/v1/auth/login", ROLE_NONE, api_login, "auth",
     "Log in: an access token and a refresh token", NULL,
     "username:string!:user name;password:string!:password", 200},
    {"POST", "/api/v1/auth/refresh", ROLE_NONE, api_refresh, "auth",
     "Trade a refresh token for a new pair (the old refresh token is revoked)", NULL,
     "refresh_token:string!:the refresh token", 200},
    {"POST", "/api/v1/auth/logout", ROLE_READ_ONLY, api_logout, "auth",
     "Revoke the access token used and, if given, the refresh token", NULL,
     "refresh_token:string:the refresh token to revoke too", 200},
    {"POST", "/api/v1/auth/password", ROLE_READ_ONLY, api_password, "auth",
     "Change one's password; every earlier token of the user stops working", NULL,
     "old_password:string!:current password;new_password:string!:12-256 characters", 200},
    {"GET", "/api/v1/auth/me", ROLE_READ_ONLY, api_me, "auth", "Who the token belongs to", NULL,
     NULL, 200},
    {"GET", "/api/v1/users", ROLE_ADMIN, api_users_list, "users", "List users", NULL, NULL, 200},
    {"POST", "/api/v1/users", ROLE_ADMIN, api_users_create, "users", "Create a user", NULL,
     "username:string!:[A-Za-z0-9_.@-], 1-64;password:string!:12-256 characters;"
     "role:string!:admin, analyst or read-only",
     201},
    {"PATCH", "/api/v1/users/{username}", ROLE_ADMIN, api_users_update, "users",
     "Change a user's role, password or disabled flag", NULL,
     "role:string:admin, analyst or read-only;password:string:new password;"
     "disabled:boolean:refuse logins",
     200},
    {"DELETE", "/api/v1/users/{username}", ROLE_ADMIN, api_users_delete, "users",
     "Delete a user and its API tokens", NULL, NULL, 200},
    {"GET", "/api/v1/tokens", ROLE_READ_ONLY, api_tokens_list, "users",
     "List API tokens (one's own; admins see all)", NULL, NULL, 200},
    {"POST", "/api/v1/tokens", ROLE_READ_ONLY, api_tokens_create, "users",
     "Create an API token for automation (shown once)", NULL,
     "name:string!:what it is for;role:string:at most one's own role (default: one's own);"
     "expires_in_days:integer:0 = never (default 90)",
     201},
    {"DELETE", "/api/v1/tokens/{id}", ROLE_READ_ONLY, api_tokens_delete, "users",
     "Revoke an API token", NULL, NULL, 200},

    /* hosts and assets */
    {"GET", "/api/v1/hosts", ROLE_READ_ONLY, api_hosts_list, "hosts",
     "List hosts with filters, sort and pagination",
     "status:string:online or offline;tag:string:has this tag;"
     "hostname:string:host name starts with;agent_id:string:exact agent id;"
     "sort:string:hostname, last_seen or first_seen;" ORDER ";" PAGE,
     NULL, 200},
    {"GET", "/api/v1/hosts/{id}", ROLE_READ_ONLY, api_host_get, "hosts",
     "One host: facts, plugins, tags, open alerts", NULL, NULL, 200},
    {"PUT", "/api/v1/hosts/{id}/tags", ROLE_ANALYST, api_host_tags, "hosts",
     "Replace a host's tags", NULL, "tags:array!:up to 32 tags of [A-Za-z0-9_.:-]", 200},
    {"GET", "/api/v1/hosts/{id}/assets", ROLE_READ_ONLY, api_host_assets, "assets",
     "A host's assets (latest snapshot) by type",
     "type:string:process, port, user, cron, service, software, container, integrity, volume, "
     "interface, app, kmod;" PAGE,
     NULL, 200},
    {"GET", "/api/v1/assets", ROLE_READ_ONLY, api_assets_search, "assets",
     "Fleet-wide: which hosts have this package, listen on this port, have this user, ...",
     "type:string:asset type (required);name:string:exact name (package, port, user, ...);" PAGE,
     NULL, 200},

    /* alerts */
    {"GET", "/api/v1/alerts", ROLE_READ_ONLY, api_alerts_list, "alerts",
     "List alerts with filters, sort and pagination",
     "status:string:new, in_progress, resolved or false_positive;"
     "severity:string:info, low, medium, high or critical;rule_id:string:rule id;"
     "agent_id:string:agent id;hostname:string:host name;assignee:string:assignee;"
     "since:integer:detected at or after (ms);until:integer:detected before (ms);"
     "sort:string:detected_at, severity, count or last_seen;" ORDER ";" PAGE,
     NULL, 200},
    {"GET", "/api/v1/alerts/stats", ROLE_READ_ONLY, api_alerts_stats, "alerts",
     "Counts by severity, status, rule, host and hour",
     "since:integer:detected at or after (ms, default 24 h ago);top:integer:rules and hosts "
     "listed, 1-100",
     NULL, 200},
    {"GET", "/api/v1/alerts/{id}", ROLE_READ_ONLY, api_alert_get, "alerts",
     "One alert with its raw event, process chain and notes", NULL, NULL, 200},
    {"PATCH", "/api/v1/alerts/{id}", ROLE_ANALYST, api_alert_update, "alerts",
     "Set status or assignee, add a note", NULL,
     "status:string:new, in_progress, resolved or false_positive;"
     "assignee:string:user name, or empty to clear;note:string:a note to add",
     200},
    {"POST", "/api/v1/alerts/bulk", ROLE_ANALYST, api_alerts_bulk, "alerts",
     "Set status or assignee of many alerts", NULL,
     "ids:array!:up to 1000 alert ids;status:string:new status;assignee:string:user name", 200},

    /* whitelist and rules */
    {"GET", "/api/v1/whitelist", ROLE_READ_ONLY, api_whitelist_list, "rules",
     "Whitelist entries pushed to the hubs", PAGE, NULL, 200},
    {"POST", "/api/v1/whitelist", ROLE_ANALYST, api_whitelist_create, "rules",
     "Create a whitelist entry, from an alert (alert_id + fields) or explicit (match)", NULL,
     "alert_id:string:alert to copy the values from;fields:array:event fields of the alert "
     "that must be equal;match:object:field -> exact value;rules:array:rule id globs "
     "(default: the alert's rule);comment:string:why",
     201},
    {"DELETE", "/api/v1/whitelist/{id}", ROLE_ANALYST, api_whitelist_delete, "rules",
     "Delete a whitelist entry", NULL, NULL, 200},
    {"GET", "/api/v1/rules", ROLE_READ_ONLY, api_rules_list, "rules",
     "The hubs' rules with their enabled state", NULL, NULL, 200},
    {"POST", "/api/v1/rules/{id}/enable", ROLE_ANALYST, api_rule_enable, "rules", "Enable a rule",
     NULL, NULL, 200},
    {"POST", "/api/v1/rules/{id}/disable", ROLE_ANALYST, api_rule_disable, "rules",
     "Disable a rule", NULL, NULL, 200},

    /* tasks */
    {"GET", "/api/v1/tasks", ROLE_READ_ONLY, api_tasks_list, "tasks", "List tasks", PAGE, NULL,
     200},
    {"POST", "/api/v1/tasks", ROLE_ANALYST, api_tasks_create, "tasks",
     "Send a task to hosts (by id) or to every host with one of the tags", NULL,
     "type:string!:collect_now, kill_process, quarantine_file, scan or baseline;"
     "hosts:array:agent ids;tags:array:host tags;params:object:pid (kill_process), path "
     "(quarantine_file, scan), types (collect_now)",
     201},
    {"GET", "/api/v1/tasks/{id}", ROLE_READ_ONLY, api_task_get, "tasks",
     "One task with its counts per status", NULL, NULL, 200},
    {"GET", "/api/v1/tasks/{id}/hosts", ROLE_READ_ONLY, api_task_hosts, "tasks",
     "Per-host status and result of a task",
     "status:string:pending, sent, succeed, failed or "
     "undeliverable;" PAGE,
     NULL, 200},

    /* system */
    {"GET", "/api/v1/overview", ROLE_READ_ONLY, api_overview, "system", "Counts for the dashboard",
     NULL, NULL, 200},
    {"GET", "/api/v1/system/status", ROLE_READ_ONLY, api_system_status, "system",
     "Services from service discovery with their health; this manager's own state", NULL, NULL,
     200},
    {"GET", "/api/v1/audit", ROLE_ADMIN, api_audit_list, "system", "The audit log, newest first",
     "actor:string:user name;since:integer:at or after (ms);" PAGE, NULL, 200},
    {"GET", "/api/v1/openapi.json", ROLE_READ_ONLY, api_openapi, "system", "This OpenAPI document",
     NULL, NULL, 200},
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
