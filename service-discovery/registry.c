#include "service-discovery/registry.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"

/* ---- Lua scripts ---------------------------------------------------------------------------
 * Times come from Redis (TIME) so that SD instances with different clocks agree. */

/* KEYS: inst, svc, names. ARGV: member, name, ip, port, weight, metadata, ttl_ms,
 * max_services, max_instances. Returns {status, expires_at}: 0 ok, -1 too many services,
 * -2 too many instances of this service. */
static const char SCRIPT_REGISTER[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ttl = tonumber(ARGV[7])\n"
    "local exp = now + ttl\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)\n"
    "if not redis.call('ZSCORE', KEYS[3], ARGV[2]) and "
    "   redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[8]) then return {-1, now} end\n"
    "if not redis.call('ZSCORE', KEYS[2], ARGV[1]) and "
    "   redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[9]) then return {-2, now} end\n"
    "redis.call('HSET', KEYS[1], 'ip', ARGV[3], 'port', ARGV[4], 'w', ARGV[5], 'm', ARGV[6],"
    "           'r', now, 'n', now)\n"
    "redis.call('PEXPIREAT', KEYS[1], exp)\n"
    "redis.call('ZADD', KEYS[2], exp, ARGV[1])\n"
    "if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end\n"
    "redis.call('ZADD', KEYS[3], 'GT', exp, ARGV[2])\n"
    "if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end\n"
    "return {0, exp}\n";

/* KEYS: inst, svc, names. ARGV: member, name, weight ("" = keep), ttl_ms.
 * Returns {0, expires_at} or {-1, 0} when the instance is not registered. */
static const char SCRIPT_RENEW[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ttl = tonumber(ARGV[4])\n"
    "local exp = now + ttl\n"
    "if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'w', ARGV[3], 'n', now)\n"
    "else redis.call('HSET', KEYS[1], 'n', now) end\n"
    "redis.call('PEXPIREAT', KEYS[1], exp)\n"
    "redis.call('ZADD', KEYS[2], exp, ARGV[1])\n"
    "if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end\n"
    "redis.call('ZADD', KEYS[3], 'GT', exp, ARGV[2])\n"
    "if redis.call('PTTL', KEYS[3]) < ttl then redis.call('PEXPIRE', KEYS[3], ttl) end\n"
    "return {0, exp}\n";

/* KEYS: inst, svc, names. ARGV: member, name. Returns 1 if the instance existed. */
static const char SCRIPT_EVICT[] =
    "local n = redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('ZREM', KEYS[3], ARGV[2]) end\n"
    "return n\n";

/* Read-only. KEYS: svc. ARGV: instance key prefix "P i:<name>:".
 * Returns a flat list of 7-tuples ip, port, w, m, r, n, expires_at. */
static const char SCRIPT_LOOKUP[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local ms = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')\n"
    "local out = {}\n"
    "for i = 1, #ms, 2 do\n"
    "  local v = redis.call('HMGET', ARGV[1] .. ms[i], 'ip', 'port', 'w', 'm', 'r', 'n')\n"
    "  if v[1] and v[2] and v[3] and v[4] and v[5] and v[6] then\n"
    "    for j = 1, 6 do out[#out + 1] = v[j] end\n"
    "    out[#out + 1] = ms[i + 1]\n"
    "  end\n"
    "end\n"
    "return out\n";

/* Read-only. KEYS: names. ARGV: service key prefix "P s:". Returns name, count pairs. */
static const char SCRIPT_SERVICES[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local names = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')\n"
    "local out = {}\n"
    "for _, n in ipairs(names) do\n"
    "  local c = redis.call('ZCOUNT', ARGV[1] .. n, '(' .. now, '+inf')\n"
    "  if c > 0 then out[#out + 1] = n; out[#out + 1] = c end\n"
    "end\n"
    "return out\n";

typedef struct {
    const char *body;
    char sha[41];
} script_t;

#define CACHE_BUCKETS 256

typedef struct cache_slot {
    struct cache_slot *next;
    char name[SD_NAME_MAX + 1];
    registry_entry_t *entries;
    size_t n;
    int64_t fetched_ms; /* CLOCK_MONOTONIC */
} cache_slot_t;

enum { S_REGISTER, S_RENEW, S_EVICT, S_LOOKUP, S_SERVICES, S_COUNT };

struct registry {
    redis_pool_t *redis;
    char *prefix;
    int64_t ttl_ms;
    int64_t max_services;
    int64_t max_instances;
    script_t scripts[S_COUNT];
    metrics_counter_t *m_redis_errors;
    metrics_counter_t *m_cache_hits;
    /* Look-up cache: name -> instances, kept cache_ms; see registry_opts_t.cache_ms. */
    int64_t cache_ms;
    pthread_mutex_t cache_mu;
    cache_slot_t *cache[CACHE_BUCKETS];
    size_t cache_count;
};

static void script_init(script_t *s, const char *body)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)body, strlen(body), md);
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    s->body = body;
}

registry_t *registry_new(const registry_opts_t *opts)
{
    registry_t *reg = xcalloc(1, sizeof(*reg));
    reg->redis = opts->redis;
    reg->prefix = xstrdup(opts->prefix ? opts->prefix : "rampart:sd:");
    reg->ttl_ms = opts->ttl_ms;
    reg->max_services = opts->max_services;
    reg->max_instances = opts->max_instances;
    script_init(&reg->scripts[S_REGISTER], SCRIPT_REGISTER);
    script_init(&reg->scripts[S_RENEW], SCRIPT_RENEW);
    script_init(&reg->scripts[S_EVICT], SCRIPT_EVICT);
    script_init(&reg->scripts[S_LOOKUP], SCRIPT_LOOKUP);
    script_init(&reg->scripts[S_SERVICES], SCRIPT_SERVICES);
    reg->m_redis_errors = metrics_counter(opts->metrics, "rampart_sd_redis_errors_total",
                                          "Registry operations that failed to reach Redis", NULL);
    reg->m_cache_hits = metrics_counter(opts->metrics, "rampart_sd_lookup_cache_hits_total",
                                        "Look-ups answered from the look-up cache", NULL);
    reg->cache_ms = opts->cache_ms;
    pthread_mutex_init(&reg->cache_mu, NULL);
    return reg;
}

static void slot_free(cache_slot_t *s)
{
    registry_entries_free(s->entries, s->n);
    free(s);
}

void registry_free(registry_t *reg)
{
    if (!reg)
        return;
    for (size_t b = 0; b < CACHE_BUCKETS; b++) {
        for (cache_slot_t *s = reg->cache[b], *next; s; s = next) {
            next = s->next;
            slot_free(s);
        }
    }
    pthread_mutex_destroy(&reg->cache_mu);
    free(reg->prefix);
    free(reg);
}

int64_t registry_ttl_ms(const registry_t *reg)
{
    return reg->ttl_ms;
}

/* Runs a script with EVALSHA, loading it with EVAL when Redis does not know it yet (first
 * use, or Redis restarted). args[0..1] are reserved for the command and sha/body. */
static redisReply *script_run(registry_t *reg, int which, int nkeys, int argc, const char **argv,
                              const size_t *argvlen, const char **err)
{
    script_t *s = &reg->scripts[which];
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    const char *a[24];
    size_t al[24];
    ASSERT(argc + 3 <= 24);
    a[0] = "EVALSHA";
    a[1] = s->sha;
    a[2] = nk;
    for (int i = 0; i < argc; i++) {
        a[3 + i] = argv[i];
        al[3 + i] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    al[0] = 7;
    al[1] = 40;
    al[2] = strlen(nk);
    redisReply *r = redis_pool_command_argv(reg->redis, err, argc + 3, a, al);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(r);
        a[0] = "EVAL";
        al[0] = 4;
        a[1] = s->body;
        al[1] = strlen(s->body);
        r = redis_pool_command_argv(reg->redis, err, argc + 3, a, al);
    }
    if (!r) {
        metrics_counter_inc(reg->m_redis_errors);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        char q[256];
        LOG_ERROR("registry.script_error", "script=%d error=%s", which,
                  log_quote(q, sizeof(q), r->str));
        metrics_counter_inc(reg->m_redis_errors);
        freeReplyObject(r);
        if (err)
            *err = "redis script error";
        return NULL;
    }
    return r;
}

typedef struct {
    char inst[512];
    char svc[256];
    char names[256];
    char member[SD_HOST_MAX + 16];
} keys_t;

static void make_keys(const registry_t *reg, const char *name, const char *ip, uint16_t port,
                      keys_t *k)
{
    snprintf(k->member, sizeof(k->member), "%s:%u", ip, (unsigned)port);
    snprintf(k->inst, sizeof(k->inst), "%si:%s:%s", reg->prefix, name, k->member);
    snprintf(k->svc, sizeof(k->svc), "%ss:%s", reg->prefix, name);
    snprintf(k->names, sizeof(k->names), "%snames", reg->prefix);
}

/* Reads the {status, expires_at} pair the write scripts return. */
static int status_pair(const redisReply *r, int64_t *status, int64_t *value)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER)
        return -EPROTO;
    *status = r->element[0]->integer;
    *value = r->element[1]->integer;
    return 0;
}

