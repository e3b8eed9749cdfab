/* route: which Kafka topic a record goes to, by data_type.
 *
 * Built once from kafka.routes entries "LO-HI:TOPIC" or "N:TOPIC" (data_type 1..65535);
 * look-ups are one array index. A data_type that no entry covers has no topic: such a record
 * is rejected and counted (unknown_data_type), never sent to a default topic. */
#ifndef RAMPART_AC_ROUTE_H
#define RAMPART_AC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#define ROUTE_MAX_TYPE   65535
#define ROUTE_MAX_TOPICS 16
#define ROUTE_NONE       0xff

typedef struct route route_t;

/* Parses the entries (NULL-terminated). On error returns NULL and writes "entry: reason" to
 * err. Later entries win where ranges overlap. */
route_t *route_new(const char *const *entries, char *err, size_t errlen);
void route_free(route_t *r);

/* Topic index (0 .. route_ntopics-1) for data_type, or ROUTE_NONE. */
static inline unsigned route_topic_of(const route_t *r, int32_t data_type);
size_t route_ntopics(const route_t *r);
const char *route_topic_name(const route_t *r, unsigned idx);

/* --- inline look-up --- */
struct route {
    uint8_t by_type[ROUTE_MAX_TYPE + 1];
    char *topics[ROUTE_MAX_TOPICS];
    size_t ntopics;
};

static inline unsigned route_topic_of(const route_t *r, int32_t data_type)
{
    if (data_type <= 0 || data_type > ROUTE_MAX_TYPE)
        return ROUTE_NONE;
    return r->by_type[data_type];
}

#endif
