/* Fuzzes what the hub does with each Kafka message: the envelope decoder (hub/event.c, a
 * protobuf-c unpack through the decoder's arena) and, for what decodes, the engine with the
 * default ruleset (hub/rules) and the alert JSON. State carries over from input to input,
 * bounded, as in the daemon. Oracles: no crash or sanitizer report; every alert rendered is
 * valid JSON with a 32-character id. */
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
static event_decoder_t *dec;

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
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hub_event_t ev;
    if (event_decode(dec, data, size, &ev) == 0) {
        if (ev.raw != data || ev.raw_len != size)
            abort();
        engine_process(engine, &ev);
    }
    return 0;
}
