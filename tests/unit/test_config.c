/* Unit tests for common/config.c: types, defaults, files, env overrides and error messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"

#define PREFIX "RAMPART_TEST_"

typedef struct {
    char *name;
    char *listen;
    int64_t port;
    bool verbose;
    int64_t timeout_ms;
    int64_t max_body;
    char **peers;
    int64_t retries;
    char *secret;
} test_config_t;

#define OPT(k, t, f, d, lo, hi, h)                                                                 \
    {                                                                                              \
        k, t, offsetof(test_config_t, f), d, lo, hi, h                                             \
    }

/* Every type, a bound on each numeric type, and one required key. */
static const config_option_t opts[] = {
    OPT("name", CONFIG_STRING, name, "rampart", 0, 0, "instance name"),
    OPT("http.listen", CONFIG_STRING, listen, "127.0.0.1", 0, 0, "listen address"),
    OPT("http.port", CONFIG_INT, port, "8088", 1, 65535, "listen port"),
    OPT("log.verbose", CONFIG_BOOL, verbose, "false", 0, 0, "chatty logs"),
    OPT("http.timeout", CONFIG_DURATION, timeout_ms, "30s", 10, 3600000, "idle timeout"),
    OPT("http.max_body", CONFIG_SIZE, max_body, "64KiB", 1024, 16 << 20, "body limit"),
    OPT("cluster.peers", CONFIG_LIST, peers, "a.example, b.example", 0, 0, "peer addresses"),
    OPT("cluster.retry.count", CONFIG_INT, retries, "-1", 0, 0, "retries, -1 = forever"),
    OPT("auth.secret", CONFIG_STRING, secret, NULL, 0, 0, "shared secret"),
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static const char *const env_vars[] = {
    PREFIX "NAME",          PREFIX "HTTP_LISTEN",         PREFIX "HTTP_PORT",
    PREFIX "LOG_VERBOSE",   PREFIX "HTTP_TIMEOUT",        PREFIX "HTTP_MAX_BODY",
    PREFIX "CLUSTER_PEERS", PREFIX "CLUSTER_RETRY_COUNT", PREFIX "AUTH_SECRET",
};

static char g_path[64];
static char g_err[512];
static test_config_t g_cfg;

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    g_path[0] = '\0';
    g_err[0] = '\0';
    memset(&g_cfg, 0xa5, sizeof(g_cfg)); /* config_load must not trust what is there */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    config_dispose(opts, NOPTS, &g_cfg);
    clear_env();
    if (g_path[0])
        unlink(g_path);
    return 0;
}

/* Writes text to a fresh temp file; g_path names it (removed by teardown). */
static const char *write_file(const char *text)
{
    if (g_path[0])
        unlink(g_path);
    snprintf(g_path, sizeof(g_path), "/tmp/rampart-test-config-XXXXXX");
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return g_path;
}

static int load_text(const char *yaml)
{
    const char *path = yaml ? write_file(yaml) : NULL;
    return config_load(opts, NOPTS, &g_cfg, path, PREFIX, g_err, sizeof(g_err));
}

/* Loads yaml, expects -EINVAL and the error "<file>:<suffix>". */
static void expect_file_error(const char *yaml, const char *suffix)
{
    assert_int_equal(load_text(yaml), -EINVAL);
    char want[600];
    snprintf(want, sizeof(want), "%s:%s", g_path, suffix);
    assert_string_equal(g_err, want);
    /* dst is disposed on error. */
    assert_null(g_cfg.name);
    assert_null(g_cfg.peers);
}

static void assert_list(char **list, const char *const *want, size_t n)
{
    assert_non_null(list);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(list[i]);
        assert_string_equal(list[i], want[i]);
    }
    assert_null(list[n]);
}

