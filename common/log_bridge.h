/* log_bridge: routes third-party libraries' log output into log.h.
 *
 * Each function installs the library's hook; a daemon calls the ones for the libraries it
 * links. Every bridged line carries event=lib.<name> and the library's own level mapped to
 * ours. The bridges live in separate objects (log_bridge_<lib>.c) so that a daemon only links
 * the libraries it uses: link rampart::log_<lib> to get log_bridge_<lib>().
 *
 * Installing a bridge is idempotent and must happen before the library is used. */
#ifndef RAMPART_COMMON_LOG_BRIDGE_H
#define RAMPART_COMMON_LOG_BRIDGE_H

#include <stdarg.h>

/* libmicrohttpd: pass as MHD_OPTION_EXTERNAL_LOGGER, (void *)log_bridge_mhd, NULL.
 * MHD only calls it when the daemon also has the MHD_USE_ERROR_LOG flag. (MHD takes the logger
 * per daemon; common/http.c does this for every server.) */
void log_bridge_mhd(void *cls, const char *fmt, va_list ap);

/* librdkafka: call on each rd_kafka_conf_t before rd_kafka_new(). conf is rd_kafka_conf_t *. */
struct rd_kafka_conf_s;
void log_bridge_rdkafka(struct rd_kafka_conf_s *conf);

/* mongo-c-driver: installs mongoc_log_set_handler() process-wide. */
void log_bridge_mongoc(void);

/* gRPC core: installs gpr_set_log_function() and sets gpr verbosity from our level. */
void log_bridge_grpc(void);

/* libbpf: installs libbpf_set_print(). */
void log_bridge_libbpf(void);

#endif
