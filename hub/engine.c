#include "hub/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "common/xalloc.h"

#define DEDUP_AGENT_MAX 72

/* Threshold group: the last `cap` matching events (time, value hash). */
typedef struct {
    uint32_t n;
    uint32_t pad;
    struct {
        int64_t ts;
        uint64_t vh;
    } ent[];
} thresh_rec_t;

/* Sequence keyed by fields. */
typedef struct {
    uint32_t stage, count;
    int64_t start_ms;
} seq_rec_t;

/* An alert being merged with its duplicates. */
typedef struct {
    char id[33];
    uint32_t rule;
    uint64_t generation;
    char agent_id[DEDUP_AGENT_MAX];
    int64_t first_seen, last_seen, window;
    uint64_t count;
} dedup_rec_t;

typedef struct {
    const char *id; /* rule id, for carrying state over a reload */
    uint64_t def_hash;
    lru_t *groups;
} rule_state_t;

struct engine {
    engine_opts_t opts;
    ruleset_t *rs;
    hs_scratch_t *scratch;
    const char **val;
    uint32_t *val_gen, *scan_gen, *pred_gen;
    uint32_t gen;
    int slot_dt, slot_agent, slot_host;
    char dt_buf[16];
    int32_t dt_cached;
    rule_state_t *state; /* per rule of rs */
    proctable_t *procs;
    lru_t *dedup;
    engine_stats_t stats;
    int64_t now_ms;
    uint64_t seq_counter;

    /* the event being evaluated */
    const hub_event_t *ev;
    const bucket_t *bucket;
    uint64_t agent_hash;
    int32_t pid, ppid;
    proc_t *self;
    bool self_done;
    proc_t *anc[RULE_ANCESTORS];
    size_t nanc;
    bool anc_done;
};

/* ---- setup --------------------------------------------------------------------------------- */

engine_t *engine_new(const engine_opts_t *opts)
{
    engine_t *e = xcalloc(1, sizeof(*e));
    e->opts = *opts;
    if (!e->opts.proc_capacity)
        e->opts.proc_capacity = 65536;
    if (!e->opts.group_capacity)
        e->opts.group_capacity = 4096;
    if (!e->opts.dedup_capacity)
        e->opts.dedup_capacity = 16384;
    e->procs = proctable_new(e->opts.proc_capacity);
    e->dedup = lru_new(e->opts.dedup_capacity, sizeof(dedup_rec_t));
    e->slot_dt = e->slot_agent = e->slot_host = -1;
    return e;
}

static void free_state(rule_state_t *st, size_t n)
{
    for (size_t i = 0; st && i < n; i++)
        lru_free(st[i].groups);
    free(st);
}

void engine_free(engine_t *e)
{
    if (!e)
        return;
    if (e->rs)
        engine_flush(e, INT64_MAX);
    free_state(e->state, e->rs ? e->rs->nrules : 0);
    hs_free_scratch(e->scratch);
    free(e->val);
    free(e->val_gen);
    free(e->scan_gen);
    free(e->pred_gen);
    proctable_free(e->procs);
    lru_free(e->dedup);
    free(e);
}

