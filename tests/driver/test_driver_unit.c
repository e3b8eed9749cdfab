/* Unit tests of the driver plugin's pure parts (no BPF, no root): record parsing against
 * malformed input, the DNS question parser, container ids from cgroup paths, the u64 map, and
 * a whole record formatted into Record fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "event.h"
#include "format.h"
#include "rampart.pb-c.h"
#include "u64map.h"

/* Builds a record: header + strings. Returns its size. */
static size_t build(uint8_t *buf, size_t cap, unsigned ev, int dt, const char *const strs[],
                    size_t nstr)
{
    struct rs_event *h = (struct rs_event *)buf;
    memset(buf, 0, cap);
    h->ev = (uint8_t)ev;
    h->data_type = (uint16_t)dt;
    h->pid = h->tgid = 4242;
    h->ppid = 1;
    h->uid = 0;
    memcpy(h->comm, "unit", 5);
    size_t off = sizeof(*h);
    for (size_t i = 0; i < nstr; i++) {
        size_t n = strlen(strs[i]);
        buf[off] = (uint8_t)(n & 0xff);
        buf[off + 1] = (uint8_t)(n >> 8);
        memcpy(buf + off + 2, strs[i], n);
        off += 2 + n;
    }
    h->nstr = (uint32_t)nstr;
    h->size = (uint32_t)off;
    return off;
}

static void test_event_parse(void **state)
{
    (void)state;
    uint8_t buf[1024];
    const char *strs[] = {"/usr/bin/x", "host", "payload"};
    size_t n = build(buf, sizeof(buf), RS_EV_MEMFD, 356, strs, 3);
    event_t ev;
    assert_int_equal(event_parse(buf, n, &ev), 0);
    assert_int_equal(ev.nstr, 3);
    assert_int_equal(ev.str[2].len, 7);
    assert_memory_equal(ev.str[2].p, "payload", 7);
    assert_int_equal(event_str(&ev, 9).len, 0);
    /* too short, size beyond the buffer, wrong type, type/data_type mismatch */
    assert_int_equal(event_parse(buf, sizeof(struct rs_event) - 1, &ev), -EINVAL);
    assert_int_equal(event_parse(buf, n - 1, &ev), -EINVAL);
    struct rs_event *h = (struct rs_event *)buf;
    h->ev = RS_EV__COUNT;
    assert_int_equal(event_parse(buf, n, &ev), -EINVAL);
    h->ev = RS_EV_MEMFD;
    h->data_type = 59;
    assert_int_equal(event_parse(buf, n, &ev), -EINVAL);
    h->data_type = 356;
    /* a string length running past the end */
    buf[sizeof(struct rs_event) + (2 + 10) + (2 + 4)] = 0xff; /* the third length */
    assert_int_equal(event_parse(buf, n, &ev), -EINVAL);
    /* too many strings */
    n = build(buf, sizeof(buf), RS_EV_MEMFD, 356, strs, 3);
    h->nstr = EVENT_MAX_STR + 1;
    assert_int_equal(event_parse(buf, n, &ev), -EINVAL);
    /* every single-byte corruption of a valid record parses or is refused, never overreads
     * (ASan checks the reads) */
    n = build(buf, sizeof(buf), RS_EV_MEMFD, 356, strs, 3);
    uint8_t copy[1024];
    srand(7);
    for (int i = 0; i < 20000; i++) {
        memcpy(copy, buf, n);
        size_t len = n - (size_t)(rand() % 8);
        copy[rand() % (int)n] = (uint8_t)rand();
        uint8_t *heap = malloc(len);
        memcpy(heap, copy, len);
        if (event_parse(heap, len, &ev) == 0)
            for (size_t k = 0; k < ev.nstr; k++)
                assert_true(ev.str[k].p + ev.str[k].len <= (const char *)heap + len);
        free(heap);
    }
}

