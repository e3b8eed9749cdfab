/* Login, refresh, logout, password change, users and API tokens. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "manager/api.h"
#include "manager/mgr.h"

static json_t *token_pair(ctx_t *c, const char *user, role_t role)
{
    char *access = NULL, *refresh = NULL;
    int64_t aexp = 0, rexp = 0;
    if (auth_issue(c->m->auth, user, role, "access", &access, &aexp) < 0 ||
        auth_issue(c->m->auth, user, role, "refresh", &refresh, &rexp) < 0) {
        free(access);
        return NULL;
    }
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:{s:s, s:s}}", "access_token", access,
                  "refresh_token", refresh, "token_type", "Bearer", "expires_in",
                  (json_int_t)(c->m->cfg.auth_access_ttl_ms / 1000), "refresh_expires_at",
                  (json_int_t)rexp * 1000, "user", "username", user, "role", role_name(role));
    free(access);
    free(refresh);
    return j;
}

static int find_user(ctx_t *c, const char *user, json_t **doc)
{
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", user);
    int rc = store_find_one(c->m->store, "users", &f, NULL, doc);
    bson_destroy(&f);
    return rc;
}

void api_login(ctx_t *c)
{
    static const char *const known[] = {"username", "password", NULL};
    json_t *b = body_json(c);
    const char *user, *pw;
    if (!b)
        return;
    if (b_known(c, b, known) < 0 || b_str(c, b, "username", true, 64, &user) < 0 ||
        http_json_string(c->req, b, "password", 1, 1024, &pw) < 0) {
        c->status = c->status ? c->status : 400;
        json_decref(b);
        return;
    }
    if (!auth_valid_username(user)) {
        reply_error(c, 401, "invalid_credentials", "wrong user name or password");
        json_decref(b);
        return;
    }
    snprintf(c->id.user, sizeof(c->id.user), "%s", user);
    snprintf(c->target, sizeof(c->target), "user:%s", user);
    char ip[80];
    snprintf(ip, sizeof(ip), "%s", http_request_peer(c->req));
    char *colon = strrchr(ip, ':');
    if (colon)
        *colon = '\0';
    int64_t retry = 0;
    int rc = auth_login_allowed(c->m->auth, user, ip, &retry);
    if (rc == -EBUSY) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%lld", (long long)retry);
        http_response_header(c->req, "Retry-After", ra);
        reply_error(c, 429, "too_many_attempts", "too many failed logins; retry in %lld seconds",
                    (long long)retry);
        LOG_WARN("login_limited", "user=%s peer=%s", user, ip);
        json_decref(b);
        return;
    }
    if (rc < 0) {
        reply_error(c, 503, "unavailable", "the session store is unavailable");
        json_decref(b);
        return;
    }
    json_t *doc = NULL;
    rc = find_user(c, user, &doc);
    if (rc < 0 && rc != -ENOENT) {
        reply_store(c, rc);
        json_decref(b);
        return;
    }
    bool ok = rc == 0 && !json_is_true(json_object_get(doc, "disabled")) &&
              auth_check_password(json_string_value(json_object_get(doc, "hash")), pw);
    role_t role = ok ? role_parse(json_string_value(json_object_get(doc, "role"))) : ROLE_NONE;
    json_decref(doc);
    json_decref(b);
    user = c->id.user; /* b (which held it) is gone */
    if (!ok || role == ROLE_NONE) {
        auth_login_failed(c->m->auth, user, ip);
        LOG_WARN("login_failed", "user=%s peer=%s", user, ip);
        reply_error(c, 401, "invalid_credentials", "wrong user name or password");
        return;
    }
    auth_login_succeeded(c->m->auth, user);
    c->id.role = role;
    json_t *pair = token_pair(c, user, role);
    if (!pair) {
        reply_error(c, 500, "token_failed", "could not issue a token");
        return;
    }
    LOG_INFO("login", "user=%s role=%s peer=%s", user, role_name(role), ip);
    reply(c, 200, pair);
}