/* ---- look-up cache ----------------------------------------------------------------------
 * Agents ask for the same few names (agent-center) over and over; answering each from Redis
 * costs a script run per look-up. The cache keeps a service's instances for cache_ms, and a
 * write through this instance drops its entry at once. Writes through other SD instances and
 * expiries show after at most cache_ms. Bounded by max_services entries. */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t bucket_of(const char *name)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % CACHE_BUCKETS;
}

static registry_entry_t *entries_dup(const registry_entry_t *src, size_t n)
{
    if (n == 0)
        return NULL;
    registry_entry_t *e = xmalloc(n * sizeof(*e));
    memcpy(e, src, n * sizeof(*e));
    for (size_t i = 0; i < n; i++)
        e[i].metadata = xstrdup(src[i].metadata);
    return e;
}

/* Copies a fresh cached answer out. True on a hit. */
static bool cache_get(registry_t *reg, const char *name, registry_entry_t **out, size_t *n)
{
    if (reg->cache_ms <= 0)
        return false;
    bool hit = false;
    int64_t now = mono_ms();
    pthread_mutex_lock(&reg->cache_mu);
    for (cache_slot_t *s = reg->cache[bucket_of(name)]; s; s = s->next) {
        if (strcmp(s->name, name) == 0) {
            if (now - s->fetched_ms < reg->cache_ms) {
                *out = entries_dup(s->entries, s->n);
                *n = s->n;
                hit = true;
            }
            break;
        }
    }
    pthread_mutex_unlock(&reg->cache_mu);
    if (hit)
        metrics_counter_inc(reg->m_cache_hits);
    return hit;
}

