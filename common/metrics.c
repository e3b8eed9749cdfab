/* metrics: Prometheus registry. Families keep series in registration order; a hash over
 * (name, labels) finds an existing series in O(1) under the registry mutex. Updates never
 * take the mutex: counters and histogram buckets are atomic integers, doubles are stored as
 * their bit pattern in an atomic uint64 and changed with compare-and-swap. */
#include "common/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

typedef enum {
    FAMILY_COUNTER,
    FAMILY_GAUGE,
    FAMILY_HISTOGRAM,
} family_type_t;

typedef enum {
    SERIES_COUNTER,
    SERIES_GAUGE,
    SERIES_GAUGE_FN,
    SERIES_HISTOGRAM,
} series_kind_t;

struct metrics_counter {
    _Atomic uint64_t value;
};

struct metrics_gauge {
    _Atomic uint64_t bits; /* a double's bit pattern */
};

struct metrics_histogram {
    size_t nbounds; /* finite upper bounds; counts has nbounds + 1 slots (+Inf) */
    double *bounds;
    _Atomic uint64_t *counts; /* per bucket, not cumulative */
    _Atomic uint64_t sum_bits;
};

struct family;

struct series {
    struct series *next_in_family;
    struct series *next_in_bucket;
    struct family *family;
    uint64_t hash;
    char *labels;
    series_kind_t kind;
    union {
        struct metrics_counter counter;
        struct metrics_gauge gauge;
        struct metrics_histogram histogram;
        struct {
            double (*fn)(void *ud);
            void *ud;
        } gauge_fn;
    } u;
};

struct family {
    struct family *next;
    char *name;
    char *help;
    family_type_t type;
    struct series *first, *last;
};

struct metrics_registry {
    pthread_mutex_t lock;
    struct family *families, *families_last;
    struct series **buckets;
    size_t nbuckets;
    size_t nseries;
};

static const double default_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                         0.1,    0.25,  0.5,    1,     2.5,  5,     10};

static const char *const type_names[] = {"counter", "gauge", "histogram"};

/* ---- double <-> bits -------------------------------------------------------------------- */

static uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    for (;;) {
        uint64_t want = to_bits(from_bits(old) + delta);
        if (atomic_compare_exchange_weak_explicit(bits, &old, want, memory_order_relaxed,
                                                  memory_order_relaxed))
            return;
    }
}

/* ---- registry --------------------------------------------------------------------------- */

metrics_registry_t *metrics_registry_new(void)
{
    metrics_registry_t *reg = xcalloc(1, sizeof(*reg));
    pthread_mutex_init(&reg->lock, NULL);
    reg->nbuckets = 64;
    reg->buckets = xcalloc(reg->nbuckets, sizeof(*reg->buckets));
    return reg;
}

static void series_free(struct series *s)
{
    if (s->kind == SERIES_HISTOGRAM) {
        free(s->u.histogram.bounds);
        free((void *)s->u.histogram.counts);
    }
    free(s->labels);
    free(s);
}

void metrics_registry_free(metrics_registry_t *reg)
{
    if (!reg)
        return;
    struct family *f = reg->families;
    while (f) {
        struct family *next = f->next;
        struct series *s = f->first;
        while (s) {
            struct series *sn = s->next_in_family;
            series_free(s);
            s = sn;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = next;
    }
    free(reg->buckets);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

/* FNV-1a over name, a separator and labels. */
static uint64_t series_hash(const char *name, const char *labels)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xffu) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)labels; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

static bool valid_name(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != name && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static void rehash(metrics_registry_t *reg)
{
    size_t n = reg->nbuckets * 2;
    struct series **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < reg->nbuckets; i++) {
        struct series *s = reg->buckets[i];
        while (s) {
            struct series *next = s->next_in_bucket;
            size_t j = (size_t)(s->hash & (n - 1));
            s->next_in_bucket = b[j];
            b[j] = s;
            s = next;
        }
    }
    free(reg->buckets);
    reg->buckets = b;
    reg->nbuckets = n;
}

static struct family *family_get(metrics_registry_t *reg, const char *name, const char *help,
                                 family_type_t type)
{
    for (struct family *f = reg->families; f; f = f->next) {
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->type != type)
            PANIC("metric %s registered as %s, used as %s", name, type_names[f->type],
                  type_names[type]);
        if (strcmp(f->help, help) != 0)
            PANIC("metric %s registered with two different help texts", name);
        return f;
    }
    struct family *f = xcalloc(1, sizeof(*f));
    f->name = xstrdup(name);
    f->help = xstrdup(help);
    f->type = type;
    if (reg->families_last)
        reg->families_last->next = f;
    else
        reg->families = f;
    reg->families_last = f;
    return f;
}

/* Finds or creates the series; called with the lock held. *created tells the caller to
 * initialise the kind-specific part. */
