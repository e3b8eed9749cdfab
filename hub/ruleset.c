#include "hub/ruleset.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/xalloc.h"
#include "hub/lru.h"

#define MAX_SOURCES      256
#define MAX_SOURCE_BYTES (8u << 20)
#define MAX_DEPTH        32
#define MAX_SLOTS        4096
#define MAX_VALUES       4096 /* values in one test, lists spliced in */

static const char *const sev_names[] = {"info", "low", "medium", "high", "critical"};

const char *severity_name(severity_t s)
{
    return (unsigned)s < 5 ? sev_names[s] : "unknown";
}

/* ---- compile context ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    yaml_document_t *doc;
    yaml_node_t *node;
    bool override;
    int src;
} named_t;

typedef struct {
    uint16_t slot;
    char **pats;
    unsigned *flags;
    size_t n, cap;
} pred_t;

typedef struct {
    ruleset_t *rs;
    const ruleset_source_t *src;
    size_t nsrc;
    yaml_document_t *docs;
    size_t ndocs;
    named_t *lists, *macros, *rules, *wls;
    size_t nlists, nmacros, nrules, nwls;
    pred_t *preds;
    size_t cap_preds;
    int cur_src; /* source of the node being compiled, for messages */
    char *err;
    size_t errlen;
    int depth;
    const char *macro_stack[MAX_DEPTH];
    size_t nmacro_stack;
} cc_t;

static int fail(cc_t *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(cc_t *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *name = c->cur_src >= 0 ? c->src[c->cur_src].name : "?";
    if (n)
        snprintf(c->err, c->errlen, "%s:%zu: %s", name, (size_t)n->start_mark.line + 1, msg);
    else
        snprintf(c->err, c->errlen, "%s: %s", name, msg);
    return -EINVAL;
}

static yaml_node_t *node_at(cc_t *c, int i)
{
    return yaml_document_get_node(&c->docs[c->cur_src], i);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* ---- slots ---------------------------------------------------------------------------- */

/* Field names are short: hash them 8 bytes at a time (this runs for every field of every
 * event). */
static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = (uint64_t)len * 0x9e3779b97f4a7c15ULL;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        s += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 29);
}

static unsigned filter_bit(const char *name, size_t len)
{
    return (unsigned)((len < 64 ? len : 63) * 128 + ((unsigned char)name[0] & 127));
}

static void slot_hash_rebuild(ruleset_t *rs)
{
    size_t n = 64;
    while (n < rs->nslots * 4)
        n <<= 1;
    free(rs->slot_hash);
    rs->slot_hash = xcalloc(n, sizeof(uint32_t));
    rs->slot_hash_mask = n - 1;
    memset(rs->slot_filter, 0, sizeof(rs->slot_filter));
    for (size_t i = 0; i < rs->nslots; i++) {
        if (rs->slots[i].kind != SLOT_EVENT)
            continue;
        unsigned bit = filter_bit(rs->slots[i].name, rs->slots[i].len);
        rs->slot_filter[bit / 64] |= 1ULL << (bit % 64);
        size_t h = name_hash(rs->slots[i].name, rs->slots[i].len) & rs->slot_hash_mask;
        while (rs->slot_hash[h])
            h = (h + 1) & rs->slot_hash_mask;
        rs->slot_hash[h] = (uint32_t)i + 1;
    }
}

int ruleset_slot(const ruleset_t *rs, const char *name, size_t len)
{
    if (!rs->slot_hash || len == 0)
        return -1;
    unsigned bit = filter_bit(name, len);
    if (!(rs->slot_filter[bit / 64] & (1ULL << (bit % 64))))
        return -1;
    size_t h = name_hash(name, len) & rs->slot_hash_mask;
    for (uint32_t v; (v = rs->slot_hash[h]) != 0; h = (h + 1) & rs->slot_hash_mask) {
        const slot_t *sl = &rs->slots[v - 1];
        if (sl->len == len && memcmp(sl->name, name, len) == 0)
            return (int)v - 1;
    }
    return -1;
}

static const char *const proc_fields[] = {RULESET_PROC_FIELDS};

static const char *const attr_names[PATTR_N] = {"exe", "comm", "argv", "uid", "pid"};

/* 1..max characters of [A-Za-z0-9_.-]: rule ids, list names, field names. */
static bool valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

/* The slot for a field name (interned). -EINVAL with a message when the name is bad. */
static int intern(cc_t *c, const yaml_node_t *at, const char *name)
{
    ruleset_t *rs = c->rs;
    if (!valid_name(name, 128))
        return fail(c, at, "bad field name \"%.64s\"", name);
    for (size_t i = 0; i < rs->nslots; i++)
        if (strcmp(rs->slots[i].name, name) == 0)
            return (int)i;
    slot_t s = {.kind = SLOT_EVENT};
    const char *dot = strchr(name, '.');
    if (dot && (strncmp(name, "parent.", 7) == 0 || strncmp(name, "ancestor.", 9) == 0)) {
        s.kind = name[0] == 'p' ? SLOT_PARENT : SLOT_ANCESTOR;
        int a = -1;
        for (int i = 0; i < PATTR_N; i++)
            if (strcmp(dot + 1, attr_names[i]) == 0)
                a = i;
        if (a < 0)
            return fail(c, at, "%s: unknown process attribute (exe, comm, argv, uid, pid)", name);
        s.attr = (proc_attr_t)a;
    }
    if (rs->nslots >= MAX_SLOTS)
        return fail(c, at, "too many distinct fields (limit %d)", MAX_SLOTS);
    rs->slots = xrealloc(rs->slots, (rs->nslots + 1) * sizeof(slot_t));
    s.name = xstrdup(name);
    s.len = strlen(name);
    rs->slots[rs->nslots] = s;
    return (int)rs->nslots++;
}

/* ---- nodes ------------------------------------------------------------------------------ */

static node_t *node_new(node_kind_t k)
{
    node_t *n = xcalloc(1, sizeof(*n));
    n->kind = k;
    return n;
}

static void node_free(node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->nets);
    free(n);
}

static void node_add(node_t *parent, node_t *kid)
{
    parent->kids = xrealloc(parent->kids, (parent->nkids + 1) * sizeof(node_t *));
    parent->kids[parent->nkids++] = kid;
}

/* ---- values: scalars, sequences and $list references ------------------------------------ */

typedef struct {
    const char **v;
    const yaml_node_t **at;
    size_t n, cap;
} values_t;

static const named_t *find_named(const named_t *arr, size_t n, const char *name)
{
    for (size_t i = n; i-- > 0;) /* later (override) definitions win */
        if (strcmp(arr[i].name, name) == 0)
            return &arr[i];
    return NULL;
}

