/* Unit tests for common/metrics.c: series identity, the exposition text, number formatting,
 * label escaping, concurrent updates and the panic on a type or help mismatch. */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/metrics.h"

static char *render(metrics_registry_t *reg)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(metrics_render(reg, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

static void test_empty_registry(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    char *text = render(reg);
    assert_string_equal(text, "");
    free(text);
    metrics_registry_free(reg);
    metrics_registry_free(NULL);
}

static void test_counter_identity_and_value(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter_t *a = metrics_counter(reg, "x_total", "X", "k=\"a\"");
    metrics_counter_t *b = metrics_counter(reg, "x_total", "X", "k=\"b\"");
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(a, metrics_counter(reg, "x_total", "X", "k=\"a\""));
    /* NULL and "" are the same empty label set */
    assert_ptr_equal(metrics_counter(reg, "y_total", "Y", NULL),
                     metrics_counter(reg, "y_total", "Y", ""));
    metrics_counter_inc(a);
    metrics_counter_add(a, 41);
    assert_int_equal(metrics_counter_value(a), 42);
    assert_int_equal(metrics_counter_value(b), 0);
    metrics_registry_free(reg);
}

static void test_render_grouped_in_order(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter_add(metrics_counter(reg, "req_total", "Requests", "code=\"200\""), 7);
    metrics_gauge_set(metrics_gauge(reg, "temp", "Temperature", NULL), 21.5);
    metrics_counter_add(metrics_counter(reg, "req_total", "Requests", "code=\"500\""), 1);
    metrics_gauge_set(metrics_gauge(reg, "temp", "Temperature", "room=\"b\""), -3);
    char *text = render(reg);
    assert_string_equal(text, "# HELP req_total Requests\n"
                              "# TYPE req_total counter\n"
                              "req_total{code=\"200\"} 7\n"
                              "req_total{code=\"500\"} 1\n"
                              "# HELP temp Temperature\n"
                              "# TYPE temp gauge\n"
                              "temp 21.5\n"
                              "temp{room=\"b\"} -3\n");
    free(text);
    metrics_registry_free(reg);
}

/* The rendered "g ..." line. gcc 12 at -O2 and above reports the pointer into text as
 * dangling although it is only read before free() (a known false positive of
 * -Wdangling-pointer); the warning is silenced for this function alone. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
static void expect_gauge_line(metrics_registry_t *reg, const char *want)
{
    char *text = render(reg);
    const char *line = strstr(text, "\ng ");
    char got[64] = "";
    if (line)
        snprintf(got, sizeof(got), "%s", line + 1);
    free(text);
    assert_string_equal(got, want);
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

static void test_gauge_values(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    metrics_gauge_t *g = metrics_gauge(reg, "g", "G", NULL);
    assert_true(metrics_gauge_value(g) == 0.0);
    metrics_gauge_set(g, 0.1);
    metrics_gauge_add(g, 0.2);
    assert_true(metrics_gauge_value(g) == 0.1 + 0.2);
    char *text = render(reg);
    /* shortest text that reads back as the same double */
    assert_non_null(strstr(text, "\ng 0.30000000000000004\n"));
    free(text);

    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {1.0, "g 1\n"},         {0.5, "g 0.5\n"},
        {1e-7, "g 1e-07\n"},    {123456789.0, "g 123456789\n"},
        {INFINITY, "g +Inf\n"}, {-INFINITY, "g -Inf\n"},
        {NAN, "g NaN\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        metrics_gauge_set(g, cases[i].v);
        expect_gauge_line(reg, cases[i].want);
    }
    metrics_registry_free(reg);
}

static double forty_two(void *ud)
{
    return *(double *)ud;
}

static void test_gauge_fn(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    double v = 42;
    metrics_gauge_fn(reg, "live", "Computed", "a=\"1\"", forty_two, &v);
    char *text = render(reg);
    assert_non_null(strstr(text, "# TYPE live gauge\nlive{a=\"1\"} 42\n"));
    free(text);
    v = 0.25;
    text = render(reg);
    assert_non_null(strstr(text, "live{a=\"1\"} 0.25\n"));
    free(text);
    metrics_registry_free(reg);
}

static void test_histogram(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    const double bounds[] = {0.25, 1, 10};
    metrics_histogram_t *h =
        metrics_histogram(reg, "lat_seconds", "Latency", "r=\"/x\"", bounds, 3);
    assert_ptr_equal(h, metrics_histogram(reg, "lat_seconds", "Latency", "r=\"/x\"", bounds, 3));
    metrics_histogram_observe(h, 0.125);
    metrics_histogram_observe(h, 0.25); /* upper bounds are inclusive */
    metrics_histogram_observe(h, 0.5);
    metrics_histogram_observe(h, 100);
    metrics_histogram_t *plain = metrics_histogram(reg, "size", "Sizes", NULL, bounds, 3);
    metrics_histogram_observe(plain, 2);
    char *text = render(reg);
    assert_string_equal(text, "# HELP lat_seconds Latency\n"
                              "# TYPE lat_seconds histogram\n"
                              "lat_seconds_bucket{r=\"/x\",le=\"0.25\"} 2\n"
                              "lat_seconds_bucket{r=\"/x\",le=\"1\"} 3\n"
                              "lat_seconds_bucket{r=\"/x\",le=\"10\"} 3\n"
                              "lat_seconds_bucket{r=\"/x\",le=\"+Inf\"} 4\n"
                              "lat_seconds_sum{r=\"/x\"} 100.875\n"
                              "lat_seconds_count{r=\"/x\"} 4\n"
                              "# HELP size Sizes\n"
                              "# TYPE size histogram\n"
                              "size_bucket{le=\"0.25\"} 0\n"
                              "size_bucket{le=\"1\"} 0\n"
                              "size_bucket{le=\"10\"} 1\n"
                              "size_bucket{le=\"+Inf\"} 1\n"
                              "size_sum 2\n"
                              "size_count 1\n");
    free(text);
    metrics_registry_free(reg);
}

static void test_histogram_default_buckets(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    metrics_histogram_t *h = metrics_histogram(reg, "d_seconds", "D", NULL, NULL, 0);
    metrics_histogram_observe(h, 0.0001);
    char *text = render(reg);
    assert_non_null(strstr(text, "d_seconds_bucket{le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(text, "d_seconds_bucket{le=\"10\"} 1\n"));
    assert_non_null(strstr(text, "d_seconds_bucket{le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "d_seconds_count 1\n"));
    free(text);
    metrics_registry_free(reg);
}

static void test_help_escaping(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter(reg, "e_total", "a\\b\nc", NULL);
    char *text = render(reg);
    assert_non_null(strstr(text, "# HELP e_total a\\\\b\\nc\n"));
    free(text);
    metrics_registry_free(reg);
}

static void test_label_escape(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(metrics_label_escape(buf, sizeof(buf), "plain"), "plain");
    assert_string_equal(metrics_label_escape(buf, sizeof(buf), "a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    assert_string_equal(metrics_label_escape(buf, sizeof(buf), ""), "");
    /* truncation never splits an escape and always terminates */
    char small[4];
    assert_string_equal(metrics_label_escape(small, sizeof(small), "ab\"c"), "ab");
    assert_string_equal(metrics_label_escape(small, sizeof(small), "abcdef"), "abc");
}

#define THREADS 8
#define ROUNDS  20000

typedef struct {
    metrics_registry_t *reg;
    metrics_counter_t *c;
    metrics_gauge_t *g;
    metrics_histogram_t *h;
} shared_t;

static void *hammer(void *arg)
{
    shared_t *s = arg;
    for (int i = 0; i < ROUNDS; i++) {
        metrics_counter_inc(s->c);
        metrics_gauge_add(s->g, 1.0);
        metrics_histogram_observe(s->h, 0.5);
        if (i % 1000 == 0) {
            char lbl[32];
            snprintf(lbl, sizeof(lbl), "i=\"%d\"", i);
            metrics_counter_inc(metrics_counter(s->reg, "dyn_total", "Dynamic", lbl));
        }
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    shared_t s = {
        .reg = reg,
        .c = metrics_counter(reg, "c_total", "C", NULL),
        .g = metrics_gauge(reg, "g", "G", NULL),
        .h = metrics_histogram(reg, "h", "H", NULL, NULL, 0),
    };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &s), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(metrics_counter_value(s.c), THREADS * ROUNDS);
    assert_true(metrics_gauge_value(s.g) == (double)(THREADS * ROUNDS));
    char *text = render(reg);
    char want[128];
    snprintf(want, sizeof(want), "h_count %d\n", THREADS * ROUNDS);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "h_sum %d\n", THREADS * ROUNDS / 2);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof(want), "dyn_total{i=\"0\"} %d\n", THREADS);
    assert_non_null(strstr(text, want));
    free(text);
    metrics_registry_free(reg);
}

static void test_many_series(void **state)
{
    (void)state;
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter_t *cs[500];
    for (int i = 0; i < 500; i++) {
        char lbl[32];
        snprintf(lbl, sizeof(lbl), "n=\"%d\"", i);
        cs[i] = metrics_counter(reg, "many_total", "Many", lbl);
        metrics_counter_add(cs[i], (uint64_t)i);
    }
    for (int i = 0; i < 500; i++) {
        char lbl[32];
        snprintf(lbl, sizeof(lbl), "n=\"%d\"", i);
        assert_ptr_equal(cs[i], metrics_counter(reg, "many_total", "Many", lbl));
    }
    char *text = render(reg);
    /* registration order survives the hash growing */
    assert_true(strstr(text, "many_total{n=\"10\"} 10\n") < strstr(text, "many_total{n=\"499\"}"));
    free(text);
    metrics_registry_free(reg);
}

/* Runs fn in a child and reports whether it died of SIGABRT. */
static int dies_with_abort(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        log_init("test", LOG_LEVEL_FATAL, open("/dev/null", O_WRONLY));
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void type_mismatch(void)
{
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter(reg, "m", "M", NULL);
    metrics_gauge(reg, "m", "M", "x=\"1\"");
}

static void help_mismatch(void)
{
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter(reg, "m", "M", NULL);
    metrics_counter(reg, "m", "other help", NULL);
}

static void bad_name(void)
{
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter(reg, "1bad name", "M", NULL);
}

static void fine(void)
{
    metrics_registry_t *reg = metrics_registry_new();
    metrics_counter(reg, "m", "M", NULL);
    metrics_counter(reg, "m", "M", "x=\"1\"");
    metrics_registry_free(reg);
}

static void test_mismatch_panics(void **state)
{
    (void)state;
    assert_true(dies_with_abort(type_mismatch));
    assert_true(dies_with_abort(help_mismatch));
    assert_true(dies_with_abort(bad_name));
    assert_false(dies_with_abort(fine));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_registry),
        cmocka_unit_test(test_counter_identity_and_value),
        cmocka_unit_test(test_render_grouped_in_order),
        cmocka_unit_test(test_gauge_values),
        cmocka_unit_test(test_gauge_fn),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_default_buckets),
        cmocka_unit_test(test_help_escaping),
        cmocka_unit_test(test_label_escape),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_many_series),
        cmocka_unit_test(test_mismatch_panics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
