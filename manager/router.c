#include "manager/router.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "manager/mgr.h"

#define AUTH_HEADER_MAX 4200

/* ---- answers ------------------------------------------------------------------------------ */

void reply(ctx_t *c, unsigned status, json_t *body)
{
    c->status = status;
    http_respond_json(c->req, status, body);
}

void reply_error(ctx_t *c, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->status = status;
    http_respond_error(c->req, status, code, "%s", msg);
}

void reply_store(ctx_t *c, int rc)
{
    switch (rc) {
    case -EIO:
        http_response_header(c->req, "Retry-After", "5");
        reply_error(c, 503, "store_unavailable", "the database is unavailable; retry later");
        break;
    case -ENOENT:
        reply_error(c, 404, "not_found", "no such resource");
        break;
    case -EEXIST:
        reply_error(c, 409, "conflict", "it exists already");
        break;
    default:
        reply_error(c, 500, "store_error", "the database refused the operation");
    }
}

/* ---- parameters ------------------------------------------------------------------------- */

bool text_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char ch = (unsigned char)s[n];
        if (ch < 0x20 || ch == 0x7f || n >= max)
            return false;
    }
    return true;
}

bool id_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '_' && ch != '.' && ch != ':' && ch != '-')
            return false;
    }
    return true;
}

int q_int(ctx_t *c, const char *name, int64_t min, int64_t max, int64_t def, int64_t *out)
{
    const char *v = http_request_query(c->req, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < min || x > max) {
        reply_error(c, 400, "invalid_parameter",
                    "query parameter '%s' must be an integer between %lld and %lld", name,
                    (long long)min, (long long)max);
        return -EINVAL;
    }
    *out = x;
    return 0;
}

