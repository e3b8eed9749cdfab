/* auth: who is calling the manager and what they may do.
 *
 * People log in with a user name and password (argon2id hashes in the users collection) and get
 * a short-lived access JWT (HS256, secret from auth.jwt_secret_file) plus a refresh JWT. Logout
 * revokes both (the revocation list is in Redis, each entry expiring with its token). A
 * password or role change moves the user's "epoch" in Redis: every token issued before it is
 * refused. Automation uses API tokens ("rpt_" + 48 hex digits) whose SHA-256 is stored. Failed
 * logins are counted in Redis per user name and per client address; over the limit, login
 * answers 429 until the window passes.
 *
 * Roles, weakest first: read-only, analyst, admin. A route names the weakest role allowed. */
#ifndef RAMPART_MGR_AUTH_H
#define RAMPART_MGR_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/redis.h"
#include "manager/store.h"

typedef enum {
    ROLE_NONE = 0, /* public route */
    ROLE_READ_ONLY = 1,
    ROLE_ANALYST = 2,
    ROLE_ADMIN = 3,
} role_t;

const char *role_name(role_t r);
/* "read-only", "analyst", "admin" -> the role; ROLE_NONE for anything else. */
role_t role_parse(const char *s);

#define AUTH_USER_MAX 64

typedef struct {
    char user[AUTH_USER_MAX + 1];
    role_t role;
    bool api_token;
    char jti[40];  /* JWT id (empty for API tokens) */
    int64_t exp;   /* seconds */
    char kind[16]; /* "access" or "refresh" */
} identity_t;

typedef struct auth auth_t;

typedef struct {
    const char *jwt_secret_file;
    int64_t access_ttl_ms, refresh_ttl_ms;
    int64_t login_max_failures, login_window_ms;
    uint32_t argon2_memory_kib, argon2_iterations;
    const char *redis_prefix;
    redis_pool_t *redis;
    store_t *store;
} auth_opts_t;

/* NULL with the reason in err (secret file missing, too short, readable by others). */
auth_t *auth_new(const auth_opts_t *o, char *err, size_t errlen);
void auth_free(auth_t *a);

/* [A-Za-z0-9_.@-], 1..64 characters. */
bool auth_valid_username(const char *s);
/* New passwords: 12..256 bytes. NULL when acceptable, else the reason. */
const char *auth_password_problem(const char *pw);

/* argon2id hash in PHC string form into out (>= 160 bytes). 0 or -EIO. */
int auth_hash_password(auth_t *a, const char *pw, char *out, size_t size);
bool auth_check_password(const char *encoded, const char *pw);

/* Issues a JWT of kind "access" or "refresh". *token: free() it. 0 or -EIO. */
int auth_issue(auth_t *a, const char *user, role_t role, const char *kind, char **token,
               int64_t *exp);
/* Verifies a bearer credential (JWT or API token). 0 with *id filled; -EACCES with a static
 * *reason; -EIO when Redis or MongoDB cannot answer. want_kind: "access" or "refresh". */
int auth_verify(auth_t *a, const char *token, const char *want_kind, identity_t *id,
                const char **reason);
/* Revokes the token described by id until it expires. 0 or -EIO. */
int auth_revoke(auth_t *a, const identity_t *id);
/* Refuses every token of user issued before now. 0 or -EIO. */
int auth_bump_epoch(auth_t *a, const char *user);

/* Login rate limit. 0 when allowed; -EBUSY when limited (*retry_after_s set); -EIO. */
int auth_login_allowed(auth_t *a, const char *user, const char *ip, int64_t *retry_after_s);
void auth_login_failed(auth_t *a, const char *user, const char *ip);
void auth_login_succeeded(auth_t *a, const char *user);

/* A new API token: the secret text (free() it) and the id stored (its SHA-256 hex, 65 bytes). */
char *auth_new_api_token(char id_out[65]);
void auth_token_id(const char *token, char id_out[65]);

/* Creates the first admin when the users collection is empty: password from
 * RAMPART_MANAGER_ADMIN_PASSWORD, else generated and printed once on stderr. 0 when done (or
 * users exist), -EIO to retry later. */
int auth_bootstrap_admin(auth_t *a, const char *user);

/* Random lower-case hex of nbytes random bytes into out (2*nbytes+1). */
void auth_random_hex(char *out, size_t nbytes);

#endif
