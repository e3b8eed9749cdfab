/* Unit tests for tests/tools/agent-sim/sim_payload: payload bytes are a function of
 * (agent, seq, data_type, size) only, protobuf-c reads them as a grpc.Payload, re-encoding
 * them changes them (so a test that compares bytes catches any decode+re-encode on the
 * path), and the parser reads agent and seq back from any encoding and refuses bad bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rampart.pb-c.h"
#include "sim_payload.h"

static const char *field(const Grpc__Payload *p, const char *key)
{
    for (size_t i = 0; i < p->n_fields; i++) {
        if (strcmp(p->fields[i]->key, key) == 0)
            return p->fields[i]->value;
    }
    return NULL;
}

static void test_deterministic(void **state)
{
    (void)state;
    strbuf_t a = STRBUF_INIT, b = STRBUF_INIT, c = STRBUF_INIT, d = STRBUF_INIT;
    sim_payload_build("sim-00042", 7, 59, 300, &a);
    sim_payload_build("sim-00042", 7, 59, 300, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    /* Any input changes the bytes. */
    sim_payload_build("sim-00042", 8, 59, 300, &c);
    sim_payload_build("sim-00043", 7, 59, 300, &d);
    assert_true(c.len != a.len || memcmp(c.data, a.data, a.len) != 0);
    assert_true(d.len != a.len || memcmp(d.data, a.data, a.len) != 0);
    /* Appends: a prefix already in the buffer stays. */
    strbuf_t e = STRBUF_INIT;
    strbuf_appends(&e, "xy");
    sim_payload_build("sim-00042", 7, 59, 300, &e);
    assert_int_equal(e.len, a.len + 2);
    assert_memory_equal(e.data + 2, a.data, a.len);
    strbuf_dispose(&a);
    strbuf_dispose(&b);
    strbuf_dispose(&c);
    strbuf_dispose(&d);
    strbuf_dispose(&e);
}

static void test_size(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 100, 300, 1000, 4096, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        strbuf_t sb = STRBUF_INIT;
        sim_payload_build("sim-1", 123456789, 59, sizes[i], &sb);
        if (sizes[i] >= 100) {
            assert_true(sb.len + 8 >= sizes[i]);
            assert_true(sb.len <= sizes[i] + 8);
        } else {
            assert_true(sb.len < 100);
        }
        strbuf_dispose(&sb);
    }
}

static void test_protobuf_reads_it(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    sim_payload_build("sim-00042", 12345, 59, 300, &sb);
    Grpc__Payload *p = grpc__payload__unpack(NULL, sb.len, (const uint8_t *)sb.data);
    assert_non_null(p);
    assert_int_equal(p->n_fields, 4);
    assert_string_equal(field(p, "agent"), "sim-00042");
    assert_string_equal(field(p, "seq"), "12345");
    assert_string_equal(field(p, "dt"), "59");
    const char *pad = field(p, "pad");
    assert_non_null(pad);
    assert_true(strlen(pad) > 200);
    assert_int_equal(
        strspn(pad, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
        strlen(pad));
    /* The unknown field is kept by the parser ... */
    assert_int_equal(p->base.n_unknown_fields, 1);
    assert_int_equal(p->base.unknown_fields[0].tag, SIM_PAYLOAD_UNKNOWN_FIELD);
    /* ... and a re-encoding differs (entry order at least), same length or not. */
    size_t n = grpc__payload__get_packed_size(p);
    uint8_t *re = malloc(n);
    assert_int_equal(grpc__payload__pack(p, re), n);
    assert_true(n != sb.len || memcmp(re, sb.data, n) != 0);
    /* The parser reads both encodings. */
    char id[64];
    uint64_t seq = 0;
    assert_int_equal(sim_payload_parse(re, n, id, sizeof(id), &seq), 0);
    assert_string_equal(id, "sim-00042");
    assert_int_equal(seq, 12345);
    seq = 0;
    assert_int_equal(sim_payload_parse((const uint8_t *)sb.data, sb.len, id, sizeof(id), &seq), 0);
    assert_int_equal(seq, 12345);
    free(re);
    grpc__payload__free_unpacked(p, NULL);
    strbuf_dispose(&sb);
}

static void test_parse_errors(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    sim_payload_build("sim-00042", 3, 59, 300, &sb);
    char id[64];
    uint64_t seq;
    /* Every truncation is refused or reported as incomplete (never read past the end, which
     * ASan checks), except a cut between two entries after agent and seq: that is a valid
     * shorter Payload. */
    int ok = 0;
    for (size_t cut = 0; cut < sb.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, sb.data, cut);
        seq = 0;
        int rc = sim_payload_parse(copy, cut, id, sizeof(id), &seq);
        assert_true(rc == -EINVAL || rc == -ENOENT || rc == 0);
        if (rc == 0) {
            assert_string_equal(id, "sim-00042");
            assert_int_equal(seq, 3);
            ok++;
        }
        free(copy);
    }
    assert_int_equal(ok, 3); /* cut after seq, after dt, after the unknown field */
    char small[4];
    assert_int_equal(
        sim_payload_parse((const uint8_t *)sb.data, sb.len, small, sizeof(small), &seq), -ENOSPC);
    /* Canonical entries built with sim_payload_kv: missing seq, then a bad seq. */
    strbuf_t kv = STRBUF_INIT;
    sim_payload_kv(&kv, "agent", "a1");
    assert_int_equal(sim_payload_parse((const uint8_t *)kv.data, kv.len, id, sizeof(id), &seq),
                     -ENOENT);
    sim_payload_kv(&kv, "seq", "12x");
    assert_int_equal(sim_payload_parse((const uint8_t *)kv.data, kv.len, id, sizeof(id), &seq),
                     -EINVAL);
    const uint8_t bad_wire[] = {0x0b, 0x00}; /* wire type 3 (group) */
    assert_int_equal(sim_payload_parse(bad_wire, sizeof(bad_wire), id, sizeof(id), &seq), -EINVAL);
    strbuf_dispose(&kv);
    strbuf_dispose(&sb);
}

static void test_kv_is_canonical(void **state)
{
    (void)state;
    strbuf_t kv = STRBUF_INIT;
    sim_payload_kv(&kv, "token", "t-1");
    Grpc__Payload__FieldsEntry e = GRPC__PAYLOAD__FIELDS_ENTRY__INIT, *ep = &e;
    e.key = "token";
    e.value = "t-1";
    Grpc__Payload p = GRPC__PAYLOAD__INIT;
    p.n_fields = 1;
    p.fields = &ep;
    uint8_t buf[64];
    size_t n = grpc__payload__pack(&p, buf);
    assert_int_equal(n, kv.len);
    assert_memory_equal(buf, kv.data, n);
    strbuf_dispose(&kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),     cmocka_unit_test(test_size),
        cmocka_unit_test(test_protobuf_reads_it), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_kv_is_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
