#include "agent-center/admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "agent-center/ingest.h"
#include "common/http_hmac.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "rampart.pb-c.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX     1000
#define CONFIGS_MAX        64
#define URLS_MAX           8
#define SHORT_MAX          256
#define TEXT_MAX           (512 * 1024)

struct admin {
    admin_opts_t o;
    hmac_replay_cache_t *replay;
    metrics_counter_t *m_auth_refused;
    metrics_counter_t *m_cmd_queued;
    metrics_counter_t *m_cmd_not_here;
    metrics_counter_t *m_cmd_queue_full;
};

/* --- commands ----------------------------------------------------------------------------- */

/* A string member: 0 and *out set (NULL when absent and optional), or -EINVAL with err. */
static int str_member(json_t *o, const char *key, bool required, size_t max, const char **out,
                      const char *where, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v) {
        if (required)
            snprintf(err, errlen, "%s.%s is required", where, key);
        return required ? -EINVAL : 0;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s.%s must be a string", where, key);
        return -EINVAL;
    }
    if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errlen, "%s.%s must be at most %zu bytes without NUL", where, key, max);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

static int unknown_members(json_t *o, const char *const *known, const char *where, char *err,
                           size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok = ok || strcmp(k, known[i]) == 0;
        if (!ok) {
            snprintf(err, errlen, "%s: unknown field \"%.64s\"", where, k);
            return -EINVAL;
        }
    }
    return 0;
}

static char *random_token(void)
{
    unsigned char b[16];
    char *hex = xmalloc(33);
    if (RAND_bytes(b, sizeof(b)) != 1)
        PANIC("RAND_bytes failed");
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    return hex;
}

static int parse_task(json_t *j, Grpc__Task *task, char **token, char *err, size_t errlen)
{
    static const char *const known[] = {"data_type", "object_name", "data", "token", NULL};
    if (!json_is_object(j)) {
        snprintf(err, errlen, "task must be an object");
        return -EINVAL;
    }
    if (unknown_members(j, known, "task", err, errlen) < 0)
        return -EINVAL;
    json_t *dt = json_object_get(j, "data_type");
    if (!json_is_integer(dt) || json_integer_value(dt) < 1 || json_integer_value(dt) > 2147483647) {
        snprintf(err, errlen, "task.data_type must be an integer from 1 to 2147483647");
        return -EINVAL;
    }
    const char *name, *data, *tok;
    if (str_member(j, "object_name", true, SHORT_MAX, &name, "task", err, errlen) < 0 ||
        str_member(j, "data", false, TEXT_MAX, &data, "task", err, errlen) < 0 ||
        str_member(j, "token", false, SHORT_MAX, &tok, "task", err, errlen) < 0)
        return -EINVAL;
    if (!name[0]) {
        snprintf(err, errlen, "task.object_name must not be empty");
        return -EINVAL;
    }
    *token = tok && tok[0] ? xstrdup(tok) : random_token();
    task->data_type = (int32_t)json_integer_value(dt);
    task->object_name = (char *)name;
    task->data = (char *)(data ? data : "");
    task->token = *token;
    return 0;
}

static int parse_config(json_t *j, Grpc__Config *c, char ***urls, char *err, size_t errlen)
{
    static const char *const known[] = {"name",      "type",          "version", "sha256",
                                        "signature", "download_urls", "detail",  NULL};
    if (!json_is_object(j)) {
        snprintf(err, errlen, "configs[] entries must be objects");
        return -EINVAL;
    }
    if (unknown_members(j, known, "configs[]", err, errlen) < 0)
        return -EINVAL;
    const char *f[7] = {0};
    if (str_member(j, "name", true, SHORT_MAX, &f[0], "configs[]", err, errlen) < 0 ||
        str_member(j, "type", false, SHORT_MAX, &f[1], "configs[]", err, errlen) < 0 ||
        str_member(j, "version", false, SHORT_MAX, &f[2], "configs[]", err, errlen) < 0 ||
        str_member(j, "sha256", false, SHORT_MAX, &f[3], "configs[]", err, errlen) < 0 ||
        str_member(j, "signature", false, 4096, &f[4], "configs[]", err, errlen) < 0 ||
        str_member(j, "detail", false, TEXT_MAX, &f[6], "configs[]", err, errlen) < 0)
        return -EINVAL;
    json_t *u = json_object_get(j, "download_urls");
    size_t nu = 0;
    if (u && (!json_is_array(u) || json_array_size(u) > URLS_MAX)) {
        snprintf(err, errlen, "configs[].download_urls must be an array of at most %d strings",
                 URLS_MAX);
        return -EINVAL;
    }
    nu = u ? json_array_size(u) : 0;
    *urls = xcalloc(nu + 1, sizeof(char *));
    for (size_t i = 0; i < nu; i++) {
        json_t *s = json_array_get(u, i);
        if (!json_is_string(s) || json_string_length(s) > 2048) {
            snprintf(err, errlen, "configs[].download_urls[%zu] must be a string up to 2048 bytes",
                     i);
            return -EINVAL;
        }
        (*urls)[i] = (char *)json_string_value(s);
    }
    c->name = (char *)f[0];
    c->type = (char *)(f[1] ? f[1] : "");
    c->version = (char *)(f[2] ? f[2] : "");
    c->sha256 = (char *)(f[3] ? f[3] : "");
    c->signature = (char *)(f[4] ? f[4] : "");
    c->detail = (char *)(f[6] ? f[6] : "");
    c->n_download_urls = nu;
    c->download_urls = *urls;
    return 0;
}

