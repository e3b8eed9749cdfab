/* alert: the JSON document written to rampart.alerts for each alert (docs/alerts.md). */
#ifndef RAMPART_HUB_ALERT_H
#define RAMPART_HUB_ALERT_H

#include <stdint.h>

#include "common/strbuf.h"
#include "hub/engine.h"

#define ALERT_SCHEMA    "rampart.alert/1"
#define ALERT_VALUE_MAX 16384 /* bytes of one string value kept in an alert */

/* Appends the alert as one JSON object (no newline). instance names the hub that raised it
 * (may be NULL); detected_ms is the hub's wall clock. */
void alert_render(const hub_alert_t *a, const char *instance, int64_t detected_ms, strbuf_t *out);

#endif