static void cache_put(registry_t *reg, const char *name, const registry_entry_t *e, size_t n)
{
    if (reg->cache_ms <= 0)
        return;
    registry_entry_t *copy = entries_dup(e, n);
    registry_entry_t *old = NULL;
    size_t oldn = 0;
    pthread_mutex_lock(&reg->cache_mu);
    cache_slot_t **head = &reg->cache[bucket_of(name)], *s = *head;
    while (s && strcmp(s->name, name) != 0)
        s = s->next;
    if (!s && reg->cache_count < (size_t)reg->max_services) {
        s = xcalloc(1, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", name);
        s->next = *head;
        *head = s;
        reg->cache_count++;
    }
    if (s) {
        old = s->entries;
        oldn = s->n;
        s->entries = copy;
        s->n = n;
        s->fetched_ms = mono_ms();
        copy = NULL;
    }
    pthread_mutex_unlock(&reg->cache_mu);
    registry_entries_free(old, oldn);
    registry_entries_free(copy, copy ? n : 0);
}

/* Forgets a name's cached answer (after a write through this instance). */
static void cache_drop(registry_t *reg, const char *name)
{
    if (reg->cache_ms <= 0)
        return;
    pthread_mutex_lock(&reg->cache_mu);
    for (cache_slot_t *s = reg->cache[bucket_of(name)]; s; s = s->next) {
        if (strcmp(s->name, name) == 0)
            s->fetched_ms = INT64_MIN / 2;
    }
    pthread_mutex_unlock(&reg->cache_mu);
}

int registry_register(registry_t *reg, const sd_instance_spec_t *spec, int64_t *expires_at,
                      const char **err)
{
    cache_drop(reg, spec->name);
    keys_t k;
    make_keys(reg, spec->name, spec->ip, spec->port, &k);
    char port[8], weight[24], ttl[24], maxs[24], maxi[24];
    snprintf(port, sizeof(port), "%u", (unsigned)spec->port);
    snprintf(weight, sizeof(weight), "%" PRId64,
             spec->weight < 0 ? SD_WEIGHT_DEFAULT : spec->weight);
    snprintf(ttl, sizeof(ttl), "%" PRId64, reg->ttl_ms);
    snprintf(maxs, sizeof(maxs), "%" PRId64, reg->max_services);
    snprintf(maxi, sizeof(maxi), "%" PRId64, reg->max_instances);
    const char *argv[] = {k.inst,   k.svc,      k.names,
                          k.member, spec->name, spec->ip,
                          port,     weight,     spec->metadata[0] ? spec->metadata : "{}",
                          ttl,      maxs,       maxi};
    redisReply *r = script_run(reg, S_REGISTER, 3, 12, argv, NULL, err);
    if (!r)
        return -EIO;
    int64_t status = 0, exp = 0;
    int rc = status_pair(r, &status, &exp);
    freeReplyObject(r);
    if (rc < 0) {
        *err = "unexpected reply from redis";
        return -EIO;
    }
    if (status == -1) {
        *err = "the registry holds the maximum number of services";
        return -ENOSPC;
    }
    if (status == -2) {
        *err = "the service holds the maximum number of instances";
        return -ENOSPC;
    }
    *expires_at = exp;
    return 0;
}

int registry_renew(registry_t *reg, const sd_instance_spec_t *spec, int64_t *expires_at,
                   const char **err)
{
    if (spec->weight >= 0)
        cache_drop(reg, spec->name);
    keys_t k;
    make_keys(reg, spec->name, spec->ip, spec->port, &k);
    char weight[24] = "", ttl[24];
    if (spec->weight >= 0)
        snprintf(weight, sizeof(weight), "%" PRId64, spec->weight);
    snprintf(ttl, sizeof(ttl), "%" PRId64, reg->ttl_ms);
    const char *argv[] = {k.inst, k.svc, k.names, k.member, spec->name, weight, ttl};
    redisReply *r = script_run(reg, S_RENEW, 3, 7, argv, NULL, err);
    if (!r)
        return -EIO;
    int64_t status = 0, exp = 0;
    int rc = status_pair(r, &status, &exp);
    freeReplyObject(r);
    if (rc < 0) {
        *err = "unexpected reply from redis";
        return -EIO;
    }
    if (status != 0) {
        *err = "instance not registered";
        return -ENOENT;
    }
    *expires_at = exp;
    return 0;
}

int registry_evict(registry_t *reg, const char *name, const char *ip, uint16_t port,
                   const char **err)
{
    cache_drop(reg, name);
    keys_t k;
    make_keys(reg, name, ip, port, &k);
    const char *argv[] = {k.inst, k.svc, k.names, k.member, name};
    redisReply *r = script_run(reg, S_EVICT, 3, 5, argv, NULL, err);
    if (!r)
        return -EIO;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    if (n == 0) {
        *err = "instance not registered";
        return -ENOENT;
    }
    return 0;
}

static int64_t parse_i64(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return (int64_t)strtod(r->str, NULL); /* sorted-set scores come as "1.7e12" strings */
    return 0;
}

int registry_lookup(registry_t *reg, const char *name, registry_entry_t **out, size_t *n,
                    const char **err)
{
    *out = NULL;
    *n = 0;
    if (cache_get(reg, name, out, n))
        return 0;
    char svc[256], pfx[256];
    snprintf(svc, sizeof(svc), "%ss:%s", reg->prefix, name);
    snprintf(pfx, sizeof(pfx), "%si:%s:", reg->prefix, name);
    const char *argv[] = {svc, pfx};
    redisReply *r = script_run(reg, S_LOOKUP, 1, 2, argv, NULL, err);
    if (!r)
        return -EIO;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 7 != 0) {
        freeReplyObject(r);
        *err = "unexpected reply from redis";
        return -EIO;
    }
    size_t count = r->elements / 7;
    registry_entry_t *e = count ? xcalloc(count, sizeof(*e)) : NULL;
    size_t got = 0;
    for (size_t i = 0; i < count; i++) {
        redisReply **f = &r->element[i * 7];
        bool ok = true;
        for (int j = 0; j < 6; j++)
            ok = ok && f[j]->type == REDIS_REPLY_STRING;
        if (!ok)
            continue;
        registry_entry_t *x = &e[got++];
        snprintf(x->ip, sizeof(x->ip), "%s", f[0]->str);
        x->port = (uint16_t)strtoul(f[1]->str, NULL, 10);
        x->weight = strtoll(f[2]->str, NULL, 10);
        x->metadata = xstrdup(f[3]->str);
        x->registered_at = strtoll(f[4]->str, NULL, 10);
        x->renewed_at = strtoll(f[5]->str, NULL, 10);
        x->expires_at = parse_i64(f[6]);
    }
    freeReplyObject(r);
    cache_put(reg, name, e, got);
    *out = e;
    *n = got;
    return 0;
}