void api_refresh(ctx_t *c)
{
    static const char *const known[] = {"refresh_token", NULL};
    json_t *b = body_json(c);
    const char *tok;
    if (!b)
        return;
    if (b_known(c, b, known) < 0 ||
        http_json_string(c->req, b, "refresh_token", 1, 4096, &tok) < 0) {
        c->status = c->status ? c->status : 400;
        json_decref(b);
        return;
    }
    const char *reason = NULL;
    identity_t id;
    int rc = auth_verify(c->m->auth, tok, "refresh", &id, &reason);
    json_decref(b);
    if (rc == -EACCES) {
        reply_error(c, 401, "unauthorized", "%s", reason);
        return;
    }
    if (rc < 0) {
        reply_error(c, 503, "unavailable", "%s", reason);
        return;
    }
    c->id = id;
    snprintf(c->target, sizeof(c->target), "user:%s", id.user);
    json_t *doc = NULL;
    rc = find_user(c, id.user, &doc);
    if (rc == -ENOENT || (rc == 0 && json_is_true(json_object_get(doc, "disabled")))) {
        json_decref(doc);
        reply_error(c, 401, "unauthorized", "the user no longer exists or is disabled");
        return;
    }
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    role_t role = role_parse(json_string_value(json_object_get(doc, "role")));
    json_decref(doc);
    if (auth_revoke(c->m->auth, &id) < 0) {
        reply_error(c, 503, "unavailable", "the session store is unavailable");
        return;
    }
    json_t *pair = token_pair(c, id.user, role);
    if (!pair) {
        reply_error(c, 500, "token_failed", "could not issue a token");
        return;
    }
    reply(c, 200, pair);
}

void api_logout(ctx_t *c)
{
    size_t len = 0;
    http_request_body(c->req, &len);
    identity_t rid;
    bool have_refresh = false;
    if (len > 0) {
        json_t *b = body_json(c);
        const char *tok = NULL, *reason = NULL;
        if (!b)
            return;
        if (b_str(c, b, "refresh_token", false, 4096, &tok) < 0) {
            json_decref(b);
            return;
        }
        if (tok && auth_verify(c->m->auth, tok, "refresh", &rid, &reason) == 0 &&
            strcmp(rid.user, c->id.user) == 0)
            have_refresh = true;
        json_decref(b);
    }
    snprintf(c->target, sizeof(c->target), "user:%s", c->id.user);
    if (c->id.api_token) {
        reply_error(c, 400, "api_token", "API tokens are revoked with DELETE /api/v1/tokens/{id}");
        return;
    }
    if (auth_revoke(c->m->auth, &c->id) < 0 ||
        (have_refresh && auth_revoke(c->m->auth, &rid) < 0)) {
        reply_error(c, 503, "unavailable", "the session store is unavailable");
        return;
    }
    reply(c, 200, json_pack("{s:b, s:b}", "logged_out", 1, "refresh_revoked", have_refresh));
}

/* Sets hash (and updated_at) of user; bumps the epoch. */
static int set_password(ctx_t *c, const char *user, const char *pw)
{
    char hash[200];
    if (auth_hash_password(c->m->auth, pw, hash, sizeof(hash)) < 0)
        return -EPROTO;
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&f, "_id", user);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_UTF8(&set, "hash", hash);
    BSON_APPEND_INT64(&set, "updated_at", store_now_ms());
    bson_append_document_end(&u, &set);
    int64_t matched = 0;
    int rc = store_update(c->m->store, "users", &f, &u, false, false, &matched);
    bson_destroy(&f);
    bson_destroy(&u);
    if (rc == 0 && matched == 0)
        rc = -ENOENT;
    if (rc == 0 && auth_bump_epoch(c->m->auth, user) < 0)
        rc = -EIO;
    return rc;
}

