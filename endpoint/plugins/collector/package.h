/* software (5055): installed packages from the dpkg database (/var/lib/dpkg/status) and the rpm
 * database (/usr/lib/sysimage/rpm or /var/lib/rpm, through librpm when the collector is built
 * with it; without librpm, rpm hosts get no software snapshot: see docs/plugins.md). */
#ifndef RAMPART_COLLECTOR_PACKAGE_H
#define RAMPART_COLLECTOR_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "asset.h"

/* dpkg status text: one item per package whose state is neither not-installed nor
 * config-files, with name, sversion, source ("dpkg"), arch, status, vendor (Maintainer),
 * size_kib (Installed-Size), section and origin (the Source: package, without version). */
void package_parse_dpkg(const char *text, size_t len, asset_set_t *out);
/* Packages of the rpm database in dbpath (a directory; root, when not "", is where the host's
 * filesystem is): name, sversion ([epoch:]version-release), source ("rpm"), arch, status
 * ("installed"), vendor, size_kib, section (the rpm Group) and origin (the source rpm).
 * gpg-pubkey entries are left out. -ENOTSUP when built without librpm, -EIO when the database
 * cannot be read. */
int package_collect_rpm(const char *root, const char *dbpath, asset_set_t *out);
bool package_rpm_supported(void);
/* The rpm database directory under root, or NULL when there is none. */
const char *package_rpm_dbpath(const char *root);
/* dpkg, then rpm when a database is there. */
int package_collect(const char *root, asset_set_t *out);

#endif
