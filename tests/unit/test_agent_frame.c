/* frame (endpoint/agent/frame.c): whole records out of a byte stream however it is split,
 * payload bytes pointed to unchanged, oversized and malformed frames refused, and every frame
 * it accepts is one protobuf-c decodes as a grpc.Record with the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint/agent/frame.h"
#include "rampart.pb-c.h"

/* A packed Record with n fields k<i>=v<i>. */
static uint8_t *make_record(int32_t dt, int64_t ts, int n, size_t *len)
{
    Grpc__Record rec = GRPC__RECORD__INIT;
    Grpc__Payload pl = GRPC__PAYLOAD__INIT;
    Grpc__Payload__FieldsEntry *e = calloc((size_t)n, sizeof(*e));
    Grpc__Payload__FieldsEntry **pe = calloc((size_t)n, sizeof(*pe));
    char(*kv)[2][16] = calloc((size_t)n, sizeof(*kv));
    for (int i = 0; i < n; i++) {
        grpc__payload__fields_entry__init(&e[i]);
        snprintf(kv[i][0], 16, "k%d", i);
        snprintf(kv[i][1], 16, "v%d", i);
        e[i].key = kv[i][0];
        e[i].value = kv[i][1];
        pe[i] = &e[i];
    }
    pl.n_fields = (size_t)n;
    pl.fields = pe;
    rec.data_type = dt;
    rec.timestamp = ts;
    rec.data = &pl;
    *len = grpc__record__get_packed_size(&rec);
    uint8_t *b = malloc(*len);
    grpc__record__pack(&rec, b);
    free(e);
    free(pe);
    free(kv);
    return b;
}

static void test_split_stream(void **state)
{
    (void)state;
    frame_reader_t r;
    frame_reader_init(&r, 1 << 20);
    size_t lens[3];
    uint8_t *recs[3], *frames[3];
    for (int i = 0; i < 3; i++) {
        recs[i] = make_record(59 + i, 1700000000 + i, i + 1, &lens[i]);
        frames[i] = frame_build(recs[i], lens[i]);
    }
    /* Byte by byte: each record comes out exactly once, when its last byte is in. */
    int got = 0;
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; k < lens[i] + 4; k++) {
            frame_reader_feed(&r, frames[i] + k, 1);
            frame_record_t rec;
            frame_error_t err;
            int rc = frame_reader_next(&r, &rec, &err);
            if (k + 1 < lens[i] + 4) {
                assert_int_equal(rc, 0);
                continue;
            }
            assert_int_equal(rc, 1);
            assert_int_equal(rec.data_type, 59 + i);
            assert_int_equal(rec.timestamp, 1700000000 + i);
            /* The payload is the Record's field 3 as written: unpack it on its own. */
            Grpc__Payload *p = grpc__payload__unpack(NULL, rec.len, rec.data);
            assert_non_null(p);
            assert_int_equal(p->n_fields, (size_t)i + 1);
            grpc__payload__free_unpacked(p, NULL);
            assert_true(rec.data > r.buf && rec.data + rec.len <= r.buf + r.len);
            got++;
        }
    }
    assert_int_equal(got, 3);
    assert_int_equal(frame_reader_pending(&r), 0);
    for (int i = 0; i < 3; i++) {
        free(recs[i]);
        free(frames[i]);
    }
    frame_reader_dispose(&r);
}

static void test_too_large(void **state)
{
    (void)state;
    frame_reader_t r;
    frame_reader_init(&r, 1024);
    uint8_t hdr[4] = {0x01, 0x04, 0, 0}; /* 1025 */
    frame_reader_feed(&r, hdr, 4);
    frame_record_t rec;
    frame_error_t err = FRAME_OK;
    assert_int_equal(frame_reader_next(&r, &rec, &err), -1);
    assert_int_equal(err, FRAME_TOO_LARGE);
    assert_string_equal(frame_error_name(err), "frame_too_large");
    frame_reader_dispose(&r);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
    } bad[] = {
        {"zero tag", {0x00, 0x01}, 2},
        {"varint past end", {0x08, 0xff, 0xff}, 3},
        {"payload longer than frame", {0x1a, 0x10, 0x0a}, 3},
        {"data_type as bytes", {0x0a, 0x01, 0x41}, 3},
        {"map entry not bytes", {0x1a, 0x02, 0x08, 0x01}, 4},
        {"map key as varint", {0x1a, 0x04, 0x0a, 0x02, 0x08, 0x01}, 6},
        {"group wire type", {0x0b, 0x0c}, 2},
        {"11-byte varint",
         {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         12},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        frame_reader_t r;
        frame_reader_init(&r, 1024);
        uint8_t *f = frame_build(bad[i].bytes, bad[i].len);
        frame_reader_feed(&r, f, bad[i].len + 4);
        free(f);
        frame_record_t rec;
        frame_error_t err = FRAME_OK;
        if (frame_reader_next(&r, &rec, &err) != -1 || err != FRAME_MALFORMED)
            fail_msg("accepted: %s", bad[i].what);
        /* protobuf-c refuses it too. */
        Grpc__Record *pr = grpc__record__unpack(NULL, bad[i].len, bad[i].bytes);
        if (pr)
            fail_msg("protobuf-c accepts %s", bad[i].what);
        frame_reader_dispose(&r);
    }
    /* An empty record is valid (all defaults). */
    frame_record_t rec;
    assert_int_equal(frame_parse_record((const uint8_t *)"", 0, &rec), 0);
    assert_int_equal(rec.len, 0);
}

/* Random mutations of valid records: whatever the reader accepts, protobuf-c decodes to the
 * same data_type and timestamp and the same payload bytes. */
static void test_agrees_with_protobuf_c(void **state)
{
    (void)state;
    srand(12345);
    size_t len;
    uint8_t *base = make_record(42, 1700000123, 3, &len);
    uint8_t *m = malloc(len + 8);
    int accepted = 0, refused = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = len;
        memcpy(m, base, len);
        int flips = 1 + rand() % 3;
        for (int k = 0; k < flips; k++)
            m[rand() % n] = (uint8_t)rand();
        if (rand() % 4 == 0)
            n = (size_t)rand() % (len + 1);
        frame_record_t rec;
        Grpc__Record *pr = grpc__record__unpack(NULL, n, m);
        if (frame_parse_record(m, n, &rec) == 0) {
            accepted++;
            if (!pr)
                fail_msg("iteration %d: accepted what protobuf-c refuses", iter);
            assert_int_equal(rec.data_type, pr->data_type);
            assert_int_equal(rec.timestamp, pr->timestamp);
            if (pr->data) {
                size_t pl = grpc__payload__get_packed_size(pr->data);
                Grpc__Payload *again = grpc__payload__unpack(NULL, rec.len, rec.data);
                assert_non_null(again);
                assert_int_equal(again->n_fields, pr->data->n_fields);
                grpc__payload__free_unpacked(again, NULL);
                (void)pl;
            }
        } else {
            refused++;
        }
        if (pr)
            grpc__record__free_unpacked(pr, NULL);
    }
    assert_true(accepted > 100 && refused > 100);
    free(m);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_stream),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_agrees_with_protobuf_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
