/* Unit tests for the log bridges: each real library logs something, and it must arrive in our
 * log as one logfmt line with event=lib.<name>. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <bpf/libbpf.h>
#include <grpc/support/log.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <mongoc/mongoc.h>

#include "common/log.h"
#include "common/log_bridge.h"

static int g_pipe[2] = {-1, -1};
static char g_out[65536];
static size_t g_len;

/* Appends whatever the logger wrote so far to g_out. */
static void drain(void)
{
    for (;;) {
        ssize_t n = read(g_pipe[0], g_out + g_len, sizeof(g_out) - 1 - g_len);
        if (n <= 0)
            break;
        g_len += (size_t)n;
    }
    g_out[g_len] = '\0';
}

static void reset_output(void)
{
    drain();
    g_len = 0;
    g_out[0] = '\0';
}

/* The line of g_out that holds all of the needles, waiting up to 5 s (some libraries log from
 * their own threads). Returns a static copy of the line, or fails the test. */
static const char *find_line(const char *const *needles, size_t n)
{
    static char line[8192];
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        drain();
        for (const char *p = g_out; *p;) {
            const char *end = strchr(p, '\n');
            if (!end)
                break;
            size_t len = (size_t)(end - p);
            if (len < sizeof(line)) {
                memcpy(line, p, len);
                line[len] = '\0';
                size_t k = 0;
                while (k < n && strstr(line, needles[k]))
                    k++;
                if (k == n)
                    return line;
            }
            p = end + 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 5)
            break;
        struct pollfd pfd = {.fd = g_pipe[0], .events = POLLIN};
        poll(&pfd, 1, 100);
    }
    fail_msg("no log line with \"%s\" in:\n%s", needles[0], g_out);
    return NULL;
}

