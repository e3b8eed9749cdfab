/* Unit tests for common/log.c: level names, filtering, the logfmt line and log_quote. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

static int g_pipe[2] = {-1, -1};

/* Everything the logger wrote since the last call, NUL-terminated (static buffer). */
static const char *drain(void)
{
    static char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(g_pipe[0], buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static int setup(void **state)
{
    (void)state;
    if (pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    log_init("test", LOG_LEVEL_DEBUG, g_pipe[1]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    log_init("rampart", LOG_LEVEL_INFO, 2);
    close(g_pipe[0]);
    close(g_pipe[1]);
    return 0;
}

/* Each test starts with an empty pipe and the debug level. */
static int reset(void **state)
{
    (void)state;
    log_init("test", LOG_LEVEL_DEBUG, g_pipe[1]);
    drain();
    return 0;
}

static void test_level_parse(void **state)
{
    (void)state;
    log_level_t l = LOG_LEVEL_FATAL;
    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("INFO", &l), 0);
    assert_int_equal(l, LOG_LEVEL_INFO);
    assert_int_equal(log_level_parse("Warn", &l), 0);
    assert_int_equal(l, LOG_LEVEL_WARN);
    l = LOG_LEVEL_DEBUG;
    assert_int_equal(log_level_parse("warning", &l), 0);
    assert_int_equal(l, LOG_LEVEL_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOG_LEVEL_ERROR);
    assert_int_equal(log_level_parse("FATAL", &l), 0);
    assert_int_equal(l, LOG_LEVEL_FATAL);

    l = LOG_LEVEL_INFO;
    assert_int_equal(log_level_parse("verbose", &l), -EINVAL);
    assert_int_equal(log_level_parse("", &l), -EINVAL);
    assert_int_equal(log_level_parse("info ", &l), -EINVAL);
    assert_int_equal(log_level_parse(NULL, &l), -EINVAL);
    assert_int_equal(l, LOG_LEVEL_INFO); /* untouched on error */
}

static void test_level_name(void **state)
{
    (void)state;
    assert_string_equal(log_level_name(LOG_LEVEL_DEBUG), "debug");
    assert_string_equal(log_level_name(LOG_LEVEL_INFO), "info");
    assert_string_equal(log_level_name(LOG_LEVEL_WARN), "warn");
    assert_string_equal(log_level_name(LOG_LEVEL_ERROR), "error");
    assert_string_equal(log_level_name(LOG_LEVEL_FATAL), "fatal");
    assert_string_equal(log_level_name((log_level_t)17), "unknown");
    assert_string_equal(log_level_name((log_level_t)-1), "unknown");
}

static int g_evaluated;

static int side_effect(void)
{
    g_evaluated++;
    return 7;
}

static void test_filtering(void **state)
{
    (void)state;
    log_set_level(LOG_LEVEL_WARN);
    assert_false(log_enabled(LOG_LEVEL_DEBUG));
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_WARN));
    assert_true(log_enabled(LOG_LEVEL_ERROR));

    g_evaluated = 0;
    LOG_DEBUG("dropped", "n=%d", side_effect());
    LOG_INFO("dropped", "n=%d", side_effect());
    assert_int_equal(g_evaluated, 0); /* arguments are not even evaluated */
    log_write(LOG_LEVEL_INFO, "dropped", "direct=1");
    assert_string_equal(drain(), "");

    LOG_WARN("kept", "n=%d", side_effect());
    LOG_ERROR("kept2", NULL);
    assert_int_equal(g_evaluated, 1);
    const char *out = drain();
    assert_non_null(strstr(out, "level=warn svc=test event=kept n=7\n"));
    assert_non_null(strstr(out, "level=error svc=test event=kept2\n"));
    assert_null(strstr(out, "dropped"));
    assert_int_equal(count_char(out, '\n'), 2);

    log_set_level(LOG_LEVEL_DEBUG);
    LOG_DEBUG("now", "x=1");
    assert_non_null(strstr(drain(), "level=debug svc=test event=now x=1\n"));

    /* log_init sets the level too. */
    log_init("other", LOG_LEVEL_ERROR, g_pipe[1]);
    LOG_WARN("dropped", "x=1");
    LOG_ERROR("kept", "x=1");
    out = drain();
    assert_null(strstr(out, "dropped"));
    assert_non_null(strstr(out, "svc=other event=kept"));
}

static void assert_matches(const char *s, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, s, 0, NULL, 0);
    regfree(&re);
    if (rc != 0)
        fail_msg("\"%s\" does not match /%s/", s, pattern);
}