uint8_t *admin_command_from_json(json_t *body, size_t *len, char **token, char *err, size_t errlen)
{
    static const char *const known[] = {"task", "configs", NULL};
    Grpc__Command cmd = GRPC__COMMAND__INIT;
    Grpc__Task task = GRPC__TASK__INIT;
    Grpc__Config cfgs[CONFIGS_MAX];
    Grpc__Config *cfgp[CONFIGS_MAX];
    char **urls[CONFIGS_MAX] = {0};
    uint8_t *out = NULL;
    size_t ncfg = 0;
    *token = NULL;
    if (unknown_members(body, known, "command", err, errlen) < 0)
        goto cleanup;
    json_t *jt = json_object_get(body, "task"), *jc = json_object_get(body, "configs");
    if (!jt == !jc) {
        snprintf(err, errlen, "a command has exactly one of \"task\" and \"configs\"");
        goto cleanup;
    }
    if (jt) {
        if (parse_task(jt, &task, token, err, errlen) < 0)
            goto cleanup;
        cmd.task = &task;
    } else {
        if (!json_is_array(jc) || json_array_size(jc) > CONFIGS_MAX) {
            snprintf(err, errlen, "configs must be an array of at most %d entries", CONFIGS_MAX);
            goto cleanup;
        }
        for (ncfg = 0; ncfg < json_array_size(jc); ncfg++) {
            grpc__config__init(&cfgs[ncfg]);
            cfgp[ncfg] = &cfgs[ncfg];
            if (parse_config(json_array_get(jc, ncfg), &cfgs[ncfg], &urls[ncfg], err, errlen) < 0) {
                ncfg++;
                goto cleanup;
            }
        }
        cmd.n_configs = ncfg;
        cmd.configs = cfgp;
    }
    *len = grpc__command__get_packed_size(&cmd);
    out = xmalloc(*len ? *len : 1);
    grpc__command__pack(&cmd, out);
cleanup:
    for (size_t i = 0; i < ncfg; i++)
        free(urls[i]);
    if (!out) {
        free(*token);
        *token = NULL;
    }
    return out;
}

/* --- handlers ----------------------------------------------------------------------------- */

static void h_summary(http_request_t *req, void *ud)
{
    admin_t *a = ud;
    http_respond_json(req, 200,
                      json_pack("{s:s, s:I, s:I, s:I, s:b}", "instance", a->o.instance_id,
                                "connections", (json_int_t)conn_table_count(a->o.table), "streams",
                                (json_int_t)transfer_live(a->o.transfer), "kafka_queue",
                                (json_int_t)producer_queued(a->o.producer), "kafka_up",
                                producer_broker_up(a->o.producer)));
}

static int query_int(http_request_t *req, const char *name, long def, long max, long *out)
{
    const char *v = http_request_query(req, name);
    if (!v || !v[0]) {
        *out = def;
        return 0;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 0 || n > max) {
        http_respond_error(req, 400, "bad_query", "%s must be an integer from 0 to %ld", name, max);
        return -EINVAL;
    }
    *out = n;
    return 0;
}

static void h_list(http_request_t *req, void *ud)
{
    admin_t *a = ud;
    long offset, limit;
    if (query_int(req, "offset", 0, 100000000, &offset) < 0 ||
        query_int(req, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, &limit) < 0)
        return;
    size_t n;
    conn_t **v = conn_table_snapshot(a->o.table, &n);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        if (i >= (size_t)offset && i < (size_t)offset + (size_t)limit)
            json_array_append_new(list, conn_to_json(v[i], false));
        conn_unref(v[i]);
    }
    free(v);
    http_respond_json(req, 200,
                      json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)n, "offset",
                                (json_int_t)offset, "limit", (json_int_t)limit, "connections",
                                list));
}

