/* Unit tests for proto/: every message round-trips, the field numbers are Elkeid's (checked
 * against hand-encoded bytes), a plugin Record is an EncodedRecord on the wire (the payload
 * bytes are never re-encoded), and the Kafka envelope's payload decodes as a Payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envelope.pb-c.h"
#include "rampart.pb-c.h"
#include "proto/transfer_paths.h"

/* Packs any message into a fresh buffer; the caller frees it. */
static uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

/* Looks up a key in a decoded Payload; NULL when absent. */
static const char *payload_get(const Grpc__Payload *p, const char *key)
{
    for (size_t i = 0; i < p->n_fields; i++)
        if (strcmp(p->fields[i]->key, key) == 0)
            return p->fields[i]->value;
    return NULL;
}

/* A Payload with two fields; entries and the pointer array live in the caller's storage. */
static void payload_fill(Grpc__Payload *p, Grpc__Payload__FieldsEntry e[2],
                         Grpc__Payload__FieldsEntry *ptrs[2])
{
    grpc__payload__init(p);
    grpc__payload__fields_entry__init(&e[0]);
    grpc__payload__fields_entry__init(&e[1]);
    e[0].key = "exe";
    e[0].value = "/usr/bin/curl";
    e[1].key = "argv";
    e[1].value = "curl -s http://example.invalid/x.sh";
    ptrs[0] = &e[0];
    ptrs[1] = &e[1];
    p->n_fields = 2;
    p->fields = ptrs;
}

static void test_method_path(void **state)
{
    (void)state;
    /* The path gRPC uses is "/" + service full name + "/" + method name. */
    const ProtobufCServiceDescriptor *svc = &grpc__transfer__descriptor;
    assert_int_equal(svc->n_methods, 1);
    char path[128];
    snprintf(path, sizeof(path), "/%s/%s", svc->name, svc->methods[0].name);
    assert_string_equal(path, RAMPART_GRPC_TRANSFER_METHOD);
    assert_string_equal(RAMPART_GRPC_TRANSFER_METHOD, "/grpc.Transfer/Transfer");
    assert_ptr_equal(svc->methods[0].input, &grpc__packaged_data__descriptor);
    assert_ptr_equal(svc->methods[0].output, &grpc__command__descriptor);
}

static void test_roundtrip_payload_and_record(void **state)
{
    (void)state;
    Grpc__Payload p;
    Grpc__Payload__FieldsEntry e[2], *ptrs[2];
    payload_fill(&p, e, ptrs);

    size_t len;
    uint8_t *buf = pack_msg(&p.base, &len);
    Grpc__Payload *dp = grpc__payload__unpack(NULL, len, buf);
    assert_non_null(dp);
    assert_int_equal(dp->n_fields, 2);
    assert_string_equal(payload_get(dp, "exe"), "/usr/bin/curl");
    assert_string_equal(payload_get(dp, "argv"), "curl -s http://example.invalid/x.sh");
    grpc__payload__free_unpacked(dp, NULL);
    free(buf);

    Grpc__Record r;
    grpc__record__init(&r);
    r.data_type = RAMPART_DT_EXECVE;
    r.timestamp = 1700000123;
    r.data = &p;
    buf = pack_msg(&r.base, &len);
    Grpc__Record *dr = grpc__record__unpack(NULL, len, buf);
    assert_non_null(dr);
    assert_int_equal(dr->data_type, 59);
    assert_int_equal(dr->timestamp, 1700000123);
    assert_non_null(dr->data);
    assert_string_equal(payload_get(dr->data, "exe"), "/usr/bin/curl");
    grpc__record__free_unpacked(dr, NULL);
    free(buf);
}