static struct series *series_get(metrics_registry_t *reg, const char *name, const char *help,
                                 const char *labels, family_type_t type, series_kind_t kind,
                                 bool *created)
{
    if (!valid_name(name))
        PANIC("invalid metric name %s", name ? name : "(null)");
    if (!help)
        help = "";
    if (!labels)
        labels = "";
    uint64_t h = series_hash(name, labels);
    *created = false;
    for (struct series *s = reg->buckets[h & (reg->nbuckets - 1)]; s; s = s->next_in_bucket) {
        if (s->hash != h || strcmp(s->family->name, name) != 0 || strcmp(s->labels, labels) != 0)
            continue;
        if (s->family->type != type)
            PANIC("metric %s registered as %s, used as %s", name, type_names[s->family->type],
                  type_names[type]);
        if (strcmp(s->family->help, help) != 0)
            PANIC("metric %s registered with two different help texts", name);
        if (s->kind != kind)
            PANIC("metric %s{%s} registered both as a plain and a computed gauge", name, labels);
        return s;
    }
    struct family *f = family_get(reg, name, help, type);
    struct series *s = xcalloc(1, sizeof(*s));
    s->family = f;
    s->hash = h;
    s->labels = xstrdup(labels);
    s->kind = kind;
    if (f->last)
        f->last->next_in_family = s;
    else
        f->first = s;
    f->last = s;
    size_t i = (size_t)(h & (reg->nbuckets - 1));
    s->next_in_bucket = reg->buckets[i];
    reg->buckets[i] = s;
    if (++reg->nseries > reg->nbuckets)
        rehash(reg);
    *created = true;
    return s;
}

/* ---- counters and gauges ---------------------------------------------------------------- */

metrics_counter_t *metrics_counter(metrics_registry_t *reg, const char *name, const char *help,
                                   const char *labels)
{
    bool created;
    pthread_mutex_lock(&reg->lock);
    struct series *s =
        series_get(reg, name, help, labels, FAMILY_COUNTER, SERIES_COUNTER, &created);
    if (created)
        atomic_init(&s->u.counter.value, 0);
    pthread_mutex_unlock(&reg->lock);
    return &s->u.counter;
}

void metrics_counter_add(metrics_counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t metrics_counter_value(const metrics_counter_t *c)
{
    return atomic_load_explicit(&((metrics_counter_t *)c)->value, memory_order_relaxed);
}

metrics_gauge_t *metrics_gauge(metrics_registry_t *reg, const char *name, const char *help,
                               const char *labels)
{
    bool created;
    pthread_mutex_lock(&reg->lock);
    struct series *s = series_get(reg, name, help, labels, FAMILY_GAUGE, SERIES_GAUGE, &created);
    if (created)
        atomic_init(&s->u.gauge.bits, to_bits(0.0));
    pthread_mutex_unlock(&reg->lock);
    return &s->u.gauge;
}

void metrics_gauge_set(metrics_gauge_t *g, double v)
{
    atomic_store_explicit(&g->bits, to_bits(v), memory_order_relaxed);
}

void metrics_gauge_add(metrics_gauge_t *g, double delta)
{
    atomic_add_double(&g->bits, delta);
}

double metrics_gauge_value(const metrics_gauge_t *g)
{
    return from_bits(atomic_load_explicit(&((metrics_gauge_t *)g)->bits, memory_order_relaxed));
}

void metrics_gauge_fn(metrics_registry_t *reg, const char *name, const char *help,
                      const char *labels, double (*fn)(void *ud), void *ud)
{
    bool created;
    pthread_mutex_lock(&reg->lock);
    struct series *s = series_get(reg, name, help, labels, FAMILY_GAUGE, SERIES_GAUGE_FN, &created);
    s->u.gauge_fn.fn = fn;
    s->u.gauge_fn.ud = ud;
    pthread_mutex_unlock(&reg->lock);
}

/* ---- histograms ------------------------------------------------------------------------- */

metrics_histogram_t *metrics_histogram(metrics_registry_t *reg, const char *name, const char *help,
                                       const char *labels, const double *buckets, size_t nbuckets)
{
    if (!buckets || nbuckets == 0) {
        buckets = default_buckets;
        nbuckets = sizeof(default_buckets) / sizeof(default_buckets[0]);
    }
    /* +Inf is always the last bucket; a caller listing it is not an error. */
    if (isinf(buckets[nbuckets - 1]) && buckets[nbuckets - 1] > 0)
        nbuckets--;
    for (size_t i = 0; i < nbuckets; i++) {
        if (isnan(buckets[i]) || isinf(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
            PANIC("histogram %s: bucket bounds must be finite and strictly ascending", name);
    }
    bool created;
    pthread_mutex_lock(&reg->lock);
    struct series *s =
        series_get(reg, name, help, labels, FAMILY_HISTOGRAM, SERIES_HISTOGRAM, &created);
    if (created) {
        struct metrics_histogram *h = &s->u.histogram;
        h->nbounds = nbuckets;
        h->bounds = xmalloc((nbuckets ? nbuckets : 1) * sizeof(double));
        if (nbuckets)
            memcpy(h->bounds, buckets, nbuckets * sizeof(double));
        h->counts = xmalloc((nbuckets + 1) * sizeof(*h->counts));
        for (size_t i = 0; i <= nbuckets; i++)
            atomic_init(&h->counts[i], 0);
        atomic_init(&h->sum_bits, to_bits(0.0));
    }
    pthread_mutex_unlock(&reg->lock);
    return &s->u.histogram;
}

void metrics_histogram_observe(metrics_histogram_t *h, double v)
{
    size_t i = 0;
    while (i < h->nbounds && !(v <= h->bounds[i]))
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_add_double(&h->sum_bits, v);
}

/* ---- rendering -------------------------------------------------------------------------- */

/* Shortest text that reads back as the same double; Prometheus spellings for the rest. */
static const char *format_double(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
        return buf;
    }
    /* Fewest significant digits that read back exactly, then plain notation unless the
     * exponent is very large or small (as Go's strconv 'g' with precision -1 does). */
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, size, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, size, "%.*e", prec - 1, v);
    int exp10 = atoi(strchr(buf, 'e') + 1);
    if (exp10 < -4 || exp10 >= 21)
        return buf;
    int decimals = prec - 1 - exp10;
    snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, v);
    return buf;
}

