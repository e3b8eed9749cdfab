#include "manager/auth.h"

#include <argon2.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define SECRET_MIN    32
#define SECRET_MAX    4096
#define TOKEN_MAX     4096
#define API_TOKEN_PFX "rpt_"
#define JWT_ISSUER    "rampart-manager"

struct auth {
    auth_opts_t o;
    unsigned char secret[SECRET_MAX];
    size_t secret_len;
    char *prefix;
};

const char *role_name(role_t r)
{
    switch (r) {
    case ROLE_READ_ONLY:
        return "read-only";
    case ROLE_ANALYST:
        return "analyst";
    case ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

role_t role_parse(const char *s)
{
    if (!s)
        return ROLE_NONE;
    if (strcmp(s, "read-only") == 0)
        return ROLE_READ_ONLY;
    if (strcmp(s, "analyst") == 0)
        return ROLE_ANALYST;
    if (strcmp(s, "admin") == 0)
        return ROLE_ADMIN;
    return ROLE_NONE;
}

void auth_random_hex(char *out, size_t nbytes)
{
    unsigned char buf[64];
    ASSERT(nbytes <= sizeof(buf));
    size_t got = 0;
    while (got < nbytes) {
        ssize_t r = getrandom(buf + got, nbytes - got, 0);
        if (r < 0 && errno != EINTR)
            PANIC("getrandom: %s", strerror(errno));
        if (r > 0)
            got += (size_t)r;
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
    out[2 * nbytes] = '\0';
}

static int load_secret(auth_t *a, const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        snprintf(err, errlen, "auth.jwt_secret_file is required");
        return -EINVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "auth.jwt_secret_file: %s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "auth.jwt_secret_file: %s: must be a regular file readable by its owner only "
                 "(chmod 600)",
                 path);
        close(fd);
        return -EACCES;
    }
    ssize_t n = read(fd, a->secret, sizeof(a->secret));
    close(fd);
    while (n > 0 && (a->secret[n - 1] == '\n' || a->secret[n - 1] == '\r'))
        n--;
    if (n < SECRET_MIN) {
        snprintf(err, errlen, "auth.jwt_secret_file: %s: the secret must be at least %d bytes",
                 path, SECRET_MIN);
        return -EINVAL;
    }
    a->secret_len = (size_t)n;
    return 0;
}

auth_t *auth_new(const auth_opts_t *o, char *err, size_t errlen)
{
    auth_t *a = xcalloc(1, sizeof(*a));
    a->o = *o;
    a->prefix = xstrdup(o->redis_prefix ? o->redis_prefix : "");
    if (load_secret(a, o->jwt_secret_file, err, errlen) < 0) {
        auth_free(a);
        return NULL;
    }
    return a;
}

void auth_free(auth_t *a)
{
    if (!a)
        return;
    OPENSSL_cleanse(a->secret, sizeof(a->secret));
    free(a->prefix);
    free(a);
}

bool auth_valid_username(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > AUTH_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '@' && c != '-')
            return false;
    }
    return true;
}

const char *auth_password_problem(const char *pw)
{
    size_t n = strlen(pw);
    if (n < 12)
        return "a password has at least 12 characters";
    if (n > 256)
        return "a password has at most 256 characters";
    return NULL;
}

int auth_hash_password(auth_t *a, const char *pw, char *out, size_t size)
{
    unsigned char salt[16];
    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
        return -EIO;
    int rc = argon2id_hash_encoded(a->o.argon2_iterations, a->o.argon2_memory_kib, 1, pw,
                                   strlen(pw), salt, sizeof(salt), 32, out, size);
    return rc == ARGON2_OK ? 0 : -EIO;
}

bool auth_check_password(const char *encoded, const char *pw)
{
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
        return false;
    return argon2id_verify(encoded, pw, strlen(pw)) == ARGON2_OK;
}

