/* Unit tests for endpoint/plugin-sdk: every record the builder encodes is checked against
 * protobuf-c's unpack; frames go through real pipes and socketpairs (length prefix, batching,
 * flush on size, EPIPE when the reader is gone); task frames are read whole, split across
 * writes, several per read, and malformed or oversized ones end the stream; records written
 * from several threads arrive whole and in per-thread order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "rampart.pb-c.h"
#include "rampart_plugin.h"
#include "plugin_records.h"

static Grpc__Record *decode(const uint8_t *b, size_t n)
{
    Grpc__Record *rec = grpc__record__unpack(NULL, n, b);
    assert_non_null(rec);
    return rec;
}

static void test_encode_matches_protobuf_c(void **state)
{
    (void)state;
    rp_record_t *r = rp_record_new();
    rp_record_begin(r, 5050);
    rp_record_set_timestamp(r, 1700000000);
    rp_record_add(r, "pid", "1234");
    rp_record_add(r, "exe", "/usr/bin/bash");
    rp_record_addf(r, "cmdline", "%s -c %d", "bash", 42);
    rp_record_add_int(r, "neg", -7);
    rp_record_add_uint(r, "big", UINT64_MAX);
    rp_record_add(r, "empty", NULL);
    assert_int_equal(rp_record_nfields(r), 6);
    size_t n;
    const uint8_t *b = rp_record_bytes(r, &n);
    Grpc__Record *rec = decode(b, n);
    assert_int_equal(rec->data_type, 5050);
    assert_int_equal(rec->timestamp, 1700000000);
    assert_non_null(rec->data);
    assert_int_equal(rec->data->n_fields, 6);
    assert_string_equal(pr_field(rec, "pid"), "1234");
    assert_string_equal(pr_field(rec, "exe"), "/usr/bin/bash");
    assert_string_equal(pr_field(rec, "cmdline"), "bash -c 42");
    assert_string_equal(pr_field(rec, "neg"), "-7");
    assert_string_equal(pr_field(rec, "big"), "18446744073709551615");
    assert_string_equal(pr_field(rec, "empty"), "");
    /* Same size as protobuf-c packs the decoded message, less 2 bytes: protobuf-c leaves out the
     * empty value of "empty" (tag + zero length), which we write, as Go's map encoder does. */
    size_t again = grpc__record__get_packed_size(rec);
    assert_int_equal(again, n - 2);
    grpc__record__free_unpacked(rec, NULL);

    /* Begin resets; a long value (over the small addf buffer) and a negative type. */
    rp_record_begin(r, -3);
    char longv[3000];
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    rp_record_addf(r, "long", "%s", longv);
    b = rp_record_bytes(r, &n);
    rec = decode(b, n);
    assert_int_equal(rec->data_type, -3);
    assert_true(rec->timestamp > 1600000000);
    assert_int_equal(rec->data->n_fields, 1);
    assert_string_equal(pr_field(rec, "long"), longv);
    grpc__record__free_unpacked(rec, NULL);

    /* A record with no fields still has data_type, timestamp and an empty payload. */
    rp_record_begin(r, 0);
    rp_record_set_timestamp(r, 0);
    b = rp_record_bytes(r, &n);
    assert_int_equal(n, 6); /* 08 00 10 00 1a 00 */
    rec = decode(b, n);
    assert_int_equal(rec->data_type, 0);
    grpc__record__free_unpacked(rec, NULL);
    rp_record_free(r);
}

static void test_invalid_utf8_replaced(void **state)
{
    (void)state;
    rp_record_t *r = rp_record_new();
    rp_record_begin(r, 1);
    /* bad lead byte, truncated 2-byte seq, overlong "/", surrogate, then valid é and 𝄞 */
    const char bad[] = "a\xff"
                       "b\xc3"
                       "c\xc0\xaf"
                       "d\xed\xa0\x80"
                       "e\xc3\xa9\xf0\x9d\x84\x9e";
    rp_record_addn(r, "k\xfe", bad, sizeof(bad) - 1);
    size_t n;
    const uint8_t *b = rp_record_bytes(r, &n);
    Grpc__Record *rec = decode(b, n);
    assert_string_equal(rec->data->fields[0]->key, "k?");
    assert_string_equal(rec->data->fields[0]->value, "a?b?c??d???e\xc3\xa9\xf0\x9d\x84\x9e");
    grpc__record__free_unpacked(rec, NULL);
    rp_record_free(r);
}