static void test_dns_question(void **state)
{
    (void)state;
    const uint8_t q[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm', 'p', 'l',
                         'e', 3,   'c', 'o', 'm', 0,   0,   28,  0,   1};
    char name[256];
    uint16_t qtype = 0;
    assert_int_equal(dns_question(q, sizeof(q), name, sizeof(name), &qtype), 0);
    assert_string_equal(name, "www.example.com");
    assert_int_equal(qtype, 28);
    /* cut before the type, cut inside a label, a compression pointer, non-printable bytes */
    assert_int_equal(dns_question(q, 17, name, sizeof(name), &qtype), -EINVAL);
    assert_int_equal(dns_question(q, 6, name, sizeof(name), &qtype), -EINVAL);
    const uint8_t ptr[] = {0xc0, 0x0c, 0, 1};
    assert_int_equal(dns_question(ptr, sizeof(ptr), name, sizeof(name), &qtype), -EINVAL);
    const uint8_t odd[] = {2, 'a', '\n', 0, 0, 1};
    assert_int_equal(dns_question(odd, sizeof(odd), name, sizeof(name), &qtype), 0);
    assert_string_equal(name, "a?");
    /* a small output buffer truncates, never overflows */
    char small[4];
    assert_int_equal(dns_question(q, sizeof(q), small, sizeof(small), &qtype), 0);
    assert_string_equal(small, "www");
}

