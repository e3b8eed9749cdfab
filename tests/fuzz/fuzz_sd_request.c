/* Fuzzes service discovery's request handling short of the network and Redis: the body
 * parsing and validation of register/renew/evict (through jansson, as the server does) and
 * the look-up's name/count/pick validation. The first byte selects which.
 * Every accepted request must satisfy the documented limits. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "service-discovery/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_instance(const sd_instance_spec_t *s, api_kind_t kind)
{
    if (!api_valid_name(s->name) || s->port == 0 || strlen(s->ip) == 0 ||
        strlen(s->ip) > SD_HOST_MAX)
        abort();
    if (kind == API_REGISTER && (s->weight < 0 || s->weight > SD_WEIGHT_MAX))
        abort();
    if (kind == API_REGISTER) {
        /* What is stored must be a JSON object that parses back. */
        json_error_t je;
        json_t *m = json_loads(s->metadata, 0, &je);
        if (!json_is_object(m) || strlen(s->metadata) > SD_METADATA_MAX)
            abort();
        json_decref(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        log_init("fuzz", LOG_LEVEL_FATAL, 2);
        quiet = 1;
    }
    if (size < 1)
        return 0;
    uint8_t sel = data[0] % 4;
    data++;
    size--;
    api_error_t e;
    if (sel < 3) {
        json_error_t je;
        json_t *body = json_loadb((const char *)data, size, 0, &je);
        if (!body)
            return 0;
        sd_instance_spec_t spec;
        api_kind_t kind = (api_kind_t)sel;
        if (api_parse_instance(body, kind, &spec, &e) == 0)
            check_instance(&spec, kind);
        else if (e.status < 400 || e.status > 499 || !e.code || !e.message[0])
            abort();
        json_decref(body);
        return 0;
    }
    /* look-up: name \0 count \0 pick */
    char buf[512];
    size_t n = size < sizeof(buf) - 3 ? size : sizeof(buf) - 3;
    memcpy(buf, data, n);
    buf[n] = buf[n + 1] = buf[n + 2] = '\0';
    const char *name = buf;
    const char *count = name + strlen(name) + 1;
    const char *pick = count + strlen(count) + 1;
    size_t c;
    registry_pick_t p;
    if (api_parse_lookup(name, count, pick, &c, &p, &e) == 0) {
        if (!api_valid_name(name) || c > 1000)
            abort();
    } else if (e.status != 400) {
        abort();
    }
    return 0;
}