void registry_entries_free(registry_entry_t *entries, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(entries[i].metadata);
    free(entries);
}

int registry_services(registry_t *reg, registry_service_t **out, size_t *n, const char **err)
{
    char names[256], pfx[256];
    snprintf(names, sizeof(names), "%snames", reg->prefix);
    snprintf(pfx, sizeof(pfx), "%ss:", reg->prefix);
    const char *argv[] = {names, pfx};
    *out = NULL;
    *n = 0;
    redisReply *r = script_run(reg, S_SERVICES, 1, 2, argv, NULL, err);
    if (!r)
        return -EIO;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
        freeReplyObject(r);
        *err = "unexpected reply from redis";
        return -EIO;
    }
    size_t count = r->elements / 2;
    registry_service_t *s = count ? xcalloc(count, sizeof(*s)) : NULL;
    for (size_t i = 0; i < count; i++) {
        const redisReply *nm = r->element[2 * i];
        snprintf(s[i].name, sizeof(s[i].name), "%s", nm->type == REDIS_REPLY_STRING ? nm->str : "");
        s[i].instances = parse_i64(r->element[2 * i + 1]);
    }
    freeReplyObject(r);
    *out = s;
    *n = count;
    return 0;
}

int registry_nonce_check(void *ud, const char *key, const char *nonce, int64_t expires_at)
{
    registry_t *reg = ud;
    char k[256], exat[24];
    snprintf(k, sizeof(k), "%snonce:%s:%s", reg->prefix, key, nonce);
    snprintf(exat, sizeof(exat), "%" PRId64, expires_at);
    const char *argv[] = {"SET", k, "1", "NX", "EXAT", exat};
    const char *err = NULL;
    redisReply *r = redis_pool_command_argv(reg->redis, &err, 6, argv, NULL);
    if (!r) {
        metrics_counter_inc(reg->m_redis_errors);
        return -EIO;
    }
    int rc;
    if (r->type == REDIS_REPLY_NIL)
        rc = -EALREADY;
    else if (r->type == REDIS_REPLY_STATUS)
        rc = 0;
    else
        rc = -EIO;
    freeReplyObject(r);
    return rc;
}