#define FIND(...)                                                                                  \
    find_line((const char *const[]){__VA_ARGS__},                                                  \
              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* Every bridged line is one logfmt line in our own format. */
static void assert_logfmt(const char *line, const char *level, const char *event)
{
    char want[128];
    snprintf(want, sizeof(want), " level=%s svc=bridge event=%s ", level, event);
    if (strncmp(line, "ts=", 3) != 0 || !strstr(line, want) || !strstr(line, " msg=") ||
        strchr(line, '\n'))
        fail_msg("not a logfmt line with%s msg=...: %s", want, line);
    /* Libraries' trailing newlines are stripped, not escaped. */
    if (strstr(line, "\\n\"") || strstr(line, "\\n "))
        fail_msg("escaped trailing newline in: %s", line);
}

static int group_setup(void **state)
{
    (void)state;
    if (pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    log_init("bridge", LOG_LEVEL_DEBUG, g_pipe[1]);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    log_init("rampart", LOG_LEVEL_INFO, 2);
    close(g_pipe[0]);
    close(g_pipe[1]);
    return 0;
}

static int test_setup(void **state)
{
    (void)state;
    log_set_level(LOG_LEVEL_DEBUG);
    reset_output();
    return 0;
}

/* ---- libmicrohttpd ------------------------------------------------------------------------- */

static enum MHD_Result mhd_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                   const char *method, const char *version, const char *data,
                                   size_t *data_size, void **con_cls)
{
    (void)cls, (void)conn, (void)url, (void)method, (void)version, (void)data;
    (void)data_size, (void)con_cls;
    return MHD_NO;
}

static void test_mhd_bind_failure(void **state)
{
    (void)state;
    /* Hold a port, then ask MHD to listen on it: MHD reports the failed bind. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t salen = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
    uint16_t port = ntohs(sa.sin_port);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, mhd_handler, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, log_bridge_mhd, NULL, MHD_OPTION_END);
    if (d)
        MHD_stop_daemon(d);
    close(fd);
    assert_null(d);
    const char *line = FIND("event=lib.mhd", "bind");
    assert_logfmt(line, "warn", "lib.mhd");
}

static void call_mhd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_bridge_mhd(NULL, fmt, ap);
    va_end(ap);
}

static void test_mhd_format_and_level(void **state)
{
    (void)state;
    call_mhd("Error %d on \"%s\"\n", 7, "conn");
    const char *line = FIND("event=lib.mhd");
    assert_logfmt(line, "warn", "lib.mhd");
    assert_non_null(strstr(line, " msg=\"Error 7 on \\\"conn\\\"\""));

    log_set_level(LOG_LEVEL_ERROR);
    reset_output();
    call_mhd("dropped %d\n", 1);
    drain();
    assert_string_equal(g_out, "");
}

/* ---- librdkafka -------------------------------------------------------------------------- */

static void test_rdkafka(void **state)
{
    (void)state;
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    log_bridge_rdkafka(conf);
    log_bridge_rdkafka(conf); /* idempotent */
    log_bridge_rdkafka(NULL);
    /* No bootstrap.servers: librdkafka warns about it while creating the client. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    const char *line = FIND("event=lib.rdkafka", "bootstrap.servers");
    assert_logfmt(line, "info", "lib.rdkafka");
    assert_non_null(strstr(line, " fac=CONFWARN "));
    rd_kafka_destroy(rk);
}

/* ---- mongo-c-driver ------------------------------------------------------------------------ */

static void test_mongoc(void **state)
{
    (void)state;
    mongoc_init();
    log_bridge_mongoc();
    log_bridge_mongoc();
    /* The driver itself logs a warning about an unparsable URI. */
    mongoc_client_t *client = mongoc_client_new("not a mongodb uri");
    assert_null(client);
    const char *line = FIND("event=lib.mongoc", "URI");
    assert_logfmt(line, "warn", "lib.mongoc");
    assert_non_null(strstr(line, " domain=client "));

    reset_output();
    mongoc_log(MONGOC_LOG_LEVEL_CRITICAL, "test", "bad %s", "thing");
    line = FIND("event=lib.mongoc", "bad thing");
    assert_logfmt(line, "error", "lib.mongoc");
    assert_non_null(strstr(line, " domain=test msg=\"bad thing\""));

    reset_output();
    mongoc_log(MONGOC_LOG_LEVEL_DEBUG, "test", "details");
    line = FIND("event=lib.mongoc", "details");
    assert_logfmt(line, "debug", "lib.mongoc");

    log_set_level(LOG_LEVEL_INFO);
    reset_output();
    mongoc_log(MONGOC_LOG_LEVEL_DEBUG, "test", "dropped");
    drain();
    assert_string_equal(g_out, "");

    mongoc_log_set_handler(NULL, NULL);
    mongoc_cleanup();
}

/* ---- gRPC core ------------------------------------------------------------------------------ */

static void test_grpc(void **state)
{
    (void)state;
    log_bridge_grpc();
    gpr_log(GPR_ERROR, "bridge test %d", 42);
    const char *line = FIND("event=lib.grpc", "bridge test 42");
    assert_logfmt(line, "error", "lib.grpc");
    assert_non_null(strstr(line, " at=test_log_bridge.c:") || strstr(line, "/test_log_bridge.c:"));
    assert_non_null(strstr(line, " msg=\"bridge test 42\""));

    reset_output();
    gpr_log(GPR_DEBUG, "debug %s", "line");
    line = FIND("event=lib.grpc", "debug line");
    assert_logfmt(line, "debug", "lib.grpc");

    /* At our warn level the bridge tells gpr to skip its info and debug messages. */
    log_set_level(LOG_LEVEL_WARN);
    log_bridge_grpc();
    assert_false(gpr_should_log(GPR_LOG_SEVERITY_INFO));
    assert_true(gpr_should_log(GPR_LOG_SEVERITY_ERROR));
    reset_output();
    gpr_log(GPR_INFO, "dropped");
    drain();
    assert_string_equal(g_out, "");
    log_set_level(LOG_LEVEL_DEBUG);
    log_bridge_grpc();
    assert_true(gpr_should_log(GPR_LOG_SEVERITY_DEBUG));
}

/* ---- libbpf --------------------------------------------------------------------------------- */

static void test_libbpf(void **state)
{
    (void)state;
    log_bridge_libbpf();
    log_bridge_libbpf();
    struct bpf_object *obj = bpf_object__open_file("/nonexistent/rampart-test.bpf.o", NULL);
    assert_null(obj);
    const char *line = FIND("event=lib.libbpf", "failed to open /nonexistent/rampart-test.bpf.o");
    assert_logfmt(line, "warn", "lib.libbpf");
    /* The message ends where libbpf's text ends: the '\n' is gone. */
    assert_non_null(strstr(line, "No such file or directory\""));

    log_set_level(LOG_LEVEL_ERROR);
    reset_output();
    obj = bpf_object__open_file("/nonexistent/rampart-test.bpf.o", NULL);
    assert_null(obj);
    drain();
    assert_string_equal(g_out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_mhd_bind_failure, test_setup),
        cmocka_unit_test_setup(test_mhd_format_and_level, test_setup),
        cmocka_unit_test_setup(test_rdkafka, test_setup),
        cmocka_unit_test_setup(test_mongoc, test_setup),
        cmocka_unit_test_setup(test_grpc, test_setup),
        cmocka_unit_test_setup(test_libbpf, test_setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