static size_t pending_bytes(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    char buf[4096];
    size_t total = 0;
    for (;;) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k <= 0)
            break;
        total += (size_t)k;
    }
    fcntl(fd, F_SETFL, fl);
    return total;
}

static void test_frames_through_pipe(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fcntl(pfd[0], F_SETPIPE_SZ, 1 << 20);
    rp_plugin_t *p = rp_plugin_new_fds("t", "1.0", -1, pfd[1]);
    assert_string_equal(rp_plugin_name(p), "t");
    assert_string_equal(rp_plugin_version(p), "1.0");
    rp_record_t *r = rp_record_new();
    size_t first3 = 0;
    for (int i = 0; i < 3; i++) {
        rp_record_begin(r, 100 + i);
        rp_record_add_int(r, "seq", i);
        size_t n;
        rp_record_bytes(r, &n);
        first3 += 4 + n;
        assert_int_equal(rp_record_end(p, r), 0);
    }
    /* Buffered: nothing on the pipe before a flush. */
    assert_int_equal(pending_bytes(pfd[0]), 0);
    assert_int_equal(rp_flush(p), 0);
    for (int i = 0; i < 3; i++) {
        Grpc__Record *rec = pr_read_record(pfd[0]);
        assert_int_equal(rec->data_type, 100 + i);
        char want[8];
        snprintf(want, sizeof(want), "%d", i);
        assert_string_equal(pr_field(rec, "seq"), want);
        grpc__record__free_unpacked(rec, NULL);
    }
    /* Filling past RP_FLUSH_BYTES writes without an explicit flush. */
    char v[1000];
    memset(v, 'v', sizeof(v) - 1);
    v[sizeof(v) - 1] = 0;
    size_t written = 0;
    for (int i = 0; i < 100; i++) {
        rp_record_begin(r, 7);
        rp_record_add(r, "v", v);
        size_t n;
        rp_record_bytes(r, &n);
        written += 4 + n;
        assert_int_equal(rp_record_end(p, r), 0);
    }
    size_t seen = pending_bytes(pfd[0]);
    assert_true(seen >= RP_FLUSH_BYTES);
    assert_true(seen < written);
    /* flush_if_due flushes only once the oldest record waited long enough. */
    usleep((RP_FLUSH_INTERVAL_MS + 20) * 1000);
    assert_int_equal(rp_flush_if_due(p), 0);
    assert_int_equal(seen + pending_bytes(pfd[0]), written);

    rp_stats_t st;
    rp_plugin_stats(p, &st);
    assert_int_equal(st.records, 103);
    assert_int_equal(st.bytes, first3 + written);
    /* Oversized records are refused whole and counted. */
    rp_record_begin(r, 8);
    char *huge = malloc(RP_MAX_FRAME);
    memset(huge, 'h', RP_MAX_FRAME - 1);
    huge[RP_MAX_FRAME - 1] = 0;
    rp_record_add(r, "a", huge);
    assert_int_equal(rp_record_end(p, r), -EMSGSIZE);
    rp_record_begin(r, 8);
    for (int i = 0; i < 5; i++)
        rp_record_addn(r, "a", huge, RP_MAX_FRAME / 4);
    assert_int_equal(rp_record_end(p, r), -EMSGSIZE);
    free(huge);
    rp_plugin_stats(p, &st);
    assert_int_equal(st.refused, 2);
    assert_int_equal(st.records, 103);
    assert_int_equal(rp_flush(p), 0);
    assert_int_equal(pending_bytes(pfd[0]), 0);

    /* Heartbeat and task reply records. */
    rp_heartbeat_begin(p, r);
    rp_record_add(r, "queue", "3");
    assert_int_equal(rp_record_end(p, r), 0);
    rp_task_t t = {.data_type = 5050, .object_name = "t", .data = "", .token = "tok-1"};
    assert_int_equal(rp_task_reply(p, &t, false, "no such kind"), 0);
    assert_int_equal(rp_flush(p), 0);
    Grpc__Record *rec = pr_read_record(pfd[0]);
    assert_int_equal(rec->data_type, RP_DATA_TYPE_PLUGIN_HEARTBEAT);
    assert_string_equal(pr_field(rec, "sdk_records"), "103");
    assert_string_equal(pr_field(rec, "sdk_refused"), "2");
    assert_string_equal(pr_field(rec, "queue"), "3");
    grpc__record__free_unpacked(rec, NULL);
    rec = pr_read_record(pfd[0]);
    assert_int_equal(rec->data_type, RP_DATA_TYPE_TASK_RESULT);
    assert_string_equal(pr_field(rec, "token"), "tok-1");
    assert_string_equal(pr_field(rec, "status"), "failed");
    assert_string_equal(pr_field(rec, "msg"), "no such kind");
    grpc__record__free_unpacked(rec, NULL);

    /* The agent goes away: EPIPE, and the plugin says it is closed. */
    close(pfd[0]);
    assert_false(rp_plugin_closed(p));
    rp_record_begin(r, 9);
    rp_record_add(r, "k", "v");
    assert_int_equal(rp_record_end(p, r), 0);
    assert_int_equal(rp_flush(p), -EPIPE);
    assert_true(rp_plugin_closed(p));
    assert_int_equal(rp_record_end(p, r), -EPIPE);
    assert_int_equal(rp_flush_if_due(p), -EPIPE);
    rp_record_free(r);
    rp_plugin_free(p);
    close(pfd[1]);
}

