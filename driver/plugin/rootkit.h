/* rootkit: finds processes hidden from /proc by comparing the kernel's task list (the BPF
 * task iterator) with a listing of /proc, twice, so that processes starting or ending during
 * a scan are not reported. */
#ifndef RAMPART_DRIVER_ROOTKIT_H
#define RAMPART_DRIVER_ROOTKIT_H

#include <stddef.h>
#include <stdint.h>

#include "sensor.h"

#define ROOTKIT_DATA_TYPE 3100 /* hidden process (a Rampart type, outside Elkeid's ranges) */

typedef void (*rootkit_hidden_fn)(void *ctx, const struct rs_task_seen *t);

/* One scan. Calls fn for each hidden process. Number found, or a negative errno (-ENOTSUP:
 * no task iterator on this kernel). */
int rootkit_scan(sensor_t *s, const char *proc_root, rootkit_hidden_fn fn, void *ctx);

#endif
