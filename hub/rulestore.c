#include "hub/rulestore.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define PUSHED_RULES "pushed-rules.yaml"
#define PUSHED_WL    "pushed-whitelist.yaml"

struct rulestore {
    pthread_mutex_t mu;
    char *dir, *state_dir;
    rulestore_publish_fn publish;
    void *ud;
    char *pushed_rules, *pushed_wl; /* NULL: none */
    json_t *summary;                /* of the ruleset in force */
    uint64_t version;
    atomic_uint_fast64_t ok, failed;
};

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = xmalloc(cap);
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

rulestore_t *rulestore_new(const char *rules_dir, const char *state_dir,
                           rulestore_publish_fn publish, void *ud)
{
    rulestore_t *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->dir = xstrdup(rules_dir);
    s->state_dir = xstrdup(state_dir);
    s->publish = publish;
    s->ud = ud;
    char *p = xasprintf("%s/%s", state_dir, PUSHED_RULES);
    s->pushed_rules = read_all(p);
    free(p);
    p = xasprintf("%s/%s", state_dir, PUSHED_WL);
    s->pushed_wl = read_all(p);
    free(p);
    return s;
}

void rulestore_free(rulestore_t *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s->state_dir);
    free(s->pushed_rules);
    free(s->pushed_wl);
    json_decref(s->summary);
    free(s);
}

/* Writes text to state_dir/name through a temporary file and rename(2); NULL text removes. */
static int persist(const rulestore_t *s, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", s->state_dir, name);
    char *tmp = xasprintf("%s/.%s.tmp", s->state_dir, name);
    int rc = 0;
    if (!text) {
        if (unlink(path) < 0 && errno != ENOENT)
            rc = -errno;
        goto done;
    }
    mkdir(s->state_dir, 0700);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto done;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
done:
    free(path);
    free(tmp);
    return rc;
}

static json_t *str_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *summarize(const ruleset_t *rs, uint64_t version)
{
    json_t *rules = json_array(), *wl = json_array();
    for (size_t i = 0; i < rs->nrules; i++) {
        const rule_t *r = &rs->rules[i];
        json_array_append_new(rules,
                              json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", r->id, "name", r->name,
                                        "severity", severity_name(r->severity), "attack",
                                        str_array(r->attack, r->nattack), "source", r->source));
    }
    for (size_t i = 0; i < rs->nwhitelist; i++) {
        const whitelist_entry_t *w = &rs->whitelist[i];
        json_array_append_new(wl,
                              json_pack("{s:s, s:o, s:s}", "id", w->id, "rules",
                                        str_array(w->rule_globs, w->nglobs), "source", w->source));
    }
    return json_pack("{s:I, s:I, s:o, s:I, s:I, s:o}", "version", (json_int_t)version, "loaded_at",
                     (json_int_t)time(NULL), "rules", rules, "lists", (json_int_t)rs->nlists,
                     "macros", (json_int_t)rs->nmacros, "whitelist", wl);
}

int rulestore_reload(rulestore_t *s, rulestore_op_t rules_op, const char *rules_text,
                     size_t rules_len, rulestore_op_t wl_op, const char *wl_text, size_t wl_len,
                     char *err, size_t errlen)
{
    pthread_mutex_lock(&s->mu);
    char *new_rules = rules_op == RULESTORE_SET ? xstrndup(rules_text, rules_len) : NULL;
    char *new_wl = wl_op == RULESTORE_SET ? xstrndup(wl_text, wl_len) : NULL;
    const char *r = rules_op == RULESTORE_SET ? new_rules : s->pushed_rules;
    const char *w = wl_op == RULESTORE_SET ? new_wl : s->pushed_wl;
    ruleset_source_t extra[2];
    size_t nextra = 0;
    if (r && *r)
        extra[nextra++] = (ruleset_source_t){
            .name = "pushed-rules", .text = r, .len = strlen(r), .override = true};
    if (w && *w)
        extra[nextra++] = (ruleset_source_t){
            .name = "pushed-whitelist", .text = w, .len = strlen(w), .override = true};
    ruleset_t *rs = NULL;
    int rc = ruleset_load_dir(s->dir, extra, nextra, &rs, err, errlen);
    if (rc == 0 && rules_op == RULESTORE_SET)
        rc = persist(s, PUSHED_RULES, new_rules);
    if (rc == 0 && wl_op == RULESTORE_SET)
        rc = persist(s, PUSHED_WL, new_wl);
    if (rc < 0) {
        if (rs)
            snprintf(err, errlen, "cannot write the state directory %s: %s", s->state_dir,
                     strerror(-rc));
        ruleset_free(rs);
        free(new_rules);
        free(new_wl);
        atomic_fetch_add(&s->failed, 1);
        char q[1100];
        LOG_ERROR("rules_refused", "error=%s", log_quote(q, sizeof(q), err));
        pthread_mutex_unlock(&s->mu);
        return rc == -EINVAL ? -EINVAL : rc;
    }
    if (rules_op == RULESTORE_SET) {
        free(s->pushed_rules);
        s->pushed_rules = new_rules;
    }
    if (wl_op == RULESTORE_SET) {
        free(s->pushed_wl);
        s->pushed_wl = new_wl;
    }
    s->version++;
    json_decref(s->summary);
    s->summary = summarize(rs, s->version);
    LOG_INFO("rules_loaded", "version=%llu rules=%zu whitelist=%zu pushed_rules=%s",
             (unsigned long long)s->version, rs->nrules, rs->nwhitelist,
             s->pushed_rules && *s->pushed_rules ? "yes" : "no");
    atomic_fetch_add(&s->ok, 1);
    s->publish(s->ud, rs);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

json_t *rulestore_describe(rulestore_t *s, const char *which)
{
    pthread_mutex_lock(&s->mu);
    json_t *out = s->summary ? json_deep_copy(s->summary) : json_object();
    if (strcmp(which, "whitelist") == 0) {
        json_object_del(out, "rules");
        json_object_set_new(out, "pushed_whitelist",
                            s->pushed_wl ? json_string(s->pushed_wl) : json_null());
    } else {
        json_object_set_new(out, "pushed_rules",
                            s->pushed_rules ? json_string(s->pushed_rules) : json_null());
    }
    pthread_mutex_unlock(&s->mu);
    return out;
}

uint64_t rulestore_reloads(const rulestore_t *s, bool ok)
{
    return ok ? atomic_load(&s->ok) : atomic_load(&s->failed);
}

size_t rulestore_rule_count(rulestore_t *s)
{
    pthread_mutex_lock(&s->mu);
    json_t *r = s->summary ? json_object_get(s->summary, "rules") : NULL;
    size_t n = r ? json_array_size(r) : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}
