#include "service-discovery/api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/http_hmac.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

#define LOOKUP_COUNT_MAX 1000

struct api {
    registry_t *registry;
    const hmac_keyring_t *keys;
    int window_s;
    metrics_registry_t *metrics;
    metrics_counter_t *m_register, *m_renew, *m_renew_unknown, *m_evict, *m_lookup;
    metrics_counter_t *m_unavailable, *m_limit;
};

/* ---- validation ------------------------------------------------------------------------- */

static int fail(api_error_t *e, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(api_error_t *e, unsigned status, const char *code, const char *fmt, ...)
{
    e->status = status;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool api_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SD_NAME_MAX || !is_alnum(s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    }
    return true;
}

/* An IPv4/IPv6 literal or a DNS name (RFC 1123 labels). */
static bool valid_host(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SD_HOST_MAX)
        return false;
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
        return true;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alnum(c) && !(c == '-' && label > 0))
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && s[n - 1] != '-';
}

static int get_int(const json_t *body, const char *key, bool required, int64_t lo, int64_t hi,
                   int64_t *out, api_error_t *e)
{
    const json_t *v = json_object_get(body, key);
    if (!v) {
        if (required)
            return fail(e, 400, "missing_field", "field '%s' is required", key);
        return 1;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(e, 400, "invalid_field",
                    "field '%s' must be an integer between %" PRId64 " and %" PRId64, key, lo, hi);
    *out = json_integer_value(v);
    return 0;
}

static int get_string(const json_t *body, const char *key, char *out, size_t size, api_error_t *e)
{
    const json_t *v = json_object_get(body, key);
    if (!v)
        return fail(e, 400, "missing_field", "field '%s' is required", key);
    if (!json_is_string(v))
        return fail(e, 400, "invalid_field", "field '%s' must be a string", key);
    const char *s = json_string_value(v);
    if (json_string_length(v) != strlen(s))
        return fail(e, 400, "invalid_field", "field '%s' must not contain NUL characters", key);
    if (strlen(s) >= size)
        return fail(e, 400, "invalid_field", "field '%s' is longer than %zu characters", key,
                    size - 1);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int api_parse_instance(const json_t *body, api_kind_t kind, sd_instance_spec_t *out, api_error_t *e)
{
    memset(out, 0, sizeof(*out));
    out->weight = -1;
    if (!json_is_object(body))
        return fail(e, 400, "invalid_body", "the body must be a JSON object");

    static const char *const allowed[][5] = {
        [API_REGISTER] = {"name", "ip", "port", "weight", "metadata"},
        [API_RENEW] = {"name", "ip", "port", "weight", NULL},
        [API_EVICT] = {"name", "ip", "port", NULL, NULL},
    };
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)body, key, val)
    {
        bool ok = false;
        for (int i = 0; i < 5 && allowed[kind][i]; i++)
            ok = ok || strcmp(key, allowed[kind][i]) == 0;
        if (!ok) {
            char q[80];
            return fail(e, 400, "unknown_field", "unknown field %s", log_quote(q, sizeof(q), key));
        }
    }

    if (get_string(body, "name", out->name, sizeof(out->name), e) < 0)
        return -EINVAL;
    if (!api_valid_name(out->name))
        return fail(e, 400, "invalid_field",
                    "field 'name' must be 1-64 of A-Z a-z 0-9 . _ - starting with a letter or "
                    "digit");
    if (get_string(body, "ip", out->ip, sizeof(out->ip), e) < 0)
        return -EINVAL;
    if (!valid_host(out->ip))
        return fail(e, 400, "invalid_field",
                    "field 'ip' must be an IPv4 or IPv6 address or a DNS name");
    int64_t port = 0;
    if (get_int(body, "port", true, 1, 65535, &port, e) < 0)
        return -EINVAL;
    out->port = (uint16_t)port;

    if (kind != API_EVICT) {
        int64_t w = kind == API_REGISTER ? SD_WEIGHT_DEFAULT : -1;
        if (get_int(body, "weight", false, 0, SD_WEIGHT_MAX, &w, e) < 0)
            return -EINVAL;
        out->weight = w;
    }
    if (kind == API_REGISTER) {
        const json_t *m = json_object_get(body, "metadata");
        if (m && !json_is_null(m)) {
            if (!json_is_object(m))
                return fail(e, 400, "invalid_field", "field 'metadata' must be a JSON object");
            char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
            if (!text || strlen(text) > SD_METADATA_MAX) {
                free(text);
                return fail(e, 400, "invalid_field",
                            "field 'metadata' is larger than %d bytes once encoded",
                            SD_METADATA_MAX);
            }
            memcpy(out->metadata, text, strlen(text) + 1);
            free(text);
        } else {
            strcpy(out->metadata, "{}");
        }
    }
    return 0;
}