static int values_add(cc_t *c, values_t *vs, const yaml_node_t *n, int depth);

static int values_add_list(cc_t *c, values_t *vs, const yaml_node_t *at, const char *name,
                           int depth)
{
    if (depth > MAX_DEPTH)
        return fail(c, at, "list $%s: lists nest too deeply (a cycle?)", name);
    const named_t *l = find_named(c->lists, c->nlists, name);
    if (!l)
        return fail(c, at, "unknown list $%s", name);
    int saved = c->cur_src;
    c->cur_src = l->src;
    int rc = values_add(c, vs, l->node, depth + 1);
    c->cur_src = saved;
    return rc;
}

static int values_add(cc_t *c, values_t *vs, const yaml_node_t *n, int depth)
{
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            int rc = values_add(c, vs, node_at(c, *it), depth);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    const char *s = scalar(n);
    if (!s)
        return fail(c, n, "expected a value or a list of values");
    if (s[0] == '$' && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        return values_add_list(c, vs, n, s + 1, depth);
    if (strlen(s) != n->data.scalar.length)
        return fail(c, n, "value contains a NUL character");
    if (vs->n >= MAX_VALUES)
        return fail(c, n, "too many values (limit %d)", MAX_VALUES);
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? vs->cap * 2 : 8;
        vs->v = xrealloc(vs->v, vs->cap * sizeof(char *));
        vs->at = xrealloc(vs->at, vs->cap * sizeof(yaml_node_t *));
    }
    vs->v[vs->n] = s;
    vs->at[vs->n++] = n;
    return 0;
}

static void values_dispose(values_t *vs)
{
    free(vs->v);
    free(vs->at);
}

/* ---- string tests (Hyperscan) --------------------------------------------------------- */

typedef enum { STR_EQUALS, STR_STARTS, STR_ENDS, STR_CONTAINS, STR_REGEX } str_op_t;

static char *literal_pattern(const char *s, bool anchor_start, bool anchor_end)
{
    size_t n = strlen(s);
    char *p = xmalloc(n * 4 + 8);
    size_t o = 0;
    if (anchor_start) {
        p[o++] = '\\';
        p[o++] = 'A';
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) {
            p[o++] = (char)ch;
        } else {
            p[o++] = '\\';
            p[o++] = 'x';
            p[o++] = hex[ch >> 4];
            p[o++] = hex[ch & 15];
        }
    }
    if (anchor_end) {
        p[o++] = '\\';
        p[o++] = 'z';
    }
    p[o] = '\0';
    return p;
}

static uint32_t pred_new(cc_t *c, uint16_t slot)
{
    ruleset_t *rs = c->rs;
    if (rs->npreds == c->cap_preds) {
        c->cap_preds = c->cap_preds ? c->cap_preds * 2 : 64;
        c->preds = xrealloc(c->preds, c->cap_preds * sizeof(pred_t));
    }
    c->preds[rs->npreds] = (pred_t){.slot = slot};
    return rs->npreds++;
}

static void pred_add(pred_t *p, char *pat, unsigned flags)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4;
        p->pats = xrealloc(p->pats, p->cap * sizeof(char *));
        p->flags = xrealloc(p->flags, p->cap * sizeof(unsigned));
    }
    p->pats[p->n] = pat;
    p->flags[p->n++] = flags;
}

static int str_test(cc_t *c, const yaml_node_t *at, uint16_t slot, str_op_t op, bool icase,
                    const yaml_node_t *val, node_t **out)
{
    values_t vs = {0};
    int rc = values_add(c, &vs, val, 0);
    if (rc < 0)
        goto cleanup;
    if (vs.n == 0) {
        rc = fail(c, at, "empty list of values");
        goto cleanup;
    }
    uint32_t id = pred_new(c, slot);
    for (size_t i = 0; i < vs.n; i++) {
        const char *v = vs.v[i];
        unsigned flags = HS_FLAG_SINGLEMATCH | (icase ? HS_FLAG_CASELESS : 0);
        char *pat;
        if (*v == '\0' && op != STR_EQUALS && op != STR_REGEX) {
            rc = fail(c, vs.at[i], "empty value: startswith, endswith and contains need text");
            goto cleanup;
        }
        switch (op) {
        case STR_EQUALS:
            pat = literal_pattern(v, true, true);
            if (*v == '\0')
                flags |= HS_FLAG_ALLOWEMPTY;
            break;
        case STR_STARTS:
            pat = literal_pattern(v, true, false);
            break;
        case STR_ENDS:
            pat = literal_pattern(v, false, true);
            break;
        case STR_CONTAINS:
            pat = literal_pattern(v, false, false);
            break;
        default: {
            pat = xstrdup(v);
            hs_expr_info_t *info = NULL;
            hs_compile_error_t *ce = NULL;
            if (hs_expression_info(pat, flags, &info, &ce) != HS_SUCCESS) {
                rc = fail(c, vs.at[i], "bad regex \"%.80s\": %s", v, ce ? ce->message : "?");
                hs_free_compile_error(ce);
                free(pat);
                goto cleanup;
            }
            if (info->min_width == 0)
                flags |= HS_FLAG_ALLOWEMPTY;
            free(info);
            break;
        }
        }
        pred_add(&c->preds[id], pat, flags);
    }
    node_t *n = node_new(NODE_HS);
    n->slot = slot;
    n->pred = id;
    *out = n;
    rc = 0;
cleanup:
    values_dispose(&vs);
    return rc;
}

/* ---- other leaves ------------------------------------------------------------------------- */

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(d))
        return -EINVAL;
    *out = d;
    return 0;
}

static int parse_cidr(const char *s, cidr_t *out)
{
    char buf[64];
    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    char *slash = strchr(buf, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        prefix = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || prefix < 0)
            return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = 4;
        if (prefix > 32)
            return -EINVAL;
        out->prefix = (uint8_t)(prefix < 0 ? 32 : prefix);
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = 6;
        if (prefix > 128)
            return -EINVAL;
        out->prefix = (uint8_t)(prefix < 0 ? 128 : prefix);
    } else {
        return -EINVAL;
    }
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

static const struct {
    const char *name;
    num_op_t op;
} num_ops[] = {{"lt", NUM_LT}, {"le", NUM_LE}, {"gt", NUM_GT},
               {"ge", NUM_GE}, {"eq", NUM_EQ}, {"ne", NUM_NE}};

static const struct {
    const char *name;
    str_op_t op;
} str_ops[] = {{"equals", STR_EQUALS}, {"in", STR_EQUALS},         {"startswith", STR_STARTS},
               {"endswith", STR_ENDS}, {"contains", STR_CONTAINS}, {"regex", STR_REGEX}};

