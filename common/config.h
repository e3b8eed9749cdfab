/* config: one configuration format for every daemon.
 *
 * A config file is YAML. Nested mappings name dotted keys:
 *
 *   http:
 *     listen: 127.0.0.1:8088      # key "http.listen"
 *   redis:
 *     addr: 127.0.0.1:6379        # key "redis.addr"
 *
 * Each daemon declares its keys once in a table of config_option_t (Redis' static_configs),
 * with type, default, bounds and help. Every key can be overridden by an environment variable
 * named <prefix><KEY> with dots turned into underscores and letters upper-cased:
 * RAMPART_SD_ + "http.listen" -> RAMPART_SD_HTTP_LISTEN. Precedence: default < file < env.
 *
 * Errors name where the bad value came from, then the key, then the reason:
 *   sd.yaml:12: registry.ttl: expected a duration such as 30s or 500ms, got "soon"
 *   env RAMPART_SD_HTTP_PORT: http.port: 70000 is above the maximum 65535
 *   sd.yaml:3: htpp: unknown key
 */
#ifndef RAMPART_COMMON_CONFIG_H
#define RAMPART_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>

typedef enum {
    CONFIG_STRING,   /* char * (owned by the struct, freed by config_dispose) */
    CONFIG_INT,      /* int64_t */
    CONFIG_BOOL,     /* bool: true/false/yes/no/on/off/1/0 */
    CONFIG_DURATION, /* int64_t milliseconds: "250ms", "30s", "5m", "1h", bare number = ms */
    CONFIG_SIZE,     /* int64_t bytes: "512", "64KiB", "1MiB", "2GiB" (also K, M, G, KB, MB) */
    CONFIG_LIST,     /* char ** NULL-terminated: a YAML sequence, or in env a comma list */
} config_type_t;

typedef struct {
    const char *key; /* dotted name, e.g. "http.listen" */
    config_type_t type;
    size_t offset;    /* offsetof(daemon config struct, field) */
    const char *def;  /* default as text, parsed like a file value; NULL = required */
    int64_t min, max; /* inclusive bounds for INT/DURATION/SIZE; min == max == 0: none */
    const char *help; /* one line, for --help-config and docs */
} config_option_t;

/* Fills dst from defaults, then the file at path (NULL: no file), then the environment.
 * On error returns -EINVAL (or -errno if the file cannot be read) and writes one line to err.
 * On error dst is disposed already (no need to call config_dispose). */
int config_load(const config_option_t *opts, size_t nopts, void *dst, const char *path,
                const char *env_prefix, char *err, size_t errlen);

/* Frees the strings and lists config_load allocated in dst. Safe to call twice. */
void config_dispose(const config_option_t *opts, size_t nopts, void *dst);

/* Prints the table as a reference: key, env var, type, default, bounds, help. */
void config_print_reference(const config_option_t *opts, size_t nopts, const char *env_prefix,
                            FILE *out);

#endif
