/* rampart_plugin_detail: reading a plugin's configuration. The agent passes a plugin's
 * Config.detail string in the DETAIL environment variable; Rampart's plugins read it as a
 * JSON object (docs/plugins.md). These helpers check each value's type and bounds and write a
 * one-line reason ("max_rate: expected an integer in [1, 1000000]") on error. */
#ifndef RAMPART_PLUGIN_DETAIL_H
#define RAMPART_PLUGIN_DETAIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The JSON object in detail. NULL with err[0] == '\0' when detail is NULL or empty (use the
 * defaults); NULL with a reason in err when it is not a JSON object. json_decref the result. */
json_t *rp_detail_parse(const char *detail, char *err, size_t errlen);
/* 0, or -EINVAL with "<what>: expected ..." in err. */
int rp_detail_int(json_t *v, const char *what, int64_t min, int64_t max, int64_t *out, char *err,
                  size_t errlen);
int rp_detail_string(json_t *v, const char *what, char *dst, size_t cap, char *err, size_t errlen);
int rp_detail_bool(json_t *v, const char *what, bool *out, char *err, size_t errlen);

#endif