static void test_roundtrip_packaged_data(void **state)
{
    (void)state;
    uint8_t blob[] = {0x00, 0xff, 0x10, 0x80};
    Grpc__EncodedRecord recs[2], *rp[2];
    for (int i = 0; i < 2; i++) {
        grpc__encoded_record__init(&recs[i]);
        recs[i].data_type = i ? RAMPART_DT_AGENT_HEARTBEAT : RAMPART_DT_CONNECT;
        recs[i].timestamp = 1700000000 + i;
        recs[i].data.data = blob;
        recs[i].data.len = sizeof(blob);
        rp[i] = &recs[i];
    }
    char *in4[] = {"10.0.0.7", "10.0.1.7"}, *ex4[] = {"203.0.113.9"};
    char *in6[] = {"fd00::7"}, *ex6[] = {"2001:db8::7"};
    Grpc__PackagedData pd;
    grpc__packaged_data__init(&pd);
    pd.n_records = 2;
    pd.records = rp;
    pd.agent_id = "4f1c1e0a-0000-4000-8000-000000000001";
    pd.n_intranet_ipv4 = 2;
    pd.intranet_ipv4 = in4;
    pd.n_extranet_ipv4 = 1;
    pd.extranet_ipv4 = ex4;
    pd.n_intranet_ipv6 = 1;
    pd.intranet_ipv6 = in6;
    pd.n_extranet_ipv6 = 1;
    pd.extranet_ipv6 = ex6;
    pd.hostname = "web-1";
    pd.version = "0.1.0";
    pd.product = "rampart-agent";

    size_t len;
    uint8_t *buf = pack_msg(&pd.base, &len);
    Grpc__PackagedData *d = grpc__packaged_data__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_int_equal(d->n_records, 2);
    assert_int_equal(d->records[0]->data_type, 42);
    assert_int_equal(d->records[1]->data_type, 1000);
    assert_int_equal(d->records[1]->timestamp, 1700000001);
    assert_int_equal(d->records[1]->data.len, sizeof(blob));
    assert_memory_equal(d->records[1]->data.data, blob, sizeof(blob));
    assert_string_equal(d->agent_id, pd.agent_id);
    assert_int_equal(d->n_intranet_ipv4, 2);
    assert_string_equal(d->intranet_ipv4[1], "10.0.1.7");
    assert_string_equal(d->extranet_ipv4[0], "203.0.113.9");
    assert_string_equal(d->intranet_ipv6[0], "fd00::7");
    assert_string_equal(d->extranet_ipv6[0], "2001:db8::7");
    assert_string_equal(d->hostname, "web-1");
    assert_string_equal(d->version, "0.1.0");
    assert_string_equal(d->product, "rampart-agent");
    grpc__packaged_data__free_unpacked(d, NULL);
    free(buf);
}

static void test_roundtrip_command(void **state)
{
    (void)state;
    Grpc__Task t;
    grpc__task__init(&t);
    t.data_type = RAMPART_DT_ASSET_PACKAGES;
    t.object_name = "collector";
    t.data = "{\"full\":true}";
    t.token = "subtask-42";
    char *urls[] = {"https://dl.example.invalid/a.tar.gz", "https://mirror.example.invalid/a"};
    Grpc__Config c, *cp[1] = {&c};
    grpc__config__init(&c);
    c.name = "collector";
    c.type = "tar.gz";
    c.version = "1.2.0";
    c.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    c.signature = "sig";
    c.n_download_urls = 2;
    c.download_urls = urls;
    c.detail = "{\"interval\":60}";
    Grpc__Command cmd;
    grpc__command__init(&cmd);
    cmd.task = &t;
    cmd.n_configs = 1;
    cmd.configs = cp;

    size_t len;
    uint8_t *buf = pack_msg(&cmd.base, &len);
    Grpc__Command *d = grpc__command__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_non_null(d->task);
    assert_int_equal(d->task->data_type, 5055);
    assert_string_equal(d->task->object_name, "collector");
    assert_string_equal(d->task->data, "{\"full\":true}");
    assert_string_equal(d->task->token, "subtask-42");
    assert_int_equal(d->n_configs, 1);
    assert_string_equal(d->configs[0]->name, "collector");
    assert_string_equal(d->configs[0]->type, "tar.gz");
    assert_string_equal(d->configs[0]->version, "1.2.0");
    assert_string_equal(d->configs[0]->sha256, c.sha256);
    assert_string_equal(d->configs[0]->signature, "sig");
    assert_int_equal(d->configs[0]->n_download_urls, 2);
    assert_string_equal(d->configs[0]->download_urls[1], urls[1]);
    assert_string_equal(d->configs[0]->detail, "{\"interval\":60}");
    grpc__command__free_unpacked(d, NULL);
    free(buf);

    /* A config sync carries no task: the field stays absent after a round trip. */
    cmd.task = NULL;
    buf = pack_msg(&cmd.base, &len);
    d = grpc__command__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_null(d->task);
    assert_int_equal(d->n_configs, 1);
    grpc__command__free_unpacked(d, NULL);
    free(buf);

    /* Task alone: the plugin's fd 3 message. */
    buf = pack_msg(&t.base, &len);
    Grpc__Task *dt = grpc__task__unpack(NULL, len, buf);
    assert_non_null(dt);
    assert_string_equal(dt->token, "subtask-42");
    grpc__task__free_unpacked(dt, NULL);
    free(buf);

    /* Config alone. */
    buf = pack_msg(&c.base, &len);
    Grpc__Config *dc = grpc__config__unpack(NULL, len, buf);
    assert_non_null(dc);
    assert_string_equal(dc->download_urls[0], urls[0]);
    grpc__config__free_unpacked(dc, NULL);
    free(buf);
}

