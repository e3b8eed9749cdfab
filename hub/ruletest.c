#include "hub/ruletest.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/strbuf.h"
#include "common/xalloc.h"
#include "hub/alert.h"
#include "hub/engine.h"

#define MAX_FIELDS  64
#define MAX_RAISED  256
#define BASE_TIME_S 1700000000LL

typedef struct {
    size_t n;
    char ids[MAX_RAISED][RULE_ID_MAX + 1];
    bool overflow;
    bool bad_json;
} raised_t;

typedef struct {
    ruleset_t *rs;
    engine_t *engine;
    raised_t raised;
    unsigned *fires, *benign; /* per rule */
    FILE *out;
    ruletest_result_t *res;
    const char *file;
    yaml_document_t *doc;
} rt_t;

static void on_alert(void *ud, const hub_alert_t *a)
{
    rt_t *t = ud;
    /* the JSON is rendered for every alert, so the tests also exercise alert.c */
    strbuf_t sb = STRBUF_INIT;
    alert_render(a, "rule-test", 0, &sb);
    if (!sb.data || sb.data[0] != '{' || sb.data[sb.len - 1] != '}')
        t->raised.bad_json = true;
    strbuf_dispose(&sb);
    if (a->kind != ALERT_NEW)
        return;
    if (t->raised.n == MAX_RAISED) {
        t->raised.overflow = true;
        return;
    }
    snprintf(t->raised.ids[t->raised.n++], RULE_ID_MAX + 1, "%s", a->rule->id);
}

static yaml_node_t *nd(rt_t *t, int i)
{
    return yaml_document_get_node(t->doc, i);
}

static const char *sc(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *get(rt_t *t, const yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (sc(nd(t, p->key)) && strcmp(sc(nd(t, p->key)), key) == 0)
            return nd(t, p->value);
    return NULL;
}

static void case_fail(rt_t *t, const yaml_node_t *at, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void case_fail(rt_t *t, const yaml_node_t *at, const char *name, const char *fmt, ...)
{
    fprintf(t->out, "FAIL %s:%zu: %s: ", t->file, at ? (size_t)at->start_mark.line + 1 : 0,
            name ? name : "?");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->out, fmt, ap);
    va_end(ap);
    fputc('\n', t->out);
    t->res->failed++;
}

/* Sequence of scalars -> strings; NULL entries skipped. */
static size_t strings_of(rt_t *t, const yaml_node_t *seq, const char **out, size_t max)
{
    size_t n = 0;
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top && n < max; it++)
        if (sc(nd(t, *it)))
            out[n++] = sc(nd(t, *it));
    return n;
}