/* ---- JWT -------------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    return store_now_ms();
}

int auth_issue(auth_t *a, const char *user, role_t role, const char *kind, char **token,
               int64_t *exp)
{
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return -EIO;
    int64_t t = now_ms();
    int64_t ttl = strcmp(kind, "refresh") == 0 ? a->o.refresh_ttl_ms : a->o.access_ttl_ms;
    char jti[33];
    auth_random_hex(jti, 16);
    int rc = 0;
    rc |= jwt_add_grant(jwt, "iss", JWT_ISSUER);
    rc |= jwt_add_grant(jwt, "sub", user);
    rc |= jwt_add_grant(jwt, "role", role_name(role));
    rc |= jwt_add_grant(jwt, "typ", kind);
    rc |= jwt_add_grant(jwt, "jti", jti);
    rc |= jwt_add_grant_int(jwt, "iat", (long)(t / 1000));
    rc |= jwt_add_grant_int(jwt, "iatms", (long)t);
    rc |= jwt_add_grant_int(jwt, "exp", (long)((t + ttl) / 1000));
    rc |= jwt_set_alg(jwt, JWT_ALG_HS256, a->secret, (int)a->secret_len);
    char *s = rc == 0 ? jwt_encode_str(jwt) : NULL;
    jwt_free(jwt);
    if (!s)
        return -EIO;
    *token = s;
    if (exp)
        *exp = (t + ttl) / 1000;
    return 0;
}

/* Reads two keys with MGET: revoked:<jti> and epoch:<user>. -EIO when Redis is away. */
static int check_revocation(auth_t *a, const identity_t *id, int64_t iat_ms, const char **reason)
{
    char k1[160], k2[160];
    snprintf(k1, sizeof(k1), "%srevoked:%s", a->prefix, id->jti[0] ? id->jti : "-");
    snprintf(k2, sizeof(k2), "%sepoch:%s", a->prefix, id->user);
    const char *argv[] = {"MGET", k1, k2};
    const char *err = NULL;
    redisReply *r = redis_pool_command_argv(a->o.redis, &err, 3, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        if (r)
            freeReplyObject(r);
        *reason = "session store unavailable";
        return -EIO;
    }
    int rc = 0;
    if (id->jti[0] && r->element[0]->type == REDIS_REPLY_STRING) {
        *reason = "token revoked";
        rc = -EACCES;
    } else if (r->element[1]->type == REDIS_REPLY_STRING &&
               iat_ms < strtoll(r->element[1]->str, NULL, 10)) {
        *reason = "token issued before the last password or role change";
        rc = -EACCES;
    }
    freeReplyObject(r);
    return rc;
}

static int verify_api_token(auth_t *a, const char *token, identity_t *id, const char **reason)
{
    char tid[65];
    auth_token_id(token, tid);
    bson_t f = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&f, "_id", tid);
    json_t *doc = NULL;
    int rc = store_find_one(a->o.store, "api_tokens", &f, NULL, &doc);
    bson_destroy(&f);
    if (rc == -ENOENT) {
        *reason = "unknown API token";
        return -EACCES;
    }
    if (rc < 0) {
        *reason = "store unavailable";
        return -EIO;
    }
    const char *owner = json_string_value(json_object_get(doc, "owner"));
    role_t role = role_parse(json_string_value(json_object_get(doc, "role")));
    int64_t exp = json_integer_value(json_object_get(doc, "expires_at"));
    rc = 0;
    if (!owner || role == ROLE_NONE || strlen(owner) > AUTH_USER_MAX) {
        *reason = "malformed API token record";
        rc = -EACCES;
    } else if (exp > 0 && exp < now_ms()) {
        *reason = "API token expired";
        rc = -EACCES;
    } else {
        memset(id, 0, sizeof(*id));
        snprintf(id->user, sizeof(id->user), "%s", owner);
        id->role = role;
        id->api_token = true;
        id->exp = exp / 1000;
        snprintf(id->kind, sizeof(id->kind), "access");
    }
    json_decref(doc);
    return rc;
}