/* One operator applied to one field. */
static int field_op(cc_t *c, const yaml_node_t *keyn, uint16_t slot, const char *op,
                    const yaml_node_t *val, node_t **out)
{
    for (size_t i = 0; i < sizeof(str_ops) / sizeof(str_ops[0]); i++) {
        bool icase = op[0] == 'i' && strcmp(op + 1, str_ops[i].name) == 0;
        if (icase || strcmp(op, str_ops[i].name) == 0)
            return str_test(c, keyn, slot, str_ops[i].op, icase, val, out);
    }
    for (size_t i = 0; i < sizeof(num_ops) / sizeof(num_ops[0]); i++) {
        if (strcmp(op, num_ops[i].name) != 0)
            continue;
        double d;
        if (!scalar(val) || parse_number(scalar(val), &d) < 0)
            return fail(c, val, "%s: expected a number", op);
        node_t *n = node_new(NODE_NUM);
        n->slot = slot;
        n->op = num_ops[i].op;
        n->num = d;
        *out = n;
        return 0;
    }
    if (strcmp(op, "cidr") == 0) {
        values_t vs = {0};
        int rc = values_add(c, &vs, val, 0);
        if (rc == 0 && vs.n == 0)
            rc = fail(c, val, "cidr: empty list");
        node_t *n = rc == 0 ? node_new(NODE_CIDR) : NULL;
        if (n) {
            n->slot = slot;
            n->want = true;
            n->nets = xcalloc(vs.n, sizeof(cidr_t));
            n->nnets = vs.n;
            for (size_t i = 0; i < vs.n && rc == 0; i++)
                if (parse_cidr(vs.v[i], &n->nets[i]) < 0)
                    rc = fail(c, vs.at[i], "cidr: \"%.64s\" is not an address or network", vs.v[i]);
            if (rc < 0) {
                node_free(n);
                n = NULL;
            }
        }
        values_dispose(&vs);
        *out = n;
        return rc;
    }
    if (strcmp(op, "exists") == 0) {
        bool b;
        if (parse_bool(scalar(val), &b) < 0)
            return fail(c, val, "exists: expected true or false");
        node_t *n = node_new(NODE_EXISTS);
        n->slot = slot;
        n->want = b;
        *out = n;
        return 0;
    }
    if (strcmp(op, "same_as") == 0) {
        if (!scalar(val))
            return fail(c, val, "same_as: expected a field name");
        int s2 = intern(c, val, scalar(val));
        if (s2 < 0)
            return s2;
        node_t *n = node_new(NODE_SAME);
        n->slot = slot;
        n->slot2 = (uint16_t)s2;
        *out = n;
        return 0;
    }
    return fail(c, keyn,
                "unknown operator \"%.40s\" (equals, in, startswith, endswith, contains, regex, "
                "their i- forms, lt, le, gt, ge, eq, ne, cidr, exists, same_as)",
                op);
}

static int field_test(cc_t *c, const yaml_node_t *keyn, const char *field, const yaml_node_t *val,
                      node_t **out)
{
    int slot = intern(c, keyn, field);
    if (slot < 0)
        return slot;
    if (val->type != YAML_MAPPING_NODE) /* shorthand: a value or a list means equals/in */
        return str_test(c, keyn, (uint16_t)slot, STR_EQUALS, false, val, out);
    node_t *all = node_new(NODE_ALL);
    for (yaml_node_pair_t *p = val->data.mapping.pairs.start; p < val->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        node_t *leaf = NULL;
        int rc = scalar(k) ? field_op(c, k, (uint16_t)slot, scalar(k), v, &leaf)
                           : fail(c, k, "expected an operator name");
        if (rc < 0) {
            node_free(all);
            return rc;
        }
        node_add(all, leaf);
    }
    if (all->nkids == 0) {
        node_free(all);
        return fail(c, val, "%s: no operator", field);
    }
    if (all->nkids == 1) {
        node_t *only = all->kids[0];
        all->nkids = 0;
        node_free(all);
        *out = only;
        return 0;
    }
    *out = all;
    return 0;
}

/* ---- conditions ----------------------------------------------------------------------- */

static int cond(cc_t *c, const yaml_node_t *n, node_t **out);

static int cond_list(cc_t *c, const yaml_node_t *n, node_kind_t kind, node_t **out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "%s: expected a list of conditions", kind == NODE_ALL ? "all" : "any");
    node_t *g = node_new(kind);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        node_t *kid = NULL;
        int rc = cond(c, node_at(c, *it), &kid);
        if (rc < 0) {
            node_free(g);
            return rc;
        }
        node_add(g, kid);
    }
    if (g->nkids == 0) {
        node_free(g);
        return fail(c, n, "empty list of conditions");
    }
    *out = g;
    return 0;
}

static int macro_ref(cc_t *c, const yaml_node_t *n, node_t **out)
{
    const char *name = scalar(n);
    if (!name)
        return fail(c, n, "macro: expected a macro name");
    const named_t *m = find_named(c->macros, c->nmacros, name);
    if (!m)
        return fail(c, n, "unknown macro \"%.64s\"", name);
    for (size_t i = 0; i < c->nmacro_stack; i++)
        if (strcmp(c->macro_stack[i], name) == 0)
            return fail(c, n, "macro \"%.64s\" refers to itself", name);
    if (c->nmacro_stack >= MAX_DEPTH)
        return fail(c, n, "macros nest too deeply");
    c->macro_stack[c->nmacro_stack++] = name;
    int saved = c->cur_src;
    c->cur_src = m->src;
    int rc = cond(c, m->node, out);
    c->cur_src = saved;
    c->nmacro_stack--;
    return rc;
}

static int cond(cc_t *c, const yaml_node_t *n, node_t **out)
{
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        return fail(c, n, "conditions nest too deeply");
    }
    int rc = 0;
    node_t *all = NULL;
    if (n->type == YAML_SEQUENCE_NODE) {
        rc = cond_list(c, n, NODE_ALL, out);
        goto done;
    }
    if (n->type != YAML_MAPPING_NODE) {
        rc = fail(c, n, "expected a condition (a mapping of fields, all, any, not, macro)");
        goto done;
    }
    all = node_new(NODE_ALL);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
        const char *key = scalar(k);
        node_t *kid = NULL;
        if (!key)
            rc = fail(c, k, "expected a field name or all/any/not/macro");
        else if (strcmp(key, "all") == 0)
            rc = cond_list(c, v, NODE_ALL, &kid);
        else if (strcmp(key, "any") == 0)
            rc = cond_list(c, v, NODE_ANY, &kid);
        else if (strcmp(key, "not") == 0) {
            node_t *inner = NULL;
            rc = cond(c, v, &inner);
            if (rc == 0) {
                kid = node_new(NODE_NOT);
                node_add(kid, inner);
            }
        } else if (strcmp(key, "macro") == 0)
            rc = macro_ref(c, v, &kid);
        else
            rc = field_test(c, k, key, v, &kid);
        if (rc < 0)
            goto done;
        node_add(all, kid);
    }
    if (all->nkids == 0) {
        rc = fail(c, n, "empty condition");
        goto done;
    }
    if (all->nkids == 1) {
        *out = all->kids[0];
        all->nkids = 0;
    } else {
        *out = all;
        all = NULL;
    }
