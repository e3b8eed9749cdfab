/* Unit tests for the journal plugin: sshd's messages parse into login events (successes,
 * failures, invalid users, pre-auth closes, IPv6, odd user names, junk); syslog lines split
 * into program, pid and message; the file follower reads appended lines, partial lines,
 * rotation, truncation and over-long lines; and the engine, following a temp file the test
 * writes to, sends 4000 records through the SDK over a pipe. */
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
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "follower.h"
#include "plugin_records.h"
#include "sshd_log.h"
#include "watcher.h"

static sshd_event_t parse(const char *msg, bool want)
{
    sshd_event_t ev;
    bool got = sshd_parse_message(msg, strlen(msg), &ev);
    if (got != want)
        fail_msg("%s: expected %s", msg, want ? "an event" : "no event");
    return ev;
}

static void test_sshd_messages(void **state)
{
    (void)state;
    sshd_event_t e = parse("Accepted password for root from 192.0.2.7 port 51234 ssh2", true);
    assert_true(e.success);
    assert_false(e.invalid);
    assert_string_equal(e.types, "password");
    assert_string_equal(e.user, "root");
    assert_string_equal(e.sip, "192.0.2.7");
    assert_int_equal(e.sport, 51234);
    assert_string_equal(e.extra, "");

    e = parse("Accepted publickey for alice from 2001:db8::1 port 40022 ssh2: ED25519 "
              "SHA256:AbCdEf0123456789",
              true);
    assert_true(e.success);
    assert_string_equal(e.types, "publickey");
    assert_string_equal(e.user, "alice");
    assert_string_equal(e.sip, "2001:db8::1");
    assert_int_equal(e.sport, 40022);
    assert_string_equal(e.extra, "ED25519 SHA256:AbCdEf0123456789");

    e = parse("Accepted keyboard-interactive/pam for bob from ::ffff:10.1.2.3 port 22 ssh2", true);
    assert_string_equal(e.types, "keyboard-interactive/pam");
    assert_string_equal(e.user, "bob");
    assert_string_equal(e.sip, "::ffff:10.1.2.3");

    e = parse("Failed password for root from 203.0.113.9 port 60000 ssh2", true);
    assert_false(e.success);
    assert_false(e.invalid);
    assert_string_equal(e.types, "password");
    assert_string_equal(e.user, "root");

    e = parse("Failed password for invalid user admin from 203.0.113.9 port 60001 ssh2", true);
    assert_false(e.success);
    assert_true(e.invalid);
    assert_string_equal(e.user, "admin");
    assert_int_equal(e.sport, 60001);

    e = parse("Failed none for invalid user  from 198.51.100.1 port 1 ssh2", true);
    assert_true(e.invalid);
    assert_string_equal(e.types, "none");
    assert_string_equal(e.user, "");

    /* a user name with spaces and "from" in it */
    e = parse("Invalid user evil from here from 198.51.100.2 port 4444", true);
    assert_true(e.invalid);
    assert_false(e.success);
    assert_string_equal(e.types, "invalid_user");
    assert_string_equal(e.user, "evil from here");
    assert_string_equal(e.sip, "198.51.100.2");
    assert_int_equal(e.sport, 4444);

    e = parse("Invalid user oracle from 198.51.100.3", true); /* older sshd: no port */
    assert_string_equal(e.user, "oracle");
    assert_string_equal(e.sip, "198.51.100.3");
    assert_int_equal(e.sport, 0);

    e = parse("Connection closed by authenticating user root 192.0.2.50 port 33210 [preauth]",
              true);
    assert_false(e.success);
    assert_false(e.invalid);
    assert_string_equal(e.types, "preauth_closed");
    assert_string_equal(e.user, "root");
    assert_string_equal(e.sip, "192.0.2.50");
    assert_int_equal(e.sport, 33210);

    e = parse("Connection closed by invalid user test fe80::1%eth0 port 2222 [preauth]", true);
    assert_true(e.invalid);
    assert_string_equal(e.user, "test");
    assert_string_equal(e.sip, "fe80::1%eth0");

    e = parse("Disconnected from authenticating user ubuntu 192.0.2.51 port 1022 [preauth]", true);
    assert_string_equal(e.types, "preauth_disconnected");
    assert_string_equal(e.user, "ubuntu");

    e = parse("error: maximum authentication attempts exceeded for invalid user pi from "
              "192.0.2.52 port 5050 ssh2 [preauth]",
              true);
    assert_string_equal(e.types, "max_attempts");
    assert_true(e.invalid);
    assert_string_equal(e.user, "pi");

    /* not login events */
    parse("Server listening on 0.0.0.0 port 22.", false);
    parse("Disconnected from user root 192.0.2.7 port 51234", false);
    parse("Received disconnect from 192.0.2.7 port 51234:11: disconnected by user", false);
    parse("pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)", false);
    parse("Accepted password for root", false);
    parse("Accepted password for root from 1.2.3.4 port 99999 ssh2", false);
    parse("Accepted", false);
    parse("", false);
    parse("Failed password for root from  port 22 ssh2", false);

    /* long and binary junk never overruns */
    char big[9000];
    memset(big, 'A', sizeof(big));
    memcpy(big, "Accepted password for ", 22);
    const char *tail = " from 1.2.3.4 port 22 ssh2";
    memcpy(big + 2000, tail, strlen(tail));
    big[2000 + strlen(tail)] = '\0';
    e = parse(big, true);
    assert_int_equal(strlen(e.user), SSHD_FIELD_MAX - 1);
    for (int i = 0; i < 2000; i++) {
        char junk[64];
        for (size_t k = 0; k < sizeof(junk); k++)
            junk[k] = (char)((i * 31 + (int)k * 7) & 0xff);
        sshd_event_t ev;
        sshd_parse_message(junk, sizeof(junk), &ev);
    }
}