/* An Elkeid agent's PackagedData, encoded by hand from the published field numbers. */
// clang-format off
static const uint8_t elkeid_packaged[] = {
    0x0a, 0x1a,                               /* 1 records: EncodedRecord, 26 bytes */
      0x08, 0x3b,                             /*   1 data_type = 59 */
      0x10, 0x80, 0xe2, 0xcf, 0xaa, 0x06,     /*   2 timestamp = 1700000000 */
      0x1a, 0x10,                             /*   3 data: Payload, 16 bytes */
        0x0a, 0x0e,                           /*     1 fields: entry, 14 bytes */
          0x0a, 0x03, 'e', 'x', 'e',          /*       1 key */
          0x12, 0x07, '/', 'b', 'i', 'n', '/', 's', 'h', /* 2 value */
    0x12, 0x02, 'a', '1',                     /* 2 agent_id */
    0x1a, 0x08, '1', '0', '.', '0', '.', '0', '.', '7', /* 3 intranet_ipv4 */
    0x22, 0x07, '1', '.', '2', '.', '3', '.', '4',      /* 4 extranet_ipv4 */
    0x2a, 0x07, 'f', 'd', '0', '0', ':', ':', '7',      /* 5 intranet_ipv6 */
    0x32, 0x0b, '2', '0', '0', '1', ':', 'd', 'b', '8', ':', ':', '7', /* 6 extranet_ipv6 */
    0x3a, 0x04, 'w', 'e', 'b', '1',           /* 7 hostname */
    0x42, 0x05, '1', '.', '0', '.', '0',      /* 8 version */
    0x4a, 0x0d, 'r', 'a', 'm', 'p', 'a', 'r', 't', '-', 'a', 'g', 'e', 'n', 't', /* 9 product */
};
/* The Payload inside it: bytes 12..27. */
#define ELKEID_PAYLOAD_OFF 12
#define ELKEID_PAYLOAD_LEN 16

/* An AgentCenter Command: task (2) and one config (3). */
static const uint8_t elkeid_command[] = {
    0x12, 0x19,                               /* 2 task, 25 bytes */
      0x08, 0xbf, 0x27,                       /*   1 data_type = 5055 */
      0x12, 0x09, 'c', 'o', 'l', 'l', 'e', 'c', 't', 'o', 'r', /* 2 object_name */
      0x1a, 0x02, '{', '}',                   /*   3 data */
      0x22, 0x05, 't', 'o', 'k', '-', '1',    /*   4 token */
    0x1a, 0x41,                               /* 3 configs, 65 bytes */
      0x0a, 0x09, 'c', 'o', 'l', 'l', 'e', 'c', 't', 'o', 'r', /* 1 name */
      0x12, 0x04, 'e', 'x', 'e', 'c',         /*   2 type */
      0x1a, 0x05, '1', '.', '2', '.', '0',    /*   3 version */
      0x22, 0x02, 'a', 'b',                   /*   4 sha256 */
      0x2a, 0x02, 'c', 'd',                   /*   5 signature */
      0x32, 0x0a, 'h', 't', 't', 'p', ':', '/', '/', 'd', '/', '1', /* 6 download_urls */
      0x32, 0x0a, 'h', 't', 't', 'p', ':', '/', '/', 'd', '/', '2', /* 6 download_urls */
      0x3a, 0x07, '{', '"', 'x', '"', ':', '1', '}',                /* 7 detail */
};
// clang-format on