/* Passes fmt through without a format attribute, so an empty format compiles. */
static void write_fmt(log_level_t level, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, event, fmt, ap);
    va_end(ap);
}

#define TS "ts=[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z"

static void test_line_shape(void **state)
{
    (void)state;
    char q[64];
    LOG_INFO("registered", "name=%s port=%d", "hub", 6761);
    assert_matches(drain(), "^" TS " level=info svc=test event=registered name=hub port=6761\n$");

    LOG_WARN("quoted", "err=%s", log_quote(q, sizeof(q), "connection refused"));
    assert_matches(drain(),
                   "^" TS " level=warn svc=test event=quoted err=\"connection refused\"\n$");

    /* No pairs: nothing after the event, not even a space. */
    log_write(LOG_LEVEL_INFO, "bare", NULL);
    assert_matches(drain(), "^" TS " level=info svc=test event=bare\n$");
    write_fmt(LOG_LEVEL_INFO, "bare", "");
    assert_matches(drain(), "^" TS " level=info svc=test event=bare\n$");

    /* A missing event name still gives an event= field. */
    log_write(LOG_LEVEL_ERROR, NULL, "a=1");
    assert_matches(drain(), "^" TS " level=error svc=test event=log a=1\n$");

    /* The service name is set by log_init; NULL means "rampart". */
    log_init(NULL, LOG_LEVEL_DEBUG, g_pipe[1]);
    LOG_INFO("x", "y=1");
    assert_matches(drain(), "^" TS " level=info svc=rampart event=x y=1\n$");
}

static void test_one_line_per_event(void **state)
{
    (void)state;
    LOG_INFO("multi", "msg=%s", "first\nsecond\r\nthird\n");
    const char *out = drain();
    assert_int_equal(count_char(out, '\n'), 1);
    assert_int_equal(out[strlen(out) - 1], '\n');
    assert_null(strchr(out, '\r'));
    assert_non_null(strstr(out, "msg=first second  third \n"));

    /* Two events, two lines, in order. */
    LOG_INFO("a", NULL);
    LOG_INFO("b", NULL);
    out = drain();
    assert_int_equal(count_char(out, '\n'), 2);
    assert_true(strstr(out, "event=a\n") < strstr(out, "event=b\n"));
}

static void test_long_line_truncated(void **state)
{
    (void)state;
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'x', 9999);
    big[9999] = '\0';
    LOG_INFO("big", "v=%s", big);
    const char *out = drain();
    size_t len = strlen(out);
    assert_true(len > 4000);
    assert_true(len <= 4097);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_int_equal(out[len - 1], '\n');
    assert_non_null(strstr(out, "event=big v=xxxx"));
    free(big);

    /* An event name longer than the line still gives one terminated line. */
    char *ev = malloc(5000);
    assert_non_null(ev);
    memset(ev, 'e', 4999);
    ev[4999] = '\0';
    log_write(LOG_LEVEL_INFO, ev, "k=v");
    out = drain();
    len = strlen(out);
    assert_true(len <= 4097);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_int_equal(out[len - 1], '\n');
    free(ev);
}

