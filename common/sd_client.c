#include "common/sd_client.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/hmac.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

#define RESPONSE_MAX (4 << 20) /* largest SD answer we read */
#define CACHE_MAX    64        /* cached look-ups kept (oldest replaced) */
#define METADATA_MAX 4096

typedef enum { REG_PENDING, REG_LIVE } reg_state_t;

typedef struct {
    int id;
    char name[128];
    char ip[64];
    uint16_t port;
    int weight;
    char *metadata; /* JSON object text */
    reg_state_t state;
    bool weight_changed;
    int64_t due_ms; /* next register/renew attempt */
    int failures;
} reg_t;

typedef struct {
    char name[128];
    size_t count;
    sd_pick_t pick;
    sd_instance_t *items;
    size_t n;
    int64_t fetched_ms;
    bool used;
} cache_entry_t;

struct sd_client {
    char **addrs; /* base URLs, "http://host:port" */
    size_t naddrs;
    char *ak, *sk;
    int renew_ms, timeout_ms, cache_ttl_ms;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool thread_started;
    bool stop;
    size_t current; /* sticky address index for writes */

    reg_t *regs;
    size_t nregs, capregs;
    int next_id;

    cache_entry_t cache[CACHE_MAX];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Random value in [0, n). */
static int64_t jitter(int64_t n)
{
    uint32_t r = 0;
    if (n <= 0 || getrandom(&r, sizeof(r), 0) != sizeof(r))
        return 0;
    return (int64_t)(r % (uint64_t)n);
}

/* ---- HTTP ------------------------------------------------------------------------------- */

/* One request to base+path. Returns the HTTP status (0 on transport failure); *out holds
 * the answer (caller disposes). Signs when the client has keys and sign is set. */
static long http_call(sd_client_t *c, const char *base, const char *method, const char *path,
                      const char *query, const char *body, bool sign, strbuf_t *out)
{
    char target[1024];
    int tn = snprintf(target, sizeof(target), "%s%s%s", path, query ? "?" : "", query ? query : "");
    if (tn < 0 || (size_t)tn >= sizeof(target))
        return 0;
    http_client_header_t hdrs[5] = {{"Content-Type", "application/json"}};
    size_t nh = 1;
    hmac_headers_t hh;
    if (sign && c->ak && c->sk) {
        hmac_kv_t *q = NULL;
        size_t nq = 0;
        if (query && hmac_query_parse(query, &q, &nq) < 0)
            nq = 0;
        if (hmac_sign(c->ak, c->sk, method, path, q, nq, body, body ? strlen(body) : 0,
                      (int64_t)time(NULL), &hh) == 0) {
            hdrs[nh++] = (http_client_header_t){HMAC_HDR_KEY, hh.key};
            hdrs[nh++] = (http_client_header_t){HMAC_HDR_TIMESTAMP, hh.timestamp};
            hdrs[nh++] = (http_client_header_t){HMAC_HDR_NONCE, hh.nonce};
            hdrs[nh++] = (http_client_header_t){HMAC_HDR_SIGNATURE, hh.signature};
        }
        free(q);
    }
    http_client_request_t req = {.method = method,
                                 .base = base,
                                 .target = target,
                                 .headers = hdrs,
                                 .nheaders = nh,
                                 .body = body,
                                 .body_len = body ? strlen(body) : 0,
                                 .timeout_ms = c->timeout_ms,
                                 .max_body = RESPONSE_MAX};
    int status = 0;
    int rc = http_client_request(&req, &status, out);
    if (rc < 0) {
        LOG_DEBUG("sd_client.http_failed", "addr=%s path=%s error=%s", base, path, strerror(-rc));
        return 0;
    }
    return status;
}

/* ---- registrations ---------------------------------------------------------------------- */

static char *reg_body(const reg_t *r, bool with_meta, bool with_weight)
{
    strbuf_t sb = STRBUF_INIT;
    strbuf_appends(&sb, "{\"name\":");
    strbuf_append_json_string(&sb, r->name);
    strbuf_appends(&sb, ",\"ip\":");
    strbuf_append_json_string(&sb, r->ip);
    strbuf_appendf(&sb, ",\"port\":%u", (unsigned)r->port);
    if (with_weight)
        strbuf_appendf(&sb, ",\"weight\":%d", r->weight);
    if (with_meta && r->metadata) {
        strbuf_appends(&sb, ",\"metadata\":");
        strbuf_appends(&sb, r->metadata);
    }
    strbuf_append(&sb, "}", 1);
    return strbuf_steal(&sb, NULL);
}

/* Sends a write to the sticky SD address, failing over through the others. Returns the HTTP
 * status of the first address that answered (not 5xx), or the last failure. */
static long write_call(sd_client_t *c, const char *path, const char *body)
{
    long status = 0;
    pthread_mutex_lock(&c->mu);
    size_t start = c->current;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < c->naddrs; i++) {
        size_t idx = (start + i) % c->naddrs;
        strbuf_t sb = STRBUF_INIT;
        status = http_call(c, c->addrs[idx], "POST", path, NULL, body, true, &sb);
        if (status >= 400 && status != 404 && status < 500) {
            char q[256];
            LOG_WARN("sd_client.refused", "addr=%s path=%s status=%ld body=%s", c->addrs[idx], path,
                     status, log_quote(q, sizeof(q), sb.data ? sb.data : ""));
        }
        strbuf_dispose(&sb);
        if (status != 0 && status < 500) {
            pthread_mutex_lock(&c->mu);
            c->current = idx;
            pthread_mutex_unlock(&c->mu);
            return status;
        }
    }
    return status;
}