static void test_elkeid_bytes_decode(void **state)
{
    (void)state;
    Grpc__PackagedData *d =
        grpc__packaged_data__unpack(NULL, sizeof(elkeid_packaged), elkeid_packaged);
    assert_non_null(d);
    assert_int_equal(d->n_records, 1);
    assert_int_equal(d->records[0]->data_type, 59);
    assert_int_equal(d->records[0]->timestamp, 1700000000);
    assert_int_equal(d->records[0]->data.len, ELKEID_PAYLOAD_LEN);
    assert_memory_equal(d->records[0]->data.data, elkeid_packaged + ELKEID_PAYLOAD_OFF,
                        ELKEID_PAYLOAD_LEN);
    assert_string_equal(d->agent_id, "a1");
    assert_int_equal(d->n_intranet_ipv4, 1);
    assert_string_equal(d->intranet_ipv4[0], "10.0.0.7");
    assert_string_equal(d->extranet_ipv4[0], "1.2.3.4");
    assert_string_equal(d->intranet_ipv6[0], "fd00::7");
    assert_string_equal(d->extranet_ipv6[0], "2001:db8::7");
    assert_string_equal(d->hostname, "web1");
    assert_string_equal(d->version, "1.0.0");
    assert_string_equal(d->product, "rampart-agent");

    Grpc__Payload *p =
        grpc__payload__unpack(NULL, d->records[0]->data.len, d->records[0]->data.data);
    assert_non_null(p);
    assert_int_equal(p->n_fields, 1);
    assert_string_equal(payload_get(p, "exe"), "/bin/sh");
    grpc__payload__free_unpacked(p, NULL);

    /* Our encoder writes the same bytes back (fields in number order, no extras). */
    size_t len;
    uint8_t *buf = pack_msg(&d->base, &len);
    assert_int_equal(len, sizeof(elkeid_packaged));
    assert_memory_equal(buf, elkeid_packaged, len);
    free(buf);
    grpc__packaged_data__free_unpacked(d, NULL);

    Grpc__Command *c = grpc__command__unpack(NULL, sizeof(elkeid_command), elkeid_command);
    assert_non_null(c);
    assert_non_null(c->task);
    assert_int_equal(c->task->data_type, 5055);
    assert_string_equal(c->task->object_name, "collector");
    assert_string_equal(c->task->data, "{}");
    assert_string_equal(c->task->token, "tok-1");
    assert_int_equal(c->n_configs, 1);
    Grpc__Config *cfg = c->configs[0];
    assert_string_equal(cfg->name, "collector");
    assert_string_equal(cfg->type, "exec");
    assert_string_equal(cfg->version, "1.2.0");
    assert_string_equal(cfg->sha256, "ab");
    assert_string_equal(cfg->signature, "cd");
    assert_int_equal(cfg->n_download_urls, 2);
    assert_string_equal(cfg->download_urls[0], "http://d/1");
    assert_string_equal(cfg->download_urls[1], "http://d/2");
    assert_string_equal(cfg->detail, "{\"x\":1}");
    grpc__command__free_unpacked(c, NULL);
}

static void test_record_is_encoded_record(void **state)
{
    (void)state;
    Grpc__Payload p;
    Grpc__Payload__FieldsEntry e[2], *ptrs[2];
    payload_fill(&p, e, ptrs);
    size_t plen;
    uint8_t *pbuf = pack_msg(&p.base, &plen);

    /* What a plugin writes on fd 4 (after the length prefix). */
    Grpc__Record r;
    grpc__record__init(&r);
    r.data_type = RAMPART_DT_DNS_QUERY;
    r.timestamp = 1700000456;
    r.data = &p;
    size_t rlen;
    uint8_t *rbuf = pack_msg(&r.base, &rlen);

    /* The agent reads the same bytes as an EncodedRecord: data is the Payload, untouched. */
    Grpc__EncodedRecord *er = grpc__encoded_record__unpack(NULL, rlen, rbuf);
    assert_non_null(er);
    assert_int_equal(er->data_type, 601);
    assert_int_equal(er->timestamp, 1700000456);
    assert_int_equal(er->data.len, plen);
    assert_memory_equal(er->data.data, pbuf, plen);

    /* Re-encoding the EncodedRecord gives back the plugin's bytes exactly. */
    size_t elen;
    uint8_t *ebuf = pack_msg(&er->base, &elen);
    assert_int_equal(elen, rlen);
    assert_memory_equal(ebuf, rbuf, rlen);

    free(ebuf);
    grpc__encoded_record__free_unpacked(er, NULL);
    free(rbuf);
    free(pbuf);
}