int api_parse_lookup(const char *name, const char *count, const char *pick, size_t *count_out,
                     registry_pick_t *pick_out, api_error_t *e)
{
    if (!name || !api_valid_name(name))
        return fail(e, 400, "invalid_name", "service name must be 1-64 of A-Z a-z 0-9 . _ -");
    *count_out = 0;
    *pick_out = REGISTRY_PICK_WEIGHTED;
    if (count && *count) {
        char *end;
        errno = 0;
        long long c = strtoll(count, &end, 10);
        if (errno || *end || c < 0 || c > LOOKUP_COUNT_MAX || count[0] == '-' || count[0] == '+')
            return fail(e, 400, "invalid_query", "count must be an integer between 0 and %d",
                        LOOKUP_COUNT_MAX);
        *count_out = (size_t)c;
    }
    if (pick && *pick) {
        if (strcmp(pick, "weighted") == 0)
            *pick_out = REGISTRY_PICK_WEIGHTED;
        else if (strcmp(pick, "least") == 0)
            *pick_out = REGISTRY_PICK_LEAST;
        else
            return fail(e, 400, "invalid_query", "pick must be 'weighted' or 'least'");
    }
    return 0;
}

/* ---- handlers --------------------------------------------------------------------------- */

static void respond_api_error(http_request_t *req, const api_error_t *e)
{
    http_respond_error(req, e->status, e->code, "%s", e->message);
}

/* Maps a registry failure to a response. */
static void respond_registry_error(api_t *api, http_request_t *req, int rc, const char *err)
{
    if (rc == -ENOENT) {
        http_respond_error(req, 404, "not_registered", "%s", err);
    } else if (rc == -ENOSPC) {
        metrics_counter_inc(api->m_limit);
        http_respond_error(req, 409, "limit_reached", "%s", err);
    } else {
        metrics_counter_inc(api->m_unavailable);
        http_respond_error(req, 503, "registry_unavailable", "redis unavailable: %s",
                           err ? err : "unknown error");
    }
}

/* Parses and validates the body of a write; answers the error itself. */
static int read_instance(http_request_t *req, api_kind_t kind, sd_instance_spec_t *spec)
{
    json_t *body = http_request_json(req);
    if (!body)
        return -EINVAL;
    api_error_t e;
    int rc = api_parse_instance(body, kind, spec, &e);
    json_decref(body);
    if (rc < 0)
        respond_api_error(req, &e);
    return rc;
}

static json_t *instance_reply(const sd_instance_spec_t *s, int64_t ttl, int64_t expires_at)
{
    json_t *o =
        json_pack("{s:s, s:s, s:i, s:I, s:I}", "name", s->name, "ip", s->ip, "port", (int)s->port,
                  "ttl_ms", (json_int_t)ttl, "expires_at", (json_int_t)expires_at);
    if (s->weight >= 0)
        json_object_set_new(o, "weight", json_integer(s->weight));
    return o;
}

static void h_register(http_request_t *req, void *ud)
{
    api_t *api = ud;
    sd_instance_spec_t spec;
    if (read_instance(req, API_REGISTER, &spec) < 0)
        return;
    int64_t exp = 0;
    const char *err = NULL;
    int rc = registry_register(api->registry, &spec, &exp, &err);
    if (rc < 0) {
        respond_registry_error(api, req, rc, err);
        return;
    }
    metrics_counter_inc(api->m_register);
    LOG_INFO("registered", "name=%s ip=%s port=%u weight=%" PRId64 " peer=%s", spec.name, spec.ip,
             (unsigned)spec.port, spec.weight, http_request_peer(req));
    http_respond_json(req, 200, instance_reply(&spec, registry_ttl_ms(api->registry), exp));
}