int q_str(ctx_t *c, const char *name, size_t maxlen, const char **out)
{
    const char *v = http_request_query(c->req, name);
    *out = NULL;
    if (!v)
        return 0;
    if (!*v || !text_ok(v, maxlen)) {
        reply_error(c, 400, "invalid_parameter",
                    "query parameter '%s' must be 1 to %zu printable characters", name, maxlen);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int q_enum(ctx_t *c, const char *name, const char *const *allowed, const char *def,
           const char **out)
{
    const char *v = http_request_query(c->req, name);
    if (!v) {
        *out = def;
        return 0;
    }
    for (size_t i = 0; allowed[i]; i++) {
        if (strcmp(v, allowed[i]) == 0) {
            *out = allowed[i];
            return 0;
        }
    }
    char list[256] = "";
    for (size_t i = 0; allowed[i]; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                 allowed[i]);
    reply_error(c, 400, "invalid_parameter", "query parameter '%s' must be one of: %s", name, list);
    return -EINVAL;
}

int q_page(ctx_t *c, int64_t *limit, int64_t *offset)
{
    if (q_int(c, "limit", 1, 500, 50, limit) < 0 || q_int(c, "offset", 0, 1000000, 0, offset) < 0)
        return -EINVAL;
    return 0;
}

json_t *body_json(ctx_t *c)
{
    json_t *j = http_request_json(c->req);
    if (!j)
        c->status = 400;
    return j;
}

int b_str(ctx_t *c, json_t *obj, const char *key, bool required, size_t max, const char **out)
{
    *out = NULL;
    int rc = http_json_string(c->req, obj, key, required, max, out);
    if (rc < 0) {
        c->status = 400;
        return rc;
    }
    if (*out && !text_ok(*out, max)) {
        reply_error(c, 400, "invalid_field", "field '%s' holds control characters", key);
        return -EINVAL;
    }
    return 0;
}

int b_int(ctx_t *c, json_t *obj, const char *key, bool required, int64_t min, int64_t max,
          int64_t *out)
{
    int rc = http_json_int(c->req, obj, key, required, min, max, out);
    if (rc < 0)
        c->status = 400;
    return rc;
}

int b_known(ctx_t *c, json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(k, allowed[i]) == 0;
        if (!ok) {
            char q[80];
            reply_error(c, 400, "unknown_field", "unknown field %s", log_quote(q, sizeof(q), k));
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* True when name is one of the route's declared query parameters. */
static bool declared(const route_def_t *r, const char *name)
{
    const char *p = r->query;
    size_t n = strlen(name);
    while (p && *p) {
        const char *colon = strchr(p, ':');
        if (colon && (size_t)(colon - p) == n && strncmp(p, name, n) == 0)
            return true;
        p = strchr(p, ';');
        if (p)
            p++;
    }
    return false;
}

static int check_query(ctx_t *c)
{
    size_t n = 0;
    const http_kv_t *kv = http_request_query_all(c->req, &n);
    for (size_t i = 0; i < n; i++) {
        char q[80];
        if (!declared(c->route, kv[i].key)) {
            reply_error(c, 400, "unknown_parameter", "unknown query parameter %s",
                        log_quote(q, sizeof(q), kv[i].key));
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(kv[i].key, kv[j].key) == 0) {
                reply_error(c, 400, "repeated_parameter", "query parameter %s given twice",
                            log_quote(q, sizeof(q), kv[i].key));
                return -EINVAL;
            }
        }
    }
    return 0;
}

static int authenticate(ctx_t *c)
{
    const char *h = http_request_header(c->req, "Authorization");
    const char *reason = "missing bearer token";
    int rc = -EACCES;
    if (h && strlen(h) < AUTH_HEADER_MAX && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *tok = h + 7;
        while (*tok == ' ')
            tok++;
        rc = auth_verify(c->m->auth, tok, "access", &c->id, &reason);
    } else if (h) {
        reason = "the Authorization header must be 'Bearer <token>'";
    }
    if (rc == -EACCES) {
        http_response_header(c->req, "WWW-Authenticate", "Bearer realm=\"rampart\"");
        reply_error(c, 401, "unauthorized", "%s", reason);
        return rc;
    }
    if (rc < 0) {
        http_response_header(c->req, "Retry-After", "5");
        reply_error(c, 503, "unavailable", "authentication unavailable: %s", reason);
        return rc;
    }
    if (c->id.role < c->route->min_role) {
        reply_error(c, 403, "forbidden", "this needs the %s role; you are %s",
                    role_name(c->route->min_role), role_name(c->id.role));
        return -EPERM;
    }
    return 0;
}

static void audit(ctx_t *c)
{
    int64_t t = store_now_ms();
    char id[33];
    auth_random_hex(id, 16);
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "_id", id);
    BSON_APPEND_INT64(&doc, "at", t);
    BSON_APPEND_DATE_TIME(&doc, "expire_at", t + c->m->cfg.retention_audit_ms);
    BSON_APPEND_UTF8(&doc, "actor", c->id.user[0] ? c->id.user : "-");
    BSON_APPEND_UTF8(&doc, "role", role_name(c->id.role));
    BSON_APPEND_UTF8(&doc, "via", c->id.api_token ? "api_token" : c->id.user[0] ? "jwt" : "-");
    BSON_APPEND_UTF8(&doc, "method", http_request_method(c->req));
    BSON_APPEND_UTF8(&doc, "route", c->route->pattern);
    BSON_APPEND_UTF8(&doc, "path", http_request_path(c->req));
    BSON_APPEND_INT32(&doc, "status", (int32_t)c->status);
    BSON_APPEND_UTF8(&doc, "peer", http_request_peer(c->req));
    BSON_APPEND_UTF8(&doc, "target", c->target);
    if (c->detail) {
        char *s = json_dumps(c->detail, JSON_COMPACT);
        if (s && strlen(s) < 8192)
            BSON_APPEND_UTF8(&doc, "detail", s);
        free(s);
    }
    int rc = store_insert(c->m->store, "audit", &doc);
    bson_destroy(&doc);
    char q[200];
    LOG_INFO("audit", "actor=%s method=%s path=%s status=%u target=%s stored=%s",
             c->id.user[0] ? c->id.user : "-", http_request_method(c->req),
             log_quote(q, sizeof(q), http_request_path(c->req)), c->status,
             c->target[0] ? c->target : "-", rc == 0 ? "true" : "false");
    if (rc < 0)
        metrics_counter_inc(c->m->m_audit_failures);
}

typedef struct {
    mgr_t *m;
    const route_def_t *r;
} binding_t;

static void on_request(http_request_t *req, void *ud)
{
    const binding_t *b = ud;
    ctx_t c = {.m = b->m, .req = req, .route = b->r, .status = 0};
    bool write = strcmp(b->r->method, "GET") != 0;
    if (check_query(&c) == 0 && (b->r->min_role == ROLE_NONE || authenticate(&c) == 0))
        b->r->fn(&c);
    if (c.status == 0) /* a handler that answered through http_* directly */
        c.status = 200;
    if (write && c.status != 401)
        audit(&c);
    json_decref(c.detail);
}

int router_install(mgr_t *m, http_server_t *srv)
{
    static binding_t *bindings;
    /* One binding per route, alive as long as the process (the server keeps pointers). */
    free(bindings);
    bindings = xcalloc(api_nroutes, sizeof(*bindings));
    for (size_t i = 0; i < api_nroutes; i++) {
        bindings[i].m = m;
        bindings[i].r = &api_routes[i];
        if (http_server_route(srv, api_routes[i].method, api_routes[i].pattern, on_request,
                              &bindings[i], 0) < 0) {
            LOG_ERROR("route_refused", "method=%s pattern=%s", api_routes[i].method,
                      api_routes[i].pattern);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- OpenAPI -------------------------------------------------------------------------- */

/* Calls fn(name, type, required, description) for each "name:type[!]:description;" item. */
static void each_field(const char *spec,
                       void (*fn)(json_t *, const char *, const char *, bool, const char *),
                       json_t *acc)
{
    if (!spec)
        return;
    char *copy = xstrdup(spec), *save = NULL;
    for (char *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *t = strchr(item, ':');
        if (!t)
            continue;
        *t++ = '\0';
        char *d = strchr(t, ':');
        if (d)
            *d++ = '\0';
        bool req = false;
        size_t tl = strlen(t);
        if (tl && t[tl - 1] == '!') {
            t[tl - 1] = '\0';
            req = true;
        }
        fn(acc, item, t, req, d ? d : "");
    }
    free(copy);
}

static json_t *schema_of(const char *type)
{
    if (strcmp(type, "array") == 0)
        return json_pack("{s:s, s:{}}", "type", "array", "items");
    return json_pack("{s:s}", "type", type);
}

static void add_query(json_t *params, const char *name, const char *type, bool req,
                      const char *desc)
{
    json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "in",
                                            "query", "required", req, "description", desc, "schema",
                                            schema_of(type)));
}

static void add_prop(json_t *schema, const char *name, const char *type, bool req, const char *desc)
{
    json_t *s = schema_of(type);
    json_object_set_new(s, "description", json_string(desc));
    json_object_set_new(json_object_get(schema, "properties"), name, s);
    if (req)
        json_array_append_new(json_object_get(schema, "required"), json_string(name));
}

static json_t *operation(const route_def_t *r)
{
    json_t *op = json_object();
    json_object_set_new(op, "summary", json_string(r->summary));
    json_object_set_new(op, "tags", json_pack("[s]", r->tag));
    /* operationId: method and path, lower case, other characters as single underscores. */
    char opid[160];
    size_t n = 0;
    for (const char *p = r->method; *p && n < sizeof(opid) - 1; p++)
        opid[n++] = (char)tolower((unsigned char)*p);
    for (const char *p = r->pattern; *p && n < sizeof(opid) - 1; p++) {
        if (isalnum((unsigned char)*p))
            opid[n++] = *p;
        else if (opid[n - 1] != '_')
            opid[n++] = '_';
    }
    while (n > 0 && opid[n - 1] == '_')
        n--;
    opid[n] = '\0';
    json_object_set_new(op, "operationId", json_string(opid));
    json_object_set_new(op, "x-min-role", json_string(role_name(r->min_role)));
    json_t *params = json_array();
    for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in",
                                                "path", "required", 1, "schema", "type", "string"));
    }
    each_field(r->query, add_query, params);
    json_object_set_new(op, "parameters", params);
    if (r->body) {
        json_t *schema = json_pack("{s:s, s:{}, s:[]}", "type", "object", "properties", "required");
        each_field(r->body, add_prop, schema);
        if (json_array_size(json_object_get(schema, "required")) == 0)
            json_object_del(schema, "required");
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
                                      "application/json", "schema", schema));
    }
    json_t *resp = json_object();
    char code[16];
    snprintf(code, sizeof(code), "%u", r->success ? r->success : 200);
    json_object_set_new(resp, code,
                        json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "success", "content",
                                  "application/json", "schema", "type", "object"));
    static const char *const errs[][2] = {{"400", "invalid request"},
                                          {"401", "missing, invalid or expired token"},
                                          {"403", "role too weak"},
                                          {"404", "not found"},
                                          {"503", "database or session store unavailable"}};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        if (r->min_role == ROLE_NONE && (i == 1 || i == 2))
            continue;
        json_object_set_new(resp, errs[i][0],
                            json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", errs[i][1],
                                      "content", "application/json", "schema", "$ref",
                                      "#/components/schemas/Error"));
    }
    json_object_set_new(op, "responses", resp);
    if (r->min_role == ROLE_NONE)
        json_object_set_new(op, "security", json_array());
    return op;
}