int registry_ping(registry_t *reg, const char **err)
{
    redisReply *r = redis_pool_command(reg->redis, err, "PING");
    if (!r)
        return -EIO;
    int rc = r->type == REDIS_REPLY_STATUS ? 0 : -EIO;
    if (rc < 0)
        *err = "unexpected reply to PING";
    freeReplyObject(r);
    return rc;
}

/* ---- picking ---------------------------------------------------------------------------- */

/* Per-thread xorshift64* generator, seeded from the kernel. */
static uint64_t rng_next(void)
{
    static _Thread_local uint64_t s;
    if (s == 0) {
        if (getrandom(&s, sizeof(s), 0) != sizeof(s) || s == 0)
            s = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)&s;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
}

/* Uniform double in (0, 1). */
static double rng_unit(void)
{
    return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

typedef struct {
    double key;
    registry_entry_t e;
} keyed_t;

static int by_key_desc(const void *a, const void *b)
{
    double x = ((const keyed_t *)a)->key, y = ((const keyed_t *)b)->key;
    return (x < y) - (x > y);
}

size_t registry_pick(registry_entry_t *entries, size_t n, size_t count, registry_pick_t how)
{
    if (n == 0)
        return 0;
    keyed_t *k = xmalloc(n * sizeof(*k));
    for (size_t i = 0; i < n; i++) {
        k[i].e = entries[i];
        double u = rng_unit();
        if (how == REGISTRY_PICK_LEAST) {
            /* Lower weight first; the fraction breaks ties at random. */
            k[i].key = -((double)entries[i].weight + u * 0.5);
        } else if (entries[i].weight > 0) {
            /* Efraimidis-Spirakis: the largest u^(1/w) are a weighted sample without
             * replacement; log form keeps precision for large weights. */
            k[i].key = log(u) / (double)entries[i].weight;
        } else {
            /* weight 0: draining, picked last. log(u) >= -37, so -1000 is below every
             * positive weight, and -u orders the zero weights at random. */
            k[i].key = -1000.0 - u;
        }
    }
    qsort(k, n, sizeof(*k), by_key_desc);
    for (size_t i = 0; i < n; i++)
        entries[i] = k[i].e;
    free(k);
    return count == 0 || count > n ? n : count;
}
