#include "agent-center/route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* Kafka topic names: 1-249 characters of [a-zA-Z0-9._-]. */
static int topic_valid(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 249)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int parse_type(const char *s, const char *end, long *out)
{
    if (s == end || end - s > 6)
        return -EINVAL;
    long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > ROUTE_MAX_TYPE)
        return -EINVAL;
    *out = v;
    return 0;
}

static int topic_index(route_t *r, const char *name)
{
    for (size_t i = 0; i < r->ntopics; i++)
        if (strcmp(r->topics[i], name) == 0)
            return (int)i;
    if (r->ntopics == ROUTE_MAX_TOPICS)
        return -ENOSPC;
    r->topics[r->ntopics] = xstrdup(name);
    return (int)r->ntopics++;
}

route_t *route_new(const char *const *entries, char *err, size_t errlen)
{
    route_t *r = xcalloc(1, sizeof(*r));
    memset(r->by_type, ROUTE_NONE, sizeof(r->by_type));
    size_t n = 0;
    for (; entries && entries[n]; n++) {
        const char *e = entries[n];
        const char *colon = strchr(e, ':');
        const char *dash = colon ? memchr(e, '-', (size_t)(colon - e)) : NULL;
        long lo, hi;
        if (!colon) {
            snprintf(err, errlen, "%s: expected LO-HI:TOPIC or N:TOPIC", e);
            goto fail;
        }
        if (parse_type(e, dash ? dash : colon, &lo) < 0 ||
            parse_type(dash ? dash + 1 : e, colon, &hi) < 0 || hi < lo) {
            snprintf(err, errlen, "%s: data_type range must be within 1-%d, low end first", e,
                     ROUTE_MAX_TYPE);
            goto fail;
        }
        if (!topic_valid(colon + 1)) {
            snprintf(err, errlen, "%s: topic must be 1-249 characters of [a-zA-Z0-9._-]", e);
            goto fail;
        }
        int idx = topic_index(r, colon + 1);
        if (idx < 0) {
            snprintf(err, errlen, "%s: more than %d distinct topics", e, ROUTE_MAX_TOPICS);
            goto fail;
        }
        memset(r->by_type + lo, idx, (size_t)(hi - lo + 1));
    }
    if (n == 0) {
        snprintf(err, errlen, "no routes: every record would be rejected");
        goto fail;
    }
    return r;
fail:
    route_free(r);
    return NULL;
}

void route_free(route_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ntopics; i++)
        free(r->topics[i]);
    free(r);
}

size_t route_ntopics(const route_t *r)
{
    return r->ntopics;
}

const char *route_topic_name(const route_t *r, unsigned idx)
{
    return idx < r->ntopics ? r->topics[idx] : NULL;
}