json_t *router_openapi(void)
{
    json_t *paths = json_object();
    for (size_t i = 0; i < api_nroutes; i++) {
        const route_def_t *r = &api_routes[i];
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        char m[16];
        snprintf(m, sizeof(m), "%s", r->method);
        for (char *p = m; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        json_object_set_new(item, m, operation(r));
    }
    json_t *err = json_pack("{s:s, s:{s:{s:s, s:{s:{s:s}, s:{s:s}}}}, s:[s]}", "type", "object",
                            "properties", "error", "type", "object", "properties", "code", "type",
                            "string", "message", "type", "string", "required", "error");
    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:o}, s:{s:{s:s, s:s, s:s}}}, "
                     "s:[{s:[]}]}",
                     "openapi", "3.0.3", "info", "title", "Rampart manager API", "version",
                     RAMPART_VERSION, "description",
                     "The control plane of Rampart. Every route except login and refresh needs "
                     "a bearer token (JWT from login, or an API token).",
                     "paths", paths, "components", "schemas", "Error", err, "securitySchemes",
                     "bearerAuth", "type", "http", "scheme", "bearer", "bearerFormat", "JWT",
                     "security", "bearerAuth");
}

/* ---- lists ---------------------------------------------------------------------------- */

void json_rename_id(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, "_id");
    if (!v)
        return;
    json_object_set(obj, name, v);
    json_object_del(obj, "_id");
}

