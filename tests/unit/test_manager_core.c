/* Unit tests of the manager's pure parts: the route table and its OpenAPI document, alert
 * validation, field-name sanitising, asset types, roles, passwords and JWT refusals (up to the
 * point where Redis would be asked), console MIME types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/redis.h"
#include "manager/asset.h"
#include "manager/auth.h"
#include "manager/console.h"
#include "manager/ingest.h"
#include "manager/router.h"

static void test_openapi_matches_routes(void **state)
{
    (void)state;
    json_t *doc = router_openapi();
    json_t *paths = json_object_get(doc, "paths");
    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) ops += json_object_size(item);
    assert_int_equal(ops, api_nroutes);
    for (size_t i = 0; i < api_nroutes; i++) {
        const route_def_t *r = &api_routes[i];
        char m[16];
        snprintf(m, sizeof(m), "%s", r->method);
        for (char *p = m; *p; p++)
            *p = (char)(*p | 0x20);
        json_t *op = json_object_get(json_object_get(paths, r->pattern), m);
        assert_non_null(op);
        assert_true(strncmp(r->pattern, "/api/v1/", 8) == 0);
        assert_true(r->summary && *r->summary && r->tag && *r->tag);
        /* Every {param} of the pattern is a path parameter. */
        size_t nparams = 0;
        for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{'))
            nparams++;
        size_t in_path = 0, k;
        json_t *prm;
        json_array_foreach(json_object_get(op, "parameters"), k, prm) in_path +=
            strcmp(json_string_value(json_object_get(prm, "in")), "path") == 0;
        assert_int_equal(in_path, nparams);
        /* Public routes say so; no write is open to read-only users. */
        assert_int_equal(json_is_array(json_object_get(op, "security")), r->min_role == ROLE_NONE);
        if (strcmp(r->method, "GET") != 0 && r->min_role != ROLE_NONE &&
            strncmp(r->pattern, "/api/v1/auth/", 13) != 0 &&
            strncmp(r->pattern, "/api/v1/tokens", 14) != 0)
            assert_true(r->min_role >= ROLE_ANALYST);
        assert_true(r->success == 200 || r->success == 201);
        /* Routes are unique. */
        for (size_t j = 0; j < i; j++)
            assert_false(strcmp(api_routes[j].method, r->method) == 0 &&
                         strcmp(api_routes[j].pattern, r->pattern) == 0);
    }
    /* operationIds are unique (OpenAPI requires it). */
    json_t *seen = json_object();
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            assert_non_null(id);
            assert_null(json_object_get(seen, id));
            json_object_set_new(seen, id, json_true());
        }
    }
    json_decref(seen);
    json_decref(doc);
}

static json_t *sample_alert(void)
{
    return json_loads("{\"schema\":\"rampart.alert/1\",\"id\":\"0123456789abcdef0123456789abcdef\","
                      "\"kind\":\"alert\",\"rule\":{\"id\":\"r1\",\"name\":\"R\",\"severity\":"
                      "\"high\"},\"count\":1,\"first_seen_ms\":5,\"last_seen_ms\":6,"
                      "\"detected_at_ms\":7,\"agent\":{\"id\":\"a-1\",\"hostname\":\"h\"}}",
                      0, NULL);
}

static void test_alert_view(void **state)
{
    (void)state;
    alert_view_t v;
    const char *why = NULL;
    json_t *j = sample_alert();
    assert_int_equal(ingest_alert_view(j, &v, &why), 0);
    assert_string_equal(v.rule_id, "r1");
    assert_string_equal(v.agent_id, "a-1");
    assert_int_equal(v.detected_at, 7);
    struct {
        const char *key;
        json_t *val;
    } bad[] = {
        {"id", json_string("0123")},
        {"id", json_string("0123456789abcdef0123456789abcdeg")},
        {"kind", json_string("delete")},
        {"schema", json_string("rampart.alert/2")},
        {"count", json_integer(0)},
        {"agent", json_pack("{s:s}", "id", "")},
        {"rule", json_pack("{s:s, s:s}", "id", "r1", "severity", "urgent")},
        {"id", json_pack("{s:b}", "$ne", 1)},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *c = sample_alert();
        json_object_set_new(c, bad[i].key, bad[i].val);
        why = NULL;
        assert_int_equal(ingest_alert_view(c, &v, &why), -EINVAL);
        assert_non_null(why);
        json_decref(c);
    }
    json_decref(j);
    assert_int_equal(ingest_severity_rank("info"), 0);
    assert_int_equal(ingest_severity_rank("critical"), 4);
    assert_int_equal(ingest_severity_rank("CRITICAL"), -1);
}

static void test_field_names(void **state)
{
    (void)state;
    char out[80];
    ingest_field_name("exe", out, sizeof(out));
    assert_string_equal(out, "exe");
    ingest_field_name("$where.x", out, sizeof(out));
    assert_string_equal(out, "_where_x");
    ingest_field_name("", out, sizeof(out));
    assert_string_equal(out, "_");
    char longk[200];
    memset(longk, 'k', sizeof(longk) - 1);
    longk[sizeof(longk) - 1] = '\0';
    ingest_field_name(longk, out, sizeof(out));
    assert_int_equal(strlen(out), 64);
}