static void append_help(strbuf_t *sb, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            strbuf_appends(sb, "\\\\");
        else if (*p == '\n')
            strbuf_appends(sb, "\\n");
        else
            strbuf_append(sb, p, 1);
    }
}

/* name{labels} or name when there are none. */
static void append_name(strbuf_t *sb, const char *name, const char *suffix, const char *labels)
{
    strbuf_appends(sb, name);
    strbuf_appends(sb, suffix);
    if (*labels) {
        strbuf_append(sb, "{", 1);
        strbuf_appends(sb, labels);
        strbuf_append(sb, "}", 1);
    }
}

static void render_histogram(strbuf_t *sb, const struct family *f, const struct series *s)
{
    const struct metrics_histogram *h = &s->u.histogram;
    char num[40];
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cumulative += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        strbuf_appendf(
            sb, "%s_bucket{%s%sle=\"%s\"} %" PRIu64 "\n", f->name, s->labels, *s->labels ? "," : "",
            i < h->nbounds ? format_double(num, sizeof(num), h->bounds[i]) : "+Inf", cumulative);
    }
    append_name(sb, f->name, "_sum", s->labels);
    strbuf_appendf(
        sb, " %s\n",
        format_double(num, sizeof(num),
                      from_bits(atomic_load_explicit(&((struct metrics_histogram *)h)->sum_bits,
                                                     memory_order_relaxed))));
    append_name(sb, f->name, "_count", s->labels);
    strbuf_appendf(sb, " %" PRIu64 "\n", cumulative);
}

int metrics_render(metrics_registry_t *reg, char **out, size_t *len)
{
    strbuf_t sb = STRBUF_INIT;
    char num[40];
    pthread_mutex_lock(&reg->lock);
    for (const struct family *f = reg->families; f; f = f->next) {
        strbuf_appendf(&sb, "# HELP %s ", f->name);
        append_help(&sb, f->help);
        strbuf_appendf(&sb, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
        for (const struct series *s = f->first; s; s = s->next_in_family) {
            switch (s->kind) {
            case SERIES_COUNTER:
                append_name(&sb, f->name, "", s->labels);
                strbuf_appendf(&sb, " %" PRIu64 "\n", metrics_counter_value(&s->u.counter));
                break;
            case SERIES_GAUGE:
                append_name(&sb, f->name, "", s->labels);
                strbuf_appendf(&sb, " %s\n",
                               format_double(num, sizeof(num), metrics_gauge_value(&s->u.gauge)));
                break;
            case SERIES_GAUGE_FN:
                append_name(&sb, f->name, "", s->labels);
                strbuf_appendf(&sb, " %s\n",
                               format_double(num, sizeof(num), s->u.gauge_fn.fn(s->u.gauge_fn.ud)));
                break;
            case SERIES_HISTOGRAM:
                render_histogram(&sb, f, s);
                break;
            }
        }
    }
    pthread_mutex_unlock(&reg->lock);
    if (!sb.data)
        strbuf_append(&sb, "", 0);
    size_t n = 0;
    *out = strbuf_steal(&sb, &n);
    if (len)
        *len = n;
    return 0;
}

const char *metrics_label_escape(char *buf, size_t size, const char *value)
{
    if (size == 0)
        return buf;
    size_t o = 0;
    for (const char *p = value ? value : ""; *p; p++) {
        const char *rep = NULL;
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '"')
            rep = "\\\"";
        else if (*p == '\n')
            rep = "\\n";
        size_t need = rep ? 2 : 1;
        if (o + need >= size)
            break;
        if (rep) {
            memcpy(buf + o, rep, 2);
        } else {
            buf[o] = *p;
        }
        o += need;
    }
    buf[o] = '\0';
    return buf;
}