static int run_event(rt_t *t, const yaml_node_t *evn, int64_t *time_s, const char *name)
{
    const yaml_node_t *dtn = get(t, evn, "data_type"), *tn = get(t, evn, "time"),
                      *an = get(t, evn, "agent"), *hn = get(t, evn, "hostname"),
                      *fn = get(t, evn, "fields");
    if (!sc(dtn) || (fn && fn->type != YAML_MAPPING_NODE)) {
        case_fail(t, evn, name, "an event needs data_type and fields as a mapping");
        return -EINVAL;
    }
    if (sc(tn))
        *time_s = strtoll(sc(tn), NULL, 10);
    else
        *time_s += 1;
    Grpc__Payload__FieldsEntry ent[MAX_FIELDS], *ptr[MAX_FIELDS];
    size_t n = 0;
    for (yaml_node_pair_t *p = fn ? fn->data.mapping.pairs.start : NULL;
         fn && p < fn->data.mapping.pairs.top; p++) {
        const char *k = sc(nd(t, p->key)), *v = sc(nd(t, p->value));
        if (!k || !v || n == MAX_FIELDS) {
            case_fail(t, evn, name, "fields: scalar values only, at most %d", MAX_FIELDS);
            return -EINVAL;
        }
        grpc__payload__fields_entry__init(&ent[n]);
        ent[n].key = (char *)k;
        ent[n].value = (char *)v;
        ptr[n] = &ent[n];
        n++;
    }
    hub_event_t ev = {.data_type = (int32_t)strtol(sc(dtn), NULL, 10),
                      .time_ms = *time_s * 1000,
                      .agent_id = sc(an) ? sc(an) : "agent-test",
                      .hostname = sc(hn) ? sc(hn) : "host-test",
                      .fields = ptr,
                      .nfields = n,
                      .partition = -1};
    ev.identity = hub_event_identity(&ev);
    engine_process(t->engine, &ev);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void join(const char **v, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", v[i]);
}

static void run_case(rt_t *t, const yaml_node_t *c)
{
    const char *name = sc(get(t, c, "name"));
    const yaml_node_t *evs = get(t, c, "events"), *exp = get(t, c, "expect"),
                      *ben = get(t, c, "benign_for");
    t->res->cases++;
    if (!name || !evs || evs->type != YAML_SEQUENCE_NODE || !exp ||
        exp->type != YAML_SEQUENCE_NODE) {
        case_fail(t, c, name, "a case needs name, events (a list) and expect (a list)");
        return;
    }
    engine_reset_state(t->engine);
    memset(&t->raised, 0, sizeof(t->raised));
    int64_t time_s = BASE_TIME_S;
    for (yaml_node_item_t *it = evs->data.sequence.items.start; it < evs->data.sequence.items.top;
         it++)
        if (run_event(t, nd(t, *it), &time_s, name) < 0)
            return;
    engine_flush(t->engine, INT64_MAX);

    const char *want[MAX_RAISED], *got[MAX_RAISED], *benign[MAX_RAISED];
    size_t nwant = strings_of(t, exp, want, MAX_RAISED);
    size_t nben = strings_of(t, ben, benign, MAX_RAISED);
    size_t ngot = t->raised.n;
    for (size_t i = 0; i < ngot; i++)
        got[i] = t->raised.ids[i];
    qsort(want, nwant, sizeof(char *), cmp_str);
    qsort(got, ngot, sizeof(char *), cmp_str);
    for (size_t i = 0; i < nwant + nben; i++) {
        const char *id = i < nwant ? want[i] : benign[i - nwant];
        if (ruleset_find(t->rs, id) < 0) {
            case_fail(t, c, name, "names rule \"%s\", which the ruleset does not have", id);
            return;
        }
    }
    bool same = nwant == ngot && !t->raised.overflow;
    for (size_t i = 0; same && i < nwant; i++)
        same = strcmp(want[i], got[i]) == 0;
    if (t->raised.bad_json) {
        case_fail(t, c, name, "an alert rendered as malformed JSON");
        return;
    }
    if (!same) {
        char w[1024], g[1024];
        join(want, nwant, w, sizeof(w));
        join(got, ngot, g, sizeof(g));
        case_fail(t, c, name, "expected [%s], got [%s]", w, g);
        return;
    }
    for (size_t i = 0; i < nwant; i++)
        t->fires[ruleset_find(t->rs, want[i])]++;
    for (size_t i = 0; i < nben; i++) {
        bool fired = false;
        for (size_t j = 0; j < nwant; j++)
            fired = fired || strcmp(want[j], benign[i]) == 0;
        if (fired) {
            case_fail(t, c, name, "is benign for %s but expects it to fire", benign[i]);
            return;
        }
        t->benign[ruleset_find(t->rs, benign[i])]++;
    }
    t->res->passed++;
}

static int run_file(rt_t *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(t->out, "FAIL %s: %s\n", path, strerror(errno));
        t->res->failed++;
        return -errno;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    t->file = path;
    t->res->files++;
    if (!yaml_parser_load(&p, &doc)) {
        fprintf(t->out, "FAIL %s:%zu: %s\n", path, (size_t)p.problem_mark.line + 1,
                p.problem ? p.problem : "YAML error");
        t->res->failed++;
        yaml_parser_delete(&p);
        fclose(f);
        return -EINVAL;
    }
    t->doc = &doc;
    yaml_node_t *cases = get(t, yaml_document_get_root_node(&doc), "cases");
    if (!cases || cases->type != YAML_SEQUENCE_NODE) {
        fprintf(t->out, "FAIL %s: no list of cases\n", path);
        t->res->failed++;
    } else {
        for (yaml_node_item_t *it = cases->data.sequence.items.start;
             it < cases->data.sequence.items.top; it++)
            run_case(t, nd(t, *it));
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    fclose(f);
    return 0;
}

static void coverage(rt_t *t, bool require)
{
    ruleset_t *rs = t->rs;
    fprintf(t->out, "\ncoverage: %zu rules\n", rs->nrules);
    for (size_t i = 0; i < rs->nrules; i++) {
        if (t->fires[i] && t->benign[i])
            continue;
        const char *what = !t->fires[i] && !t->benign[i] ? "no firing case and no benign case"
                           : !t->fires[i]                ? "no firing case"
                                                         : "no benign case";
        fprintf(t->out, "%s rule %s (%s): %s\n", require ? "FAIL" : "warn", rs->rules[i].id,
                rs->rules[i].source, what);
        if (!t->fires[i])
            t->res->rules_without_fire++;
        if (!t->benign[i])
            t->res->rules_without_benign++;
    }
    /* ATT&CK techniques, each with the rules that cover it */
    const char **tech = NULL;
    size_t ntech = 0;
    for (size_t i = 0; i < rs->nrules; i++)
        for (size_t j = 0; j < rs->rules[i].nattack; j++) {
            bool seen = false;
            for (size_t k = 0; k < ntech && !seen; k++)
                seen = strcmp(tech[k], rs->rules[i].attack[j]) == 0;
            if (!seen) {
                tech = xrealloc(tech, (ntech + 1) * sizeof(char *));
                tech[ntech++] = rs->rules[i].attack[j];
            }
        }
    if (ntech)
        qsort(tech, ntech, sizeof(char *), cmp_str);
    fprintf(t->out, "ATT&CK techniques covered: %zu\n", ntech);
    for (size_t k = 0; k < ntech; k++) {
        fprintf(t->out, "  %-10s", tech[k]);
        for (size_t i = 0; i < rs->nrules; i++)
            for (size_t j = 0; j < rs->rules[i].nattack; j++)
                if (strcmp(rs->rules[i].attack[j], tech[k]) == 0)
                    fprintf(t->out, " %s%s", rs->rules[i].id, t->fires[i] ? "" : "(untested)");
        fputc('\n', t->out);
    }
    free(tech);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ruletest_run(ruleset_t *rs, const char *dir, bool require_coverage, FILE *out,
                 ruletest_result_t *res)
{
    memset(res, 0, sizeof(*res));
    DIR *d = opendir(dir);
    if (!d) {
        int rc = -errno;
        fprintf(out, "%s: %s\n", dir, strerror(-rc));
        return rc;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] != '.' && l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0) {
            names = xrealloc(names, (n + 1) * sizeof(char *));
            names[n++] = xasprintf("%s/%s", dir, de->d_name);
        }
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(char *), name_cmp);
    rt_t t = {.rs = rs, .out = out, .res = res};
    engine_opts_t eo = {.proc_capacity = 4096,
                        .group_capacity = 1024,
                        .dedup_capacity = 1024,
                        .emit = on_alert,
                        .emit_ud = &t};
    t.engine = engine_new(&eo);
    engine_set_ruleset(t.engine, rs);
    t.fires = xcalloc(rs->nrules + 1, sizeof(unsigned));
    t.benign = xcalloc(rs->nrules + 1, sizeof(unsigned));
    for (size_t i = 0; i < n; i++)
        run_file(&t, names[i]);
    coverage(&t, require_coverage);
    fprintf(out, "\nrule tests: %zu files, %zu cases\n%zu passed, %zu failed\n", res->files,
            res->cases, res->passed, res->failed);
    bool ok =
        res->failed == 0 && res->cases > 0 &&
        (!require_coverage || (res->rules_without_fire == 0 && res->rules_without_benign == 0));
    engine_free(t.engine);
    free(t.fires);
    free(t.benign);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return ok ? 0 : 1;
}
