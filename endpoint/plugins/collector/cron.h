/* cron (5053): jobs from /etc/crontab, /etc/cron.d, the per-user crontabs
 * (/var/spool/cron/crontabs on Debian, /var/spool/cron on Red Hat) and the scripts in
 * /etc/cron.{hourly,daily,weekly,monthly}. */
#ifndef RAMPART_COLLECTOR_CRON_H
#define RAMPART_COLLECTOR_CRON_H

#include <stddef.h>

#include "asset.h"

/* Parses crontab text. user NULL: a system crontab (a user column after the schedule);
 * otherwise the crontab of that user. Items: path, username, schedule, command. Comment,
 * blank, environment (NAME=value) and malformed lines are skipped. */
void cron_parse(const char *text, size_t len, const char *path, const char *user, asset_set_t *out);
int cron_collect(const char *root, asset_set_t *out);

#endif
