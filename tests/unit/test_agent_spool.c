/* spool (endpoint/agent/spool.c): order across memory and disk, the disk cap dropping the
 * oldest, commits of records that moved to disk meanwhile, restart recovery and torn
 * segments. Each test works in its own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "endpoint/agent/spool.h"

typedef struct {
    char dir[256];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/rampart-spool-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[600];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(f->dir);
    free(f);
    return 0;
}

static spool_t *open_spool(const fixture_t *f, size_t mem, uint64_t disk, uint64_t seg)
{
    char err[256];
    spool_opts_t o = {.dir = f->dir, .memory_max = mem, .disk_max = disk, .segment_size = seg};
    spool_t *s = spool_open(&o, err, sizeof(err));
    if (!s)
        fail_msg("spool_open: %s", err);
    return s;
}

/* Record i: data_type 100 + i % 7, timestamp i, payload "rec-<i>" padded to pad bytes. */
static void push_n(spool_t *s, uint64_t from, uint64_t n, size_t pad)
{
    char buf[4096];
    for (uint64_t i = from; i < from + n; i++) {
        int len = snprintf(buf, sizeof(buf), "rec-%" PRIu64 "|", i);
        size_t total = (size_t)len < pad ? pad : (size_t)len;
        memset(buf + len, 'x', total - (size_t)len);
        assert_int_equal(spool_push(s, (int32_t)(100 + i % 7), (int64_t)i, buf, total), 0);
    }
}

/* Takes every record in batches, checking that they are exactly next, next+1, ... and returns
 * the number after the last one seen. */
static uint64_t drain_check(spool_t *s, uint64_t next, size_t batch, size_t max_bytes)
{
    spool_buf_t b = {0};
    uint64_t end;
    size_t n;
    while ((n = spool_peek(s, batch, max_bytes, &b, &end)) > 0) {
        size_t pos = 0;
        for (size_t k = 0; k < n; k++) {
            spool_record_t r;
            assert_int_equal(spool_record_parse(b.data + pos, b.len - pos, &r), 1);
            char want[64];
            int wl = snprintf(want, sizeof(want), "rec-%" PRIu64 "|", next);
            assert_true(r.len >= (size_t)wl);
            if (memcmp(r.data, want, (size_t)wl) != 0)
                fail_msg("expected %s got %.*s", want, wl, (const char *)r.data);
            assert_int_equal(r.timestamp, (int64_t)next);
            assert_int_equal(r.data_type, (int32_t)(100 + next % 7));
            next++;
            pos += r.size;
        }
        assert_int_equal(pos, b.len);
        spool_commit(s, end);
    }
    spool_buf_dispose(&b);
    return next;
}

static void test_order_memory_only(void **state)
{
    fixture_t *f = *state;
    spool_t *s = open_spool(f, 4 << 20, 16 << 20, 1 << 20);
    push_n(s, 0, 1000, 50);
    assert_int_equal(spool_pending(s), 1000);
    assert_int_equal(drain_check(s, 0, 64, 1 << 20), 1000);
    spool_stats_t st;
    spool_stats(s, &st);
    assert_int_equal(st.disk_records, 0);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(spool_pending(s), 0);
    spool_close(s);
}

static void test_spill_keeps_order(void **state)
{
    fixture_t *f = *state;
    spool_t *s = open_spool(f, 64 << 10, 64 << 20, 256 << 10);
    push_n(s, 0, 20000, 100); /* ~2.5 MiB: most of it goes to disk */
    spool_stats_t st;
    spool_stats(s, &st);
    assert_true(st.disk_records > 10000);
    assert_true(st.segments > 2);
    assert_int_equal(st.mem_records + st.disk_records, 20000);
    /* Small batches, bounded in bytes, then more records while draining. */
    uint64_t next = 0;
    spool_buf_t b = {0};
    uint64_t end;
    for (int round = 0; round < 5; round++) {
        size_t n = spool_peek(s, 500, 16 << 10, &b, &end);
        assert_true(n > 0 && b.len <= 16 << 10);
        next += n;
        spool_commit(s, end);
    }
    spool_buf_dispose(&b);
    push_n(s, 20000, 5000, 100);
    assert_int_equal(drain_check(s, next, 700, 1 << 20), 25000);
    spool_stats(s, &st);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.committed, 25000);
    spool_close(s);
}

/* Records taken from memory, then moved to disk before their commit: the commit still removes
 * exactly them. */
static void test_commit_after_spill(void **state)
{
    fixture_t *f = *state;
    spool_t *s = open_spool(f, 64 << 10, 64 << 20, 256 << 10);
    push_n(s, 0, 100, 100);
    spool_buf_t b = {0};
    uint64_t end;
    assert_int_equal(spool_peek(s, 40, 1 << 20, &b, &end), 40);
    push_n(s, 100, 3000, 100); /* spills the records in flight */
    spool_stats_t st;
    spool_stats(s, &st);
    assert_true(st.disk_records > 0);
    spool_commit(s, end);
    assert_int_equal(spool_pending(s), 3060);
    assert_int_equal(drain_check(s, 40, 256, 1 << 20), 3100);
    spool_buf_dispose(&b);
    spool_close(s);
}