static void test_syslog_split(void **state)
{
    (void)state;
    const char *prog, *msg;
    size_t pl, ml;
    int pid;
    const char l1[] =
        "Nov 23 10:00:01 web1 sshd[1234]: Accepted password for a from 1.2.3.4 port 5 ssh2";
    assert_true(sshd_split_syslog(l1, strlen(l1), &prog, &pl, &pid, &msg, &ml));
    assert_int_equal(pl, 4);
    assert_true(sshd_is_program(prog, pl));
    assert_int_equal(pid, 1234);
    assert_memory_equal(msg, "Accepted password", 17);
    const char l2[] = "Nov  3 09:08:07 host sshd-session[77]: Invalid user x from 1.1.1.1 port 2";
    assert_true(sshd_split_syslog(l2, strlen(l2), &prog, &pl, &pid, &msg, &ml));
    assert_true(sshd_is_program(prog, pl));
    assert_int_equal(pid, 77);
    const char l3[] = "2024-11-23T10:00:01.123456+01:00 host sshd[9]: Failed password for r from "
                      "::1 port 3 ssh2";
    assert_true(sshd_split_syslog(l3, strlen(l3), &prog, &pl, &pid, &msg, &ml));
    assert_int_equal(pid, 9);
    assert_memory_equal(msg, "Failed", 6);
    const char l4[] = "Nov 23 10:00:01 host CRON[5]: pam_unix(cron:session): session opened";
    assert_true(sshd_split_syslog(l4, strlen(l4), &prog, &pl, &pid, &msg, &ml));
    assert_false(sshd_is_program(prog, pl));
    const char l5[] = "Nov 23 10:00:01 host kernel: something";
    assert_true(sshd_split_syslog(l5, strlen(l5), &prog, &pl, &pid, &msg, &ml));
    assert_int_equal(pid, -1);
    assert_false(sshd_split_syslog("", 0, &prog, &pl, &pid, &msg, &ml));
    assert_false(sshd_split_syslog("Nov 23", 6, &prog, &pl, &pid, &msg, &ml));
    const char l6[] = "Nov 23 10:00:01 host sshd[12x]: bad pid";
    assert_false(sshd_split_syslog(l6, strlen(l6), &prog, &pl, &pid, &msg, &ml));
}