done:
    node_free(all);
    c->depth--;
    return rc;
}

/* ---- rules ---------------------------------------------------------------------------- */

static const yaml_node_t *map_get(cc_t *c, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (scalar(node_at(c, p->key)) && strcmp(scalar(node_at(c, p->key)), key) == 0)
            return node_at(c, p->value);
    return NULL;
}

static int check_keys(cc_t *c, const yaml_node_t *m, const char *what, const char *const *allowed)
{
    if (m->type != YAML_MAPPING_NODE)
        return fail(c, m, "%s: expected a mapping", what);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node_at(c, p->key);
        const char *key = scalar(k);
        bool ok = false;
        for (size_t i = 0; key && allowed[i]; i++)
            ok = ok || strcmp(key, allowed[i]) == 0;
        if (!ok)
            return fail(c, k, "%s: unknown key \"%.40s\"", what, key ? key : "?");
    }
    return 0;
}

/* "30s", "5m", "1h", "500ms", or a bare number of seconds. */
static int parse_duration(cc_t *c, const yaml_node_t *n, int64_t *ms)
{
    const char *s = scalar(n);
    char *end;
    if (!s)
        return fail(c, n, "expected a duration such as 60s");
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return fail(c, n, "bad duration \"%.32s\"", s);
    int64_t mul = 1000;
    if (!strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s") || !*end)
        mul = 1000;
    else if (!strcmp(end, "m"))
        mul = 60000;
    else if (!strcmp(end, "h"))
        mul = 3600000;
    else if (!strcmp(end, "d"))
        mul = 86400000;
    else
        return fail(c, n, "bad duration \"%.32s\" (units: ms, s, m, h, d)", s);
    if (v > INT64_MAX / mul / 2)
        return fail(c, n, "duration too large");
    *ms = v * mul;
    return 0;
}

static int parse_string_list(cc_t *c, const yaml_node_t *n, char ***out, size_t *nout)
{
    values_t vs = {0};
    int rc = values_add(c, &vs, n, 0);
    if (rc == 0) {
        *out = xcalloc(vs.n + 1, sizeof(char *));
        for (size_t i = 0; i < vs.n; i++)
            (*out)[i] = xstrdup(vs.v[i]);
        *nout = vs.n;
    }
    values_dispose(&vs);
    return rc;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int parse_data_types(cc_t *c, const yaml_node_t *n, int32_t **out, size_t *nout)
{
    values_t vs = {0};
    int rc = values_add(c, &vs, n, 0);
    if (rc == 0 && vs.n == 0)
        rc = fail(c, n, "data_type: empty list");
    if (rc == 0) {
        *out = xcalloc(vs.n, sizeof(int32_t));
        *nout = vs.n;
        for (size_t i = 0; i < vs.n && rc == 0; i++) {
            char *end;
            errno = 0;
            long v = strtol(vs.v[i], &end, 10);
            if (errno || end == vs.v[i] || *end || v < 0 || v > INT32_MAX)
                rc = fail(c, vs.at[i], "data_type: \"%.32s\" is not a number", vs.v[i]);
            else
                (*out)[i] = (int32_t)v;
        }
    }
    values_dispose(&vs);
    return rc;
}

static int parse_slots(cc_t *c, const yaml_node_t *n, uint16_t *slots, size_t *nslots,
                       const char *what)
{
    values_t vs = {0};
    int rc = values_add(c, &vs, n, 0);
    if (rc == 0 && vs.n > RULE_KEYS_MAX)
        rc = fail(c, n, "%s: at most %d fields", what, RULE_KEYS_MAX);
    for (size_t i = 0; i < vs.n && rc == 0; i++) {
        int s = intern(c, vs.at[i], vs.v[i]);
        if (s < 0)
            rc = s;
        else
            slots[i] = (uint16_t)s;
    }
    if (rc == 0)
        *nslots = vs.n;
    values_dispose(&vs);
    return rc;
}

static bool valid_id(const char *s)
{
    return valid_name(s, RULE_ID_MAX);
}

static char *opt_text(cc_t *c, const yaml_node_t *m, const char *key, int *rc)
{
    const yaml_node_t *v = map_get(c, m, key);
    if (!v)
        return NULL;
    if (!scalar(v)) {
        *rc = fail(c, v, "%s: expected text", key);
        return NULL;
    }
    return xstrdup(scalar(v));
}

static void add_dt(rule_t *r, int32_t dt)
{
    for (size_t i = 0; i < r->ndata_types; i++)
        if (r->data_types[i] == dt)
            return;
    r->data_types = xrealloc(r->data_types, (r->ndata_types + 1) * sizeof(int32_t));
    r->data_types[r->ndata_types++] = dt;
}

static int compile_exceptions(cc_t *c, const yaml_node_t *n, node_t **out)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(c, n, "exceptions: expected a list of conditions");
    return n->data.sequence.items.start == n->data.sequence.items.top
               ? 0
               : cond_list(c, n, NODE_ANY, out);
}

static int compile_threshold(cc_t *c, rule_t *r, const yaml_node_t *t)
{
    static const char *const keys[] = {"count", "window", "by", "distinct", NULL};
    int rc = check_keys(c, t, "threshold", keys);
    if (rc < 0)
        return rc;
    const yaml_node_t *cn = map_get(c, t, "count"), *wn = map_get(c, t, "window");
    if (!cn || !wn)
        return fail(c, t, "threshold: count and window are required");
    double d;
    if (!scalar(cn) || parse_number(scalar(cn), &d) < 0 || d < 1 || d > RULE_THRESH_MAX ||
        d != floor(d))
        return fail(c, cn, "threshold.count: expected a whole number 1..%d", RULE_THRESH_MAX);
    r->thresh_count = (uint32_t)d;
    if ((rc = parse_duration(c, wn, &r->window_ms)) < 0)
        return rc;
    if (r->window_ms <= 0)
        return fail(c, wn, "threshold.window must be positive");
    const yaml_node_t *by = map_get(c, t, "by");
    if (by && (rc = parse_slots(c, by, r->by, &r->nby, "threshold.by")) < 0)
        return rc;
    const yaml_node_t *dn = map_get(c, t, "distinct");
    r->distinct_slot = -1;
    if (dn) {
        if (!scalar(dn))
            return fail(c, dn, "threshold.distinct: expected a field name");
        int s = intern(c, dn, scalar(dn));
        if (s < 0)
            return s;
        r->distinct_slot = s;
    }
    r->type = RULE_THRESHOLD;
    return 0;
}

static int compile_sequence(cc_t *c, rule_t *r, const yaml_node_t *sq)
{
    static const char *const keys[] = {"within", "by", "steps", NULL};
    static const char *const step_keys[] = {"data_type", "match", "count", NULL};
    int rc = check_keys(c, sq, "sequence", keys);
    if (rc < 0)
        return rc;
    const yaml_node_t *wn = map_get(c, sq, "within"), *by = map_get(c, sq, "by"),
                      *st = map_get(c, sq, "steps");
    if (!wn || !by || !st)
        return fail(c, sq, "sequence: within, by and steps are required");
    if ((rc = parse_duration(c, wn, &r->window_ms)) < 0)
        return rc;
    if (scalar(by) && strcmp(scalar(by), "process") == 0)
        r->by_process = true;
    else if ((rc = parse_slots(c, by, r->by, &r->nby, "sequence.by")) < 0)
        return rc;
    if (st->type != YAML_SEQUENCE_NODE)
        return fail(c, st, "sequence.steps: expected a list");
    size_t n = (size_t)(st->data.sequence.items.top - st->data.sequence.items.start);
    if (n < 2 || n > RULE_STEPS_MAX)
        return fail(c, st, "sequence.steps: 2 to %d steps", RULE_STEPS_MAX);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *s = node_at(c, st->data.sequence.items.start[i]);
        if ((rc = check_keys(c, s, "sequence step", step_keys)) < 0)
            return rc;
        seq_step_t *step = &r->steps[r->nsteps++];
        step->count = 1;
        const yaml_node_t *dt = map_get(c, s, "data_type"), *m = map_get(c, s, "match"),
                          *cn = map_get(c, s, "count");
        if (!dt && !r->ndata_types)
            return fail(c, s, "sequence step: data_type is required (here or on the rule)");
        if (dt) {
            if ((rc = parse_data_types(c, dt, &step->data_types, &step->ndata_types)) < 0)
                return rc;
        } else {
            step->data_types = xmalloc(r->ndata_types * sizeof(int32_t));
            memcpy(step->data_types, r->data_types, r->ndata_types * sizeof(int32_t));
            step->ndata_types = r->ndata_types;
        }
        if (!m)
            return fail(c, s, "sequence step: match is required");
        if ((rc = cond(c, m, &step->match)) < 0)
            return rc;
        if (cn) {
            double d;
            if (!scalar(cn) || parse_number(scalar(cn), &d) < 0 || d < 1 || d > RULE_THRESH_MAX ||
                d != floor(d))
                return fail(c, cn, "count: expected a whole number 1..%d", RULE_THRESH_MAX);
            if (r->by_process && d > 1)
                return fail(c, cn, "count > 1 needs a sequence keyed by fields, not by process");
            step->count = (uint32_t)d;
        }
    }
    for (size_t i = 0; i < r->nsteps; i++)
        for (size_t j = 0; j < r->steps[i].ndata_types; j++)
            add_dt(r, r->steps[i].data_types[j]);
    r->type = RULE_SEQUENCE;
    return 0;
}