static void test_cap_drops_oldest(void **state)
{
    fixture_t *f = *state;
    spool_t *s = open_spool(f, 64 << 10, 1 << 20, 64 << 10);
    const uint64_t n = 40000; /* ~5 MiB into a 1 MiB spool */
    push_n(s, 0, n, 100);
    spool_stats_t st;
    spool_stats(s, &st);
    assert_true(st.dropped > 0);
    assert_true(st.disk_bytes <= 1 << 20);
    assert_int_equal(st.dropped + spool_pending(s), n);
    /* What is left is the newest, in order, ending with the last record pushed. */
    uint64_t first = st.dropped;
    assert_int_equal(drain_check(s, first, 1000, 1 << 20), n);
    spool_close(s);
}

static void test_restart_recovery(void **state)
{
    fixture_t *f = *state;
    spool_t *s = open_spool(f, 64 << 10, 64 << 20, 128 << 10);
    push_n(s, 0, 5000, 100);
    spool_buf_t b = {0};
    uint64_t end;
    assert_int_equal(spool_peek(s, 1234, 1 << 20, &b, &end), 1234);
    spool_commit(s, end);
    spool_close(s); /* memory part goes to disk */

    s = open_spool(f, 64 << 10, 64 << 20, 128 << 10);
    assert_int_equal(spool_pending(s), 5000 - 1234);
    /* New records after a restart come after the recovered ones. */
    push_n(s, 5000, 100, 100);
    assert_int_equal(spool_peek(s, 766, 1 << 20, &b, &end), 766);
    spool_commit(s, end);
    spool_close(s);

    s = open_spool(f, 64 << 10, 64 << 20, 128 << 10);
    assert_int_equal(spool_pending(s), 5100 - 2000);
    assert_int_equal(drain_check(s, 2000, 500, 1 << 20), 5100);
    spool_close(s);
    s = open_spool(f, 64 << 10, 64 << 20, 128 << 10);
    assert_int_equal(spool_pending(s), 0);
    spool_close(s);
    spool_buf_dispose(&b);
}

/* The newest segment file in dir. */
static void last_segment(const char *dir, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char best[300] = "";
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".seg") && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", e->d_name);
    closedir(d);
    snprintf(out, len, "%s/%s", dir, best);
}

static void test_truncated_segment(void **state)
{
    fixture_t *f = *state;
    spool_t *s = open_spool(f, 64 << 10, 64 << 20, 1 << 20);
    push_n(s, 0, 1000, 100);
    spool_close(s);
    char seg[600];
    last_segment(f->dir, seg, sizeof(seg));
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    /* A torn write: the last record loses its tail. */
    assert_int_equal(truncate(seg, st.st_size - 30), 0);
    s = open_spool(f, 64 << 10, 64 << 20, 1 << 20);
    spool_stats_t ss;
    spool_stats(s, &ss);
    assert_int_equal(spool_pending(s), 999);
    assert_true(ss.truncated_bytes > 0);
    assert_int_equal(drain_check(s, 0, 300, 1 << 20), 999);
    spool_close(s);

    /* A flipped byte inside a record: the segment is cut there, earlier records survive. */
    s = open_spool(f, 64 << 10, 64 << 20, 1 << 20);
    push_n(s, 0, 100, 100);
    spool_close(s);
    last_segment(f->dir, seg, sizeof(seg));
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    off_t at = (off_t)(50 * (SPOOL_HDR + 100) + SPOOL_HDR + 5); /* inside record 50's data */
    char c = 0;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x55;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
    s = open_spool(f, 64 << 10, 64 << 20, 1 << 20);
    assert_int_equal(spool_pending(s), 50);
    assert_int_equal(drain_check(s, 0, 300, 1 << 20), 50);
    spool_close(s);
}

static void test_large_record(void **state)
{
    fixture_t *f = *state;
    spool_t *s = open_spool(f, 64 << 10, 64 << 20, 1 << 20);
    push_n(s, 0, 3, 100);
    push_n(s, 3, 1, 4000);
    char *big = malloc(300 << 10);
    memset(big, 'y', 300 << 10);
    memcpy(big, "rec-4|", 6);
    assert_int_equal(spool_push(s, 100 + 4 % 7, 4, big, 300 << 10), 0);
    free(big);
    push_n(s, 5, 10, 100);
    /* Batches of at most 1 KiB: the large record still goes, alone. */
    assert_int_equal(drain_check(s, 0, 100, 1024), 15);
    spool_close(s);
}

int main(void)
{
    log_init("test", LOG_LEVEL_ERROR, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_memory_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spill_keeps_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_after_spill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap_drops_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