void api_password(ctx_t *c)
{
    static const char *const known[] = {"old_password", "new_password", NULL};
    json_t *b = body_json(c);
    const char *oldpw, *newpw;
    if (!b)
        return;
    snprintf(c->target, sizeof(c->target), "user:%s", c->id.user);
    if (b_known(c, b, known) < 0 || http_json_string(c->req, b, "old_password", 1, 1024, &oldpw) ||
        http_json_string(c->req, b, "new_password", 1, 1024, &newpw)) {
        c->status = c->status ? c->status : 400;
        json_decref(b);
        return;
    }
    const char *why = auth_password_problem(newpw);
    if (why || c->id.api_token) {
        reply_error(c, 400, "weak_password", "%s",
                    why ? why : "an API token cannot change a password");
        json_decref(b);
        return;
    }
    json_t *doc = NULL;
    int rc = find_user(c, c->id.user, &doc);
    if (rc < 0) {
        reply_store(c, rc);
        json_decref(b);
        return;
    }
    bool ok = auth_check_password(json_string_value(json_object_get(doc, "hash")), oldpw);
    json_decref(doc);
    if (!ok) {
        json_decref(b);
        reply_error(c, 403, "wrong_password", "the current password is wrong");
        return;
    }
    rc = set_password(c, c->id.user, newpw);
    json_decref(b);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    reply(c, 200, json_pack("{s:b}", "changed", 1));
}

void api_me(ctx_t *c)
{
    reply(c, 200,
          json_pack("{s:s, s:s, s:s, s:I}", "username", c->id.user, "role", role_name(c->id.role),
                    "via", c->id.api_token ? "api_token" : "jwt", "expires_at",
                    (json_int_t)c->id.exp * 1000));
}

/* ---- users ---------------------------------------------------------------------------- */

void api_users_list(ctx_t *c)
{
    bson_t f = BSON_INITIALIZER, o = BSON_INITIALIZER, proj, sort;
    BSON_APPEND_DOCUMENT_BEGIN(&o, "projection", &proj);
    BSON_APPEND_INT32(&proj, "hash", 0);
    bson_append_document_end(&o, &proj);
    BSON_APPEND_DOCUMENT_BEGIN(&o, "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(&o, &sort);
    BSON_APPEND_INT64(&o, "limit", 10000);
    json_t *arr = NULL;
    int rc = store_find(c->m->store, "users", &f, &o, &arr);
    bson_destroy(&f);
    bson_destroy(&o);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    size_t i;
    json_t *u;
    json_array_foreach(arr, i, u)
    {
        json_object_set(u, "username", json_object_get(u, "_id"));
        json_object_del(u, "_id");
    }
    reply(c, 200, json_pack("{s:o, s:I}", "items", arr, "total", (json_int_t)json_array_size(arr)));
}

void api_users_create(ctx_t *c)
{
    static const char *const known[] = {"username", "password", "role", NULL};
    json_t *b = body_json(c);
    const char *user, *pw, *rs;
    if (!b)
        return;
    if (b_known(c, b, known) < 0 || b_str(c, b, "username", true, 64, &user) < 0 ||
        http_json_string(c->req, b, "password", 1, 1024, &pw) < 0 ||
        b_str(c, b, "role", true, 16, &rs) < 0) {
        c->status = c->status ? c->status : 400;
        json_decref(b);
        return;
    }
    role_t role = role_parse(rs);
    const char *why = !auth_valid_username(user) ? "username must be 1-64 of [A-Za-z0-9_.@-]"
                      : role == ROLE_NONE        ? "role must be admin, analyst or read-only"
                                                 : auth_password_problem(pw);
    if (why) {
        reply_error(c, 400, "invalid_field", "%s", why);
        json_decref(b);
        return;
    }
    snprintf(c->target, sizeof(c->target), "user:%s", user);
    c->detail = json_pack("{s:s}", "role", role_name(role));
    char hash[200];
    if (auth_hash_password(c->m->auth, pw, hash, sizeof(hash)) < 0) {
        json_decref(b);
        reply_error(c, 500, "hash_failed", "could not hash the password");
        return;
    }
    int64_t t = store_now_ms();
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "_id", user);
    BSON_APPEND_UTF8(&doc, "role", role_name(role));
    BSON_APPEND_UTF8(&doc, "hash", hash);
    BSON_APPEND_BOOL(&doc, "disabled", false);
    BSON_APPEND_INT64(&doc, "created_at", t);
    BSON_APPEND_INT64(&doc, "updated_at", t);
    BSON_APPEND_UTF8(&doc, "created_by", c->id.user);
    int rc = store_insert(c->m->store, "users", &doc);
    bson_destroy(&doc);
    if (rc < 0) {
        reply_store(c, rc);
    } else {
        /* A user deleted and made again must not inherit old tokens. */
        auth_bump_epoch(c->m->auth, user);
        reply(c, 201, json_pack("{s:s, s:s}", "username", user, "role", role_name(role)));
    }
    json_decref(b);
}