/* --- follower --- */

typedef struct {
    char lines[64][128];
    size_t lens[64];
    int n;
} collected_t;

static void collect(void *ud, const char *line, size_t len)
{
    collected_t *c = ud;
    if (c->n < 64) {
        size_t k = len < 127 ? len : 127;
        memcpy(c->lines[c->n], line, k);
        c->lines[c->n][k] = '\0';
        c->lens[c->n] = len;
        c->n++;
    }
}

static void append(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_follower(void **state)
{
    (void)state;
    char dir[] = "/tmp/rampart-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], old[256];
    snprintf(path, sizeof(path), "%s/auth.log", dir);
    snprintf(old, sizeof(old), "%s/auth.log.1", dir);
    append(path, "existing line\n");

    collected_t c = {0};
    follower_t *f = follower_new(path, false);
    assert_int_equal(follower_poll(f, collect, &c), 0); /* starts at the end */
    append(path, "one\ntw");
    assert_int_equal(follower_poll(f, collect, &c), 1);
    assert_string_equal(c.lines[0], "one");
    append(path, "o\nthree\n");
    assert_int_equal(follower_poll(f, collect, &c), 2);
    assert_string_equal(c.lines[1], "two");
    assert_string_equal(c.lines[2], "three");

    /* rotation: the rest of the old file, then the new file from its start */
    append(path, "last of old\n");
    assert_int_equal(rename(path, old), 0);
    append(old, "late write to old\n");
    append(path, "first of new\n");
    assert_int_equal(follower_poll(f, collect, &c), 3);
    assert_string_equal(c.lines[3], "last of old");
    assert_string_equal(c.lines[4], "late write to old");
    assert_string_equal(c.lines[5], "first of new");

    /* truncation in place (copytruncate), seen before the file grows past the old offset
     * again: from then on, from the start */
    assert_int_equal(truncate(path, 0), 0);
    assert_int_equal(follower_poll(f, collect, &c), 0);
    append(path, "after truncate\n");
    assert_int_equal(follower_poll(f, collect, &c), 1);
    assert_string_equal(c.lines[6], "after truncate");

    /* an over-long line is cut and its rest skipped */
    char *big = malloc(FOLLOWER_MAX_LINE * 2 + 2);
    memset(big, 'x', FOLLOWER_MAX_LINE * 2);
    big[FOLLOWER_MAX_LINE * 2] = '\n';
    big[FOLLOWER_MAX_LINE * 2 + 1] = '\0';
    append(path, big);
    append(path, "short\n");
    free(big);
    assert_int_equal(follower_poll(f, collect, &c), 2);
    assert_int_equal(c.lens[7], FOLLOWER_MAX_LINE);
    assert_string_equal(c.lines[8], "short");

    /* the file goes away and comes back */
    unlink(path);
    assert_int_equal(follower_poll(f, collect, &c), 0);
    assert_int_equal(follower_poll(f, collect, &c), 0);
    append(path, "back\n");
    assert_int_equal(follower_poll(f, collect, &c), 1);
    assert_string_equal(c.lines[9], "back");
    follower_free(f);

    /* from_start reads what is there */
    collected_t c2 = {0};
    f = follower_new(old, true);
    assert_int_equal(follower_poll(f, collect, &c2), 6);
    assert_string_equal(c2.lines[0], "existing line");
    follower_free(f);
    unlink(path);
    unlink(old);
    rmdir(dir);
}

/* --- the engine over a pipe --- */

typedef struct {
    watcher_t *w;
    int rc;
} loop_arg_t;

static void *run_loop(void *arg)
{
    loop_arg_t *a = arg;
    a->rc = watcher_loop(a->w);
    return NULL;
}

/* The next record of data_type dt (others, such as heartbeats, are skipped). */
static Grpc__Record *next_of(int fd, int dt)
{
    for (;;) {
        Grpc__Record *r = pr_read_record(fd);
        assert_non_null(r);
        if (r->data_type == dt)
            return r;
        grpc__record__free_unpacked(r, NULL);
    }
}

static void test_engine_follows_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/rampart-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/auth.log", dir);
    append(path, "Nov 23 09:00:00 h sshd[1]: Accepted password for old from 1.1.1.1 port 1 ssh2\n");

    watcher_config_t cfg;
    watcher_config_defaults(&cfg);
    char err[256], detail[512];
    snprintf(detail, sizeof(detail),
             "{\"source\":\"file\",\"auth_log\":\"%s\",\"poll_ms\":20,\"heartbeat\":3600}", path);
    assert_int_equal(watcher_config_from_detail(&cfg, detail, err, sizeof(err)), 0);
    assert_int_equal(watcher_config_from_detail(&cfg, "{\"source\":\"x\"}", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(watcher_config_from_detail(&cfg, "{\"poll_ms\":0}", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(watcher_config_from_detail(&cfg, "[1]", err, sizeof(err)), -EINVAL);

    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    rp_plugin_t *p = rp_plugin_new_fds("journal", "t", in[0], out[1]);
    volatile sig_atomic_t stop = 0;
    watcher_t *w = watcher_new(&cfg, p, &stop);
    assert_string_equal(watcher_source_name(w), "file");
    loop_arg_t la = {w, 1};
    pthread_t th;
    pthread_create(&th, NULL, run_loop, &la);
    /* the heartbeat comes first: the follower has opened the file by the time it is sent */
    Grpc__Record *r = next_of(out[0], 1001);
    assert_string_equal(pr_field(r, "source"), "file");
    grpc__record__free_unpacked(r, NULL);
    usleep(100 * 1000);
    append(path, "Nov 23 10:00:01 h CRON[5]: pam_unix(cron:session): session opened\n"
                 "Nov 23 10:00:02 h sshd[4321]: Failed password for invalid user admin from "
                 "203.0.113.5 port 40000 ssh2\n"
                 "Nov 23 10:00:03 h sshd[4322]: Accepted publickey for alice from 2001:db8::7 "
                 "port 50000 ssh2: RSA SHA256:zz\n");
    r = next_of(out[0], 4000);
    assert_string_equal(pr_field(r, "status"), "false");
    assert_string_equal(pr_field(r, "invalid"), "true");
    assert_string_equal(pr_field(r, "user"), "admin");
    assert_string_equal(pr_field(r, "sip"), "203.0.113.5");
    assert_string_equal(pr_field(r, "sport"), "40000");
    assert_string_equal(pr_field(r, "pid"), "4321");
    assert_string_equal(pr_field(r, "types"), "password");
    assert_string_equal(pr_field(r, "source"), "file");
    assert_non_null(strstr(pr_field(r, "rawlog"), "Failed password"));
    grpc__record__free_unpacked(r, NULL);
    r = next_of(out[0], 4000);
    assert_string_equal(pr_field(r, "status"), "true");
    assert_string_equal(pr_field(r, "user"), "alice");
    assert_string_equal(pr_field(r, "sip"), "2001:db8::7");
    assert_string_equal(pr_field(r, "extra"), "RSA SHA256:zz");
    grpc__record__free_unpacked(r, NULL);

    /* the agent closes fd 3: the loop ends with -EPIPE */
    close(in[1]);
    pthread_join(th, NULL);
    assert_int_equal(la.rc, -EPIPE);
    watcher_free(w);
    rp_plugin_free(p);
    close(in[0]);
    close(out[0]);
    close(out[1]);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sshd_messages),
        cmocka_unit_test(test_syslog_split),
        cmocka_unit_test(test_follower),
        cmocka_unit_test(test_engine_follows_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
