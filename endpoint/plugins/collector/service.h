/* service (5054): systemd service units from the standard unit directories, with the enable
 * state worked out from the files (masked, alias, enabled via *.wants / *.requires links,
 * static, disabled) and, when systemd runs, whether the unit is active. No D-Bus: the
 * collector must work on hosts and in containers where systemd does not run. */
#ifndef RAMPART_COLLECTOR_SERVICE_H
#define RAMPART_COLLECTOR_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "asset.h"

/* Fills description, type, command (first ExecStart), user, restart, working_dir and
 * wanted_by from unit file text; returns true when the unit has an [Install] section that
 * enables it (WantedBy=, RequiredBy=, Alias= or Also=). Continuation lines (ending in '\')
 * are joined; unknown sections and keys are ignored. */
bool service_parse_unit(const char *text, size_t len, asset_t *a);
int service_collect(const char *root, asset_set_t *out);

#endif