/* ---- defaults and required keys --------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    setenv(PREFIX "AUTH_SECRET", "s3", 1);
    assert_int_equal(load_text(NULL), 0);
    assert_string_equal(g_err, "");
    assert_string_equal(g_cfg.name, "rampart");
    assert_string_equal(g_cfg.listen, "127.0.0.1");
    assert_int_equal(g_cfg.port, 8088);
    assert_false(g_cfg.verbose);
    assert_int_equal(g_cfg.timeout_ms, 30000);
    assert_int_equal(g_cfg.max_body, 65536);
    assert_list(g_cfg.peers, (const char *const[]){"a.example", "b.example"}, 2);
    assert_int_equal(g_cfg.retries, -1);
    assert_string_equal(g_cfg.secret, "s3");
}

static void test_required_missing(void **state)
{
    (void)state;
    assert_int_equal(load_text(NULL), -EINVAL);
    assert_string_equal(g_err, "auth.secret: required (set it in the config file or with env "
                               "RAMPART_TEST_AUTH_SECRET)");
    assert_null(g_cfg.name);
    assert_null(g_cfg.peers);

    /* Without an env prefix the message only points at the file. */
    assert_int_equal(config_load(opts, NOPTS, &g_cfg, NULL, NULL, g_err, sizeof(g_err)), -EINVAL);
    assert_string_equal(g_err, "auth.secret: required (set it in the config file)");
}

static void test_required_from_file(void **state)
{
    (void)state;
    assert_int_equal(load_text("auth:\n  secret: hunter2\n"), 0);
    assert_string_equal(g_cfg.secret, "hunter2");
}

static void test_bad_default(void **state)
{
    (void)state;
    memset(&g_cfg, 0, sizeof(g_cfg)); /* these tables own only g_cfg.port */
    static const config_option_t bad[] = {
        OPT("http.port", CONFIG_INT, port, "80x", 0, 0, "port"),
    };
    assert_int_equal(config_load(bad, 1, &g_cfg, NULL, NULL, g_err, sizeof(g_err)), -EINVAL);
    assert_string_equal(g_err, "default: http.port: expected an integer, got \"80x\"");
    static const config_option_t out[] = {
        OPT("http.port", CONFIG_INT, port, "0", 1, 10, "port"),
    };
    assert_int_equal(config_load(out, 1, &g_cfg, NULL, NULL, g_err, sizeof(g_err)), -EINVAL);
    assert_string_equal(g_err, "default: http.port: 0 is below the minimum 1");
}

/* ---- every type from a file -------------------------------------------------------------- */

static void test_file_all_types(void **state)
{
    (void)state;
    assert_int_equal(load_text("# comment\n"
                               "name: edge-1\n"
                               "http:\n"
                               "  listen: \"0.0.0.0\"\n"
                               "  port: 9000\n"
                               "  timeout: 5m\n"
                               "  max_body: 2MiB\n"
                               "log: {verbose: yes}\n"
                               "cluster:\n"
                               "  peers:\n"
                               "    - x:1\n"
                               "    - 'y z'\n"
                               "  retry:\n"
                               "    count: 3\n"
                               "auth:\n"
                               "  secret: |\n"
                               "    multi\n"
                               "    line\n"),
                     0);
    assert_string_equal(g_cfg.name, "edge-1");
    assert_string_equal(g_cfg.listen, "0.0.0.0");
    assert_int_equal(g_cfg.port, 9000);
    assert_true(g_cfg.verbose);
    assert_int_equal(g_cfg.timeout_ms, 300000);
    assert_int_equal(g_cfg.max_body, 2 << 20);
    assert_list(g_cfg.peers, (const char *const[]){"x:1", "y z"}, 2);
    assert_int_equal(g_cfg.retries, 3);
    assert_string_equal(g_cfg.secret, "multi\nline\n");
}

static void test_dotted_keys_in_file(void **state)
{
    (void)state;
    assert_int_equal(load_text("http.port: 81\nauth.secret: s\ncluster:\n  retry.count: 4\n"), 0);
    assert_int_equal(g_cfg.port, 81);
    assert_int_equal(g_cfg.retries, 4);
}

static void test_empty_file(void **state)
{
    (void)state;
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    assert_int_equal(load_text(""), 0);
    assert_int_equal(g_cfg.port, 8088);
    config_dispose(opts, NOPTS, &g_cfg);
    assert_int_equal(load_text("# only a comment\n---\n"), 0);
    config_dispose(opts, NOPTS, &g_cfg);
    assert_int_equal(load_text("~\n"), 0);
    config_dispose(opts, NOPTS, &g_cfg);
    /* An empty section is fine too. */
    assert_int_equal(load_text("http:\ncluster: {}\n"), 0);
    assert_int_equal(g_cfg.port, 8088);
}

