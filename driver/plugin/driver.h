/* driver: the driver plugin's state and main loop: sensor records in, Records out through the
 * plugin SDK, heartbeats with the sensor's counters, periodic anti-rootkit scans. */
#ifndef RAMPART_DRIVER_DRIVER_H
#define RAMPART_DRIVER_DRIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "format.h"
#include "rampart_plugin.h"
#include "sensor.h"

typedef struct {
    sensor_opts_t sensor;
    const char *proc_root;    /* "/proc" */
    const char *deny_exe[64]; /* exe paths never reported */
    unsigned ndeny;
    const char *allow_exe[64]; /* when set: only these exes are reported */
    unsigned nallow;
    bool exe_hash;           /* compute exe_hash (default on) */
    unsigned heartbeat_secs; /* 60 */
    unsigned rootkit_secs;   /* 900; 0 = never */
} driver_config_t;

typedef struct {
    driver_config_t cfg;
    sensor_t *sensor;
    rp_plugin_t *plugin;
    rp_record_t *rec;
    enrich_t en;
    uint64_t records_out;  /* records handed to the SDK */
    uint64_t bad_records;  /* ring buffer records that failed event_parse */
    uint64_t write_errors; /* rp_record_end failures */
    uint64_t hidden_procs; /* found by the last anti-rootkit scan */
    int rootkit_status;    /* 0 ok, -ENOTSUP no iterator, other negative errno */
} driver_t;

/* Sets the defaults. */
void driver_config_init(driver_config_t *cfg);
/* Loads the sensor and the caches. 0, or a negative errno after logging why. */
int driver_init(driver_t *d, const driver_config_t *cfg, rp_plugin_t *plugin);
/* Runs until *stop is set or the agent goes away. 0 or a negative errno. */
int driver_run(driver_t *d, volatile sig_atomic_t *stop);
/* Writes one 1001 heartbeat record now. */
void driver_heartbeat(driver_t *d);
void driver_dispose(driver_t *d);

#endif
