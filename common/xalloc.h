/* xalloc: allocation that never returns NULL.
 *
 * Running out of memory is not a condition the daemons try to survive: the allocation
 * functions below log the size and abort, so callers skip NULL checks (Redis' zmalloc).
 * Bounded inputs keep allocations proportional to what the configuration allows. */
#ifndef RAMPART_COMMON_XALLOC_H
#define RAMPART_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* asprintf that aborts on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