void api_users_update(ctx_t *c)
{
    static const char *const known[] = {"role", "password", "disabled", NULL};
    const char *user = http_request_param(c->req, "username");
    snprintf(c->target, sizeof(c->target), "user:%.64s", user);
    if (!auth_valid_username(user)) {
        reply_error(c, 404, "not_found", "no such user");
        return;
    }
    json_t *b = body_json(c);
    const char *rs = NULL, *pw = NULL;
    if (!b)
        return;
    json_t *dis = json_object_get(b, "disabled");
    if (b_known(c, b, known) < 0 || b_str(c, b, "role", false, 16, &rs) < 0 ||
        http_json_string(c->req, b, "password", 0, 1024, &pw) < 0) {
        c->status = c->status ? c->status : 400;
        json_decref(b);
        return;
    }
    const char *why = rs && role_parse(rs) == ROLE_NONE ? "role must be admin, analyst or read-only"
                      : dis && !json_is_boolean(dis)    ? "disabled must be true or false"
                      : pw                              ? auth_password_problem(pw)
                      : !rs && !dis                     ? "nothing to change"
                                                        : NULL;
    if (why) {
        reply_error(c, 400, "invalid_field", "%s", why);
        json_decref(b);
        return;
    }
    c->detail = json_pack("{s:s?, s:O?, s:b}", "role", rs, "disabled", dis, "password", pw != NULL);
    int rc = 0;
    if (pw)
        rc = set_password(c, user, pw);
    if (rc == 0 && (rs || dis)) {
        bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
        BSON_APPEND_UTF8(&f, "_id", user);
        BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
        if (rs)
            BSON_APPEND_UTF8(&set, "role", rs);
        if (dis)
            BSON_APPEND_BOOL(&set, "disabled", json_is_true(dis));
        BSON_APPEND_INT64(&set, "updated_at", store_now_ms());
        bson_append_document_end(&u, &set);
        int64_t matched = 0;
        rc = store_update(c->m->store, "users", &f, &u, false, false, &matched);
        if (rc == 0 && matched == 0)
            rc = -ENOENT;
        if (rc == 0 && auth_bump_epoch(c->m->auth, user) < 0)
            rc = -EIO;
        bson_destroy(&f);
        bson_destroy(&u);
    }
    json_decref(b);
    if (rc < 0)
        reply_store(c, rc);
    else
        reply(c, 200, json_pack("{s:s, s:b}", "username", user, "updated", 1));
}

void api_users_delete(ctx_t *c)
{
    const char *user = http_request_param(c->req, "username");
    snprintf(c->target, sizeof(c->target), "user:%.64s", user);
    if (!auth_valid_username(user)) {
        reply_error(c, 404, "not_found", "no such user");
        return;
    }
    if (strcmp(user, c->id.user) == 0) {
        reply_error(c, 400, "self_delete", "you cannot delete yourself");
        return;
    }
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", user);
    int64_t n = 0;
    int rc = store_delete(c->m->store, "users", &f, false, &n);
    bson_destroy(&f);
    if (rc == 0 && n == 0)
        rc = -ENOENT;
    if (rc == 0) {
        bson_t t = BSON_INITIALIZER;
        BSON_APPEND_UTF8(&t, "owner", user);
        rc = store_delete(c->m->store, "api_tokens", &t, true, NULL);
        bson_destroy(&t);
    }
    if (rc == 0 && auth_bump_epoch(c->m->auth, user) < 0)
        rc = -EIO;
    if (rc < 0)
        reply_store(c, rc);
    else
        reply(c, 200, json_pack("{s:s, s:b}", "username", user, "deleted", 1));
}