static void rule_dispose(rule_t *r)
{
    free(r->id);
    free(r->name);
    free(r->description);
    free(r->remediation);
    free(r->source);
    free_strv(r->attack, r->nattack);
    free_strv(r->tags, r->ntags);
    free(r->data_types);
    node_free(r->match);
    node_free(r->exceptions);
    for (size_t i = 0; i < r->nsteps; i++) {
        free(r->steps[i].data_types);
        node_free(r->steps[i].match);
    }
    free(r->wl);
}

static bool valid_attack(const char *s)
{
    /* T1234 or T1234.001 */
    if (s[0] != 'T' || strlen(s) < 5)
        return false;
    for (int i = 1; i < 5; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    if (s[5] == '\0')
        return true;
    return s[5] == '.' && strlen(s) == 9 && s[6] >= '0' && s[6] <= '9' && s[7] >= '0' &&
           s[7] <= '9' && s[8] >= '0' && s[8] <= '9';
}

static int compile_rule(cc_t *c, const named_t *nm, rule_t *r, bool *enabled)
{
    static const char *const keys[] = {"id",          "name",        "severity", "attack",
                                       "description", "remediation", "tags",     "data_type",
                                       "match",       "exceptions",  "key",      "dedup",
                                       "enabled",     "threshold",   "sequence", NULL};
    const yaml_node_t *m = nm->node;
    c->cur_src = nm->src;
    memset(r, 0, sizeof(*r));
    r->distinct_slot = -1;
    int rc = check_keys(c, m, "rule", keys);
    if (rc < 0)
        return rc;
    const yaml_node_t *idn = map_get(c, m, "id");
    if (!idn || !scalar(idn) || !valid_id(scalar(idn)))
        return fail(c, idn ? idn : m, "rule: id is required: 1-%d characters [A-Za-z0-9_.-]",
                    RULE_ID_MAX);
    r->id = xstrdup(scalar(idn));
    char src[300];
    snprintf(src, sizeof(src), "%s:%zu", c->src[nm->src].name, (size_t)m->start_mark.line + 1);
    r->source = xstrdup(src);
    const yaml_node_t *en = map_get(c, m, "enabled");
    *enabled = true;
    if (en && parse_bool(scalar(en), enabled) < 0)
        return fail(c, en, "enabled: expected true or false");
    r->name = opt_text(c, m, "name", &rc);
    r->description = opt_text(c, m, "description", &rc);
    r->remediation = opt_text(c, m, "remediation", &rc);
    if (rc < 0)
        return rc;
    if (!r->name)
        return fail(c, m, "rule %s: name is required", r->id);
    const yaml_node_t *sv = map_get(c, m, "severity");
    if (!sv)
        return fail(c, m, "rule %s: severity is required", r->id);
    int sev = -1;
    for (int i = 0; i < 5; i++)
        if (scalar(sv) && strcmp(scalar(sv), sev_names[i]) == 0)
            sev = i;
    if (sev < 0)
        return fail(c, sv, "severity: one of info, low, medium, high, critical");
    r->severity = (severity_t)sev;
    const yaml_node_t *an = map_get(c, m, "attack");
    if (an) {
        if ((rc = parse_string_list(c, an, &r->attack, &r->nattack)) < 0)
            return rc;
        for (size_t i = 0; i < r->nattack; i++)
            if (!valid_attack(r->attack[i]))
                return fail(c, an, "attack: \"%.32s\" is not a technique id like T1059.004",
                            r->attack[i]);
    }
    const yaml_node_t *tn = map_get(c, m, "tags");
    if (tn && (rc = parse_string_list(c, tn, &r->tags, &r->ntags)) < 0)
        return rc;
    const yaml_node_t *dt = map_get(c, m, "data_type");
    if (dt && (rc = parse_data_types(c, dt, &r->data_types, &r->ndata_types)) < 0)
        return rc;
    const yaml_node_t *th = map_get(c, m, "threshold"), *sq = map_get(c, m, "sequence"),
                      *mt = map_get(c, m, "match");
    if (th && sq)
        return fail(c, sq, "rule %s: threshold and sequence exclude each other", r->id);
    if (sq) {
        if (mt)
            return fail(c, mt, "rule %s: a sequence has match conditions in its steps", r->id);
        if ((rc = compile_sequence(c, r, sq)) < 0)
            return rc;
    } else {
        if (!r->ndata_types)
            return fail(c, m, "rule %s: data_type is required", r->id);
        if (!mt)
            return fail(c, m, "rule %s: match is required", r->id);
        if ((rc = cond(c, mt, &r->match)) < 0)
            return rc;
        if (th && (rc = compile_threshold(c, r, th)) < 0)
            return rc;
    }
    const yaml_node_t *ex = map_get(c, m, "exceptions");
    if (ex && (rc = compile_exceptions(c, ex, &r->exceptions)) < 0)
        return rc;
    const yaml_node_t *kn = map_get(c, m, "key");
    if (kn && (rc = parse_slots(c, kn, r->keys, &r->nkeys, "key")) < 0)
        return rc;
    const yaml_node_t *dd = map_get(c, m, "dedup");
    r->dedup_ms = kn ? 60000 : 0;
    if (dd && (rc = parse_duration(c, dd, &r->dedup_ms)) < 0)
        return rc;
    r->def_hash = lru_hash(c->src[nm->src].text + m->start_mark.index,
                           m->end_mark.index - m->start_mark.index);
    return 0;
}

static int compile_whitelist(cc_t *c, const named_t *nm, whitelist_entry_t *w)
{
    static const char *const keys[] = {"id", "rules", "match", "comment", NULL};
    const yaml_node_t *m = nm->node;
    c->cur_src = nm->src;
    memset(w, 0, sizeof(*w));
    int rc = check_keys(c, m, "whitelist entry", keys);
    if (rc < 0)
        return rc;
    const yaml_node_t *idn = map_get(c, m, "id");
    if (!idn || !scalar(idn) || !valid_id(scalar(idn)))
        return fail(c, idn ? idn : m, "whitelist entry: id is required");
    w->id = xstrdup(scalar(idn));
    char src[300];
    snprintf(src, sizeof(src), "%s:%zu", c->src[nm->src].name, (size_t)m->start_mark.line + 1);
    w->source = xstrdup(src);
    w->comment = opt_text(c, m, "comment", &rc);
    if (rc < 0)
        return rc;
    const yaml_node_t *rn = map_get(c, m, "rules");
    if (rn && (rc = parse_string_list(c, rn, &w->rule_globs, &w->nglobs)) < 0)
        return rc;
    const yaml_node_t *mt = map_get(c, m, "match");
    if (!mt)
        return fail(c, m, "whitelist entry %s: match is required", w->id);
    return cond(c, mt, &w->match);
}

/* ---- top level: parse every source, collect names, compile ------------------------------- */

static int collect(cc_t *c, int si)
{
    yaml_document_t *d = &c->docs[si];
    yaml_node_t *root = yaml_document_get_root_node(d);
    c->cur_src = si;
    if (!root)
        return 0; /* empty file */
    static const char *const keys[] = {"lists", "macros", "rules", "whitelist", NULL};
    int rc = check_keys(c, root, "top level", keys);
    if (rc < 0)
        return rc;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const char *key = scalar(node_at(c, p->key));
        yaml_node_t *v = node_at(c, p->value);
        bool named = !strcmp(key, "lists") || !strcmp(key, "macros");
        if (named && v->type != YAML_MAPPING_NODE)
            return fail(c, v, "%s: expected a mapping of names", key);
        if (!named && v->type != YAML_SEQUENCE_NODE)
            return fail(c, v, "%s: expected a list", key);
        named_t **arr = !strcmp(key, "lists")    ? &c->lists
                        : !strcmp(key, "macros") ? &c->macros
                        : !strcmp(key, "rules")  ? &c->rules
                                                 : &c->wls;
        size_t *n = !strcmp(key, "lists")    ? &c->nlists
                    : !strcmp(key, "macros") ? &c->nmacros
                    : !strcmp(key, "rules")  ? &c->nrules
                                             : &c->nwls;
        if (named) {
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
                 q++) {
                yaml_node_t *kn = node_at(c, q->key);
                const char *name = scalar(kn);
                if (!name || !valid_id(name))
                    return fail(c, kn, "%s: bad name", key);
                const named_t *prev = find_named(*arr, *n, name);
                if (prev && !c->src[si].override)
                    return fail(c, kn, "%s: \"%s\" is already defined at %s:%zu", key, name,
                                c->src[prev->src].name, (size_t)prev->node->start_mark.line + 1);
                *arr = xrealloc(*arr, (*n + 1) * sizeof(named_t));
                (*arr)[(*n)++] = (named_t){.name = name,
                                           .doc = d,
                                           .node = node_at(c, q->value),
                                           .override = c->src[si].override,
                                           .src = si};
            }
        } else {
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = node_at(c, *it);
                if (e->type != YAML_MAPPING_NODE)
                    return fail(c, e, "%s: each entry is a mapping", key);
                *arr = xrealloc(*arr, (*n + 1) * sizeof(named_t));
                (*arr)[(*n)++] = (named_t){
                    .name = NULL, .doc = d, .node = e, .override = c->src[si].override, .src = si};
            }
        }
    }
    return 0;
}

