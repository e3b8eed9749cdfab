#include "rampart_plugin_detail.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

json_t *rp_detail_parse(const char *detail, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0';
    if (!detail || !*detail)
        return NULL;
    json_error_t jerr;
    json_t *root = json_loads(detail, 0, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "DETAIL is not a JSON object%s%s", root ? "" : ": ",
                 root ? "" : jerr.text);
        json_decref(root);
        return NULL;
    }
    return root;
}

int rp_detail_int(json_t *v, const char *what, int64_t min, int64_t max, int64_t *out, char *err,
                  size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, errlen, "%s: expected an integer in [%" PRId64 ", %" PRId64 "]", what, min,
                 max);
        return -EINVAL;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int rp_detail_string(json_t *v, const char *what, char *dst, size_t cap, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) >= cap) {
        snprintf(err, errlen, "%s: expected a non-empty string shorter than %zu bytes", what, cap);
        return -EINVAL;
    }
    snprintf(dst, cap, "%s", s);
    return 0;
}

int rp_detail_bool(json_t *v, const char *what, bool *out, char *err, size_t errlen)
{
    if (!json_is_boolean(v)) {
        snprintf(err, errlen, "%s: expected true or false", what);
        return -EINVAL;
    }
    *out = json_is_true(v);
    return 0;
}
