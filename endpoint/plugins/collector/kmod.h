/* kmod (5062): loaded kernel modules from /proc/modules (absent on kernels without module
 * support: the snapshot is then empty). */
#ifndef RAMPART_COLLECTOR_KMOD_H
#define RAMPART_COLLECTOR_KMOD_H

#include <stddef.h>

#include "asset.h"

/* "name size refcount used_by state addr [taint]" lines: name, size, refcount, used_by (comma
 * list, "" for none), state, addr. */
void kmod_parse(const char *text, size_t len, asset_set_t *out);
int kmod_collect(const char *proc_root, asset_set_t *out);

#endif