ruleset_t *engine_set_ruleset(engine_t *e, ruleset_t *rs)
{
    ruleset_t *old = e->rs;
    if (old)
        engine_flush(e, INT64_MAX);
    rule_state_t *st = xcalloc(rs->nrules ? rs->nrules : 1, sizeof(rule_state_t));
    for (size_t i = 0; i < rs->nrules; i++) {
        st[i].id = rs->rules[i].id;
        st[i].def_hash = rs->rules[i].def_hash;
        for (size_t j = 0; old && j < old->nrules; j++) {
            if (e->state[j].groups && e->state[j].def_hash == st[i].def_hash &&
                strcmp(e->state[j].id, st[i].id) == 0) {
                st[i].groups = e->state[j].groups;
                e->state[j].groups = NULL;
            }
        }
    }
    free_state(e->state, old ? old->nrules : 0);
    e->state = st;
    hs_free_scratch(e->scratch);
    e->scratch = NULL;
    if (rs->scratch && hs_clone_scratch(rs->scratch, &e->scratch) != HS_SUCCESS)
        PANIC("hs_clone_scratch failed");
    size_t ns = rs->nslots ? rs->nslots : 1;
    e->val = xrealloc(e->val, ns * sizeof(char *));
    e->val_gen = xrealloc(e->val_gen, ns * sizeof(uint32_t));
    e->scan_gen = xrealloc(e->scan_gen, ns * sizeof(uint32_t));
    e->pred_gen = xrealloc(e->pred_gen, (rs->npreds ? rs->npreds : 1) * sizeof(uint32_t));
    memset(e->val_gen, 0, ns * sizeof(uint32_t));
    memset(e->scan_gen, 0, ns * sizeof(uint32_t));
    memset(e->pred_gen, 0, (rs->npreds ? rs->npreds : 1) * sizeof(uint32_t));
    e->gen = 0;
    e->slot_dt = ruleset_slot(rs, "data_type", 9);
    e->slot_agent = ruleset_slot(rs, "agent_id", 8);
    e->slot_host = ruleset_slot(rs, "hostname", 8);
    e->rs = rs;
    return old;
}

const ruleset_t *engine_ruleset(const engine_t *e)
{
    return e->rs;
}

void engine_reset_state(engine_t *e)
{
    for (size_t i = 0; e->rs && i < e->rs->nrules; i++)
        if (e->state[i].groups)
            lru_clear(e->state[i].groups);
    lru_clear(e->procs->lru);
    lru_clear(e->dedup);
    e->now_ms = 0;
}

const engine_stats_t *engine_stats(const engine_t *e)
{
    return &e->stats;
}

size_t engine_proc_count(const engine_t *e)
{
    return proctable_count(e->procs);
}

int64_t engine_clock(const engine_t *e)
{
    return e->now_ms;
}

/* ---- field access ---------------------------------------------------------------------- */

const char *hub_event_field(const hub_event_t *ev, const char *name)
{
    for (size_t i = 0; i < ev->nfields; i++)
        if (ev->fields[i]->key && strcmp(ev->fields[i]->key, name) == 0)
            return ev->fields[i]->value;
    return NULL;
}

uint64_t hub_event_identity(const hub_event_t *ev)
{
    uint64_t h = lru_hash(&ev->data_type, sizeof(ev->data_type));
    h = lru_hash_more(h, &ev->time_ms, sizeof(ev->time_ms));
    h = lru_hash_str(h, ev->agent_id ? ev->agent_id : "");
    for (size_t i = 0; i < ev->nfields; i++) {
        h = lru_hash_str(h, ev->fields[i]->key ? ev->fields[i]->key : "");
        h = lru_hash_str(h, ev->fields[i]->value ? ev->fields[i]->value : "");
    }
    return h;
}

static const char *event_val(const engine_t *e, int slot)
{
    return slot >= 0 && e->val_gen[slot] == e->gen ? e->val[slot] : NULL;
}

static proc_t *resolve_self(engine_t *e);

static void resolve_ancestors(engine_t *e)
{
    if (e->anc_done)
        return;
    e->anc_done = true;
    proc_t *self = resolve_self(e);
    int32_t ppid = e->ppid >= 0 ? e->ppid : (self ? self->ppid : -1);
    e->nanc = ppid > 0 && ppid != e->pid
                  ? proctable_ancestors(e->procs, e->agent_hash, ppid, e->anc, RULE_ANCESTORS)
                  : 0;
}

static const char *proc_attr(const proc_t *p, proc_attr_t a)
{
    switch (a) {
    case PATTR_EXE:
        return p->exe;
    case PATTR_COMM:
        return p->comm;
    case PATTR_ARGV:
        return p->argv;
    case PATTR_UID:
        return p->uid;
    default:
        return p->pid_str;
    }
}

/* The values a slot has in this event: one for event fields and parent.*, one per ancestor
 * for ancestor.*. */
