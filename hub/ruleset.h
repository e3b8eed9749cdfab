/* ruleset: the YAML rule language compiled into an indexed, matchable form.
 *
 * Sources are YAML documents (files of a rules directory, a ruleset pushed by the manager, a
 * whitelist) holding any of the top-level keys `lists`, `macros`, `rules` and `whitelist`
 * (docs/rules.md is the reference). Every source is parsed before any rule is compiled, so
 * lists and macros are shared across files. Errors name "file:line: reason"; the first error
 * stops the compilation and nothing of the new ruleset is used.
 *
 * Compiled form: a condition is a tree of nodes (all/any/not and leaves). String leaves
 * (equals, in, startswith, endswith, contains, regex and their case-insensitive forms) become
 * Hyperscan patterns: for each data_type bucket and each field, one database holds every
 * pattern any rule of that bucket tests on that field, so one scan of a field value answers
 * all of them (see engine.c). Other leaves (numbers, CIDR, exists, same_as) are evaluated
 * directly. Rules are indexed by data_type. */
#ifndef RAMPART_HUB_RULESET_H
#define RAMPART_HUB_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hs.h>

#define RULE_ID_MAX     64
#define RULE_ANCESTORS  8 /* depth of ancestor.* matching and of the alert's chain */
#define RULE_KEYS_MAX   8 /* key fields and group-by fields */
#define RULE_STEPS_MAX  4 /* sequence steps */
#define RULE_THRESH_MAX 1000

typedef enum {
    SEV_INFO = 0,
    SEV_LOW,
    SEV_MEDIUM,
    SEV_HIGH,
    SEV_CRITICAL,
} severity_t;
const char *severity_name(severity_t s);

/* Where a field's value comes from. */
typedef enum {
    SLOT_EVENT = 0, /* a payload field, or data_type / agent_id / hostname */
    SLOT_PARENT,    /* parent.<attr>: the parent process from the process table */
    SLOT_ANCESTOR,  /* ancestor.<attr>: any of the RULE_ANCESTORS nearest ancestors */
} slot_kind_t;

typedef enum {
    PATTR_EXE = 0,
    PATTR_COMM,
    PATTR_ARGV,
    PATTR_UID,
    PATTR_PID,
    PATTR_N,
} proc_attr_t;

typedef struct {
    char *name;
    size_t len;
    slot_kind_t kind;
    proc_attr_t attr; /* for PARENT / ANCESTOR */
} slot_t;

typedef enum {
    NODE_ALL,
    NODE_ANY,
    NODE_NOT,
    NODE_TRUE,
    NODE_HS,     /* string test compiled into the slot's Hyperscan database */
    NODE_NUM,    /* numeric comparison */
    NODE_CIDR,   /* IP address within one of the networks */
    NODE_EXISTS, /* field present (and not empty) == want */
    NODE_SAME,   /* field value equals another field's value */
} node_kind_t;

typedef enum { NUM_LT, NUM_LE, NUM_GT, NUM_GE, NUM_EQ, NUM_NE } num_op_t;

typedef struct {
    uint8_t family; /* 4 or 6 */
    uint8_t prefix;
    uint8_t addr[16];
} cidr_t;

typedef struct node node_t;
struct node {
    node_kind_t kind;
    bool want;      /* EXISTS; CIDR: true = inside */
    uint16_t slot;  /* leaves */
    uint16_t slot2; /* SAME */
    uint32_t pred;  /* HS: predicate id */
    num_op_t op;    /* NUM */
    double num;
    cidr_t *nets; /* CIDR */
    size_t nnets;
    node_t **kids; /* ALL / ANY / NOT */
    size_t nkids;
};

typedef enum {
    RULE_SIMPLE = 0,
    RULE_THRESHOLD,
    RULE_SEQUENCE,
} rule_type_t;

typedef struct {
    int32_t *data_types;
    size_t ndata_types;
    node_t *match;
    uint32_t count; /* events needed at this step */
} seq_step_t;