static int parse_source(cc_t *c, int si)
{
    const ruleset_source_t *s = &c->src[si];
    c->cur_src = si;
    if (s->len > MAX_SOURCE_BYTES)
        return fail(c, NULL, "larger than %u bytes", MAX_SOURCE_BYTES);
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)s->text, s->len);
    int rc = 0;
    if (!yaml_parser_load(&p, &c->docs[si])) {
        snprintf(c->err, c->errlen, "%s:%zu: %s %s", s->name, (size_t)p.problem_mark.line + 1,
                 p.problem ? p.problem : "YAML error", p.context ? p.context : "");
        memset(&c->docs[si], 0, sizeof(c->docs[si]));
        rc = -EINVAL;
    } else {
        c->ndocs = (size_t)si + 1;
        /* one document per source: a second one would be silently ignored */
        yaml_document_t extra;
        if (yaml_parser_load(&p, &extra)) {
            yaml_node_t *r2 = yaml_document_get_root_node(&extra);
            if (r2)
                rc = fail(c, r2, "only one YAML document per file");
            yaml_document_delete(&extra);
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

/* Which predicates each rule (and the whitelist entries applying to it) uses. */
static void mark_preds(const node_t *n, uint32_t *mark, uint32_t tag)
{
    if (!n)
        return;
    if (n->kind == NODE_HS)
        mark[n->pred] = tag;
    for (size_t i = 0; i < n->nkids; i++)
        mark_preds(n->kids[i], mark, tag);
}

static int build_bucket(cc_t *c, bucket_t *b, uint32_t *mark, uint32_t tag)
{
    ruleset_t *rs = c->rs;
    for (size_t i = 0; i < b->nrules; i++) {
        const rule_t *r = &rs->rules[b->rules[i]];
        mark_preds(r->match, mark, tag);
        mark_preds(r->exceptions, mark, tag);
        for (size_t s = 0; s < r->nsteps; s++)
            mark_preds(r->steps[s].match, mark, tag);
        for (size_t w = 0; w < r->nwl; w++)
            mark_preds(rs->whitelist[r->wl[w]].match, mark, tag);
    }
    b->db = xcalloc(rs->nslots, sizeof(hs_database_t *));
    const char **pats = NULL;
    unsigned *flags = NULL, *ids = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t slot = 0; slot < rs->nslots && rc == 0; slot++) {
        size_t n = 0;
        for (uint32_t p = 0; p < rs->npreds; p++) {
            if (mark[p] != tag || c->preds[p].slot != slot)
                continue;
            for (size_t k = 0; k < c->preds[p].n; k++) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    pats = xrealloc(pats, cap * sizeof(char *));
                    flags = xrealloc(flags, cap * sizeof(unsigned));
                    ids = xrealloc(ids, cap * sizeof(unsigned));
                }
                pats[n] = c->preds[p].pats[k];
                flags[n] = c->preds[p].flags[k];
                ids[n++] = p;
            }
        }
        if (n == 0)
            continue;
        hs_compile_error_t *ce = NULL;
        if (hs_compile_multi(pats, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, &b->db[slot],
                             &ce) != HS_SUCCESS) {
            c->cur_src = -1;
            rc = fail(c, NULL, "data_type %d, field %s: pattern compilation failed: %s",
                      b->data_type, rs->slots[slot].name, ce ? ce->message : "?");
            hs_free_compile_error(ce);
            break;
        }
        if (hs_alloc_scratch(b->db[slot], &rs->scratch) != HS_SUCCESS) {
            c->cur_src = -1;
            rc = fail(c, NULL, "Hyperscan scratch allocation failed");
        }
    }
    free(pats);
    free(flags);
    free(ids);
    return rc;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int build_index(cc_t *c)
{
    ruleset_t *rs = c->rs;
    int32_t *dts = NULL;
    size_t ndt = 0;
    for (size_t i = 0; i < rs->nrules; i++)
        for (size_t j = 0; j < rs->rules[i].ndata_types; j++) {
            dts = xrealloc(dts, (ndt + 1) * sizeof(int32_t));
            dts[ndt++] = rs->rules[i].data_types[j];
        }
    if (ndt)
        qsort(dts, ndt, sizeof(int32_t), cmp_i32);
    rs->buckets = xcalloc(ndt ? ndt : 1, sizeof(bucket_t));
    for (size_t i = 0; i < ndt; i++)
        if (i == 0 || dts[i] != dts[i - 1])
            rs->buckets[rs->nbuckets++].data_type = dts[i];
    free(dts);
    for (size_t i = 0; i < rs->nrules; i++) {
        const rule_t *r = &rs->rules[i];
        for (size_t j = 0; j < r->ndata_types; j++) {
            bucket_t *b = (bucket_t *)ruleset_bucket(rs, r->data_types[j]);
            b->rules = xrealloc(b->rules, (b->nrules + 1) * sizeof(uint32_t));
            b->rules[b->nrules++] = (uint32_t)i;
        }
    }
    uint32_t *mark = xcalloc(rs->npreds ? rs->npreds : 1, sizeof(uint32_t));
    int rc = 0;
    for (size_t i = 0; i < rs->nbuckets && rc == 0; i++)
        rc = build_bucket(c, &rs->buckets[i], mark, (uint32_t)i + 1);
    free(mark);
    return rc;
}