static size_t slot_values(engine_t *e, uint16_t slot, const char **out)
{
    const slot_t *s = &e->rs->slots[slot];
    if (s->kind == SLOT_EVENT) {
        out[0] = event_val(e, slot);
        return out[0] ? 1 : 0;
    }
    resolve_ancestors(e);
    size_t n = s->kind == SLOT_PARENT ? (e->nanc ? 1 : 0) : e->nanc;
    for (size_t i = 0; i < n; i++)
        out[i] = proc_attr(e->anc[i], s->attr);
    return n;
}

/* ---- evaluation ------------------------------------------------------------------------- */

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    engine_t *e = ctx;
    e->pred_gen[id] = e->gen;
    return 0;
}

static void scan_slot(engine_t *e, uint16_t slot)
{
    e->scan_gen[slot] = e->gen;
    hs_database_t *db = e->bucket->db[slot];
    if (!db)
        return;
    const char *vals[RULE_ANCESTORS];
    size_t n = slot_values(e, slot, vals);
    for (size_t i = 0; i < n; i++)
        hs_scan(db, vals[i], (unsigned)strlen(vals[i]), 0, e->scratch, on_match, e);
}

static bool parse_num(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end != '\0')
        return false;
    *out = d;
    return true;
}

static bool in_cidr(const node_t *n, const char *s)
{
    unsigned char a[16];
    int fam;
    if (strchr(s, ':')) {
        if (inet_pton(AF_INET6, s, a) != 1)
            return false;
        fam = 6;
    } else {
        if (inet_pton(AF_INET, s, a) != 1)
            return false;
        fam = 4;
    }
    for (size_t i = 0; i < n->nnets; i++) {
        const cidr_t *c = &n->nets[i];
        if (c->family != fam)
            continue;
        unsigned full = c->prefix / 8, rest = c->prefix % 8;
        if (memcmp(a, c->addr, full) != 0)
            continue;
        if (rest && ((a[full] ^ c->addr[full]) & (0xff00 >> rest) & 0xff))
            continue;
        return true;
    }
    return false;
}

static bool num_cmp(num_op_t op, double a, double b)
{
    switch (op) {
    case NUM_LT:
        return a < b;
    case NUM_LE:
        return a <= b;
    case NUM_GT:
        return a > b;
    case NUM_GE:
        return a >= b;
    case NUM_EQ:
        return a == b;
    default:
        return a != b;
    }
}

static bool eval(engine_t *e, const node_t *n)
{
    switch (n->kind) {
    case NODE_ALL:
        for (size_t i = 0; i < n->nkids; i++)
            if (!eval(e, n->kids[i]))
                return false;
        return true;
    case NODE_ANY:
        for (size_t i = 0; i < n->nkids; i++)
            if (eval(e, n->kids[i]))
                return true;
        return false;
    case NODE_NOT:
        return !eval(e, n->kids[0]);
    case NODE_TRUE:
        return true;
    case NODE_HS:
        if (e->scan_gen[n->slot] != e->gen)
            scan_slot(e, n->slot);
        return e->pred_gen[n->pred] == e->gen;
    default:
        break;
    }
    const char *vals[RULE_ANCESTORS];
    size_t nv = slot_values(e, n->slot, vals);
    if (n->kind == NODE_EXISTS) {
        /* empty and the placeholders "-" (the driver's, after Elkeid's) and "-1" all mean
         * "none": without this every execve with no LD_PRELOAD or socket peer matched */
        bool present = false;
        for (size_t i = 0; i < nv && !present; i++)
            present = vals[i][0] != '\0' && strcmp(vals[i], "-") != 0 && strcmp(vals[i], "-1") != 0;
        return present == n->want;
    }
    for (size_t i = 0; i < nv; i++) {
        switch (n->kind) {
        case NODE_NUM: {
            double d;
            if (parse_num(vals[i], &d) && num_cmp(n->op, d, n->num))
                return true;
            break;
        }
        case NODE_CIDR:
            if (in_cidr(n, vals[i]))
                return true;
            break;
        case NODE_SAME: {
            const char *other[RULE_ANCESTORS];
            size_t no = slot_values(e, n->slot2, other);
            for (size_t j = 0; j < no; j++)
                if (strcmp(vals[i], other[j]) == 0)
                    return true;
            break;
        }
        default:
            break;
        }
    }
    return false;
}

