/* Service-discovery request validation (api_parse_*), without network or Redis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "service-discovery/api.h"

static int parse(const char *text, api_kind_t kind, sd_instance_spec_t *s, api_error_t *e)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);
    assert_non_null(j);
    int rc = api_parse_instance(j, kind, s, e);
    json_decref(j);
    return rc;
}

static void expect_refused(const char *text, api_kind_t kind, const char *code, const char *words)
{
    sd_instance_spec_t s;
    api_error_t e;
    assert_int_equal(parse(text, kind, &s, &e), -EINVAL);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, code);
    if (!strstr(e.message, words))
        fail_msg("message '%s' lacks '%s'", e.message, words);
}

static void test_register_ok(void **state)
{
    (void)state;
    sd_instance_spec_t s;
    api_error_t e;
    assert_int_equal(parse("{\"name\":\"agent-center\",\"ip\":\"10.0.0.7\",\"port\":6751,"
                           "\"weight\":12,\"metadata\":{\"b\":1,\"a\":\"x\"}}",
                           API_REGISTER, &s, &e),
                     0);
    assert_string_equal(s.name, "agent-center");
    assert_string_equal(s.ip, "10.0.0.7");
    assert_int_equal(s.port, 6751);
    assert_int_equal(s.weight, 12);
    assert_string_equal(s.metadata, "{\"a\":\"x\",\"b\":1}"); /* compact, sorted */

    assert_int_equal(parse("{\"name\":\"h\",\"ip\":\"fe80::1\",\"port\":1}", API_REGISTER, &s, &e),
                     0);
    assert_int_equal(s.weight, SD_WEIGHT_DEFAULT);
    assert_string_equal(s.metadata, "{}");
    assert_int_equal(
        parse("{\"name\":\"h\",\"ip\":\"ac-0.rampart.svc\",\"port\":65535}", API_REGISTER, &s, &e),
        0);
}

static void test_renew_evict(void **state)
{
    (void)state;
    sd_instance_spec_t s;
    api_error_t e;
    assert_int_equal(parse("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2}", API_RENEW, &s, &e),
                     0);
    assert_int_equal(s.weight, -1); /* keep */
    assert_int_equal(
        parse("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2,\"weight\":0}", API_RENEW, &s, &e),
        0);
    assert_int_equal(s.weight, 0);
    expect_refused("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2,\"metadata\":{}}", API_RENEW,
                   "unknown_field", "metadata");
    expect_refused("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2,\"weight\":1}", API_EVICT,
                   "unknown_field", "weight");
}

static void test_refusals(void **state)
{
    (void)state;
    expect_refused("{\"ip\":\"10.0.0.1\",\"port\":2}", API_REGISTER, "missing_field", "name");
    expect_refused("{\"name\":\"h\",\"port\":2}", API_REGISTER, "missing_field", "ip");
    expect_refused("{\"name\":\"h\",\"ip\":\"10.0.0.1\"}", API_REGISTER, "missing_field", "port");
    expect_refused("{\"name\":7,\"ip\":\"10.0.0.1\",\"port\":2}", API_REGISTER, "invalid_field",
                   "name");
    expect_refused("{\"name\":\"-x\",\"ip\":\"10.0.0.1\",\"port\":2}", API_REGISTER,
                   "invalid_field", "name");
    expect_refused("{\"name\":\"a/b\",\"ip\":\"10.0.0.1\",\"port\":2}", API_REGISTER,
                   "invalid_field", "name");
    expect_refused("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":0}", API_REGISTER, "invalid_field",
                   "port");
    expect_refused("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2.5}", API_REGISTER,
                   "invalid_field", "port");
    expect_refused("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2,\"weight\":-1}", API_REGISTER,
                   "invalid_field", "weight");
    expect_refused("{\"name\":\"h\",\"ip\":\"bad_host\",\"port\":2}", API_REGISTER, "invalid_field",
                   "ip");
    expect_refused("{\"name\":\"h\",\"ip\":\"-a.b\",\"port\":2}", API_REGISTER, "invalid_field",
                   "ip");
    expect_refused("{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2,\"metadata\":\"x\"}",
                   API_REGISTER, "invalid_field", "metadata");
    expect_refused("{\"name\":\"h\\u0000x\",\"ip\":\"10.0.0.1\",\"port\":2}", API_REGISTER,
                   "invalid_field", "NUL");

    /* metadata larger than the limit once encoded */
    char big[SD_METADATA_MAX + 200];
    int n = snprintf(big, sizeof(big),
                     "{\"name\":\"h\",\"ip\":\"10.0.0.1\",\"port\":2,"
                     "\"metadata\":{\"k\":\"");
    memset(big + n, 'v', SD_METADATA_MAX);
    strcpy(big + n + SD_METADATA_MAX, "\"}}");
    expect_refused(big, API_REGISTER, "invalid_field", "metadata");

    sd_instance_spec_t s;
    api_error_t e;
    json_t *arr = json_array();
    assert_int_equal(api_parse_instance(arr, API_REGISTER, &s, &e), -EINVAL);
    assert_string_equal(e.code, "invalid_body");
    json_decref(arr);
}

static void test_lookup(void **state)
{
    (void)state;
    size_t c;
    registry_pick_t p;
    api_error_t e;
    assert_int_equal(api_parse_lookup("hub", NULL, NULL, &c, &p, &e), 0);
    assert_int_equal(c, 0);
    assert_int_equal(p, REGISTRY_PICK_WEIGHTED);
    assert_int_equal(api_parse_lookup("hub", "10", "least", &c, &p, &e), 0);
    assert_int_equal(c, 10);
    assert_int_equal(p, REGISTRY_PICK_LEAST);
    assert_int_equal(api_parse_lookup("hub", "-1", NULL, &c, &p, &e), -EINVAL);
    assert_int_equal(api_parse_lookup("hub", "1001", NULL, &c, &p, &e), -EINVAL);
    assert_int_equal(api_parse_lookup("hub", "3x", NULL, &c, &p, &e), -EINVAL);
    assert_int_equal(api_parse_lookup("hub", "+3", NULL, &c, &p, &e), -EINVAL);
    assert_int_equal(api_parse_lookup("hub", NULL, "random", &c, &p, &e), -EINVAL);
    assert_int_equal(api_parse_lookup("", NULL, NULL, &c, &p, &e), -EINVAL);
    assert_int_equal(api_parse_lookup("a b", NULL, NULL, &c, &p, &e), -EINVAL);
    char longname[80];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    assert_int_equal(api_parse_lookup(longname, NULL, NULL, &c, &p, &e), -EINVAL);
    assert_int_equal(e.status, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_ok),
        cmocka_unit_test(test_renew_evict),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