/* One pass over the registrations that are due. Runs on the background thread. */
static void service_regs(sd_client_t *c)
{
    int64_t now = mono_ms();
    for (;;) {
        /* Copy one due registration out under the lock, do HTTP without it. */
        pthread_mutex_lock(&c->mu);
        reg_t snap;
        bool found = false;
        for (size_t i = 0; i < c->nregs && !c->stop; i++) {
            if (c->regs[i].due_ms <= now) {
                snap = c->regs[i];
                snap.metadata = c->regs[i].metadata ? xstrdup(c->regs[i].metadata) : NULL;
                c->regs[i].weight_changed = false;
                /* Provisional: pushed out so that a failure below does not spin. */
                c->regs[i].due_ms = now + c->renew_ms;
                found = true;
                break;
            }
        }
        pthread_mutex_unlock(&c->mu);
        if (!found)
            return;

        bool renew = snap.state == REG_LIVE;
        char *body = reg_body(&snap, !renew, !renew || snap.weight_changed);
        long status = write_call(c, renew ? "/api/v1/renew" : "/api/v1/register", body);
        free(body);
        if (renew && status == 404) {
            LOG_INFO("sd_client.reregister", "name=%s ip=%s port=%u reason=unknown_to_registry",
                     snap.name, snap.ip, (unsigned)snap.port);
            body = reg_body(&snap, true, true);
            status = write_call(c, "/api/v1/register", body);
            free(body);
        }

        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < c->nregs; i++) {
            reg_t *r = &c->regs[i];
            if (r->id != snap.id)
                continue;
            if (status == 200) {
                if (r->state != REG_LIVE)
                    LOG_INFO("sd_client.registered", "name=%s ip=%s port=%u", r->name, r->ip,
                             (unsigned)r->port);
                r->state = REG_LIVE;
                r->failures = 0;
                r->due_ms = now + c->renew_ms - jitter(c->renew_ms / 10 + 1);
            } else {
                if (snap.weight_changed)
                    r->weight_changed = true;
                r->state = REG_PENDING;
                r->failures++;
                int64_t back = 250LL << (r->failures < 6 ? r->failures : 6);
                if (back > c->renew_ms)
                    back = c->renew_ms;
                r->due_ms = now + back / 2 + jitter(back / 2 + 1);
                LOG_WARN("sd_client.register_failed", "name=%s status=%ld retry_ms=%" PRId64,
                         r->name, status, r->due_ms - now);
            }
        }
        pthread_mutex_unlock(&c->mu);
        free(snap.metadata);
    }
}