/* ---- alerts -------------------------------------------------------------------------------- */

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Hash of rule + agent + key field values: what makes two alerts "identical". */
static uint64_t merge_key(const engine_t *e, const rule_t *r)
{
    uint64_t h = lru_hash_str(LRU_HASH_INIT, r->id);
    h = lru_hash_str(h, e->ev->agent_id ? e->ev->agent_id : "");
    for (size_t i = 0; i < r->nkeys; i++) {
        const char *v = event_val(e, r->keys[i]);
        h = lru_hash_str(h, v ? v : "");
    }
    return h;
}

/* SHA-256 of rule id, agent, key values and the event's identity: the same record
 * redelivered after a crash yields the same id. Runs only when an alert is raised. */
static void alert_id(const engine_t *e, const rule_t *r, char out[33])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
        PANIC("sha256 unavailable");
    EVP_DigestUpdate(c, r->id, strlen(r->id) + 1);
    const char *agent = e->ev->agent_id ? e->ev->agent_id : "";
    EVP_DigestUpdate(c, agent, strlen(agent) + 1);
    for (size_t i = 0; i < r->nkeys; i++) {
        const char *v = event_val(e, r->keys[i]);
        EVP_DigestUpdate(c, v ? v : "", v ? strlen(v) + 1 : 1);
    }
    uint64_t id = e->ev->identity;
    if (!id && e->ev->raw)
        id = lru_hash(e->ev->raw, e->ev->raw_len);
    unsigned char ident[8];
    for (int i = 0; i < 8; i++) /* fixed byte order: ids agree across machines */
        ident[i] = (unsigned char)(id >> (8 * i));
    EVP_DigestUpdate(c, ident, sizeof(ident));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(c, md, &mdlen);
    EVP_MD_CTX_free(c);
    hex(md, 16, out);
}

static void fill_chain(engine_t *e, hub_alert_t *a)
{
    resolve_ancestors(e);
    a->nchain = 0;
    if (resolve_self(e))
        a->chain[a->nchain++] = e->self;
    for (size_t i = 0; i < e->nanc; i++)
        a->chain[a->nchain++] = e->anc[i];
}

static void emit_update(engine_t *e, const dedup_rec_t *d)
{
    if (d->generation != e->rs->generation || d->rule >= e->rs->nrules)
        return;
    hub_alert_t a = {.kind = ALERT_UPDATE,
                     .rs = e->rs,
                     .rule = &e->rs->rules[d->rule],
                     .agent_id = d->agent_id,
                     .count = d->count,
                     .first_seen_ms = d->first_seen,
                     .last_seen_ms = d->last_seen};
    memcpy(a.id, d->id, sizeof(a.id));
    e->stats.updates++;
    e->opts.emit(e->opts.emit_ud, &a);
}

/* Emits (or merges) an alert of rule ri for the current event. Returns 1 if emitted. */
static int raise_alert(engine_t *e, uint32_t ri, uint32_t observed)
{
    const rule_t *r = &e->rs->rules[ri];
    hub_alert_t a = {.kind = ALERT_NEW,
                     .rs = e->rs,
                     .rule = r,
                     .ev = e->ev,
                     .agent_id = e->ev->agent_id ? e->ev->agent_id : "",
                     .count = 1,
                     .first_seen_ms = e->ev->time_ms,
                     .last_seen_ms = e->ev->time_ms,
                     .observed = observed};
    alert_id(e, r, a.id);
    if (r->dedup_ms > 0) {
        bool created;
        dedup_rec_t *d = lru_put(e->dedup, merge_key(e, r), &created, NULL);
        if (!created && d->generation == e->rs->generation && d->rule == ri &&
            e->ev->time_ms - d->first_seen <= d->window && e->ev->time_ms >= d->first_seen) {
            d->count++;
            if (e->ev->time_ms > d->last_seen)
                d->last_seen = e->ev->time_ms;
            e->stats.merged++;
            return 0;
        }
        if (!created && d->count > 1)
            emit_update(e, d);
        memcpy(d->id, a.id, sizeof(d->id));
        d->rule = ri;
        d->generation = e->rs->generation;
        snprintf(d->agent_id, sizeof(d->agent_id), "%s", a.agent_id);
        d->first_seen = d->last_seen = e->ev->time_ms;
        d->window = r->dedup_ms;
        d->count = 1;
    }
    fill_chain(e, &a);
    e->stats.alerts++;
    e->opts.emit(e->opts.emit_ud, &a);
    return 1;
}