static void h_renew(http_request_t *req, void *ud)
{
    api_t *api = ud;
    sd_instance_spec_t spec;
    if (read_instance(req, API_RENEW, &spec) < 0)
        return;
    int64_t exp = 0;
    const char *err = NULL;
    int rc = registry_renew(api->registry, &spec, &exp, &err);
    if (rc == -ENOENT)
        metrics_counter_inc(api->m_renew_unknown);
    if (rc < 0) {
        respond_registry_error(api, req, rc, err);
        return;
    }
    metrics_counter_inc(api->m_renew);
    LOG_DEBUG("renewed", "name=%s ip=%s port=%u", spec.name, spec.ip, (unsigned)spec.port);
    http_respond_json(req, 200, instance_reply(&spec, registry_ttl_ms(api->registry), exp));
}

static void h_evict(http_request_t *req, void *ud)
{
    api_t *api = ud;
    sd_instance_spec_t spec;
    if (read_instance(req, API_EVICT, &spec) < 0)
        return;
    const char *err = NULL;
    int rc = registry_evict(api->registry, spec.name, spec.ip, spec.port, &err);
    if (rc < 0) {
        respond_registry_error(api, req, rc, err);
        return;
    }
    metrics_counter_inc(api->m_evict);
    LOG_INFO("evicted", "name=%s ip=%s port=%u peer=%s", spec.name, spec.ip, (unsigned)spec.port,
             http_request_peer(req));
    http_respond_json(req, 200, json_pack("{s:b}", "evicted", 1));
}

/* Reads the live services and their counts (*svcs free()d by the caller). On failure answers
 * the error itself and returns the negative errno. */
static int read_services(api_t *api, http_request_t *req, registry_service_t **svcs, size_t *n)
{
    const char *err = NULL;
    int rc = registry_services(api->registry, svcs, n, &err);
    if (rc < 0)
        respond_registry_error(api, req, rc, err);
    return rc;
}

static void h_services(http_request_t *req, void *ud)
{
    api_t *api = ud;
    registry_service_t *svcs = NULL;
    size_t n = 0;
    if (read_services(api, req, &svcs, &n) < 0)
        return;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:I}", "name", svcs[i].name, "instances",
                                              (json_int_t)svcs[i].instances));
    free(svcs);
    http_respond_json(req, 200, json_pack("{s:o, s:I}", "services", list, "count", (json_int_t)n));
}

/* The look-up answer is written by hand: it is the hot path, and the stored metadata is
 * already compact JSON that was validated when it was registered. */
static void h_lookup(http_request_t *req, void *ud)
{
    api_t *api = ud;
    size_t count = 0;
    registry_pick_t pick;
    api_error_t e;
    const char *name = http_request_param(req, "name");
    if (api_parse_lookup(name, http_request_query(req, "count"), http_request_query(req, "pick"),
                         &count, &pick, &e) < 0) {
        respond_api_error(req, &e);
        return;
    }
    registry_entry_t *entries = NULL;
    size_t n = 0;
    const char *err = NULL;
    int rc = registry_lookup(api->registry, name, &entries, &n, &err);
    if (rc < 0) {
        respond_registry_error(api, req, rc, err);
        return;
    }
    metrics_counter_inc(api->m_lookup);
    size_t keep = registry_pick(entries, n, count, pick);
    strbuf_t sb = STRBUF_INIT;
    strbuf_appendf(&sb, "{\"name\":\"%s\",\"total\":%zu,\"instances\":[", name, n);
    for (size_t i = 0; i < keep; i++) {
        registry_entry_t *x = &entries[i];
        if (i)
            strbuf_append(&sb, ",", 1);
        strbuf_appends(&sb, "{\"ip\":");
        strbuf_append_json_string(&sb, x->ip);
        strbuf_appendf(&sb,
                       ",\"port\":%u,\"weight\":%" PRId64 ",\"registered_at\":%" PRId64
                       ",\"renewed_at\":%" PRId64 ",\"expires_at\":%" PRId64 ",\"metadata\":",
                       (unsigned)x->port, x->weight, x->registered_at, x->renewed_at,
                       x->expires_at);
        strbuf_appends(&sb, x->metadata[0] == '{' ? x->metadata : "{}");
        strbuf_append(&sb, "}", 1);
    }
    strbuf_append(&sb, "]}", 2);
    registry_entries_free(entries, n);
    http_respond_raw(req, 200, "application/json", sb.data, sb.len);
    strbuf_dispose(&sb);
}

