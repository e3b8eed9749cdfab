/* event: a sensor record as read from the ring buffer, checked and split into its parts.
 *
 * event_parse never trusts the bytes: the size, the type and every string length are checked
 * against the buffer before anything points into it. The views point into the caller's
 * buffer, which must outlive the event. */
#ifndef RAMPART_DRIVER_EVENT_H
#define RAMPART_DRIVER_EVENT_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

#define EVENT_MAX_STR 16

/* String slots: 0 exe and 1 nodename in every record, then per type (events.h). */
enum {
    EV_S_EXE = 0,
    EV_S_NODENAME = 1,
    EV_S_ARG0 = 2, /* first per-type string */
};

typedef struct {
    const char *p; /* not NUL-terminated */
    size_t len;
} event_str_t;

typedef struct {
    const struct rs_event *h;
    size_t nstr;
    event_str_t str[EVENT_MAX_STR];
} event_t;

/* 0, or -EINVAL when the record is malformed (too short, size mismatch, unknown type, a
 * string running past the end, too many strings). */
int event_parse(const void *data, size_t len, event_t *ev);

/* String i as a view; an absent slot is empty. */
event_str_t event_str(const event_t *ev, size_t i);

/* Elkeid data_type of an event index, its name ("execve"), or 0 / NULL when out of range. */
int event_data_type(unsigned ev);
const char *event_name(unsigned ev);
/* Event index from its name, or -1. */
int event_by_name(const char *name);

#endif