void reply_list(ctx_t *c, const char *coll, const bson_t *filter, const bson_t *sort,
                const bson_t *projection, int64_t limit, int64_t offset, const char *id_name)
{
    bson_t o = BSON_INITIALIZER;
    if (sort)
        BSON_APPEND_DOCUMENT(&o, "sort", sort);
    if (projection)
        BSON_APPEND_DOCUMENT(&o, "projection", projection);
    BSON_APPEND_INT64(&o, "skip", offset);
    BSON_APPEND_INT64(&o, "limit", limit);
    json_t *arr = NULL;
    int64_t total = 0;
    int rc = store_find(c->m->store, coll, filter, &o, &arr);
    bson_destroy(&o);
    if (rc == 0)
        rc = store_count(c->m->store, coll, filter, &total);
    if (rc < 0) {
        json_decref(arr);
        reply_store(c, rc);
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        json_rename_id(it, id_name);
        /* Excluded fields stay out even on a server that ignores exclusion projections. */
        bson_iter_t pi;
        if (projection && bson_iter_init(&pi, projection))
            while (bson_iter_next(&pi))
                if (BSON_ITER_HOLDS_NUMBER(&pi) && bson_iter_as_int64(&pi) == 0)
                    json_object_del(it, bson_iter_key(&pi));
    }
    reply(c, 200,
          json_pack("{s:o, s:I, s:I, s:I}", "items", arr, "total", (json_int_t)total, "limit",
                    (json_int_t)limit, "offset", (json_int_t)offset));
}
