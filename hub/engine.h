/* engine: evaluates a compiled ruleset against events, keeps the per-event state (process
 * table, threshold groups, sequences, alert merging) and hands alerts to a callback.
 *
 * One engine belongs to one thread. The hot path (an event no rule matches) allocates
 * nothing: field slots, Hyperscan scratch and state tables are sized when a ruleset is set.
 * Time is the events' own clock (agent time), so stateful rules behave the same live, when
 * replayed after a restart, and in rule tests. */
#ifndef RAMPART_HUB_ENGINE_H
#define RAMPART_HUB_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rampart.pb-c.h"

#include "hub/proctable.h"
#include "hub/ruleset.h"

#define HUB_DT_EXECVE     59
#define HUB_DT_EXIT       60
#define HUB_DT_EXIT_GROUP 231

/* One event as the engine sees it. Strings are borrowed for the duration of the call. */
typedef struct {
    int32_t data_type;
    int64_t time_ms;     /* agent time */
    int64_t server_time; /* seconds, 0 if unknown */
    const char *agent_id;
    const char *hostname;
    char **ipv4; /* intranet IPv4 addresses of the agent */
    size_t nipv4;
    Grpc__Payload__FieldsEntry **fields;
    size_t nfields;
    uint64_t identity; /* stable for the same record: part of alert ids; 0 = hash raw */
    const void *raw;   /* the record's bytes when identity is 0 (hashed only for an alert) */
    size_t raw_len;
    int32_t partition; /* Kafka source, -1 when not from Kafka */
    int64_t offset;
} hub_event_t;

typedef enum {
    ALERT_NEW = 0, /* a first alert */
    ALERT_UPDATE,  /* the merged count of an earlier alert (same id) at the end of its window */
} alert_kind_t;

typedef struct {
    alert_kind_t kind;
    const ruleset_t *rs;
    const rule_t *rule;
    const hub_event_t *ev; /* NULL for ALERT_UPDATE */
    char id[33];
    const char *agent_id;
    uint64_t count;
    int64_t first_seen_ms, last_seen_ms;
    const proc_t *chain[RULE_ANCESTORS + 1]; /* the event's process first, then ancestors */
    size_t nchain;
    uint32_t observed; /* threshold: events counted; sequence: steps completed */
} hub_alert_t;

typedef void (*engine_emit_fn)(void *ud, const hub_alert_t *a);

typedef struct {
    size_t proc_capacity;  /* processes remembered, all agents together */
    size_t group_capacity; /* threshold / sequence groups per rule */
    size_t dedup_capacity; /* alerts being merged */
    engine_emit_fn emit;
    void *emit_ud;
} engine_opts_t;

typedef struct {
    uint64_t events, no_rules, matched, alerts, merged, updates, excepted, whitelisted;
} engine_stats_t;

typedef struct engine engine_t;

engine_t *engine_new(const engine_opts_t *opts);
/* Flushes pending merges (emitting their updates) and frees everything but the ruleset,
 * which the caller owns. Accepts NULL. */
void engine_free(engine_t *e);

/* Makes rs the ruleset in force and returns the previous one (caller frees it after this
 * call). Pending merges of the old ruleset are flushed first; threshold and sequence state
 * of rules whose id and definition are unchanged is carried over. The process table stays. */
ruleset_t *engine_set_ruleset(engine_t *e, ruleset_t *rs);
const ruleset_t *engine_ruleset(const engine_t *e);

/* Evaluates one event; alerts go to the callback before it returns. Returns the number of
 * alerts emitted (new alerts; merged duplicates are counted, not emitted). */
int engine_process(engine_t *e, const hub_event_t *ev);

/* Emits the updates of merged alerts whose window ended by now_ms (event clock; pass
 * INT64_MAX to flush all). Returns how many were emitted. */
int engine_flush(engine_t *e, int64_t now_ms);

/* Forgets all state (process table, groups, merges) without emitting anything. */
void engine_reset_state(engine_t *e);

const engine_stats_t *engine_stats(const engine_t *e);
size_t engine_proc_count(const engine_t *e);
/* The latest event time seen (ms). */
int64_t engine_clock(const engine_t *e);

/* A field of an event by name, or NULL. */
const char *hub_event_field(const hub_event_t *ev, const char *name);
/* The identity of an event built from its contents (for events that did not come as bytes). */
uint64_t hub_event_identity(const hub_event_t *ev);

#endif