static void h_summary(http_request_t *req, void *ud)
{
    api_t *api = ud;
    registry_service_t *svcs = NULL;
    size_t n = 0;
    if (read_services(api, req, &svcs, &n) < 0)
        return;
    json_t *by = json_object();
    json_int_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_object_set_new(by, svcs[i].name, json_integer(svcs[i].instances));
        total += svcs[i].instances;
    }
    free(svcs);
    http_respond_json(req, 200,
                      json_pack("{s:I, s:I, s:o, s:I}", "services", (json_int_t)n, "instances",
                                total, "by_service", by, "ttl_ms",
                                (json_int_t)registry_ttl_ms(api->registry)));
}

/* ---- authentication and health ---------------------------------------------------------- */

static int authenticate(http_request_t *req, void *ud, const char **reason)
{
    api_t *api = ud;
    const char *key = NULL;
    int rc = http_hmac_verify(req, api->keys, api->window_s, registry_nonce_check, api->registry,
                              reason, &key);
    if (rc == 0)
        return 0;
    if (rc == -EACCES) {
        char lbl[96], q1[96], q2[80];
        snprintf(lbl, sizeof(lbl), "reason=\"%s\"", metrics_label_escape(q1, sizeof(q1), *reason));
        metrics_counter_inc(metrics_counter(api->metrics, "rampart_sd_auth_failures_total",
                                            "Signed requests refused, by reason", lbl));
        LOG_WARN("auth_refused", "path=%s peer=%s key=%s reason=%s", http_request_path(req),
                 http_request_peer(req), log_quote(q1, sizeof(q1), key ? key : "-"),
                 log_quote(q2, sizeof(q2), *reason));
        return -EACCES;
    }
    metrics_counter_inc(api->m_unavailable);
    return -EIO;
}

static unsigned health(void *ud, json_t **body)
{
    api_t *api = ud;
    const char *err = NULL;
    if (registry_ping(api->registry, &err) < 0) {
        *body = json_pack("{s:s, s:s, s:s}", "status", "unavailable", "redis", "down", "reason",
                          err ? err : "unknown");
        return 503;
    }
    *body = json_pack("{s:s, s:s}", "status", "ok", "redis", "ok");
    return 200;
}

/* ---- setup ------------------------------------------------------------------------------ */

api_t *api_new(const api_opts_t *opts)
{
    api_t *api = xcalloc(1, sizeof(*api));
    api->registry = opts->registry;
    api->keys = opts->keys;
    api->window_s = opts->auth_window_s > 0 ? opts->auth_window_s : HMAC_DEFAULT_WINDOW_S;
    api->metrics = opts->metrics;
    metrics_registry_t *m = opts->metrics;
    api->m_register = metrics_counter(m, "rampart_sd_registrations_total",
                                      "Instances registered (new or again)", NULL);
    api->m_renew = metrics_counter(m, "rampart_sd_renewals_total", "Renewals accepted", NULL);
    api->m_renew_unknown = metrics_counter(
        m, "rampart_sd_renewals_unknown_total",
        "Renewals of instances the registry does not hold (client re-registers)", NULL);
    api->m_evict = metrics_counter(m, "rampart_sd_evictions_total", "Instances evicted", NULL);
    api->m_lookup = metrics_counter(m, "rampart_sd_lookups_total", "Look-ups answered", NULL);
    api->m_unavailable = metrics_counter(m, "rampart_sd_unavailable_total",
                                         "Requests refused with 503 because Redis was down", NULL);
    api->m_limit = metrics_counter(m, "rampart_sd_limit_refusals_total",
                                   "Registrations refused by the service or instance limits", NULL);
    return api;
}

void api_free(api_t *api)
{
    free(api);
}

int api_install(api_t *api, http_server_t *srv)
{
    static const struct {
        const char *method, *pattern;
        http_handler_fn fn;
        unsigned flags;
    } routes[] = {
        {"POST", "/api/v1/register", h_register, HTTP_ROUTE_AUTH},
        {"POST", "/api/v1/renew", h_renew, HTTP_ROUTE_AUTH},
        {"POST", "/api/v1/evict", h_evict, HTTP_ROUTE_AUTH},
        {"GET", "/api/v1/services", h_services, 0},
        {"GET", "/api/v1/services/{name}", h_lookup, 0},
        {"GET", "/api/v1/summary", h_summary, 0},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = http_server_route(srv, routes[i].method, routes[i].pattern, routes[i].fn, api,
                                   routes[i].flags);
        if (rc < 0)
            return rc;
    }
    http_server_set_auth(srv, authenticate, api);
    http_server_set_health(srv, health, api);
    return 0;
}