static int agent_param(http_request_t *req, const char **id)
{
    *id = http_request_param(req, "agent_id");
    if (!*id || !ingest_id_valid(*id)) {
        http_respond_error(req, 400, "bad_agent_id",
                           "agent_id must be 1-%d characters of [A-Za-z0-9._:-]", INGEST_ID_MAX);
        return -EINVAL;
    }
    return 0;
}

static void not_here(admin_t *a, http_request_t *req, const char *id)
{
    http_respond_error(req, 404, "agent_not_connected",
                       "agent %s has no stream on this AgentCenter (%s)", id, a->o.instance_id);
}

static void h_agent(http_request_t *req, void *ud)
{
    admin_t *a = ud;
    const char *id;
    if (agent_param(req, &id) < 0)
        return;
    conn_t *c = conn_table_get(a->o.table, id);
    if (!c) {
        not_here(a, req, id);
        return;
    }
    http_respond_json(req, 200, conn_to_json(c, true));
    conn_unref(c);
}

static void h_reset_one(http_request_t *req, void *ud)
{
    admin_t *a = ud;
    const char *id;
    if (agent_param(req, &id) < 0)
        return;
    if (transfer_reset(a->o.transfer, id, "reset by the admin API; reconnect") < 0) {
        not_here(a, req, id);
        return;
    }
    LOG_INFO("agent_reset", "agent_id=%s peer_api=%s", id, http_request_peer(req));
    http_respond_json(req, 200, json_pack("{s:s, s:b}", "agent_id", id, "reset", 1));
}

static void h_command(http_request_t *req, void *ud)
{
    admin_t *a = ud;
    const char *id;
    if (agent_param(req, &id) < 0)
        return;
    json_t *body = http_request_json(req);
    if (!body)
        return;
    char err[256], *token = NULL;
    size_t len = 0;
    uint8_t *cmd = admin_command_from_json(body, &len, &token, err, sizeof(err));
    json_decref(body);
    if (!cmd) {
        http_respond_error(req, 400, "bad_command", "%s", err);
        return;
    }
    int rc = transfer_command(a->o.transfer, id, cmd, len, a->o.command_wait_ms);
    free(cmd);
    switch (rc) {
    case 0:
        metrics_counter_inc(a->m_cmd_queued);
        LOG_INFO("command_queued", "agent_id=%s kind=%s token=%s bytes=%zu", id,
                 token ? "task" : "config_sync", token ? token : "-", len);
        http_respond_json(
            req, 202, json_pack("{s:s, s:b, s:s?}", "agent_id", id, "queued", 1, "token", token));
        break;
    case -ENOENT:
        metrics_counter_inc(a->m_cmd_not_here);
        not_here(a, req, id);
        break;
    case -ENOTCONN:
        metrics_counter_inc(a->m_cmd_not_here);
        http_respond_error(req, 409, "stream_closing",
                           "agent %s's stream is closing; retry once it reconnects", id);
        break;
    default:
        metrics_counter_inc(a->m_cmd_queue_full);
        http_respond_error(req, 503, "queue_full", "agent %s's command queue stayed full for %d ms",
                           id, a->o.command_wait_ms);
        break;
    }
    free(token);
}

static void h_reset_many(http_request_t *req, void *ud)
{
    admin_t *a = ud;
    json_t *body = http_request_json(req);
    if (!body)
        return;
    json_t *ids = json_object_get(body, "agent_ids"), *count = json_object_get(body, "count");
    size_t done = 0;
    if (!ids == !count || json_object_size(body) != 1) {
        http_respond_error(req, 400, "bad_request",
                           "give exactly one of \"agent_ids\" (array) and \"count\" (integer)");
        goto out;
    }
    if (ids) {
        if (!json_is_array(ids) || json_array_size(ids) > 10000) {
            http_respond_error(req, 400, "bad_request",
                               "agent_ids must be an array of at most 10000 ids");
            goto out;
        }
        for (size_t i = 0; i < json_array_size(ids); i++) {
            const char *id = json_string_value(json_array_get(ids, i));
            if (!id || !ingest_id_valid(id)) {
                http_respond_error(req, 400, "bad_agent_id", "agent_ids[%zu] is not an agent id",
                                   i);
                goto out;
            }
        }
        for (size_t i = 0; i < json_array_size(ids); i++)
            done += transfer_reset(a->o.transfer, json_string_value(json_array_get(ids, i)),
                                   "reset by the admin API; reconnect") == 0;
    } else {
        if (!json_is_integer(count) || json_integer_value(count) < 0) {
            http_respond_error(req, 400, "bad_request", "count must be a non-negative integer");
            goto out;
        }
        /* Random N, to move load to a newly added AgentCenter: reconnecting agents pick the
         * least loaded instance. */
        size_t n;
        conn_t **v = conn_table_snapshot(a->o.table, &n);
        size_t want = (size_t)json_integer_value(count);
        for (size_t i = 0; i < n; i++) {
            size_t j = i + (size_t)rand() % (n - i);
            conn_t *tmp = v[i];
            v[i] = v[j];
            v[j] = tmp;
            if (done < want)
                done +=
                    transfer_reset(a->o.transfer, v[i]->identity, "rebalancing; reconnect") == 0;
            conn_unref(v[i]);
        }
        free(v);
    }
    LOG_INFO("agents_reset", "count=%zu peer_api=%s", done, http_request_peer(req));
    http_respond_json(req, 200, json_pack("{s:I}", "reset", (json_int_t)done));
out:
    json_decref(body);
}

