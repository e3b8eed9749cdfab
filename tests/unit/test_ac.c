/* AgentCenter pieces without the network: data_type routes, the envelope writer (decoded back
 * with protobuf-c), PackagedData validation, admin command building and the connection
 * table's one-stream-per-agent rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "agent-center/admin.h"
#include "agent-center/conn_table.h"
#include "agent-center/envelope.h"
#include "agent-center/ingest.h"
#include "agent-center/route.h"
#include "envelope.pb-c.h"
#include "rampart.pb-c.h"

static void test_route(void **state)
{
    (void)state;
    char err[256];
    const char *good[] = {"1-999:ev", "1000-1999:st", "59:special", NULL};
    route_t *r = route_new(good, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(route_ntopics(r), 3);
    assert_string_equal(route_topic_name(r, route_topic_of(r, 42)), "ev");
    assert_string_equal(route_topic_name(r, route_topic_of(r, 59)), "special"); /* later wins */
    assert_string_equal(route_topic_name(r, route_topic_of(r, 1000)), "st");
    assert_int_equal(route_topic_of(r, 2000), ROUTE_NONE);
    assert_int_equal(route_topic_of(r, 0), ROUTE_NONE);
    assert_int_equal(route_topic_of(r, -5), ROUTE_NONE);
    assert_int_equal(route_topic_of(r, 70000), ROUTE_NONE);
    route_free(r);

    const char *bad[][2] = {{"5-1:t", NULL},    {"0-3:t", NULL},         {"1-3", NULL},
                            {"1-3:", NULL},     {"1-3:bad topic", NULL}, {"x:t", NULL},
                            {"1-70000:t", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(route_new(bad[i], err, sizeof(err)));
        assert_non_null(strstr(err, bad[i][0]));
    }
    const char *none[] = {NULL};
    assert_null(route_new(none, err, sizeof(err)));
}

/* A PackagedData with two records, packed. */
static uint8_t *packed(const char *id, size_t nrec, int32_t dt, size_t *len)
{
    Grpc__PackagedData pd = GRPC__PACKAGED_DATA__INIT;
    Grpc__EncodedRecord rec[4], *recs[4];
    /* Non-canonical payload bytes: value before key, plus an unknown field 15. */
    static uint8_t payload[] = {0x0a, 0x0a, 0x12, 0x03, 'o',  'n',  'e', 0x0a,
                                0x03, 'k',  'e',  'y',  0x7a, 0x02, 'h', 'i'};
    for (size_t i = 0; i < nrec; i++) {
        grpc__encoded_record__init(&rec[i]);
        rec[i].data_type = dt;
        rec[i].timestamp = 1763900000 + (int64_t)i;
        rec[i].data.data = payload;
        rec[i].data.len = sizeof(payload);
        recs[i] = &rec[i];
    }
    char *v4[] = {"10.0.0.7", "192.168.1.2"};
    char *v6[] = {"fe80::1"};
    pd.n_records = nrec;
    pd.records = recs;
    pd.agent_id = (char *)id;
    pd.n_intranet_ipv4 = 2;
    pd.intranet_ipv4 = v4;
    pd.n_intranet_ipv6 = 1;
    pd.intranet_ipv6 = v6;
    pd.hostname = "web-1";
    pd.version = "1.2.3";
    pd.product = "rampart-agent";
    *len = grpc__packaged_data__get_packed_size(&pd);
    uint8_t *out = malloc(*len);
    grpc__packaged_data__pack(&pd, out);
    return out;
}

