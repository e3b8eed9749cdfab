/* agent_id: the agent's identity, stable across restarts and bound to its certificate.
 *
 * Order: agent.id from the configuration; else the id kept in <state_dir>/agent_id; else one
 * derived from /etc/machine-id, or from the DMI product UUID when there is no machine id
 * (known placeholder UUIDs skipped), or random as a last resort; a new id is written to
 * <state_dir>/agent_id so that it never changes afterwards. A derived id is the SHA-256 of
 * "rampart-agent-id:" + the source, formatted as a UUID (version 8). The AgentCenter takes
 * the client certificate's CN as the agent's identity, so the agent refuses to start when
 * the two differ. */
#ifndef RAMPART_AGENT_ID_H
#define RAMPART_AGENT_ID_H

#include <stddef.h>

#define AGENT_ID_MAX 128

/* Derives an id from the files (either may be NULL or missing). 0, or -ENOENT when neither
 * holds a usable value. source names what was used ("machine-id", "dmi"). */
int agent_id_derive(const char *machine_id_path, const char *dmi_path, char *out, size_t len,
                    const char **source);

/* The agent's id as described above. 0, or a negative errno with the reason in err. */
int agent_id_load(const char *configured, const char *state_dir, char *out, size_t len, char *err,
                  size_t errlen);

/* 0 when cert_path's CN equals id; -EPERM (mismatch) or -errno with the reason in err. */
int agent_id_check_cert(const char *id, const char *cert_path, char *err, size_t errlen);

/* Whether s is a valid agent id: 1-128 of A-Z a-z 0-9 . _ : - (as the AgentCenter checks). */
int agent_id_valid(const char *s);

/* Lower-case hex SHA-256 of a file into hex (65 bytes). 0 or -errno. */
int agent_sha256_file(const char *path, char hex[65]);

#endif