static void test_quote_plain(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(log_quote(buf, sizeof(buf), "hub"), "hub");
    assert_string_equal(log_quote(buf, sizeof(buf), "10.0.0.7:6761"), "10.0.0.7:6761");
    assert_ptr_equal(log_quote(buf, sizeof(buf), "x"), buf);
    /* Empty and NULL need quotes, or the pair would read as k= with a missing value. */
    assert_string_equal(log_quote(buf, sizeof(buf), ""), "\"\"");
    assert_string_equal(log_quote(buf, sizeof(buf), NULL), "\"\"");
}

static void test_quote_escapes(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(log_quote(buf, sizeof(buf), "a b"), "\"a b\"");
    assert_string_equal(log_quote(buf, sizeof(buf), "k=v"), "\"k=v\"");
    assert_string_equal(log_quote(buf, sizeof(buf), "say \"hi\""), "\"say \\\"hi\\\"\"");
    assert_string_equal(log_quote(buf, sizeof(buf), "C:\\dir"), "\"C:\\\\dir\"");
    assert_string_equal(log_quote(buf, sizeof(buf), "a\nb\rc\td"), "\"a\\nb\\rc\\td\"");
    assert_string_equal(log_quote(buf, sizeof(buf), "\x01\x1f\x7f"), "\"\\x01\\x1f\\x7f\"");
    /* UTF-8 is kept as is, but quoted. */
    assert_string_equal(log_quote(buf, sizeof(buf), "caf\xc3\xa9"), "\"caf\xc3\xa9\"");
}

static void test_quote_truncation(void **state)
{
    (void)state;
    char buf[16];
    char big[100];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    /* A plain value too long for the buffer is quoted and cut with "...". */
    const char *q = log_quote(buf, sizeof(buf), big);
    assert_true(strlen(q) < sizeof(buf));
    assert_string_equal(q, "\"aaaaaaaaaa...\"");

    /* An escape sequence is never cut in half. */
    memset(big, '\n', 20);
    big[20] = '\0';
    q = log_quote(buf, sizeof(buf), big);
    assert_true(strlen(q) < sizeof(buf));
    assert_string_equal(q, "\"\\n\\n\\n\\n\\n...\"");

    /* A quoted value that fits exactly is not truncated. */
    assert_string_equal(log_quote(buf, sizeof(buf), "a b c d e f g"), "\"a b c d e f g\"");
    assert_string_equal(log_quote(buf, 10, "a b c d"), "\"a b c d\"");
    assert_string_equal(log_quote(buf, 10, "a b c d e"), "\"a b ...\"");
    /* A plain value that fits exactly with its NUL stays plain. */
    assert_string_equal(log_quote(buf, 10, "abcdefghi"), "abcdefghi");

    /* Tiny buffers get an empty string, never an overflow. */
    memset(buf, 'z', sizeof(buf));
    assert_string_equal(log_quote(buf, 4, "hello world"), "");
    assert_int_equal(buf[4], 'z');
    buf[0] = 'z';
    log_quote(buf, 0, "x");
    assert_int_equal(buf[0], 'z');
}

static void test_quote_in_line(void **state)
{
    (void)state;
    char q[64];
    LOG_ERROR("failed", "err=%s path=%s", log_quote(q, sizeof(q), "line1\nline2 \"x\""), "/tmp");
    const char *out = drain();
    assert_int_equal(count_char(out, '\n'), 1);
    assert_non_null(strstr(out, "event=failed err=\"line1\\nline2 \\\"x\\\"\" path=/tmp\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_level_name),
        cmocka_unit_test_setup(test_filtering, reset),
        cmocka_unit_test_setup(test_line_shape, reset),
        cmocka_unit_test_setup(test_one_line_per_event, reset),
        cmocka_unit_test_setup(test_long_line_truncated, reset),
        cmocka_unit_test(test_quote_plain),
        cmocka_unit_test(test_quote_escapes),
        cmocka_unit_test(test_quote_truncation),
        cmocka_unit_test_setup(test_quote_in_line, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