static void test_envelope_roundtrip(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = packed("agent-1", 2, 59, &len);
    ingest_msg_t m = {0};
    assert_int_equal(ingest_decode(&m, buf, len, "agent-1", 100, "ac-7"), INGEST_OK);
    for (size_t i = 0; i < 2; i++) {
        size_t elen;
        uint8_t *e = ingest_envelope(&m, i, 1763900100, &elen);
        Rampart__Envelope *env = rampart__envelope__unpack(NULL, elen, e);
        assert_non_null(env);
        assert_int_equal(env->data_type, 59);
        assert_int_equal(env->agent_time, 1763900000 + (int64_t)i);
        assert_int_equal(env->server_time, 1763900100);
        assert_string_equal(env->agent_id, "agent-1");
        assert_int_equal(env->n_intranet_ipv4, 2);
        assert_string_equal(env->intranet_ipv4[1], "192.168.1.2");
        assert_int_equal(env->n_extranet_ipv4, 0);
        assert_string_equal(env->intranet_ipv6[0], "fe80::1");
        assert_string_equal(env->hostname, "web-1");
        assert_string_equal(env->version, "1.2.3");
        assert_string_equal(env->product, "rampart-agent");
        assert_string_equal(env->agent_center, "ac-7");
        /* The payload bytes are the agent's, untouched (a re-encode would reorder them). */
        const Grpc__EncodedRecord *r = m.pd->records[i];
        assert_int_equal(env->payload.len, r->data.len);
        assert_memory_equal(env->payload.data, r->data.data, r->data.len);
        rampart__envelope__free_unpacked(env, NULL);
        free(e);
    }
    ingest_msg_dispose(&m);
    free(buf);

    /* Negative and zero values keep protobuf's encoding (int32 -1 is a 10-byte varint). */
    envelope_meta_t meta = {0};
    Grpc__PackagedData pd = GRPC__PACKAGED_DATA__INIT;
    envelope_meta_set(&meta, &pd, "a", "");
    uint8_t out[64];
    size_t n = envelope_write(out, &meta, -1, 0, NULL, 0, -2);
    assert_int_equal(n, envelope_size(&meta, -1, 0, 0, -2));
    Rampart__Envelope *env = rampart__envelope__unpack(NULL, n, out);
    assert_non_null(env);
    assert_int_equal(env->data_type, -1);
    assert_int_equal(env->server_time, -2);
    assert_int_equal(env->payload.len, 0);
    rampart__envelope__free_unpacked(env, NULL);
    envelope_meta_dispose(&meta);
}

static void test_ingest_checks(void **state)
{
    (void)state;
    ingest_msg_t m = {0};
    size_t len;
    uint8_t *buf;
    static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    assert_int_equal(ingest_decode(&m, garbage, sizeof(garbage), NULL, 100, "ac"),
                     INGEST_MALFORMED);
    buf = packed("", 1, 59, &len);
    assert_int_equal(ingest_decode(&m, buf, len, NULL, 100, "ac"), INGEST_EMPTY_ID);
    free(buf);
    buf = packed("bad id!", 1, 59, &len);
    assert_int_equal(ingest_decode(&m, buf, len, NULL, 100, "ac"), INGEST_BAD_ID);
    free(buf);
    buf = packed("agent-2", 1, 59, &len);
    assert_int_equal(ingest_decode(&m, buf, len, "agent-1", 100, "ac"), INGEST_ID_MISMATCH);
    assert_null(m.pd);
    assert_int_equal(ingest_decode(&m, buf, len, NULL, 100, "ac"), INGEST_OK); /* plaintext */
    ingest_msg_clear(&m);
    free(buf);
    buf = packed("agent-3", 3, 59, &len);
    assert_int_equal(ingest_decode(&m, buf, len, NULL, 2, "ac"), INGEST_TOO_MANY_RECORDS);
    free(buf);
    assert_string_equal(ingest_result_name(INGEST_ID_MISMATCH), "agent_id_mismatch");
    ingest_msg_dispose(&m);

    char longid[INGEST_ID_MAX + 2];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_false(ingest_id_valid(longid));
    longid[INGEST_ID_MAX] = '\0';
    assert_true(ingest_id_valid(longid));
    assert_true(ingest_id_valid("4f9a-11:host_1.x"));
    assert_false(ingest_id_valid("a/b"));
}