typedef struct {
    engine_t *e;
    int64_t now;
    int emitted;
} flush_ctx_t;

static bool flush_one(void *rec, void *ud)
{
    flush_ctx_t *f = ud;
    dedup_rec_t *d = rec;
    if (f->now != INT64_MAX && f->now - d->first_seen <= d->window)
        return false;
    if (d->count > 1) {
        emit_update(f->e, d);
        f->emitted++;
    }
    return true;
}

int engine_flush(engine_t *e, int64_t now_ms)
{
    if (!e->rs)
        return 0;
    flush_ctx_t f = {.e = e, .now = now_ms};
    lru_sweep(e->dedup, flush_one, &f);
    return f.emitted;
}

/* ---- stateful rules ---------------------------------------------------------------------- */

static lru_t *groups_of(engine_t *e, uint32_t ri, size_t rec_size)
{
    if (!e->state[ri].groups)
        e->state[ri].groups = lru_new(e->opts.group_capacity, rec_size);
    return e->state[ri].groups;
}

static uint64_t group_key(const engine_t *e, const rule_t *r)
{
    uint64_t h = lru_hash_str(LRU_HASH_INIT, e->ev->agent_id ? e->ev->agent_id : "");
    for (size_t i = 0; i < r->nby; i++) {
        const char *v = event_val(e, r->by[i]);
        h = lru_hash_str(h, v ? v : "");
    }
    return h;
}

static int threshold(engine_t *e, uint32_t ri)
{
    const rule_t *r = &e->rs->rules[ri];
    uint32_t cap = r->thresh_count;
    lru_t *g = groups_of(e, ri, sizeof(thresh_rec_t) + (size_t)cap * 16);
    bool created;
    thresh_rec_t *t = lru_put(g, group_key(e, r), &created, NULL);
    int64_t now = e->ev->time_ms;
    /* drop what fell out of the window */
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->n; i++)
        if (now - t->ent[i].ts <= r->window_ms && t->ent[i].ts <= now)
            t->ent[k++] = t->ent[i];
    t->n = k;
    uint64_t vh;
    if (r->distinct_slot >= 0) {
        const char *v = event_val(e, r->distinct_slot);
        vh = lru_hash_str(LRU_HASH_INIT, v ? v : "");
        for (uint32_t i = 0; i < t->n; i++) {
            if (t->ent[i].vh == vh) {
                t->ent[i].ts = now;
                return 0;
            }
        }
    } else {
        vh = ++e->seq_counter;
    }
    if (t->n == cap) { /* full: forget the oldest */
        memmove(&t->ent[0], &t->ent[1], (size_t)(cap - 1) * sizeof(t->ent[0]));
        t->n--;
    }
    t->ent[t->n].ts = now;
    t->ent[t->n].vh = vh;
    t->n++;
    if (t->n < cap)
        return 0;
    t->n = 0;
    return raise_alert(e, ri, cap);
}

static bool step_applies(const seq_step_t *s, int32_t dt)
{
    for (size_t i = 0; i < s->ndata_types; i++)
        if (s->data_types[i] == dt)
            return true;
    return false;
}

static bool allowed(engine_t *e, const rule_t *r);

