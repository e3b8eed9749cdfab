/* software (5055): installed packages from the dpkg database (/var/lib/dpkg/status). Hosts
 * whose only package database is rpm's are not covered yet: see docs/plugins.md. */
#ifndef RAMPART_COLLECTOR_PACKAGE_H
#define RAMPART_COLLECTOR_PACKAGE_H

#include <stddef.h>

#include "asset.h"

/* dpkg status text: one item per package whose state is neither not-installed nor
 * config-files, with name, sversion, source ("dpkg"), arch, status, vendor (Maintainer),
 * size_kib (Installed-Size), section and origin (the Source: package, without version). */
void package_parse_dpkg(const char *text, size_t len, asset_set_t *out);
int package_collect(const char *root, asset_set_t *out);

#endif