const bucket_t *ruleset_bucket(const ruleset_t *rs, int32_t data_type)
{
    size_t lo = 0, hi = rs->nbuckets;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rs->buckets[mid].data_type < data_type)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rs->nbuckets && rs->buckets[lo].data_type == data_type ? &rs->buckets[lo] : NULL;
}

int ruleset_find(const ruleset_t *rs, const char *id)
{
    for (size_t i = 0; i < rs->nrules; i++)
        if (strcmp(rs->rules[i].id, id) == 0)
            return (int)i;
    return -1;
}

static atomic_uint_fast64_t generation_counter = 1;

ruleset_t *ruleset_compile(const ruleset_source_t *src, size_t nsrc, char *err, size_t errlen)
{
    cc_t c = {.src = src, .nsrc = nsrc, .err = err, .errlen = errlen, .cur_src = -1};
    int rc = 0;
    err[0] = '\0';
    c.rs = xcalloc(1, sizeof(ruleset_t));
    c.rs->generation = atomic_fetch_add(&generation_counter, 1);
    c.rs->nsources = nsrc;
    if (nsrc > MAX_SOURCES) {
        snprintf(err, errlen, "too many rule files (limit %d)", MAX_SOURCES);
        rc = -EINVAL;
        goto cleanup;
    }
    c.docs = xcalloc(nsrc ? nsrc : 1, sizeof(yaml_document_t));
    for (size_t i = 0; i < nsrc && rc == 0; i++)
        rc = parse_source(&c, (int)i);
    for (size_t i = 0; i < nsrc && rc == 0; i++)
        rc = collect(&c, (int)i);
    if (rc < 0)
        goto cleanup;
    c.rs->nlists = c.nlists;
    c.rs->nmacros = c.nmacros;
    /* the fields the process table reads always have slots (engine.c reads them by index) */
    for (size_t i = 0; i < sizeof(proc_fields) / sizeof(proc_fields[0]); i++)
        intern(&c, NULL, proc_fields[i]);

    /* whitelist first: rules record which entries apply to them */
    ruleset_t *rs = c.rs;
    rs->whitelist = xcalloc(c.nwls ? c.nwls : 1, sizeof(whitelist_entry_t));
    for (size_t i = 0; i < c.nwls && rc == 0; i++) {
        rc = compile_whitelist(&c, &c.wls[i], &rs->whitelist[rs->nwhitelist]);
        rs->nwhitelist++;
        for (size_t j = 0; rc == 0 && j + 1 < rs->nwhitelist; j++)
            if (!strcmp(rs->whitelist[j].id, rs->whitelist[rs->nwhitelist - 1].id))
                rc = fail(&c, c.wls[i].node, "whitelist entry \"%s\" is defined twice",
                          rs->whitelist[j].id);
    }
    rs->rules = xcalloc(c.nrules ? c.nrules : 1, sizeof(rule_t));
    for (size_t i = 0; i < c.nrules && rc == 0; i++) {
        rule_t r;
        bool enabled;
        rc = compile_rule(&c, &c.rules[i], &r, &enabled);
        if (rc < 0) {
            rule_dispose(&r);
            break;
        }
        int prev = ruleset_find(rs, r.id);
        if (prev >= 0 && !c.rules[i].override) {
            rc = fail(&c, c.rules[i].node, "rule \"%s\" is already defined at %s", r.id,
                      rs->rules[prev].source);
            rule_dispose(&r);
            break;
        }
        if (prev >= 0) { /* an override replaces (or disables) the earlier rule */
            rule_dispose(&rs->rules[prev]);
            memmove(&rs->rules[prev], &rs->rules[prev + 1],
                    (rs->nrules - (size_t)prev - 1) * sizeof(rule_t));
            rs->nrules--;
        }
        if (!enabled) {
            /* keep it out of the index, but remember the id so a later override can see it */
            rule_dispose(&r);
            continue;
        }
        for (size_t w = 0; w < rs->nwhitelist; w++) {
            bool applies = rs->whitelist[w].nglobs == 0;
            for (size_t g = 0; g < rs->whitelist[w].nglobs && !applies; g++)
                applies = fnmatch(rs->whitelist[w].rule_globs[g], r.id, 0) == 0;
            if (applies) {
                r.wl = xrealloc(r.wl, (r.nwl + 1) * sizeof(uint32_t));
                r.wl[r.nwl++] = (uint32_t)w;
            }
        }
        rs->rules[rs->nrules++] = r;
    }
    if (rc < 0)
        goto cleanup;
    slot_hash_rebuild(rs);
    rc = build_index(&c);

cleanup:
    for (size_t i = 0; i < c.ndocs; i++)
        yaml_document_delete(&c.docs[i]);
    free(c.docs);
    free(c.lists);
    free(c.macros);
    free(c.rules);
    free(c.wls);
    for (uint32_t i = 0; i < c.rs->npreds; i++) {
        for (size_t k = 0; k < c.preds[i].n; k++)
            free(c.preds[i].pats[k]);
        free(c.preds[i].pats);
        free(c.preds[i].flags);
    }
    free(c.preds);
    if (rc < 0) {
        ruleset_free(c.rs);
        return NULL;
    }
    return c.rs;
}