static int sequence_by_fields(engine_t *e, uint32_t ri)
{
    const rule_t *r = &e->rs->rules[ri];
    lru_t *g = groups_of(e, ri, sizeof(seq_rec_t));
    uint64_t key = group_key(e, r);
    int64_t now = e->ev->time_ms;
    seq_rec_t *s = lru_get(g, key);
    if (s && (now - s->start_ms > r->window_ms || now < s->start_ms)) {
        lru_del(g, key);
        s = NULL;
    }
    uint32_t stage = s ? s->stage : 0;
    const seq_step_t *st = &r->steps[stage];
    if (!step_applies(st, e->ev->data_type) || !eval(e, st->match))
        return 0;
    if (!s) {
        bool created;
        s = lru_put(g, key, &created, NULL);
        s->start_ms = now;
    }
    if (++s->count < st->count)
        return 0;
    s->stage++;
    s->count = 0;
    if (s->stage < r->nsteps)
        return 0;
    lru_del(g, key);
    if (!allowed(e, r))
        return 0;
    return raise_alert(e, ri, (uint32_t)r->nsteps);
}

static void mark(proc_t *p, uint64_t gen, uint32_t ri, uint32_t stage, int64_t ts)
{
    size_t slot = 0;
    for (size_t i = 0; i < PROC_MARKS; i++) {
        if (p->marks[i].generation == gen && p->marks[i].rule == ri) {
            slot = i;
            break;
        }
        if (p->marks[i].ts_ms < p->marks[slot].ts_ms)
            slot = i;
    }
    p->marks[slot] = (proc_mark_t){.generation = gen, .rule = ri, .stage = stage, .ts_ms = ts};
}

static bool has_mark(const proc_t *p, uint64_t gen, uint32_t ri, uint32_t stage, int64_t since)
{
    for (size_t i = 0; i < PROC_MARKS; i++)
        if (p->marks[i].generation == gen && p->marks[i].rule == ri && p->marks[i].stage == stage &&
            p->marks[i].ts_ms >= since)
            return true;
    return false;
}

/* A then B in the same process chain: A marks its process and that process' parent; B looks
 * for the mark on itself and its ancestors. */
static int sequence_by_process(engine_t *e, uint32_t ri)
{
    const rule_t *r = &e->rs->rules[ri];
    if (!resolve_self(e))
        return 0;
    uint64_t gen = e->rs->generation;
    int64_t now = e->ev->time_ms;
    for (size_t k = r->nsteps; k-- > 0;) {
        const seq_step_t *st = &r->steps[k];
        if (!step_applies(st, e->ev->data_type))
            continue;
        if (k > 0) {
            resolve_ancestors(e);
            bool found = has_mark(e->self, gen, ri, (uint32_t)k, now - r->window_ms);
            for (size_t i = 0; i < e->nanc && !found; i++)
                found = has_mark(e->anc[i], gen, ri, (uint32_t)k, now - r->window_ms);
            if (!found)
                continue;
        }
        if (!eval(e, st->match))
            continue;
        if (k + 1 == r->nsteps) {
            if (!allowed(e, r))
                return 0;
            return raise_alert(e, ri, (uint32_t)r->nsteps);
        }
        mark(e->self, gen, ri, (uint32_t)k + 1, now);
        resolve_ancestors(e);
        if (e->nanc)
            mark(e->anc[0], gen, ri, (uint32_t)k + 1, now);
        return 0;
    }
    return 0;
}

/* Neither an exception of the rule nor a whitelist entry covers the event. */
static bool allowed(engine_t *e, const rule_t *r)
{
    if (r->exceptions && eval(e, r->exceptions)) {
        e->stats.excepted++;
        return false;
    }
    for (size_t i = 0; i < r->nwl; i++) {
        if (eval(e, e->rs->whitelist[r->wl[i]].match)) {
            e->stats.whitelisted++;
            return false;
        }
    }
    return true;
}

/* ---- per event -------------------------------------------------------------------------- */

/* The event's own process. execve records update the table at once (a new image); exit
 * records drop it after the rules ran; for other records the table is only touched when a
 * rule needs the process (ancestors, chain, sequence), which spares a random memory access
 * on most events. */