/* Packs a Task into a length-prefixed frame appended at buf+*off. */
static void put_task(uint8_t *buf, size_t *off, int32_t dt, const char *obj, const char *data,
                     const char *token)
{
    Grpc__Task t = GRPC__TASK__INIT;
    t.data_type = dt;
    t.object_name = (char *)obj;
    t.data = (char *)data;
    t.token = (char *)token;
    size_t n = grpc__task__get_packed_size(&t);
    rp_frame_put_len(buf + *off, (uint32_t)n);
    grpc__task__pack(&t, buf + *off + 4);
    *off += 4 + n;
}

static void test_tasks(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int out[2];
    assert_int_equal(pipe(out), 0);
    rp_plugin_t *p = rp_plugin_new_fds("t", "1", sv[1], out[1]);
    assert_int_equal(rp_task_fd(p), sv[1]);
    rp_task_t t;
    /* Timeout with nothing to read. */
    assert_int_equal(rp_task_read(p, 30, &t), 0);

    /* Two frames in one write, then one split over three writes. */
    uint8_t buf[4096];
    size_t off = 0;
    put_task(buf, &off, 5050, "collector", "{\"kind\":\"process\"}", "a1");
    put_task(buf, &off, 5055, "collector", "", "a2");
    assert_int_equal(write(sv[0], buf, off), (ssize_t)off);
    assert_int_equal(rp_task_read(p, 1000, &t), 1);
    assert_int_equal(t.data_type, 5050);
    assert_string_equal(t.object_name, "collector");
    assert_string_equal(t.data, "{\"kind\":\"process\"}");
    assert_string_equal(t.token, "a1");
    rp_task_dispose(&t);
    assert_int_equal(rp_task_read(p, 0, &t), 1);
    assert_int_equal(t.data_type, 5055);
    assert_string_equal(t.data, "");
    assert_string_equal(t.token, "a2");
    rp_task_dispose(&t);
    assert_int_equal(rp_task_read(p, 0, &t), 0);

    off = 0;
    put_task(buf, &off, 1, "x", "payload", "tok");
    assert_int_equal(write(sv[0], buf, 2), 2);
    assert_int_equal(rp_task_read(p, 20, &t), 0);
    assert_int_equal(write(sv[0], buf + 2, 5), 5);
    assert_int_equal(rp_task_read(p, 20, &t), 0);
    assert_int_equal(write(sv[0], buf + 7, off - 7), (ssize_t)(off - 7));
    assert_int_equal(rp_task_read(p, 1000, &t), 1);
    assert_string_equal(t.data, "payload");
    rp_task_dispose(&t);
    rp_stats_t st;
    rp_plugin_stats(p, &st);
    assert_int_equal(st.tasks, 3);

    /* A frame that is not a Task ends the stream with -EPROTO. */
    uint8_t junk[] = {3, 0, 0, 0, 0xff, 0xff, 0xff};
    assert_int_equal(write(sv[0], junk, sizeof(junk)), (ssize_t)sizeof(junk));
    assert_int_equal(rp_task_read(p, 1000, &t), -EPROTO);
    assert_true(rp_plugin_closed(p));
    rp_plugin_stats(p, &st);
    assert_int_equal(st.bad_frames, 1);
    rp_plugin_free(p);

    /* A length over RP_MAX_FRAME: -EPROTO without waiting for the body. */
    p = rp_plugin_new_fds("t", "1", sv[1], out[1]);
    uint8_t big[4];
    rp_frame_put_len(big, RP_MAX_FRAME + 1);
    assert_int_equal(write(sv[0], big, 4), 4);
    assert_int_equal(rp_task_read(p, 1000, &t), -EPROTO);
    rp_plugin_free(p);

    /* EOF: the agent closed fd 3. */
    p = rp_plugin_new_fds("t", "1", sv[1], out[1]);
    close(sv[0]);
    assert_int_equal(rp_task_read(p, 1000, &t), -EPIPE);
    assert_true(rp_plugin_closed(p));
    rp_plugin_free(p);
    close(sv[1]);

    /* rp_task_read flushes buffered records before it waits. */
    int tp[2];
    assert_int_equal(pipe(tp), 0);
    p = rp_plugin_new_fds("t", "1", tp[0], out[1]);
    rp_record_t *r = rp_record_new();
    rp_record_begin(r, 42);
    assert_int_equal(rp_record_end(p, r), 0);
    assert_int_equal(pending_bytes(out[0]), 0);
    assert_int_equal(rp_task_read(p, 0, &t), 0);
    Grpc__Record *rec = pr_read_record(out[0]);
    assert_int_equal(rec->data_type, 42);
    grpc__record__free_unpacked(rec, NULL);
    rp_record_free(r);
    rp_plugin_free(p);
    close(tp[0]);
    close(tp[1]);
    close(out[0]);
    close(out[1]);
}

