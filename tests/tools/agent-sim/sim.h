/* sim: the simulated agents of rampart-agent-sim (options in main.c).
 *
 * Agents are split over opts->threads event loops; each loop owns a gRPC completion queue,
 * a timer heap and its agents, so agent state is touched by one thread only. The only
 * state shared between loops is the stop flag and the count of agents with an open stream
 * (for the all_connected line). */
#ifndef RAMPART_TESTS_AGENT_SIM_H
#define RAMPART_TESTS_AGENT_SIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

#define SIM_MAX_SD     8
#define SIM_MAX_AGENTS 20000

typedef enum {
    SIM_ABUSE_NONE = 0,
    SIM_ABUSE_MALFORMED,
    SIM_ABUSE_OVERSIZED,
    SIM_ABUSE_UNKNOWN_TYPE,
    SIM_ABUSE_EMPTY_ID,
} sim_abuse_t;

typedef struct {
    const char *target;         /* HOST:PORT or NULL */
    const char *sd[SIM_MAX_SD]; /* service-discovery addresses */
    size_t nsd;
    long agents;           /* 1..SIM_MAX_AGENTS */
    const char *id_prefix; /* "sim-" */
    long first_index;
    int id_width;            /* zero padding of the index, 5 */
    const char *ca, *ca_key; /* file paths */
    const char *cert, *key;
    const char *server_name;
    bool plaintext;
    const char *declare_id;
    double rate; /* records per second per agent */
    long batch_ms, record_size, data_type, heartbeat_ms;
    bool plugin_heartbeat;
    long max_records; /* 0: unlimited */
    long duration_s;  /* 0: until a signal */
    long backoff_min_ms, backoff_max_ms;
    long drain_ms;
    long ramp_ms;        /* first connections spread over this long */
    long max_connecting; /* streams being set up at once (all threads); 0: no limit */
    long threads;
    sim_abuse_t abuse;
    long abuse_size; /* oversized:N */
    bool per_agent;
    const char *summary_file;
} sim_opts_t;

/* Runs the agents until *stop becomes true (set by a signal handler thread or the duration
 * timer), drains, and appends the one-line JSON summary (no newline) to summary.
 * Returns 0, or -errno when setup failed (unreadable certificates, bad CA key). */
int sim_run(const sim_opts_t *opts, atomic_bool *stop, strbuf_t *summary);

#endif