static void test_bool_spellings(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool want;
    } cases[] = {
        {"true", true},   {"True", true}, {"yes", true},  {"ON", true}, {"1", true},
        {"false", false}, {"no", false},  {"Off", false}, {"0", false},
    };
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv(PREFIX "LOG_VERBOSE", cases[i].text, 1);
        assert_int_equal(load_text(NULL), 0);
        assert_int_equal(g_cfg.verbose, cases[i].want);
        config_dispose(opts, NOPTS, &g_cfg);
    }
    setenv(PREFIX "LOG_VERBOSE", "maybe", 1);
    assert_int_equal(load_text(NULL), -EINVAL);
    assert_string_equal(g_err, "env RAMPART_TEST_LOG_VERBOSE: log.verbose: expected true or "
                               "false (also yes/no, on/off, 1/0), got \"maybe\"");
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        {"250ms", 250}, {"250", 250}, {"30s", 30000}, {"5m", 300000}, {"1h", 3600000}, {"10", 10},
    };
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv(PREFIX "HTTP_TIMEOUT", cases[i].text, 1);
        assert_int_equal(load_text(NULL), 0);
        assert_int_equal(g_cfg.timeout_ms, cases[i].want);
        config_dispose(opts, NOPTS, &g_cfg);
    }
    static const char *const bad[] = {"soon", "", "1.5s", "-5s", "5 s", "5S", "s", "5sec", " 5s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv(PREFIX "HTTP_TIMEOUT", bad[i], 1);
        assert_int_equal(load_text(NULL), -EINVAL);
        char want[200];
        snprintf(want, sizeof(want),
                 "env RAMPART_TEST_HTTP_TIMEOUT: http.timeout: expected a duration such as 30s "
                 "or 500ms, got \"%s\"",
                 bad[i]);
        assert_string_equal(g_err, want);
    }
    setenv(PREFIX "HTTP_TIMEOUT", "9999999999999999h", 1);
    assert_int_equal(load_text(NULL), -EINVAL);
    assert_string_equal(g_err, "env RAMPART_TEST_HTTP_TIMEOUT: http.timeout: "
                               "\"9999999999999999h\" is out of range");
}

static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        {"1024", 1024},  {"64KiB", 65536}, {"64K", 65536}, {"64KB", 65536},     {"1MiB", 1 << 20},
        {"1M", 1 << 20}, {"1MB", 1 << 20}, {"2kib", 2048}, {"16MiB", 16 << 20}, {"1536B", 1536},
    };
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv(PREFIX "HTTP_MAX_BODY", cases[i].text, 1);
        assert_int_equal(load_text(NULL), 0);
        assert_int_equal(g_cfg.max_body, cases[i].want);
        config_dispose(opts, NOPTS, &g_cfg);
    }
    expect_file_error("http:\n  max_body: lots\n",
                      "2: http.max_body: expected a size such as 512, 64KiB or 1MiB, got \"lots\"");
    expect_file_error("http:\n  max_body: 1GiB\n",
                      "2: http.max_body: 1GiB is above the maximum 16MiB");
    expect_file_error("http:\n  max_body: 100\n",
                      "2: http.max_body: 100 is below the minimum 1KiB");
    expect_file_error("http:\n  max_body: 99999999999TiB\n",
                      "2: http.max_body: \"99999999999TiB\" is out of range");
}

static void test_int_strict(void **state)
{
    (void)state;
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    expect_file_error("http:\n  port: 80x\n", "2: http.port: expected an integer, got \"80x\"");
    expect_file_error("http:\n  port: 0x50\n", "2: http.port: expected an integer, got \"0x50\"");
    expect_file_error("http:\n  port: \"\"\n", "2: http.port: expected an integer, got \"\"");
    expect_file_error("http:\n  port: ' 80'\n", "2: http.port: expected an integer, got \" 80\"");
    expect_file_error("http:\n  port: 8.5\n", "2: http.port: expected an integer, got \"8.5\"");
    expect_file_error("cluster:\n  retry:\n    count: 99999999999999999999\n",
                      "3: cluster.retry.count: \"99999999999999999999\" is out of range");
    expect_file_error("cluster:\n  retry:\n    count: -99999999999999999999\n",
                      "3: cluster.retry.count: \"-99999999999999999999\" is out of range");
    /* Without bounds any int64 goes, including the extremes. */
    assert_int_equal(load_text("cluster.retry.count: -9223372036854775808\n"), 0);
    assert_true(g_cfg.retries == INT64_MIN);
    config_dispose(opts, NOPTS, &g_cfg);
    assert_int_equal(load_text("cluster.retry.count: +9223372036854775807\n"), 0);
    assert_true(g_cfg.retries == INT64_MAX);
}

