/* Fuzzes what the hub does with each Kafka message: the envelope decoder (hub/event.c) and,
 * for what decodes, the engine with the default ruleset (hub/rules) and the alert JSON.
 * State carries over from input to input, bounded, as in the daemon. Oracles: no crash or
 * sanitizer report; what protobuf-c's unpack (event_decode_pb) accepts, the wire decoder
 * (event_decode) accepts with the same fields, in the same order; every alert rendered is
 * valid JSON with a 32-character id. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/strbuf.h"
#include "hub/alert.h"
#include "hub/engine.h"
#include "hub/event.h"
#include "hub/ruleset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static engine_t *engine;
static event_decoder_t *dec, *ref;

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The two decoders agree: everything the engine reads is equal. */
static void compare(const hub_event_t *a, const hub_event_t *b)
{
    if (a->data_type != b->data_type || a->time_ms != b->time_ms ||
        a->server_time != b->server_time || !same(a->agent_id, b->agent_id) ||
        !same(a->hostname, b->hostname) || a->nfields != b->nfields)
        abort();
    size_t nip = b->nipv4 < 64 ? b->nipv4 : 64;
    if (a->nipv4 != nip)
        abort();
    for (size_t i = 0; i < nip; i++)
        if (!same(a->ipv4[i], b->ipv4[i]))
            abort();
    for (size_t i = 0; i < a->nfields; i++)
        if (!same(a->fields[i]->key, b->fields[i]->key) ||
            !same(a->fields[i]->value, b->fields[i]->value))
            abort();
}

static void on_alert(void *ud, const hub_alert_t *a)
{
    (void)ud;
    strbuf_t sb = STRBUF_INIT;
    alert_render(a, "fuzz", 0, &sb);
    json_error_t je;
    json_t *j = json_loadb(sb.data, sb.len, 0, &je);
    if (!j || strlen(json_string_value(json_object_get(j, "id"))) != 32)
        abort();
    json_decref(j);
    strbuf_dispose(&sb);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz", LOG_LEVEL_FATAL, 2);
    char dir[1024], err[1024];
    snprintf(dir, sizeof(dir), "%s", __FILE__); /* <src>/tests/fuzz/fuzz_hub_envelope.c */
    char *cut = strstr(dir, "/tests/fuzz/");
    if (!cut)
        abort();
    strcpy(cut, "/hub/rules");
    ruleset_t *rs = NULL;
    if (ruleset_load_dir(dir, NULL, 0, &rs, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    engine_opts_t o = {
        .proc_capacity = 256, .group_capacity = 64, .dedup_capacity = 64, .emit = on_alert};
    engine = engine_new(&o);
    engine_set_ruleset(engine, rs);
    dec = event_decoder_new();
    ref = event_decoder_new();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hub_event_t ev, ev_ref;
    int rc = event_decode(dec, data, size, &ev);
    if (event_decode_pb(ref, data, size, &ev_ref) == 0) {
        if (rc != 0)
            abort(); /* the wire decoder refused what protobuf-c accepts */
        compare(&ev, &ev_ref);
    }
    if (rc == 0) {
        if (ev.raw != data || ev.raw_len != size)
            abort();
        engine_process(engine, &ev);
    }
    return 0;
}