int auth_verify(auth_t *a, const char *token, const char *want_kind, identity_t *id,
                const char **reason)
{
    if (!token || !*token) {
        *reason = "missing bearer token";
        return -EACCES;
    }
    if (strlen(token) > TOKEN_MAX) {
        *reason = "token too long";
        return -EACCES;
    }
    if (strncmp(token, API_TOKEN_PFX, strlen(API_TOKEN_PFX)) == 0) {
        if (strcmp(want_kind, "access") != 0) {
            *reason = "an API token cannot be refreshed";
            return -EACCES;
        }
        return verify_api_token(a, token, id, reason);
    }
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, a->secret, (int)a->secret_len) != 0 || !jwt) {
        *reason = "invalid token signature or format";
        return -EACCES;
    }
    int rc = -EACCES;
    const char *iss = jwt_get_grant(jwt, "iss"), *sub = jwt_get_grant(jwt, "sub");
    const char *typ = jwt_get_grant(jwt, "typ"), *jti = jwt_get_grant(jwt, "jti");
    role_t role = role_parse(jwt_get_grant(jwt, "role"));
    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    int e1 = errno;
    errno = 0;
    long iatms = jwt_get_grant_int(jwt, "iatms");
    int e2 = errno;
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        *reason = "token algorithm not accepted";
    } else if (!iss || strcmp(iss, JWT_ISSUER) != 0 || !sub || !auth_valid_username(sub) || !typ ||
               !jti || strlen(jti) >= sizeof(id->jti) || role == ROLE_NONE || e1 || e2) {
        *reason = "token claims incomplete";
    } else if (strcmp(typ, want_kind) != 0) {
        *reason = strcmp(want_kind, "access") == 0 ? "a refresh token is not an access token"
                                                   : "not a refresh token";
    } else if ((int64_t)exp * 1000 <= now_ms()) {
        *reason = "token expired";
    } else {
        memset(id, 0, sizeof(*id));
        snprintf(id->user, sizeof(id->user), "%s", sub);
        snprintf(id->jti, sizeof(id->jti), "%s", jti);
        snprintf(id->kind, sizeof(id->kind), "%s", typ);
        id->role = role;
        id->exp = exp;
        rc = check_revocation(a, id, iatms, reason);
    }
    jwt_free(jwt);
    return rc;
}

int auth_revoke(auth_t *a, const identity_t *id)
{
    if (!id->jti[0])
        return 0;
    int64_t ttl = id->exp - now_ms() / 1000 + 1;
    if (ttl < 1)
        return 0;
    const char *err = NULL;
    redisReply *r = redis_pool_command(a->o.redis, &err, "SET %srevoked:%s 1 EX %lld", a->prefix,
                                       id->jti, (long long)ttl);
    int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -EIO;
    if (r)
        freeReplyObject(r);
    return rc;
}

int auth_bump_epoch(auth_t *a, const char *user)
{
    const char *err = NULL;
    /* Kept as long as a refresh token lives. */
    long long ttl = (long long)(a->o.refresh_ttl_ms / 1000) + 60;
    redisReply *r = redis_pool_command(a->o.redis, &err, "SET %sepoch:%s %lld EX %lld", a->prefix,
                                       user, (long long)now_ms(), ttl);
    int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -EIO;
    if (r)
        freeReplyObject(r);
    return rc;
}

/* ---- login rate limit ------------------------------------------------------------------- */

int auth_login_allowed(auth_t *a, const char *user, const char *ip, int64_t *retry_after_s)
{
    char k1[200], k2[200];
    snprintf(k1, sizeof(k1), "%slogin:u:%s", a->prefix, user);
    snprintf(k2, sizeof(k2), "%slogin:ip:%s", a->prefix, ip);
    const char *argv[] = {"MGET", k1, k2};
    const char *err = NULL;
    redisReply *r = redis_pool_command_argv(a->o.redis, &err, 3, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        if (r)
            freeReplyObject(r);
        return -EIO;
    }
    long long nu = r->element[0]->type == REDIS_REPLY_STRING ? atoll(r->element[0]->str) : 0;
    long long ni = r->element[1]->type == REDIS_REPLY_STRING ? atoll(r->element[1]->str) : 0;
    freeReplyObject(r);
    const char *key = NULL;
    if (nu >= a->o.login_max_failures)
        key = k1;
    else if (ni >= 4 * a->o.login_max_failures)
        key = k2;
    if (!key)
        return 0;
    *retry_after_s = (a->o.login_window_ms + 999) / 1000;
    r = redis_pool_command(a->o.redis, &err, "PTTL %s", key);
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        *retry_after_s = (r->integer + 999) / 1000;
    if (r)
        freeReplyObject(r);
    return -EBUSY;
}