static void test_assets_roles_mime(void **state)
{
    (void)state;
    for (int dt = 5050; dt <= 5062; dt++) {
        const char *n = asset_type_name(dt);
        assert_non_null(n);
        assert_int_equal(asset_type_parse(n), dt);
        assert_non_null(strstr(asset_type_names(), n));
    }
    assert_null(asset_type_name(5100));
    assert_int_equal(asset_type_parse("$ne"), -1);
    assert_string_equal(asset_key_field(5055), "name");
    assert_string_equal(asset_key_field(5051), "sport");
    for (role_t r = ROLE_READ_ONLY; r <= ROLE_ADMIN; r++)
        assert_int_equal(role_parse(role_name(r)), r);
    assert_int_equal(role_parse("root"), ROLE_NONE);
    assert_true(auth_valid_username("ops.team-1@corp"));
    assert_false(auth_valid_username("a b"));
    assert_false(auth_valid_username("{\"$ne\":1}"));
    assert_false(auth_valid_username(""));
    assert_non_null(auth_password_problem("short"));
    assert_null(auth_password_problem("long-enough-password"));
    assert_string_equal(console_mime("a/index.html"), "text/html; charset=utf-8");
    assert_string_equal(console_mime("app.3f.JS"), "text/javascript; charset=utf-8");
    assert_string_equal(console_mime("x.unknown"), "application/octet-stream");
    assert_true(text_ok("plain text", 64));
    assert_false(text_ok("new\nline", 64));
    assert_false(text_ok("toolong", 3));
    assert_true(id_ok("sim-00001", 64));
    assert_false(id_ok("../etc", 64));
    assert_false(id_ok("a/b", 64));
}

static char secret_path[256];

static auth_t *make_auth(redis_pool_t **pool, mode_t mode, const char *secret)
{
    snprintf(secret_path, sizeof(secret_path), "/tmp/rampart-unit-jwt-%d", (int)getpid());
    unlink(secret_path);
    int fd = open(secret_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
    fchmod(fd, mode);
    close(fd);
    /* Nothing listens there: checks that reach Redis answer -EIO. */
    redis_pool_opts_t ro = {.addr = "127.0.0.1:1", .timeout_ms = 200, .max_idle = 1};
    *pool = redis_pool_new(&ro);
    auth_opts_t o = {.jwt_secret_file = secret_path,
                     .access_ttl_ms = 60000,
                     .refresh_ttl_ms = 120000,
                     .login_max_failures = 3,
                     .login_window_ms = 60000,
                     .argon2_memory_kib = 1024,
                     .argon2_iterations = 1,
                     .redis_prefix = "t:",
                     .redis = *pool};
    char err[256];
    auth_t *a = auth_new(&o, err, sizeof(err));
    unlink(secret_path);
    return a;
}

static void test_auth(void **state)
{
    (void)state;
    redis_pool_t *pool;
    /* Secret readable by others, or too short: refused. */
    assert_null(make_auth(&pool, 0644, "0123456789abcdef0123456789abcdef0123"));
    redis_pool_free(pool);
    assert_null(make_auth(&pool, 0600, "short"));
    redis_pool_free(pool);
    auth_t *a = make_auth(&pool, 0600, "0123456789abcdef0123456789abcdef0123");
    assert_non_null(a);
    char hash[200];
    assert_int_equal(auth_hash_password(a, "correct horse battery", hash, sizeof(hash)), 0);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_true(auth_check_password(hash, "correct horse battery"));
    assert_false(auth_check_password(hash, "correct horse batterY"));
    assert_false(auth_check_password("$argon2i$v=19$m=1024,t=1,p=1$x$y", "x"));
    char *tok = NULL;
    int64_t exp = 0;
    assert_int_equal(auth_issue(a, "alice", ROLE_ANALYST, "access", &tok, &exp), 0);
    identity_t id;
    const char *why = NULL;
    /* Valid signature and claims: the next step is Redis, which is down. */
    assert_int_equal(auth_verify(a, tok, "access", &id, &why), -EIO);
    assert_int_equal(auth_verify(a, tok, "refresh", &id, &why), -EACCES);
    char *bad = strdup(tok);
    bad[strlen(bad) - 3] ^= 1;
    assert_int_equal(auth_verify(a, bad, "access", &id, &why), -EACCES);
    /* Another secret: refused. */
    redis_pool_t *pool2;
    auth_t *b = make_auth(&pool2, 0600, "ffffffffffffffffffffffffffffffffffff");
    assert_int_equal(auth_verify(b, tok, "access", &id, &why), -EACCES);
    assert_int_equal(auth_verify(a, "", "access", &id, &why), -EACCES);
    assert_int_equal(auth_verify(a, "a.b.c", "access", &id, &why), -EACCES);
    char tid[65];
    char *api = auth_new_api_token(tid);
    assert_true(strncmp(api, "rpt_", 4) == 0 && strlen(api) == 52);
    char tid2[65];
    auth_token_id(api, tid2);
    assert_string_equal(tid, tid2);
    free(api);
    free(bad);
    free(tok);
    auth_free(a);
    auth_free(b);
    redis_pool_free(pool);
    redis_pool_free(pool2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_matches_routes),
        cmocka_unit_test(test_alert_view),
        cmocka_unit_test(test_field_names),
        cmocka_unit_test(test_assets_roles_mime),
        cmocka_unit_test(test_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