static void *client_thread(void *arg)
{
    sd_client_t *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        pthread_mutex_unlock(&c->mu);
        service_regs(c);
        pthread_mutex_lock(&c->mu);
        if (c->stop)
            break;
        int64_t next = mono_ms() + c->renew_ms;
        for (size_t i = 0; i < c->nregs; i++) {
            if (c->regs[i].due_ms < next)
                next = c->regs[i].due_ms;
        }
        int64_t wait = next - mono_ms();
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static char *normalize_addr(const char *a)
{
    size_t n = strlen(a);
    while (n > 0 && a[n - 1] == '/')
        n--;
    if (strncmp(a, "http://", 7) == 0)
        return xstrndup(a, n);
    char *tmp = xstrndup(a, n);
    char *out = xasprintf("http://%s", tmp);
    free(tmp);
    return out;
}

sd_client_t *sd_client_new(const sd_client_opts_t *opts)
{
    if (!opts || opts->naddrs == 0 || !opts->addrs)
        return NULL;
    for (size_t i = 0; i < opts->naddrs; i++) {
        if (strstr(opts->addrs[i], "://") && strncmp(opts->addrs[i], "http://", 7) != 0) {
            LOG_ERROR("sd_client.bad_addr", "addr=%s reason=only_http_supported", opts->addrs[i]);
            return NULL;
        }
    }
    sd_client_t *c = xcalloc(1, sizeof(*c));
    c->addrs = xcalloc(opts->naddrs, sizeof(char *));
    c->naddrs = opts->naddrs;
    for (size_t i = 0; i < opts->naddrs; i++)
        c->addrs[i] = normalize_addr(opts->addrs[i]);
    c->ak = opts->access_key ? xstrdup(opts->access_key) : NULL;
    c->sk = opts->secret_key ? xstrdup(opts->secret_key) : NULL;
    c->renew_ms = opts->renew_interval_ms > 0 ? opts->renew_interval_ms : 10000;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 2000;
    c->cache_ttl_ms = opts->cache_ttl_ms == 0 ? 5000 : opts->cache_ttl_ms;
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    /* Different processes start on different addresses, which spreads the writes. */
    c->current = (size_t)jitter((int64_t)c->naddrs);
    return c;
}

static void evict_all(sd_client_t *c)
{
    for (size_t i = 0; i < c->nregs; i++) {
        reg_t *r = &c->regs[i];
        if (r->state == REG_LIVE) {
            char *body = reg_body(r, false, false);
            long st = write_call(c, "/api/v1/evict", body);
            free(body);
            LOG_INFO("sd_client.evicted", "name=%s ip=%s port=%u status=%ld", r->name, r->ip,
                     (unsigned)r->port, st);
        }
    }
}

void sd_client_free(sd_client_t *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    evict_all(c);
    for (size_t i = 0; i < c->nregs; i++)
        free(c->regs[i].metadata);
    free(c->regs);
    for (size_t i = 0; i < CACHE_MAX; i++)
        free(c->cache[i].items);
    for (size_t i = 0; i < c->naddrs; i++)
        free(c->addrs[i]);
    free(c->addrs);
    free(c->ak);
    free(c->sk);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int sd_client_register(sd_client_t *c, const char *name, const char *ip, uint16_t port, int weight,
                       const char *metadata_json)
{
    if (!c || !name || !ip || !*name || !*ip || strlen(name) >= 128 || strlen(ip) >= 64 ||
        port == 0 || weight < 0)
        return -EINVAL;
    if (metadata_json) {
        json_error_t je;
        json_t *m = json_loads(metadata_json, 0, &je);
        bool ok = m && json_is_object(m) && strlen(metadata_json) <= METADATA_MAX;
        json_decref(m);
        if (!ok)
            return -EINVAL;
    }
    pthread_mutex_lock(&c->mu);
    if (c->nregs == c->capregs) {
        c->capregs = c->capregs ? c->capregs * 2 : 4;
        c->regs = xrealloc(c->regs, c->capregs * sizeof(*c->regs));
    }
    reg_t *r = &c->regs[c->nregs++];
    memset(r, 0, sizeof(*r));
    r->id = c->next_id++;
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->ip, sizeof(r->ip), "%s", ip);
    r->port = port;
    r->weight = weight;
    r->metadata = metadata_json ? xstrdup(metadata_json) : NULL;
    r->state = REG_PENDING;
    r->due_ms = 0;
    int id = r->id;
    if (!c->thread_started) {
        if (pthread_create(&c->thread, NULL, client_thread, c) != 0) {
            c->nregs--;
            free(r->metadata);
            pthread_mutex_unlock(&c->mu);
            return -EAGAIN;
        }
        c->thread_started = true;
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return id;
}

int sd_client_set_weight(sd_client_t *c, int id, int weight)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nregs; i++) {
        if (c->regs[i].id == id) {
            if (c->regs[i].weight != weight) {
                c->regs[i].weight = weight;
                c->regs[i].weight_changed = true;
            }
            rc = 0;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int sd_client_deregister(sd_client_t *c, int id)
{
    reg_t copy;
    bool live = false;
    int rc = -ENOENT;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nregs; i++) {
        if (c->regs[i].id == id) {
            live = c->regs[i].state == REG_LIVE;
            copy = c->regs[i];
            free(c->regs[i].metadata);
            copy.metadata = NULL;
            /* The background thread finds registrations by id, so moving one is safe. */
            c->regs[i] = c->regs[--c->nregs];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (live) {
        char *body = reg_body(&copy, false, false);
        write_call(c, "/api/v1/evict", body);
        free(body);
    }
    return rc;
}

size_t sd_client_registered(sd_client_t *c)
{
    size_t n = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nregs; i++)
        n += c->regs[i].state == REG_LIVE;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- look-ups --------------------------------------------------------------------------- */

/* Parses a look-up answer. 0, or -EPROTO for an answer that is not what SD sends. */
static int parse_lookup(const char *text, const char *name, sd_instance_t **out, size_t *n)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    json_t *arr = root ? json_object_get(root, "instances") : NULL;
    if (!json_is_array(arr)) {
        json_decref(root);
        return -EPROTO;
    }
    size_t cnt = json_array_size(arr);
    sd_instance_t *items = cnt ? xcalloc(cnt, sizeof(*items)) : NULL;
    size_t got = 0;
    for (size_t i = 0; i < cnt; i++) {
        json_t *o = json_array_get(arr, i);
        const char *ip = json_string_value(json_object_get(o, "ip"));
        json_int_t port = json_integer_value(json_object_get(o, "port"));
        if (!ip || port <= 0 || port > 65535 || strlen(ip) >= sizeof(items[0].ip))
            continue;
        sd_instance_t *x = &items[got++];
        snprintf(x->name, sizeof(x->name), "%s", name);
        snprintf(x->ip, sizeof(x->ip), "%s", ip);
        x->port = (uint16_t)port;
        x->weight = (int)json_integer_value(json_object_get(o, "weight"));
    }
    json_decref(root);
    *out = items;
    *n = got;
    return 0;
}

static cache_entry_t *cache_find(sd_client_t *c, const char *name, size_t count, sd_pick_t pick)
{
    for (size_t i = 0; i < CACHE_MAX; i++) {
        cache_entry_t *e = &c->cache[i];
        if (e->used && e->count == count && e->pick == pick && strcmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

static int copy_out(const sd_instance_t *items, size_t n, sd_instance_t *out, size_t max,
                    size_t *nout)
{
    size_t k = n < max ? n : max;
    if (k)
        memcpy(out, items, k * sizeof(*out));
    *nout = k;
    return n == 0 ? -ENOENT : 0;
}

int sd_client_lookup(sd_client_t *c, const char *name, size_t count, sd_pick_t pick,
                     sd_instance_t *out, size_t max, size_t *n)
{
    *n = 0;
    if (!c || !name || !*name || strlen(name) >= 128)
        return -EINVAL;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return -EINVAL;
    }
    int64_t now = mono_ms();
    pthread_mutex_lock(&c->mu);
    cache_entry_t *e = cache_find(c, name, count, pick);
    if (e && c->cache_ttl_ms > 0 && now - e->fetched_ms < c->cache_ttl_ms) {
        int rc = copy_out(e->items, e->n, out, max, n);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    size_t start = c->current;
    pthread_mutex_unlock(&c->mu);

    char path[256], query[64];
    snprintf(path, sizeof(path), "/api/v1/services/%s", name);
    snprintf(query, sizeof(query), "count=%zu&pick=%s", count,
             pick == SD_PICK_LEAST ? "least" : "weighted");
    sd_instance_t *items = NULL;
    size_t nitems = 0;
    bool answered = false;
    for (size_t i = 0; i < c->naddrs && !answered; i++) {
        size_t idx = (start + i) % c->naddrs;
        strbuf_t sb = STRBUF_INIT;
        long status = http_call(c, c->addrs[idx], "GET", path, query, NULL, false, &sb);
        if (status == 200 && sb.data && parse_lookup(sb.data, name, &items, &nitems) == 0)
            answered = true;
        else
            LOG_WARN("sd_client.lookup_failed", "addr=%s name=%s status=%ld", c->addrs[idx], name,
                     status);
        strbuf_dispose(&sb);
    }

    pthread_mutex_lock(&c->mu);
    e = cache_find(c, name, count, pick);
    if (!answered) {
        int rc = -EIO;
        if (e) { /* every SD failed: serve the stale answer */
            rc = copy_out(e->items, e->n, out, max, n);
            LOG_WARN("sd_client.stale", "name=%s age_ms=%" PRId64, name, now - e->fetched_ms);
        }
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    if (c->cache_ttl_ms > 0) {
        if (!e) {
            e = &c->cache[0];
            for (size_t i = 0; i < CACHE_MAX; i++) {
                if (!c->cache[i].used) {
                    e = &c->cache[i];
                    break;
                }
                if (c->cache[i].fetched_ms < e->fetched_ms)
                    e = &c->cache[i];
            }
            snprintf(e->name, sizeof(e->name), "%s", name);
            e->count = count;
            e->pick = pick;
            e->used = true;
        }
        free(e->items);
        e->items = nitems ? xmalloc(nitems * sizeof(*items)) : NULL;
        if (nitems)
            memcpy(e->items, items, nitems * sizeof(*items));
        e->n = nitems;
        e->fetched_ms = now;
    }
    pthread_mutex_unlock(&c->mu);
    int rc = copy_out(items, nitems, out, max, n);
    free(items);
    return rc;
}

int sd_client_from_keyring(char *const *addrs, const hmac_keyring_t *keys, const char *access_key,
                           int renew_interval_ms, sd_client_t **out, char *err, size_t errlen)
{
    size_t n = 0;
    while (addrs && addrs[n])
        n++;
    *out = NULL;
    if (n == 0)
        return 0;
    const char *secret = keys && access_key ? hmac_keyring_secret(keys, access_key) : NULL;
    if (!access_key || !access_key[0] || !secret) {
        snprintf(err, errlen, "sd.access_key: \"%s\" is not in auth.keys_file",
                 access_key ? access_key : "");
        return -EINVAL;
    }
    sd_client_opts_t so = {.addrs = (const char *const *)addrs,
                           .naddrs = n,
                           .access_key = access_key,
                           .secret_key = secret,
                           .renew_interval_ms = renew_interval_ms};
    *out = sd_client_new(&so);
    return 0;
}