static void track_process(engine_t *e)
{
    const hub_event_t *ev = e->ev;
    e->pid = proctable_parse_pid(event_val(e, SLOT_PID));
    e->ppid = proctable_parse_pid(event_val(e, SLOT_PPID));
    e->self = NULL;
    e->self_done = true;
    if (e->pid < 0)
        return;
    if (ev->data_type == HUB_DT_EXIT || ev->data_type == HUB_DT_EXIT_GROUP) {
        e->self = proctable_get(e->procs, e->agent_hash, e->pid);
        return;
    }
    if (ev->data_type != HUB_DT_EXECVE) {
        e->self_done = false;
        return;
    }
    e->self = proctable_upsert(e->procs, e->agent_hash, e->pid, e->ppid, event_val(e, SLOT_EXE),
                               event_val(e, SLOT_COMM), event_val(e, SLOT_ARGV),
                               event_val(e, SLOT_UID), ev->time_ms, true);
}

static proc_t *resolve_self(engine_t *e)
{
    if (!e->self_done) {
        e->self_done = true;
        e->self = proctable_upsert(e->procs, e->agent_hash, e->pid, e->ppid, event_val(e, SLOT_EXE),
                                   event_val(e, SLOT_COMM), NULL, event_val(e, SLOT_UID),
                                   e->ev->time_ms, false);
    }
    return e->self;
}

static void set_val(engine_t *e, int slot, const char *v)
{
    if (slot >= 0 && v) {
        e->val[slot] = v;
        e->val_gen[slot] = e->gen;
    }
}

int engine_process(engine_t *e, const hub_event_t *ev)
{
    ruleset_t *rs = e->rs;
    e->stats.events++;
    if (!rs)
        return 0;
    if (ev->time_ms > e->now_ms)
        e->now_ms = ev->time_ms;
    e->ev = ev;
    e->agent_hash = lru_hash_str(LRU_HASH_INIT, ev->agent_id ? ev->agent_id : "");
    e->anc_done = false;
    e->nanc = 0;
    if (++e->gen == 0) { /* wrapped: forget every stamp */
        memset(e->val_gen, 0, rs->nslots * sizeof(uint32_t));
        memset(e->scan_gen, 0, rs->nslots * sizeof(uint32_t));
        memset(e->pred_gen, 0, (rs->npreds ? rs->npreds : 1) * sizeof(uint32_t));
        e->gen = 1;
    }
    for (size_t i = 0; i < ev->nfields; i++) {
        const char *k = ev->fields[i]->key;
        if (k && ev->fields[i]->value)
            set_val(e, ruleset_slot(rs, k, strlen(k)), ev->fields[i]->value);
    }
    track_process(e);
    int emitted = 0;
    e->bucket = ruleset_bucket(rs, ev->data_type);
    if (!e->bucket) {
        e->stats.no_rules++;
        goto done;
    }
    if (e->slot_dt >= 0) {
        if (ev->data_type != e->dt_cached || !e->dt_buf[0]) {
            snprintf(e->dt_buf, sizeof(e->dt_buf), "%d", ev->data_type);
            e->dt_cached = ev->data_type;
        }
        set_val(e, e->slot_dt, e->dt_buf);
    }
    set_val(e, e->slot_agent, ev->agent_id);
    set_val(e, e->slot_host, ev->hostname);
    for (size_t i = 0; i < e->bucket->nrules; i++) {
        uint32_t ri = e->bucket->rules[i];
        const rule_t *r = &rs->rules[ri];
        switch (r->type) {
        case RULE_SIMPLE:
            if (eval(e, r->match)) {
                e->stats.matched++;
                if (allowed(e, r))
                    emitted += raise_alert(e, ri, 1);
            }
            break;
        case RULE_THRESHOLD:
            if (eval(e, r->match)) {
                e->stats.matched++;
                if (allowed(e, r))
                    emitted += threshold(e, ri);
            }
            break;
        case RULE_SEQUENCE:
            emitted += r->by_process ? sequence_by_process(e, ri) : sequence_by_fields(e, ri);
            break;
        }
    }
done:
    if (e->self && (ev->data_type == HUB_DT_EXIT || ev->data_type == HUB_DT_EXIT_GROUP))
        proctable_exit(e->procs, e->agent_hash, e->pid);
    e->ev = NULL;
    return emitted;
}