#define NTHREADS   4
#define PER_THREAD 5000

typedef struct {
    rp_plugin_t *p;
    int id;
} writer_arg_t;

static void *writer(void *arg)
{
    writer_arg_t *a = arg;
    rp_record_t *r = rp_record_new();
    for (int i = 0; i < PER_THREAD; i++) {
        rp_record_begin(r, 59);
        rp_record_add_int(r, "thread", a->id);
        rp_record_add_int(r, "seq", i);
        rp_record_addf(r, "pad", "%0*d", (i % 300) + 1, i);
        if (rp_record_end(a->p, r) != 0)
            break;
        if (i % 97 == 0)
            rp_flush_if_due(a->p);
    }
    rp_record_free(r);
    return NULL;
}

typedef struct {
    int fd;
    int next[NTHREADS];
    bool in_order;
} reader_arg_t;

/* Reads every frame the writers produce, checking per-thread order. */
static void *reader(void *arg)
{
    reader_arg_t *a = arg;
    a->in_order = true;
    for (int k = 0; k < NTHREADS * PER_THREAD; k++) {
        Grpc__Record *rec = pr_read_record(a->fd);
        int t = atoi(pr_field(rec, "thread"));
        int seq = atoi(pr_field(rec, "seq"));
        if (t < 0 || t >= NTHREADS || seq != a->next[t])
            a->in_order = false;
        else
            a->next[t]++;
        grpc__record__free_unpacked(rec, NULL);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    rp_plugin_t *p = rp_plugin_new_fds("t", "1", -1, sv[1]);
    /* The reader runs concurrently: writers block while the socket buffer is full. */
    reader_arg_t ra = {.fd = sv[0]};
    pthread_t rt;
    pthread_create(&rt, NULL, reader, &ra);
    pthread_t th[NTHREADS];
    writer_arg_t args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (writer_arg_t){p, i};
        pthread_create(&th[i], NULL, writer, &args[i]);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(rp_flush(p), 0); /* the tail */
    pthread_join(rt, NULL);
    assert_true(ra.in_order);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(ra.next[i], PER_THREAD);
    rp_stats_t st;
    rp_plugin_stats(p, &st);
    assert_int_equal(st.records, NTHREADS * PER_THREAD);
    rp_plugin_free(p);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_matches_protobuf_c),
        cmocka_unit_test(test_invalid_utf8_replaced),
        cmocka_unit_test(test_frames_through_pipe),
        cmocka_unit_test(test_tasks),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