/* --- auth and health ---------------------------------------------------------------------- */

static int authenticate(http_request_t *req, void *ud, const char **reason)
{
    admin_t *a = ud;
    const char *key = NULL;
    int rc = http_hmac_verify(req, a->o.keys, a->o.auth_window_s, hmac_replay_cache_check,
                              a->replay, reason, &key);
    if (rc == 0)
        return 0;
    char q1[96], q2[96];
    metrics_counter_inc(a->m_auth_refused);
    LOG_WARN("auth_refused", "path=%s peer=%s key=%s reason=%s", http_request_path(req),
             http_request_peer(req), log_quote(q1, sizeof(q1), key ? key : "-"),
             log_quote(q2, sizeof(q2), *reason));
    return -EACCES;
}

static unsigned health(void *ud, json_t **body)
{
    admin_t *a = ud;
    int up = producer_broker_up(a->o.producer);
    *body = json_pack("{s:s, s:s, s:I, s:s, s:I}", "status", up ? "ok" : "degraded", "instance",
                      a->o.instance_id, "connections", (json_int_t)transfer_live(a->o.transfer),
                      "kafka", up ? "up" : "down", "kafka_queue",
                      (json_int_t)producer_queued(a->o.producer));
    /* Kafka down is degraded, not dead: streams are paused and resume on their own. */
    return 200;
}

admin_t *admin_new(const admin_opts_t *o)
{
    admin_t *a = xcalloc(1, sizeof(*a));
    a->o = *o;
    a->replay = hmac_replay_cache_new(100000);
    a->m_auth_refused = metrics_counter(o->metrics, "rampart_ac_auth_failures_total",
                                        "Admin requests refused by signature checks", NULL);
    a->m_cmd_queued = metrics_counter(o->metrics, "rampart_ac_command_requests_total",
                                      "Admin command requests, by result", "result=\"queued\"");
    a->m_cmd_not_here =
        metrics_counter(o->metrics, "rampart_ac_command_requests_total",
                        "Admin command requests, by result", "result=\"not_connected\"");
    a->m_cmd_queue_full =
        metrics_counter(o->metrics, "rampart_ac_command_requests_total",
                        "Admin command requests, by result", "result=\"queue_full\"");
    return a;
}

void admin_free(admin_t *a)
{
    if (!a)
        return;
    hmac_replay_cache_free(a->replay);
    free(a);
}

int admin_install(admin_t *a, http_server_t *srv)
{
    int rc = 0;
    rc |= http_server_route(srv, "GET", "/api/v1/summary", h_summary, a, HTTP_ROUTE_AUTH);
    rc |= http_server_route(srv, "GET", "/api/v1/connections", h_list, a, HTTP_ROUTE_AUTH);
    rc |= http_server_route(srv, "GET", "/api/v1/agents/{agent_id}", h_agent, a, HTTP_ROUTE_AUTH);
    rc |= http_server_route(srv, "DELETE", "/api/v1/agents/{agent_id}", h_reset_one, a,
                            HTTP_ROUTE_AUTH);
    rc |= http_server_route(srv, "POST", "/api/v1/agents/{agent_id}/commands", h_command, a,
                            HTTP_ROUTE_AUTH);
    rc |= http_server_route(srv, "POST", "/api/v1/reset", h_reset_many, a, HTTP_ROUTE_AUTH);
    http_server_set_auth(srv, authenticate, a);
    http_server_set_health(srv, health, a);
    return rc ? -EINVAL : 0;
}