static void test_bounds(void **state)
{
    (void)state;
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    assert_int_equal(load_text("http:\n  port: 65535\n  timeout: 10ms\n"), 0);
    assert_int_equal(g_cfg.port, 65535);
    assert_int_equal(g_cfg.timeout_ms, 10);
    config_dispose(opts, NOPTS, &g_cfg);
    assert_int_equal(load_text("http:\n  port: 1\n  timeout: 1h\n"), 0);
    config_dispose(opts, NOPTS, &g_cfg);

    expect_file_error("http:\n  port: 0\n", "2: http.port: 0 is below the minimum 1");
    expect_file_error("http:\n  port: 70000\n", "2: http.port: 70000 is above the maximum 65535");
    expect_file_error("http:\n  timeout: 5ms\n", "2: http.timeout: 5ms is below the minimum 10ms");
    expect_file_error("http:\n  timeout: 2h\n", "2: http.timeout: 2h is above the maximum 1h");

    setenv(PREFIX "HTTP_PORT", "70000", 1);
    assert_int_equal(load_text(NULL), -EINVAL);
    assert_string_equal(g_err,
                        "env RAMPART_TEST_HTTP_PORT: http.port: 70000 is above the maximum 65535");
}

/* ---- lists ---------------------------------------------------------------------------------- */

static void test_lists(void **state)
{
    (void)state;
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    assert_int_equal(load_text("cluster:\n  peers: [one, \"two, three\"]\n"), 0);
    assert_list(g_cfg.peers, (const char *const[]){"one", "two, three"}, 2);
    config_dispose(opts, NOPTS, &g_cfg);

    assert_int_equal(load_text("cluster:\n  peers: []\n"), 0);
    assert_list(g_cfg.peers, NULL, 0);
    config_dispose(opts, NOPTS, &g_cfg);

    /* env: a comma list, items trimmed, empty items dropped; env beats the file. */
    setenv(PREFIX "CLUSTER_PEERS", " p1 ,p2,,p3 ", 1);
    assert_int_equal(load_text("cluster:\n  peers: [one]\n"), 0);
    assert_list(g_cfg.peers, (const char *const[]){"p1", "p2", "p3"}, 3);
    config_dispose(opts, NOPTS, &g_cfg);

    setenv(PREFIX "CLUSTER_PEERS", "", 1);
    assert_int_equal(load_text(NULL), 0);
    assert_list(g_cfg.peers, NULL, 0);
    config_dispose(opts, NOPTS, &g_cfg);
    unsetenv(PREFIX "CLUSTER_PEERS");

    expect_file_error("cluster:\n  peers: one\n", "2: cluster.peers: expected a list, got \"one\"");
    expect_file_error("cluster:\n  peers:\n    a: 1\n",
                      "3: cluster.peers: expected a list, got a mapping");
    expect_file_error("cluster:\n  peers:\n    - ok\n    - [nested]\n",
                      "4: cluster.peers: list items must be values, got a list");
    expect_file_error("cluster:\n  peers:\n    - ok\n    -\n",
                      "4: cluster.peers: list items must be values, got nothing");
}

/* ---- env overrides and precedence ---------------------------------------------------------- */