void ruleset_free(ruleset_t *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->nrules; i++)
        rule_dispose(&rs->rules[i]);
    free(rs->rules);
    for (size_t i = 0; i < rs->nwhitelist; i++) {
        whitelist_entry_t *w = &rs->whitelist[i];
        free(w->id);
        free(w->comment);
        free(w->source);
        free_strv(w->rule_globs, w->nglobs);
        node_free(w->match);
    }
    free(rs->whitelist);
    for (size_t i = 0; i < rs->nbuckets; i++) {
        for (size_t s = 0; rs->buckets[i].db && s < rs->nslots; s++)
            hs_free_database(rs->buckets[i].db[s]);
        free(rs->buckets[i].db);
        free(rs->buckets[i].rules);
    }
    free(rs->buckets);
    for (size_t i = 0; i < rs->nslots; i++)
        free(rs->slots[i].name);
    free(rs->slots);
    free(rs->slot_hash);
    hs_free_scratch(rs->scratch);
    free(rs);
}

/* ---- loading a directory ------------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    {
        size_t cap = 4096, n = 0;
        char *buf = xmalloc(cap);
        size_t r;
        while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
            n += r;
            if (n > MAX_SOURCE_BYTES) {
                free(buf);
                fclose(f);
                return -EFBIG;
            }
            if (cap - n - 1 == 0) {
                cap *= 2;
                buf = xrealloc(buf, cap);
            }
        }
        int bad = ferror(f);
        fclose(f);
        if (bad) {
            free(buf);
            return -EIO;
        }
        buf[n] = '\0';
        *out = buf;
        *len = n;
    }
    return 0;
}

int ruleset_load_dir(const char *dir, const ruleset_source_t *extra, size_t nextra, ruleset_t **out,
                     char *err, size_t errlen)
{
    char **names = NULL;
    size_t nnames = 0;
    ruleset_source_t *src = NULL;
    char **texts = NULL;
    int rc = 0;
    DIR *d = opendir(dir);
    if (!d) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
        return rc;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        bool yaml = (n > 5 && !strcmp(de->d_name + n - 5, ".yaml")) ||
                    (n > 4 && !strcmp(de->d_name + n - 4, ".yml"));
        if (!yaml || de->d_name[0] == '.')
            continue;
        if (nnames >= MAX_SOURCES) {
            snprintf(err, errlen, "%s: more than %d rule files", dir, MAX_SOURCES);
            rc = -EINVAL;
            break;
        }
        names = xrealloc(names, (nnames + 1) * sizeof(char *));
        names[nnames++] = xasprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (rc < 0)
        goto cleanup;
    if (nnames)
        qsort(names, nnames, sizeof(char *), name_cmp);
    src = xcalloc(nnames + nextra + 1, sizeof(ruleset_source_t));
    texts = xcalloc(nnames + 1, sizeof(char *));
    for (size_t i = 0; i < nnames; i++) {
        size_t len = 0;
        if ((rc = read_file(names[i], &texts[i], &len)) < 0) {
            snprintf(err, errlen, "%s: %s", names[i], strerror(-rc));
            goto cleanup;
        }
        src[i] = (ruleset_source_t){.name = names[i], .text = texts[i], .len = len};
    }
    for (size_t i = 0; i < nextra; i++)
        src[nnames + i] = extra[i];
    *out = ruleset_compile(src, nnames + nextra, err, errlen);
    if (!*out)
        rc = -EINVAL;
cleanup:
    for (size_t i = 0; i < nnames; i++) {
        free(names[i]);
        if (texts)
            free(texts[i]);
    }
    free(names);
    free(texts);
    free(src);
    return rc;
}
