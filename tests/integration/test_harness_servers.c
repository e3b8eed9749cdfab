/* The harness starts real servers: Redis (hiredis SET/GET), our Kafka-protocol broker
 * (produce with librdkafka, consume back through a consumer group) and jongodb (insert, find,
 * count with mongo-c-driver); a killed process is reaped; stop reports the exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <mongoc/mongoc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "harness.h"

#define NMSG 1000

static void test_redis(void **state)
{
    (void)state;
    uint16_t port;
    harness_proc_t *p = harness_redis_start(&port);
    assert_non_null(p);
    redisContext *c = redisConnect("127.0.0.1", port);
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "SET %s %s", "k", "v");
    assert_non_null(r);
    freeReplyObject(r);
    r = redisCommand(c, "GET %s", "k");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "v");
    freeReplyObject(r);
    redisFree(c);
    int st = harness_stop(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* Restarted on the same port, it comes back empty. */
    p = harness_redis_start_on(port);
    assert_non_null(p);
    c = redisConnect("127.0.0.1", port);
    assert_true(c && !c->err);
    r = redisCommand(c, "GET %s", "k");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    redisFree(c);
    st = harness_stop(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Produces n keyed messages to rampart.events and reads them all back through a consumer
 * group (subscribe, not assign), checking every key and value. */
static void produce_consume(const char *bootstrap, int n, const char *group)
{
    char err[512];

    rd_kafka_conf_t *pc = rd_kafka_conf_new();
    log_bridge_rdkafka(pc);
    assert_int_equal(rd_kafka_conf_set(pc, "bootstrap.servers", bootstrap, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof(err));
    assert_non_null(prod);
    for (int i = 0; i < n; i++) {
        char key[32], val[64];
        snprintf(key, sizeof(key), "agent-%d", i % 17);
        snprintf(val, sizeof(val), "record-%d", i);
        rd_kafka_resp_err_t e =
            rd_kafka_producev(prod, RD_KAFKA_V_TOPIC("rampart.events"),
                              RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    assert_int_equal(rd_kafka_flush(prod, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(prod);

    rd_kafka_conf_t *cc = rd_kafka_conf_new();
    log_bridge_rdkafka(cc);
    rd_kafka_conf_set(cc, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(cc, "group.id", group, err, sizeof(err));
    rd_kafka_conf_set(cc, "auto.offset.reset", "earliest", err, sizeof(err));
    rd_kafka_t *cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof(err));
    assert_non_null(cons);
    rd_kafka_poll_set_consumer(cons);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, "rampart.events", RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(cons, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(topics);
    unsigned char *seen = calloc((size_t)n, 1);
    assert_non_null(seen);
    int got = 0, bad = 0;
    /* Group join and rebalance take a few seconds; give the whole read a minute. */
    time_t deadline = time(NULL) + 60;
    while (got < n && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 100);
        if (!m)
            continue;
        if (m->err) {
            print_message("consumer: %s\n", rd_kafka_message_errstr(m));
        } else {
            int i = -1;
            char val[64] = "";
            snprintf(val, sizeof(val), "%.*s", (int)m->len, (const char *)m->payload);
            if (sscanf(val, "record-%d", &i) == 1 && i >= 0 && i < n && !seen[i]) {
                char key[32];
                snprintf(key, sizeof(key), "agent-%d", i % 17);
                if (m->key_len == strlen(key) && memcmp(m->key, key, m->key_len) == 0) {
                    seen[i] = 1;
                    got++;
                } else {
                    bad++;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(cons);
    rd_kafka_destroy(cons);
    free(seen);
    assert_int_equal(bad, 0);
    assert_int_equal(got, n);
}

static void test_kafka(void **state)
{
    (void)state;
    char bootstrap[256];
    harness_proc_t *k = harness_kafka_start(bootstrap, sizeof(bootstrap));
    assert_non_null(k);
    produce_consume(bootstrap, NMSG, "harness-test");
    int st = harness_stop(k);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* --port: clients bootstrap through the fixed port (a relay), then reach the broker itself. */
static void test_kafka_fixed_port(void **state)
{
    (void)state;
    char bin[512], portarg[16], bootstrap[64], rest[64];
    uint16_t port = harness_free_port();
    snprintf(portarg, sizeof(portarg), "%u", (unsigned)port);
    char *argv[] = {
        (char *)harness_bin("tests/tools/kafka-mock/rampart-kafka-mock", bin, sizeof(bin)),
        "--port",
        portarg,
        "--topics",
        "rampart.events:2",
        NULL};
    harness_proc_t *k = harness_spawn("kafka-port", argv, NULL);
    assert_non_null(k);
    assert_int_equal(harness_wait_log(k, "KAFKA_BOOTSTRAP=", rest, sizeof(rest), 20000), 0);
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%u", (unsigned)port);
    assert_string_equal(rest, bootstrap);
    produce_consume(bootstrap, 100, "harness-port");
    int st = harness_stop(k);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_mongo(void **state)
{
    (void)state;
    char uri[256];
    harness_proc_t *m = harness_mongo_start(uri, sizeof(uri));
    assert_non_null(m);
    mongoc_init();
    log_bridge_mongoc();
    mongoc_client_t *c = mongoc_client_new(uri);
    assert_non_null(c);
    mongoc_collection_t *coll = mongoc_client_get_collection(c, "rampart", "harness");
    bson_error_t e;
    for (int i = 0; i < 10; i++) {
        bson_t *doc = BCON_NEW("n", BCON_INT32(i), "kind", BCON_UTF8(i % 2 ? "odd" : "even"));
        assert_true(mongoc_collection_insert_one(coll, doc, NULL, NULL, &e));
        bson_destroy(doc);
    }
    bson_t *filter = BCON_NEW("kind", BCON_UTF8("odd"));
    int64_t n = mongoc_collection_count_documents(coll, filter, NULL, NULL, NULL, &e);
    assert_int_equal(n, 5);
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
    const bson_t *doc;
    int found = 0;
    while (mongoc_cursor_next(cur, &doc))
        found++;
    assert_false(mongoc_cursor_error(cur, &e));
    assert_int_equal(found, 5);
    mongoc_cursor_destroy(cur);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
    mongoc_cleanup();
    harness_stop(m);
}

static void test_kill_and_status(void **state)
{
    (void)state;
    char *sleeper[] = {"sleep", "60", NULL};
    harness_proc_t *p = harness_spawn("sleeper", sleeper, NULL);
    assert_non_null(p);
    assert_true(harness_alive(p));
    pid_t pid = harness_pid(p);
    harness_kill(p);
    assert_int_equal(kill(pid, 0), -1); /* reaped, gone */

    /* A graceful stop reports the signal that ended it. */
    p = harness_spawn("sleeper2", sleeper, NULL);
    assert_non_null(p);
    int st = harness_stop(p);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGTERM);

    char *fail[] = {"sh", "-c", "exit 3", NULL};
    p = harness_spawn("exit3", fail, NULL);
    assert_non_null(p);
    for (int i = 0; i < 100 && harness_alive(p); i++)
        usleep(20 * 1000);
    st = harness_stop(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);

    /* Extra environment entries reach the child (and override inherited ones). */
    char *envtest[] = {"sh", "-c", "test \"$HARNESS_X\" = yes && test \"$HOME\" = /nowhere", NULL};
    char *env[] = {"HARNESS_X=yes", "HOME=/nowhere", NULL};
    p = harness_spawn("env", envtest, env);
    assert_non_null(p);
    for (int i = 0; i < 100 && harness_alive(p); i++)
        usleep(20 * 1000);
    st = harness_stop(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    /* A binary that does not exist: the child exits 127. */
    char *missing[] = {"/nonexistent/rampart-nothing", NULL};
    p = harness_spawn("missing", missing, NULL);
    assert_non_null(p);
    for (int i = 0; i < 100 && harness_alive(p); i++)
        usleep(20 * 1000);
    st = harness_stop(p);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 127);
}

/* True once pid is gone or a zombie (killed, not yet reaped by its new parent). */
static bool proc_dead(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return !rp || rp[1] == '\0' || rp[2] == 'Z' || rp[2] == 'X';
}

/* A test that aborts takes its whole process groups with it, grandchildren included (the
 * grandchild has no parent-death signal of its own: only the group kill reaches it). */
static void test_abort_kills_groups(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t t = fork();
    assert_true(t >= 0);
    if (t == 0) {
        close(fds[0]);
        char *argv[] = {"sh", "-c", "sleep 60 & echo GRANDCHILD=$!; wait", NULL};
        harness_proc_t *p = harness_spawn("group", argv, NULL);
        char rest[32] = "";
        if (!p || harness_wait_log(p, "GRANDCHILD=", rest, sizeof(rest), 10000) < 0)
            _exit(2);
        pid_t g = (pid_t)atoi(rest);
        if (write(fds[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
            _exit(2);
        abort();
    }
    close(fds[1]);
    pid_t g = 0;
    assert_int_equal(read(fds[0], &g, sizeof(g)), (ssize_t)sizeof(g));
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(t, &st, 0), t);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_true(g > 0);
    bool dead = false;
    for (int i = 0; i < 250 && !(dead = proc_dead(g)); i++)
        usleep(20 * 1000);
    if (!dead)
        kill(g, SIGKILL);
    assert_true(dead);
}

int main(void)
{
    harness_init("harness_servers");
    log_init("test", LOG_LEVEL_WARN, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis),
        cmocka_unit_test(test_kafka),
        cmocka_unit_test(test_kafka_fixed_port),
        cmocka_unit_test(test_mongo),
        cmocka_unit_test(test_kill_and_status),
        cmocka_unit_test(test_abort_kills_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