static void test_env_precedence(void **state)
{
    (void)state;
    setenv(PREFIX "HTTP_PORT", "9100", 1);
    setenv(PREFIX "NAME", "from-env", 1);
    setenv(PREFIX "AUTH_SECRET", "", 1); /* an empty string is a value */
    assert_int_equal(load_text("name: from-file\nhttp:\n  port: 9000\n  listen: file\n"), 0);
    assert_int_equal(g_cfg.port, 9100);          /* env > file */
    assert_string_equal(g_cfg.name, "from-env"); /* env > file */
    assert_string_equal(g_cfg.listen, "file");   /* file > default */
    assert_int_equal(g_cfg.timeout_ms, 30000);   /* default */
    assert_string_equal(g_cfg.secret, "");

    /* Nested keys: dots become underscores. */
    config_dispose(opts, NOPTS, &g_cfg);
    setenv(PREFIX "CLUSTER_RETRY_COUNT", "12", 1);
    assert_int_equal(load_text(NULL), 0);
    assert_int_equal(g_cfg.retries, 12);

    /* A bad env value names the variable; a file is not needed for that. */
    config_dispose(opts, NOPTS, &g_cfg);
    setenv(PREFIX "HTTP_PORT", "http", 1);
    assert_int_equal(load_text("http:\n  port: 9000\n"), -EINVAL);
    assert_string_equal(g_err, "env RAMPART_TEST_HTTP_PORT: http.port: expected an integer, got "
                               "\"http\"");
    assert_null(g_cfg.name);
}

static void test_env_ignored_without_prefix(void **state)
{
    (void)state;
    setenv(PREFIX "HTTP_PORT", "9100", 1);
    write_file("auth:\n  secret: s\n");
    assert_int_equal(config_load(opts, NOPTS, &g_cfg, g_path, NULL, g_err, sizeof(g_err)), 0);
    assert_int_equal(g_cfg.port, 8088);
}

/* ---- file errors ----------------------------------------------------------------------------- */

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_file_error("name: x\nhtpp:\n  listen: y\n", "2: htpp: unknown key");
    expect_file_error("http:\n  port: 1\n  lisen: y\n", "3: http.lisen: unknown key");
    expect_file_error("cluster:\n  retry:\n    counts: 1\n",
                      "3: cluster.retry.counts: unknown key");
    expect_file_error("\n\nextra: 1\n", "3: extra: unknown key");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_file_error("http:\n  port: 1\n  port: 2\n",
                      "3: http.port: duplicate key (first set at line 2)");
    expect_file_error("http:\n  port: 1\nname: a\nhttp:\n  listen: x\n",
                      "4: http: duplicate key (first set at line 1)");
    expect_file_error("http:\n  port: 1\nhttp.port: 2\n",
                      "3: http.port: duplicate key (first set at line 2)");
}

static void test_wrong_shapes(void **state)
{
    (void)state;
    expect_file_error("http: 8080\n", "1: http: expected a mapping, got \"8080\"");
    expect_file_error("http:\n  - a\n", "2: http: expected a mapping, got a list");
    expect_file_error("http:\n  port:\n    value: 1\n",
                      "3: http.port: expected a value, got a mapping");
    expect_file_error("http:\n  port: [1, 2]\n", "2: http.port: expected a value, got a list");
    expect_file_error("name:\n", "1: name: expected a value, got nothing");
    expect_file_error("- a\n- b\n", "1: (top level): expected a mapping of keys, got a list");
    expect_file_error("just text\n",
                      "1: (top level): expected a mapping of keys, got \"just text\"");
    expect_file_error("? [a, b]\n: c\n", "1: (top level): keys must be plain names, got a list");
    expect_file_error("name: a\n---\nname: b\n",
                      "3: (top level): only one YAML document is allowed");
}

static void test_yaml_syntax_error(void **state)
{
    (void)state;
    assert_int_equal(load_text("name: a\nhttp:\n  port: [1\n"), -EINVAL);
    char want[100];
    snprintf(want, sizeof(want), "%s:", g_path);
    assert_int_equal(strncmp(g_err, want, strlen(want)), 0);
    assert_non_null(strstr(g_err, ": invalid YAML: "));
    /* The line is a number. */
    const char *line = g_err + strlen(want);
    assert_true(line[0] >= '1' && line[0] <= '9');

    assert_int_equal(load_text("name: a\n  bad: indent\n"), -EINVAL);
    snprintf(want, sizeof(want), "%s:2: invalid YAML: ", g_path);
    assert_int_equal(strncmp(g_err, want, strlen(want)), 0);

    /* Bad UTF-8 is found by libyaml's reader, which gives an offset: still a line here. */
    assert_int_equal(load_text("name: a\nhttp:\n  listen: \xff\n"), -EINVAL);
    snprintf(want, sizeof(want), "%s:3: invalid YAML: ", g_path);
    assert_int_equal(strncmp(g_err, want, strlen(want)), 0);
}

