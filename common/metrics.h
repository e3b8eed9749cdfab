/* metrics: a Prometheus metrics registry (text exposition format 0.0.4).
 *
 * A series is a metric name plus a fixed label set. Get-or-create a series once at setup
 * (or cache the pointer) and update it on the hot path: updates are lock-free atomics.
 * Creating a series takes the registry mutex; series are never freed before the registry.
 * Labels are given as the text between the braces, already escaped, for example
 *   metrics_counter(reg, "sd_requests_total", "HTTP requests", "route=\"/health\",code=\"200\"")
 * Use metrics_label_escape() for label values that come from outside.
 *
 * The same name must always be used with the same type and help; a mismatch is a
 * programming error and panics. */
#ifndef RAMPART_COMMON_METRICS_H
#define RAMPART_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metrics_registry metrics_registry_t;
typedef struct metrics_counter metrics_counter_t;
typedef struct metrics_gauge metrics_gauge_t;
typedef struct metrics_histogram metrics_histogram_t;

metrics_registry_t *metrics_registry_new(void);
void metrics_registry_free(metrics_registry_t *reg);

/* Monotonic counter. labels may be NULL or "". */
metrics_counter_t *metrics_counter(metrics_registry_t *reg, const char *name, const char *help,
                                   const char *labels);
void metrics_counter_add(metrics_counter_t *c, uint64_t n);
static inline void metrics_counter_inc(metrics_counter_t *c)
{
    metrics_counter_add(c, 1);
}
uint64_t metrics_counter_value(const metrics_counter_t *c);

/* Gauge holding a double. */
metrics_gauge_t *metrics_gauge(metrics_registry_t *reg, const char *name, const char *help,
                               const char *labels);
void metrics_gauge_set(metrics_gauge_t *g, double v);
void metrics_gauge_add(metrics_gauge_t *g, double delta);
double metrics_gauge_value(const metrics_gauge_t *g);

/* Gauge computed at scrape time by fn(ud). fn runs under the registry mutex; keep it short
 * and do not call back into the registry from it. */
void metrics_gauge_fn(metrics_registry_t *reg, const char *name, const char *help,
                      const char *labels, double (*fn)(void *ud), void *ud);

/* Histogram with the given ascending upper bounds (+Inf is added). buckets is copied.
 * NULL/0 uses the default latency buckets 0.5 ms .. 10 s. Values in seconds by convention. */
metrics_histogram_t *metrics_histogram(metrics_registry_t *reg, const char *name, const char *help,
                                       const char *labels, const double *buckets, size_t nbuckets);
void metrics_histogram_observe(metrics_histogram_t *h, double v);

/* Renders every series, grouped by name with # HELP and # TYPE lines, into a new
 * NUL-terminated buffer (*out, free()d by the caller). Returns 0. */
int metrics_render(metrics_registry_t *reg, char **out, size_t *len);

/* Escapes a label value (backslash, double quote, newline) into buf; returns buf. */
const char *metrics_label_escape(char *buf, size_t size, const char *value);

#endif