static void incr_window(auth_t *a, const char *key)
{
    const char *err = NULL;
    redisReply *r = redis_pool_command(a->o.redis, &err, "INCR %s", key);
    bool first = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r)
        freeReplyObject(r);
    if (first) {
        r = redis_pool_command(a->o.redis, &err, "PEXPIRE %s %lld", key,
                               (long long)a->o.login_window_ms);
        if (r)
            freeReplyObject(r);
    }
}

void auth_login_failed(auth_t *a, const char *user, const char *ip)
{
    char k[200];
    snprintf(k, sizeof(k), "%slogin:u:%s", a->prefix, user);
    incr_window(a, k);
    snprintf(k, sizeof(k), "%slogin:ip:%s", a->prefix, ip);
    incr_window(a, k);
}

void auth_login_succeeded(auth_t *a, const char *user)
{
    const char *err = NULL;
    redisReply *r = redis_pool_command(a->o.redis, &err, "DEL %slogin:u:%s", a->prefix, user);
    if (r)
        freeReplyObject(r);
}

/* ---- API tokens ------------------------------------------------------------------------- */

void auth_token_id(const char *token, char id_out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), md);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(id_out + 2 * i, 3, "%02x", md[i]);
}

char *auth_new_api_token(char id_out[65])
{
    char hex[49];
    auth_random_hex(hex, 24);
    char *t = xasprintf("%s%s", API_TOKEN_PFX, hex);
    auth_token_id(t, id_out);
    return t;
}

/* ---- first admin ------------------------------------------------------------------------ */

int auth_bootstrap_admin(auth_t *a, const char *user)
{
    int64_t n = 0;
    bson_t empty = BSON_INITIALIZER;
    int rc = store_count(a->o.store, "users", &empty, &n);
    bson_destroy(&empty);
    if (rc < 0)
        return -EIO;
    if (n > 0)
        return 0;
    const char *env = getenv("RAMPART_MANAGER_ADMIN_PASSWORD");
    char generated[33], pw[300];
    bool from_env = env && *env;
    if (from_env) {
        const char *why = auth_password_problem(env);
        if (why) {
            LOG_ERROR("admin_password_refused", "reason=\"RAMPART_MANAGER_ADMIN_PASSWORD: %s\"",
                      why);
            return -EINVAL;
        }
        snprintf(pw, sizeof(pw), "%s", env);
    } else {
        auth_random_hex(generated, 12);
        snprintf(pw, sizeof(pw), "%s", generated);
    }
    char hash[200];
    if (auth_hash_password(a, pw, hash, sizeof(hash)) < 0)
        return -EIO;
    int64_t t = store_now_ms();
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "_id", user);
    BSON_APPEND_UTF8(&doc, "role", "admin");
    BSON_APPEND_UTF8(&doc, "hash", hash);
    BSON_APPEND_BOOL(&doc, "disabled", false);
    BSON_APPEND_INT64(&doc, "created_at", t);
    BSON_APPEND_INT64(&doc, "updated_at", t);
    rc = store_insert(a->o.store, "users", &doc);
    bson_destroy(&doc);
    if (rc == -EEXIST)
        return 0; /* another instance created it */
    if (rc < 0)
        return -EIO;
    if (from_env) {
        LOG_INFO("admin_created", "user=%s password_from=env", user);
    } else {
        /* Printed once, on stderr only, when the user is created. */
        LOG_INFO("admin_created", "user=%s password_from=generated (printed once on stderr)", user);
        fprintf(stderr,
                "\nrampart-manager: first admin user \"%s\", password: %s\n"
                "Change it after the first login (POST /api/v1/auth/password).\n\n",
                user, generated);
    }
    OPENSSL_cleanse(pw, sizeof(pw));
    return 0;
}