typedef struct {
    char *id, *name, *description, *remediation;
    char *source; /* "file:line" of the rule */
    severity_t severity;
    char **attack; /* ATT&CK technique ids */
    size_t nattack;
    char **tags;
    size_t ntags;
    rule_type_t type;
    int32_t *data_types; /* every data_type the rule looks at (steps included) */
    size_t ndata_types;
    node_t *match;                /* SIMPLE and THRESHOLD */
    node_t *exceptions;           /* ANY of the exceptions, or NULL */
    uint16_t keys[RULE_KEYS_MAX]; /* key fields: alert merging and the stable id */
    size_t nkeys;
    int64_t dedup_ms; /* merge identical alerts within this window; 0 = off */
    /* THRESHOLD */
    uint32_t thresh_count;
    int64_t window_ms;
    uint16_t by[RULE_KEYS_MAX]; /* group-by slots (agent_id always included) */
    size_t nby;
    int distinct_slot; /* count distinct values of this slot; -1 = count events */
    /* SEQUENCE */
    seq_step_t steps[RULE_STEPS_MAX];
    size_t nsteps;
    bool by_process; /* sequence keyed by the process chain instead of by fields */
    uint32_t *wl;    /* whitelist entries that apply to this rule */
    size_t nwl;
    uint64_t def_hash; /* hash of the rule's definition (state carried over on reload) */
} rule_t;

typedef struct {
    char *id, *comment, *source;
    char **rule_globs; /* rule ids it applies to (fnmatch); NULL = every rule */
    size_t nglobs;
    node_t *match;
} whitelist_entry_t;

typedef struct {
    int32_t data_type;
    uint32_t *rules; /* rule indexes */
    size_t nrules;
    hs_database_t **db; /* per slot, NULL when no string test on that slot */
} bucket_t;

typedef struct ruleset {
    slot_t *slots;
    size_t nslots;
    uint32_t *slot_hash; /* open addressing: slot index + 1, 0 = empty; SLOT_EVENT only */
    size_t slot_hash_mask;
    uint64_t slot_filter[128]; /* bit (length, first byte) of every name: most event fields are
                                  no rule's, and this turns them away before hashing */
    rule_t *rules;
    size_t nrules;
    whitelist_entry_t *whitelist;
    size_t nwhitelist;
    bucket_t *buckets; /* sorted by data_type */
    size_t nbuckets;
    uint32_t npreds;
    hs_scratch_t *scratch;            /* prototype: clone it per evaluating thread */
    uint64_t generation;              /* distinct per compiled ruleset in this process */
    size_t nsources, nlists, nmacros; /* summary for GET /api/v1/rules */
} ruleset_t;

/* Payload fields every ruleset gives a slot, in this order (slots 0..5): the process table
 * is built from them. */
#define RULESET_PROC_FIELDS "pid", "ppid", "exe", "comm", "argv", "uid"
enum { SLOT_PID = 0, SLOT_PPID, SLOT_EXE, SLOT_COMM, SLOT_ARGV, SLOT_UID };

/* One YAML source: a name for messages ("rules/ssh.yaml") and its text. */
typedef struct {
    const char *name;
    const char *text;
    size_t len;
    bool override; /* its rules replace same-id rules of earlier sources (pushed rulesets) */
} ruleset_source_t;

/* Compiles sources in order. NULL on error, with "name:line: reason" in err. */
ruleset_t *ruleset_compile(const ruleset_source_t *src, size_t nsrc, char *err, size_t errlen);
void ruleset_free(ruleset_t *rs);

/* Reads every *.yaml / *.yml file of dir (sorted by name) and compiles them followed by the
 * extra sources. -errno on an unreadable directory, -EINVAL on a compile error (err set). */
int ruleset_load_dir(const char *dir, const ruleset_source_t *extra, size_t nextra, ruleset_t **out,
                     char *err, size_t errlen);

/* The slot of a payload field name, or -1 when no rule uses it. */
int ruleset_slot(const ruleset_t *rs, const char *name, size_t len);
/* The bucket of a data_type, or NULL. */
const bucket_t *ruleset_bucket(const ruleset_t *rs, int32_t data_type);
/* Index of a rule by id, or -1. */
int ruleset_find(const ruleset_t *rs, const char *id);

#endif
