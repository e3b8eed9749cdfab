/* rulestore: where the running rules come from, and reloading them.
 *
 * Sources, compiled together in this order: every *.yaml of rules.dir, then the ruleset
 * pushed by the manager (rules.state_dir/pushed-rules.yaml; its rules replace same-id rules
 * of the directory), then the pushed whitelist (rules.state_dir/pushed-whitelist.yaml). A
 * reload compiles everything; only when that succeeds is the new ruleset handed to the
 * pipeline (and a pushed text written to the state directory, atomically). On error the
 * message names file:line and the rules in force stay. Thread-safe (one reload at a time). */
#ifndef RAMPART_HUB_RULESTORE_H
#define RAMPART_HUB_RULESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hub/ruleset.h"

typedef struct rulestore rulestore_t;

/* Takes ownership of a compiled ruleset (the pipeline swaps it in between two events). */
typedef void (*rulestore_publish_fn)(void *ud, ruleset_t *rs);

typedef enum {
    RULESTORE_KEEP = 0, /* keep the pushed text as it is */
    RULESTORE_SET,      /* replace it with the given text */
} rulestore_op_t;

rulestore_t *rulestore_new(const char *rules_dir, const char *state_dir,
                           rulestore_publish_fn publish, void *ud);
void rulestore_free(rulestore_t *s);

/* Recompiles. rules_op/wl_op say whether the pushed ruleset / whitelist change (text,len
 * given for RULESTORE_SET). 0, or -EINVAL with the reason in err (compile error with
 * file:line), or -errno when the state directory cannot be written. */
int rulestore_reload(rulestore_t *s, rulestore_op_t rules_op, const char *rules_text,
                     size_t rules_len, rulestore_op_t wl_op, const char *wl_text, size_t wl_len,
                     char *err, size_t errlen);

/* A JSON summary of what is in force: {"version", "loaded_at", "rules": [{id, name,
 * severity, attack, source}], "lists", "macros", "whitelist", "pushed_rules": text|null}.
 * which = "rules" or "whitelist" (then "pushed_whitelist" and the entries). New reference. */
json_t *rulestore_describe(rulestore_t *s, const char *which);

/* Reload counters for /metrics. */
uint64_t rulestore_reloads(const rulestore_t *s, bool ok);
size_t rulestore_rule_count(rulestore_t *s);

#endif