static void test_file_read_errors(void **state)
{
    (void)state;
    int rc =
        config_load(opts, NOPTS, &g_cfg, "/nonexistent/rampart.yaml", PREFIX, g_err, sizeof(g_err));
    assert_int_equal(rc, -ENOENT);
    assert_string_equal(g_err, "/nonexistent/rampart.yaml: No such file or directory");
    assert_null(g_cfg.name);

    rc = config_load(opts, NOPTS, &g_cfg, "/tmp", PREFIX, g_err, sizeof(g_err));
    assert_int_equal(rc, -EISDIR);
    assert_string_equal(g_err, "/tmp: Is a directory");
}

static void test_nul_in_value(void **state)
{
    (void)state;
    expect_file_error("name: \"a\\0b\"\n", "1: name: value contains a NUL byte");
}

static void test_long_value_echo_truncated(void **state)
{
    (void)state;
    char yaml[400] = "http:\n  port: ";
    size_t len = strlen(yaml);
    memset(yaml + len, '9', 200);
    memcpy(yaml + len + 200, "x\n", 3);
    assert_int_equal(load_text(yaml), -EINVAL);
    assert_non_null(strstr(g_err, "expected an integer, got \"9999"));
    assert_non_null(strstr(g_err, "...\""));
    assert_true(strlen(g_err) < 200);
}

static void test_err_buffer_small_or_null(void **state)
{
    (void)state;
    char small[8];
    assert_int_equal(config_load(opts, NOPTS, &g_cfg, NULL, PREFIX, small, sizeof(small)), -EINVAL);
    assert_string_equal(small, "auth.se");
    assert_int_equal(config_load(opts, NOPTS, &g_cfg, NULL, PREFIX, NULL, 0), -EINVAL);
}

/* ---- dispose and reference ----------------------------------------------------------------- */

static void test_dispose_twice(void **state)
{
    (void)state;
    setenv(PREFIX "AUTH_SECRET", "s", 1);
    assert_int_equal(load_text(NULL), 0);
    config_dispose(opts, NOPTS, &g_cfg);
    assert_null(g_cfg.name);
    assert_null(g_cfg.listen);
    assert_null(g_cfg.peers);
    assert_null(g_cfg.secret);
    config_dispose(opts, NOPTS, &g_cfg);
    config_dispose(opts, NOPTS, NULL);
}

static void test_print_reference(void **state)
{
    (void)state;
    memset(&g_cfg, 0, sizeof(g_cfg)); /* nothing loaded: teardown disposes an empty struct */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print_reference(opts, NOPTS, PREFIX, f);
    fclose(f);
    assert_non_null(strstr(buf, "http.port (int)\n"));
    assert_non_null(strstr(buf, "RAMPART_TEST_HTTP_PORT"));
    assert_non_null(strstr(buf, "default: 8088"));
    assert_non_null(strstr(buf, "1 .. 65535"));
    assert_non_null(strstr(buf, "listen port"));
    assert_non_null(strstr(buf, "http.timeout (duration)"));
    assert_non_null(strstr(buf, "10ms .. 1h"));
    assert_non_null(strstr(buf, "1KiB .. 16MiB"));
    assert_non_null(strstr(buf, "cluster.peers (list)"));
    assert_non_null(strstr(buf, "log.verbose (bool)"));
    assert_non_null(strstr(buf, "auth.secret (string)\n    env:     RAMPART_TEST_AUTH_SECRET\n"
                                "    default: none, required\n"));
    free(buf);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_required_missing),
        T(test_required_from_file),
        T(test_bad_default),
        T(test_file_all_types),
        T(test_dotted_keys_in_file),
        T(test_empty_file),
        T(test_bool_spellings),
        T(test_durations),
        T(test_sizes),
        T(test_int_strict),
        T(test_bounds),
        T(test_lists),
        T(test_env_precedence),
        T(test_env_ignored_without_prefix),
        T(test_unknown_keys),
        T(test_duplicate_keys),
        T(test_wrong_shapes),
        T(test_yaml_syntax_error),
        T(test_file_read_errors),
        T(test_nul_in_value),
        T(test_long_value_echo_truncated),
        T(test_err_buffer_small_or_null),
        T(test_dispose_twice),
        T(test_print_reference),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