static void test_envelope(void **state)
{
    (void)state;
    Grpc__Payload p;
    Grpc__Payload__FieldsEntry e[2], *ptrs[2];
    payload_fill(&p, e, ptrs);
    size_t plen;
    uint8_t *pbuf = pack_msg(&p.base, &plen);

    char *in4[] = {"10.0.0.7"}, *ex4[] = {"203.0.113.9", "198.51.100.1"};
    char *in6[] = {"fd00::7"}, *ex6[] = {"2001:db8::7"};
    Rampart__Envelope env;
    rampart__envelope__init(&env);
    env.data_type = RAMPART_DT_EXECVE;
    env.agent_time = 1700000000;
    env.payload.data = pbuf;
    env.payload.len = plen;
    env.agent_id = "agent-1";
    env.n_intranet_ipv4 = 1;
    env.intranet_ipv4 = in4;
    env.n_extranet_ipv4 = 2;
    env.extranet_ipv4 = ex4;
    env.n_intranet_ipv6 = 1;
    env.intranet_ipv6 = in6;
    env.n_extranet_ipv6 = 1;
    env.extranet_ipv6 = ex6;
    env.hostname = "web-1";
    env.version = "0.1.0";
    env.product = "rampart-agent";
    env.server_time = 1700000002;
    env.agent_center = "ac-0";

    size_t len;
    uint8_t *buf = pack_msg(&env.base, &len);

    /* Round trip: payload bytes come back identical and decode as a Payload. */
    Rampart__Envelope *d = rampart__envelope__unpack(NULL, len, buf);
    assert_non_null(d);
    assert_int_equal(d->data_type, 59);
    assert_int_equal(d->agent_time, 1700000000);
    assert_int_equal(d->server_time, 1700000002);
    assert_string_equal(d->agent_id, "agent-1");
    assert_string_equal(d->intranet_ipv4[0], "10.0.0.7");
    assert_int_equal(d->n_extranet_ipv4, 2);
    assert_string_equal(d->extranet_ipv4[1], "198.51.100.1");
    assert_string_equal(d->intranet_ipv6[0], "fd00::7");
    assert_string_equal(d->extranet_ipv6[0], "2001:db8::7");
    assert_string_equal(d->hostname, "web-1");
    assert_string_equal(d->version, "0.1.0");
    assert_string_equal(d->product, "rampart-agent");
    assert_string_equal(d->agent_center, "ac-0");
    assert_int_equal(d->payload.len, plen);
    assert_memory_equal(d->payload.data, pbuf, plen);
    Grpc__Payload *dp = grpc__payload__unpack(NULL, d->payload.len, d->payload.data);
    assert_non_null(dp);
    assert_string_equal(payload_get(dp, "exe"), "/usr/bin/curl");
    grpc__payload__free_unpacked(dp, NULL);
    rampart__envelope__free_unpacked(d, NULL);

    /* A consumer decodes the same bytes as EnvelopeView: the payload arrives as a message. */
    Rampart__EnvelopeView *v = rampart__envelope_view__unpack(NULL, len, buf);
    assert_non_null(v);
    assert_int_equal(v->data_type, 59);
    assert_string_equal(v->agent_id, "agent-1");
    assert_string_equal(v->agent_center, "ac-0");
    assert_int_equal(v->server_time, 1700000002);
    assert_non_null(v->payload);
    assert_int_equal(v->payload->n_fields, 2);
    assert_string_equal(payload_get(v->payload, "argv"), "curl -s http://example.invalid/x.sh");
    rampart__envelope_view__free_unpacked(v, NULL);

    free(buf);
    free(pbuf);
}

static void test_truncated_input_rejected(void **state)
{
    (void)state;
    /* Cutting the Elkeid frame anywhere inside the record must fail cleanly, not crash. */
    for (size_t n = 1; n < 28; n++)
        assert_null(grpc__packaged_data__unpack(NULL, n, elkeid_packaged));
    static const uint8_t bad_len[] = {0x0a, 0x7f, 0x08, 0x01};
    assert_null(grpc__packaged_data__unpack(NULL, sizeof(bad_len), bad_len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_path),
        cmocka_unit_test(test_roundtrip_payload_and_record),
        cmocka_unit_test(test_roundtrip_packaged_data),
        cmocka_unit_test(test_roundtrip_command),
        cmocka_unit_test(test_elkeid_bytes_decode),
        cmocka_unit_test(test_record_is_encoded_record),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_truncated_input_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