static void test_container_parse(void **state)
{
    (void)state;
    const char *id = "3f4e1d2c5b6a79880f1e2d3c4b5a69788f7e6d5c4b3a29180f1e2d3c4b5a6978";
    char path[512];
    container_t c;
    snprintf(path, sizeof(path), "/system.slice/docker-%s.scope", id);
    container_parse_cgroup(path, &c);
    assert_string_equal(c.id, id);
    assert_string_equal(c.runtime, "docker");
    snprintf(path, sizeof(path), "/docker/%s", id);
    container_parse_cgroup(path, &c);
    assert_string_equal(c.runtime, "docker");
    snprintf(path, sizeof(path),
             "/kubepods.slice/kubepods-burstable.slice/"
             "kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/"
             "cri-containerd-%s.scope",
             id);
    container_parse_cgroup(path, &c);
    assert_string_equal(c.id, id);
    assert_string_equal(c.runtime, "containerd");
    assert_string_equal(c.pod_uid, "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
    container_parse_cgroup("/user.slice/user-1000.slice/session-3.scope", &c);
    assert_string_equal(c.id, "");
    assert_string_equal(c.runtime, "");
    container_parse_cgroup("/", &c);
    assert_string_equal(c.id, "");
    /* 65 hex digits is not an id */
    snprintf(path, sizeof(path), "/docker/%sa", id);
    container_parse_cgroup(path, &c);
    assert_string_equal(c.id, "");
}

static void test_u64map(void **state)
{
    (void)state;
    u64map_t *m = u64map_new();
    static int vals[5000];
    for (int i = 0; i < 5000; i++)
        assert_null(u64map_put(m, (uint64_t)i * 64, &vals[i]));
    assert_int_equal(u64map_len(m), 5000);
    for (int i = 0; i < 5000; i += 2)
        assert_ptr_equal(u64map_del(m, (uint64_t)i * 64), &vals[i]);
    for (int i = 0; i < 5000; i++)
        assert_ptr_equal(u64map_get(m, (uint64_t)i * 64), i % 2 ? &vals[i] : NULL);
    assert_int_equal(u64map_len(m), 2500);
    assert_ptr_equal(u64map_put(m, 64, &vals[0]), &vals[1]);
    u64map_free(m, NULL);
}

/* procs_read_env: whole names only, the last occurrence, a value may be empty; absent or gone
 * gives NULL. */
static void test_procs_read_env(void **state)
{
    (void)state;
    char root[] = "/tmp/rampart-driver-unit-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[96], path[128];
    snprintf(dir, sizeof(dir), "%s/77", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/environ", dir);
    static const char env[] = "LD_PRELOAD_X=no\0XLD_PRELOAD=no\0LD_PRELOAD=/first.so\0"
                              "SSH_CONNECTION=\0PATH=/bin\0LD_PRELOAD=/last.so\0LD_PRELOAD";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(env, 1, sizeof(env) - 1, f), sizeof(env) - 1);
    fclose(f);
    procs_t *p = procs_new(root);
    char *v = procs_read_env(p, 77, "LD_PRELOAD");
    assert_string_equal(v, "/last.so");
    free(v);
    v = procs_read_env(p, 77, "SSH_CONNECTION");
    assert_string_equal(v, "");
    free(v);
    assert_null(procs_read_env(p, 77, "SSH_CLIENT"));
    assert_null(procs_read_env(p, 78, "LD_PRELOAD"));
    procs_free(p);
    unlink(path);
    rmdir(dir);
    rmdir(root);
}

/* A connect record through format_event, read back with protobuf-c. */
static void test_format_connect(void **state)
{
    (void)state;
    char root[] = "/tmp/rampart-driver-unit-XXXXXX";
    assert_non_null(mkdtemp(root)); /* an empty proc root: nothing to enrich from */
    uint8_t buf[1024];
    const char *strs[] = {"/usr/bin/curl", ""};
    size_t n = build(buf, sizeof(buf), RS_EV_CONNECT, 42, strs, 2);
    struct rs_event *h = (struct rs_event *)buf;
    h->flags = RS_F_HOST_UTS;
    h->res = -111;
    h->sock.family = 2;
    h->sock.dport = 443;
    h->sock.sport = 40000;
    memcpy(h->sock.daddr, (uint8_t[]){10, 0, 0, 1}, 4);
    memcpy(h->sock.saddr, (uint8_t[]){192, 168, 1, 2}, 4);
    event_t ev;
    assert_int_equal(event_parse(buf, n, &ev), 0);
    enrich_t en = {.procs = procs_new(root),
                   .users = users_new(),
                   .exe = NULL,
                   .containers = containers_new(root, root),
                   .proc_root = root};
    snprintf(en.host_nodename, sizeof(en.host_nodename), "unit-host");
    rp_record_t *r = rp_record_new();
    format_event(&ev, &en, r);
    size_t len;
    const uint8_t *bytes = rp_record_bytes(r, &len);
    Grpc__Record *rec = grpc__record__unpack(NULL, len, bytes);
    assert_non_null(rec);
    assert_int_equal(rec->data_type, 42);
    const char *want[][2] = {
        {"exe", "/usr/bin/curl"}, {"nodename", "unit-host"}, {"pid", "4242"},
        {"comm", "unit"},         {"sa_family", "2"},        {"dip", "10.0.0.1"},
        {"dport", "443"},         {"sip", "192.168.1.2"},    {"sport", "40000"},
        {"res", "-111"},          {"username", "root"},      {"container_id", "-"},
        {"exe_hash", "-"},        {"pid_tree", "4242.unit"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *have = NULL;
        for (size_t k = 0; k < rec->data->n_fields; k++)
            if (strcmp(rec->data->fields[k]->key, want[i][0]) == 0)
                have = rec->data->fields[k]->value;
        if (!have || strcmp(have, want[i][1]) != 0)
            fail_msg("%s: want %s, have %s", want[i][0], want[i][1], have ? have : "(absent)");
    }
    grpc__record__free_unpacked(rec, NULL);
    rp_record_free(r);
    procs_free(en.procs);
    users_free(en.users);
    containers_free(en.containers);
    rmdir(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_parse),     cmocka_unit_test(test_dns_question),
        cmocka_unit_test(test_container_parse), cmocka_unit_test(test_u64map),
        cmocka_unit_test(test_format_connect),  cmocka_unit_test(test_procs_read_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