/* ---- API tokens ----------------------------------------------------------------------- */

void api_tokens_list(ctx_t *c)
{
    bson_t f = BSON_INITIALIZER, o = BSON_INITIALIZER, sort;
    if (c->id.role != ROLE_ADMIN)
        BSON_APPEND_UTF8(&f, "owner", c->id.user);
    BSON_APPEND_DOCUMENT_BEGIN(&o, "sort", &sort);
    BSON_APPEND_INT32(&sort, "created_at", -1);
    bson_append_document_end(&o, &sort);
    BSON_APPEND_INT64(&o, "limit", 1000);
    json_t *arr = NULL;
    int rc = store_find(c->m->store, "api_tokens", &f, &o, &arr);
    bson_destroy(&f);
    bson_destroy(&o);
    if (rc < 0) {
        reply_store(c, rc);
        return;
    }
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        /* The id is the token's hash: show a prefix, enough to delete it. */
        json_object_set(t, "id", json_object_get(t, "_id"));
        json_object_del(t, "_id");
    }
    reply(c, 200, json_pack("{s:o}", "items", arr));
}

void api_tokens_create(ctx_t *c)
{
    static const char *const known[] = {"name", "role", "expires_in_days", NULL};
    json_t *b = body_json(c);
    const char *name, *rs = NULL;
    int64_t days = 90;
    if (!b)
        return;
    if (b_known(c, b, known) < 0 || b_str(c, b, "name", true, 128, &name) < 0 ||
        b_str(c, b, "role", false, 16, &rs) < 0 ||
        (json_object_get(b, "expires_in_days") &&
         b_int(c, b, "expires_in_days", false, 0, 3650, &days) < 0)) {
        json_decref(b);
        return;
    }
    role_t role = rs ? role_parse(rs) : c->id.role;
    if (role == ROLE_NONE || role > c->id.role) {
        reply_error(c, 400, "invalid_field", "role must be a role no stronger than yours (%s)",
                    role_name(c->id.role));
        json_decref(b);
        return;
    }
    char id[65];
    char *tok = auth_new_api_token(id);
    int64_t t = store_now_ms();
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "_id", id);
    BSON_APPEND_UTF8(&doc, "name", name);
    BSON_APPEND_UTF8(&doc, "owner", c->id.user);
    BSON_APPEND_UTF8(&doc, "role", role_name(role));
    BSON_APPEND_INT64(&doc, "created_at", t);
    BSON_APPEND_INT64(&doc, "expires_at", days ? t + days * 86400000LL : 0);
    int rc = store_insert(c->m->store, "api_tokens", &doc);
    bson_destroy(&doc);
    snprintf(c->target, sizeof(c->target), "token:%.16s", id);
    c->detail = json_pack("{s:s, s:s}", "name", name, "role", role_name(role));
    if (rc < 0)
        reply_store(c, rc);
    else
        reply(c, 201,
              json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", id, "token", tok, "name", name, "role",
                        role_name(role), "expires_at",
                        (json_int_t)(days ? t + days * 86400000LL : 0)));
    free(tok);
    json_decref(b);
}

void api_tokens_delete(ctx_t *c)
{
    const char *id = http_request_param(c->req, "id");
    snprintf(c->target, sizeof(c->target), "token:%.16s", id);
    if (!id_ok(id, 64)) {
        reply_error(c, 404, "not_found", "no such token");
        return;
    }
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", id);
    if (c->id.role != ROLE_ADMIN)
        BSON_APPEND_UTF8(&f, "owner", c->id.user);
    int64_t n = 0;
    int rc = store_delete(c->m->store, "api_tokens", &f, false, &n);
    bson_destroy(&f);
    if (rc == 0 && n == 0)
        rc = -ENOENT;
    if (rc < 0)
        reply_store(c, rc);
    else
        reply(c, 200, json_pack("{s:s, s:b}", "id", id, "deleted", 1));
}