static void test_admin_command(void **state)
{
    (void)state;
    char err[256], *token;
    size_t len;
    json_error_t je;
    json_t *j = json_loads("{\"task\":{\"data_type\":1060,\"object_name\":\"rampart-agent\","
                           "\"data\":\"{}\"}}",
                           0, &je);
    uint8_t *cmd = admin_command_from_json(j, &len, &token, err, sizeof(err));
    assert_non_null(cmd);
    assert_int_equal(strlen(token), 32); /* generated */
    Grpc__Command *c = grpc__command__unpack(NULL, len, cmd);
    assert_non_null(c);
    assert_int_equal(c->task->data_type, 1060);
    assert_string_equal(c->task->object_name, "rampart-agent");
    assert_string_equal(c->task->token, token);
    assert_int_equal(c->n_configs, 0);
    grpc__command__free_unpacked(c, NULL);
    free(cmd);
    free(token);
    json_decref(j);

    j = json_loads("{\"configs\":[{\"name\":\"collector\",\"version\":\"1.0\",\"sha256\":\"ab\","
                   "\"download_urls\":[\"http://x/c\"]},{\"name\":\"journal\"}]}",
                   0, &je);
    cmd = admin_command_from_json(j, &len, &token, err, sizeof(err));
    assert_non_null(cmd);
    assert_null(token);
    c = grpc__command__unpack(NULL, len, cmd);
    assert_null(c->task);
    assert_int_equal(c->n_configs, 2);
    assert_string_equal(c->configs[0]->download_urls[0], "http://x/c");
    assert_string_equal(c->configs[1]->name, "journal");
    grpc__command__free_unpacked(c, NULL);
    free(cmd);
    json_decref(j);

    const char *bad[] = {
        "{}",
        "{\"task\":{},\"configs\":[]}",
        "{\"task\":{\"object_name\":\"x\"}}",
        "{\"task\":{\"data_type\":0,\"object_name\":\"x\"}}",
        "{\"task\":{\"data_type\":5,\"object_name\":\"\"}}",
        "{\"task\":{\"data_type\":5,\"object_name\":7}}",
        "{\"task\":{\"data_type\":5,\"object_name\":\"x\",\"extra\":1}}",
        "{\"configs\":[{\"version\":\"1\"}]}",
        "{\"configs\":[{\"name\":\"x\",\"download_urls\":[1]}]}",
        "{\"configs\":{}}",
        "{\"oops\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = json_loads(bad[i], 0, &je);
        assert_non_null(j);
        err[0] = '\0';
        assert_null(admin_command_from_json(j, &len, &token, err, sizeof(err)));
        assert_null(token);
        assert_true(err[0] != '\0');
        json_decref(j);
    }
}

static void test_conn_table(void **state)
{
    (void)state;
    conn_table_t *t = conn_table_new(16);
    conn_t *a = conn_new(1, 4), *b = conn_new(2, 4), *c = conn_new(3, 4);
    strcpy(a->identity, "agent-a");
    strcpy(b->identity, "agent-a");
    strcpy(c->identity, "agent-c");
    assert_null(conn_table_bind(t, a));
    assert_null(conn_table_bind(t, c));
    assert_int_equal(conn_table_count(t), 2);
    conn_t *old = conn_table_bind(t, b); /* the newer stream of agent-a wins */
    assert_ptr_equal(old, a);
    conn_unref(old);
    assert_int_equal(conn_table_count(t), 2);
    conn_t *got = conn_table_get(t, "agent-a");
    assert_ptr_equal(got, b);
    conn_unref(got);
    conn_table_remove(t, a); /* no longer registered: nothing happens */
    assert_int_equal(conn_table_count(t), 2);
    size_t n;
    conn_t **v = conn_table_snapshot(t, &n);
    assert_int_equal(n, 2);
    assert_string_equal(v[0]->identity, "agent-a");
    assert_string_equal(v[1]->identity, "agent-c");
    for (size_t i = 0; i < n; i++)
        conn_unref(v[i]);
    free(v);
    conn_table_remove(t, b);
    assert_null(conn_table_get(t, "agent-a"));
    conn_table_free(t);
    conn_unref(a);
    conn_unref(b);
    conn_unref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),         cmocka_unit_test(test_envelope_roundtrip),
        cmocka_unit_test(test_ingest_checks), cmocka_unit_test(test_admin_command),
        cmocka_unit_test(test_conn_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
