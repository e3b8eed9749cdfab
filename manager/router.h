/* router: the manager's route table and what runs around every handler.
 *
 * One table (api_routes.c) names each route: method, pattern, the weakest role allowed, the
 * handler, and what the OpenAPI document says about it (tag, summary, query parameters, body
 * fields). From that one table the router
 *   - installs the routes on the HTTP server,
 *   - refuses query parameters the route does not declare (400), and repeated ones,
 *   - authenticates the bearer token (401) and checks the role (403) before the handler,
 *   - writes an audit entry for every request that is not a read,
 *   - generates the OpenAPI 3 document (GET /api/v1/openapi.json).
 * Handlers answer through reply*() so that the status is known to the audit log. */
#ifndef RAMPART_MGR_ROUTER_H
#define RAMPART_MGR_ROUTER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include <bson/bson.h>

#include "common/http.h"
#include "manager/auth.h"

typedef struct mgr mgr_t;
typedef struct route_def route_def_t;

typedef struct {
    mgr_t *m;
    http_request_t *req;
    const route_def_t *route;
    identity_t id; /* the caller (user empty on public routes until the handler sets it) */
    unsigned status;
    char target[160]; /* what a change touched, for the audit log (handler sets it) */
    json_t *detail;   /* extra audit detail (reference owned by ctx) */
} ctx_t;

typedef void (*route_fn)(ctx_t *c);

struct route_def {
    const char *method, *pattern;
    role_t min_role; /* ROLE_NONE: public */
    route_fn fn;
    const char *tag, *summary;
    /* Query parameters, "name:type:description;..." (type string, integer, boolean). */
    const char *query;
    /* Body fields, "name:type[!]:description;..." ('!' required; type string, integer,
     * boolean, array, object). NULL: no body. */
    const char *body;
    unsigned success; /* 200 or 201 */
};

extern const route_def_t api_routes[];
extern const size_t api_nroutes;

/* Installs every route of api_routes on srv. 0 or -EINVAL. */
int router_install(mgr_t *m, http_server_t *srv);
/* The OpenAPI 3.0 document of api_routes (new reference). */
json_t *router_openapi(void);

/* --- answers --- */
void reply(ctx_t *c, unsigned status, json_t *body); /* steals body */
void reply_error(ctx_t *c, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers a store failure: -EIO 503, -ENOENT 404, -EEXIST 409, else 500. */
void reply_store(ctx_t *c, int rc);

/* --- request parameters: each answers 400 itself and returns -EINVAL on a bad value --- */
/* Integer query parameter in [min, max]; def when absent. */
int q_int(ctx_t *c, const char *name, int64_t min, int64_t max, int64_t def, int64_t *out);
/* String query parameter of 1..maxlen printable characters; *out NULL when absent. */
int q_str(ctx_t *c, const char *name, size_t maxlen, const char **out);
/* One of allowed (NULL-terminated); def (may be NULL) when absent. */
int q_enum(ctx_t *c, const char *name, const char *const *allowed, const char *def,
           const char **out);
/* limit (1..500, default 50) and offset (0..1,000,000). */
int q_page(ctx_t *c, int64_t *limit, int64_t *offset);

/* The JSON body as an object; NULL after answering 400/415. */
json_t *body_json(ctx_t *c);
/* Fields of a body object; same contract as http_json_string/int. */
int b_str(ctx_t *c, json_t *obj, const char *key, bool required, size_t max, const char **out);
int b_int(ctx_t *c, json_t *obj, const char *key, bool required, int64_t min, int64_t max,
          int64_t *out);
/* Refuses members of obj not in allowed (NULL-terminated) with 400. */
int b_known(ctx_t *c, json_t *obj, const char *const *allowed);

/* Lists coll: runs find(filter, sort + skip + limit + projection) and count(filter), renames
 * _id to id_name in every item and answers {"items","total","limit","offset"}. sort may be NULL;
 * projection may be NULL. */
void reply_list(ctx_t *c, const char *coll, const bson_t *filter, const bson_t *sort,
                const bson_t *projection, int64_t limit, int64_t offset, const char *id_name);
/* Renames member "_id" of obj to name. */
void json_rename_id(json_t *obj, const char *name);

/* True when s holds only printable characters (no control bytes), at most max bytes. */
bool text_ok(const char *s, size_t max);
/* [A-Za-z0-9_.:-]{1,max}: ids of hosts, rules, alerts, tasks. */
bool id_ok(const char *s, size_t max);

#endif
