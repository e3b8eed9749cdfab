/* harness: starts real servers for integration tests and always stops them.
 *
 * Every process started here is put in its own process group, gets PR_SET_PDEATHSIG(SIGKILL)
 * so it dies with the test, and is remembered so that an atexit hook (and SIGINT/SIGTERM/
 * SIGABRT handlers) stop whatever is still running. Output goes to
 * <build>/test-logs/<test>/<name>.log, whose path is printed when a start fails.
 *
 * Ports are taken free from the kernel (bind to port 0), so tests run in parallel.
 * Paths to our binaries come from compile definitions set by tests/CMakeLists.txt:
 *   RAMPART_BUILD_DIR, RAMPART_SOURCE_DIR. */
#ifndef RAMPART_TESTS_HARNESS_H
#define RAMPART_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct harness_proc harness_proc_t;

/* Call first in main(): names the log folder (test name) and installs the cleanup hooks. */
void harness_init(const char *test_name);

/* A port that was free a moment ago (loopback). */
uint16_t harness_free_port(void);

/* Monotonic clock in seconds; sleeping. */
double harness_now_s(void);
void harness_sleep_ms(int ms);
/* CPU time (user + system, seconds) and VmRSS (MiB) of a process; -1 when it is gone. */
double harness_proc_cpu_s(pid_t pid);
double harness_proc_rss_mib(pid_t pid);

/* Starts argv[0] with argv (NULL-terminated) and extra environment entries ("K=V", may be
 * NULL). Output to the log folder as <name>.log. NULL if it could not be started. */
harness_proc_t *harness_spawn(const char *name, char *const argv[], char *const env[]);
pid_t harness_pid(const harness_proc_t *p);
const char *harness_log_path(const harness_proc_t *p);
/* True while the process runs. */
bool harness_alive(harness_proc_t *p);
/* SIGTERM, wait up to 10 s, then SIGKILL the group. Returns the exit status as from waitpid
 * (or -1). Frees p. Accepts NULL. */
int harness_stop(harness_proc_t *p);
/* SIGKILL the process group at once (a crash); frees p. */
void harness_kill(harness_proc_t *p);

/* Waits until a TCP connect to 127.0.0.1:port succeeds. 0 or -ETIMEDOUT. */
int harness_wait_port(uint16_t port, int timeout_ms);
/* Waits until the process' log contains needle; copies the rest of that line into rest. */
int harness_wait_log(harness_proc_t *p, const char *needle, char *rest, size_t restlen,
                     int timeout_ms);

/* --- servers --- */
/* redis-server on a free port, no persistence. */
harness_proc_t *harness_redis_start(uint16_t *port);
/* Restarts Redis on the same port (empty). */
harness_proc_t *harness_redis_start_on(uint16_t port);
/* Our Kafka-protocol broker (tests/tools/kafka-mock on librdkafka's mock cluster) with the
 * rampart topics created; bootstrap "127.0.0.1:port" copied into bootstrap. */
harness_proc_t *harness_kafka_start(char *bootstrap, size_t len);
/* jongodb (MongoDB wire protocol) on a free port; uri "mongodb://127.0.0.1:port" copied. */
harness_proc_t *harness_mongo_start(char *uri, size_t len);

/* Writes a file under the test's log folder (configs, keys; mode 0600); returns its path in
 * path. 0 or -errno. */
int harness_write_file(const char *name, const char *content, char *path, size_t pathlen);

/* Makes a keys file for signed requests ("<access_key> <secret>\n", mode 0600) with a fresh
 * random 64-hex-digit secret, copied into secret (>= 65 bytes). Keys are made at test time,
 * never committed. 0 or -errno. */
int harness_make_keys(const char *access_key, char *secret, size_t secretlen, char *path,
                      size_t pathlen);

/* --- certificates (common/pki), made at test time, never committed --- */
/* Creates <log folder>/pki with ca.pem, ca.key, server.pem, server.key (server certificate
 * CN=agent-center for DNS:localhost and IP:127.0.0.1); its path goes into dir. Replaces a
 * previous run's files. 0 or -errno. */
int harness_make_pki(char *dir, size_t dirlen);
/* Issues a client certificate with CN = cn from <pki_dir>/ca.pem + ca.key and writes
 * <pki_dir>/<cn>.pem and <pki_dir>/<cn>.key; "<pki_dir>/<cn>" goes into prefix. */
int harness_make_client_cert(const char *pki_dir, const char *cn, char *prefix, size_t len);
/* The same from a different CA made on the spot (a certificate the server must refuse);
 * writes <pki_dir>/foreign-<cn>.pem and .key, prefix "<pki_dir>/foreign-<cn>". */
int harness_make_foreign_client_cert(const char *pki_dir, const char *cn, char *prefix, size_t len);

/* --- HTTP client for tests (libcurl) --- */
typedef struct {
    long status; /* 0 when the request failed at transport level */
    char *body;  /* NUL-terminated, free() it (harness_http_response_free) */
    size_t len;
} harness_http_response_t;

/* Plain request. body may be NULL. headers: NULL-terminated "Name: value" list or NULL. */
int harness_http(const char *method, const char *url, const char *body, size_t body_len,
                 const char *const *headers, harness_http_response_t *out);
/* Signed request (common/hmac.h) with the given key pair at time now (0 = current time). */
int harness_http_signed(const char *method, const char *url, const char *body, size_t body_len,
                        const char *access_key, const char *secret, int64_t now,
                        harness_http_response_t *out);
void harness_http_response_free(harness_http_response_t *r);
/* The value of one Prometheus series (name with its labels, exactly as rendered) on
 * http://127.0.0.1:port/metrics; -1 when absent or unreachable. */
double harness_metric(uint16_t port, const char *series);

/* Path of one of our built binaries, relative to the build dir ("service-discovery/rampart-sd"). */
const char *harness_bin(const char *rel, char *buf, size_t size);

#endif
