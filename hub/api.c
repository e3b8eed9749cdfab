#include "hub/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_hmac.h"
#include "common/log.h"
#include "common/xalloc.h"

struct api {
    api_opts_t o;
    hmac_replay_cache_t *replay;
    metrics_counter_t *m_auth_failures;
};

static int authenticate(http_request_t *req, void *ud, const char **reason)
{
    api_t *api = ud;
    const char *key = NULL;
    int rc = http_hmac_verify(req, api->o.keys, api->o.auth_window_s, hmac_replay_cache_check,
                              api->replay, reason, &key);
    if (rc == 0)
        return 0;
    metrics_counter_inc(api->m_auth_failures);
    char q1[96], q2[96];
    LOG_WARN("auth_refused", "path=%s peer=%s key=%s reason=%s", http_request_path(req),
             http_request_peer(req), log_quote(q1, sizeof(q1), key ? key : "-"),
             log_quote(q2, sizeof(q2), *reason ? *reason : "-"));
    return rc == -EACCES ? -EACCES : -EIO;
}

static unsigned health(void *ud, json_t **body)
{
    api_t *api = ud;
    const char *why = NULL;
    bool ok = pipeline_healthy(api->o.pipeline, &why);
    *body = json_pack("{s:s, s:I, s:i}", "status", ok ? "ok" : "unavailable", "rules",
                      (json_int_t)rulestore_rule_count(api->o.rules), "partitions",
                      pipeline_assigned(api->o.pipeline));
    if (!ok)
        json_object_set_new(*body, "reason", json_string(why));
    return ok ? 200 : 503;
}

static void get_rules(http_request_t *req, void *ud)
{
    api_t *api = ud;
    const char *which = strstr(http_request_path(req), "whitelist") ? "whitelist" : "rules";
    http_respond_json(req, 200, rulestore_describe(api->o.rules, which));
}

static void change(http_request_t *req, api_t *api, bool set)
{
    bool wl = strstr(http_request_path(req), "whitelist") != NULL;
    size_t len = 0;
    const char *body = set ? http_request_body(req, &len) : NULL;
    if (set && (!body || len == 0)) {
        http_respond_error(req, 400, "empty_body", "the body must be a YAML %s",
                           wl ? "whitelist" : "ruleset");
        return;
    }
    if (set && memchr(body, '\0', len)) {
        http_respond_error(req, 400, "invalid_body", "the body contains a NUL byte");
        return;
    }
    char err[1024];
    rulestore_op_t op = RULESTORE_SET;
    int rc = wl ? rulestore_reload(api->o.rules, RULESTORE_KEEP, NULL, 0, op, set ? body : "", len,
                                   err, sizeof(err))
                : rulestore_reload(api->o.rules, op, set ? body : "", len, RULESTORE_KEEP, NULL, 0,
                                   err, sizeof(err));
    if (rc == -EINVAL) {
        http_respond_error(req, 400, "invalid_rules", "%s", err);
        return;
    }
    if (rc < 0) {
        http_respond_error(req, 500, "store_failed", "%s", err);
        return;
    }
    json_t *d = rulestore_describe(api->o.rules, wl ? "whitelist" : "rules");
    json_t *out = json_pack("{s:O, s:I}", "version", json_object_get(d, "version"), "rules",
                            (json_int_t)json_array_size(json_object_get(d, "rules")));
    if (wl)
        json_object_set(out, "whitelist", json_object_get(d, "whitelist"));
    json_decref(d);
    char peer[80];
    LOG_INFO("rules_pushed", "what=%s op=%s peer=%s", wl ? "whitelist" : "rules",
             set ? "put" : "delete", log_quote(peer, sizeof(peer), http_request_peer(req)));
    http_respond_json(req, 200, out);
}

static void put_rules(http_request_t *req, void *ud)
{
    change(req, ud, true);
}

static void delete_rules(http_request_t *req, void *ud)
{
    change(req, ud, false);
}

static void reload(http_request_t *req, void *ud)
{
    api_t *api = ud;
    char err[1024];
    int rc = rulestore_reload(api->o.rules, RULESTORE_KEEP, NULL, 0, RULESTORE_KEEP, NULL, 0, err,
                              sizeof(err));
    if (rc < 0) {
        http_respond_error(req, rc == -EINVAL ? 400 : 500, "invalid_rules", "%s", err);
        return;
    }
    http_respond_json(req, 200, rulestore_describe(api->o.rules, "rules"));
}

api_t *api_new(const api_opts_t *opts)
{
    api_t *api = xcalloc(1, sizeof(*api));
    api->o = *opts;
    if (api->o.auth_window_s <= 0)
        api->o.auth_window_s = HMAC_DEFAULT_WINDOW_S;
    api->replay = hmac_replay_cache_new(100000);
    api->m_auth_failures = metrics_counter(opts->metrics, "rampart_hub_auth_failures_total",
                                           "signed requests refused", NULL);
    return api;
}

void api_free(api_t *api)
{
    if (!api)
        return;
    hmac_replay_cache_free(api->replay);
    free(api);
}

int api_install(api_t *api, http_server_t *srv)
{
    http_server_set_health(srv, health, api);
    if (!api->o.keys)
        return 0;
    http_server_set_auth(srv, authenticate, api);
    static const struct {
        const char *method, *path;
        http_handler_fn fn;
    } routes[] = {
        {"GET", "/api/v1/rules", get_rules},       {"PUT", "/api/v1/rules", put_rules},
        {"DELETE", "/api/v1/rules", delete_rules}, {"GET", "/api/v1/whitelist", get_rules},
        {"PUT", "/api/v1/whitelist", put_rules},   {"DELETE", "/api/v1/whitelist", delete_rules},
        {"POST", "/api/v1/reload", reload},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = http_server_route(srv, routes[i].method, routes[i].path, routes[i].fn, api,
                                   HTTP_ROUTE_AUTH);
        if (rc < 0)
            return rc;
    }
    return 0;
}
