#include "hub/alert.h"

#include <inttypes.h>
#include <string.h>

/* A JSON string of s. A value longer than ALERT_VALUE_MAX bytes is cut there and ends in
 * U+2026: an alert must stay well under Kafka's message size limit, or it could never be
 * delivered. Bytes that are not valid UTF-8 become U+FFFD (common/strbuf.h). */
static void json_str(strbuf_t *sb, const char *s)
{
    strbuf_append_json_string_max(sb, s, ALERT_VALUE_MAX);
}

static void kv_str(strbuf_t *sb, const char *k, const char *v, bool comma)
{
    if (comma)
        strbuf_appends(sb, ",");
    json_str(sb, k ? k : "");
    strbuf_appends(sb, ":");
    json_str(sb, v ? v : "");
}

static void str_array(strbuf_t *sb, const char *k, char *const *v, size_t n)
{
    strbuf_appends(sb, ",");
    strbuf_append_json_string(sb, k);
    strbuf_appends(sb, ":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_appends(sb, ",");
        json_str(sb, v[i]);
    }
    strbuf_appends(sb, "]");
}

static const char *type_name(rule_type_t t)
{
    return t == RULE_THRESHOLD ? "threshold" : t == RULE_SEQUENCE ? "sequence" : "simple";
}

static void render_rule(const rule_t *r, strbuf_t *sb)
{
    strbuf_appends(sb, ",\"rule\":{");
    kv_str(sb, "id", r->id, false);
    kv_str(sb, "name", r->name, true);
    kv_str(sb, "severity", severity_name(r->severity), true);
    kv_str(sb, "type", type_name(r->type), true);
    str_array(sb, "attack", r->attack, r->nattack);
    str_array(sb, "tags", r->tags, r->ntags);
    kv_str(sb, "description", r->description, true);
    kv_str(sb, "remediation", r->remediation, true);
    strbuf_appends(sb, "}");
}

void alert_render(const hub_alert_t *a, const char *instance, int64_t detected_ms, strbuf_t *sb)
{
    strbuf_appends(sb, "{");
    kv_str(sb, "schema", ALERT_SCHEMA, false);
    kv_str(sb, "id", a->id, true);
    kv_str(sb, "kind", a->kind == ALERT_NEW ? "alert" : "update", true);
    render_rule(a->rule, sb);
    strbuf_appendf(sb,
                   ",\"count\":%" PRIu64 ",\"first_seen_ms\":%" PRId64 ",\"last_seen_ms\":%" PRId64
                   ",\"detected_at_ms\":%" PRId64,
                   a->count, a->first_seen_ms, a->last_seen_ms, detected_ms);
    if (instance)
        kv_str(sb, "hub", instance, true);
    const hub_event_t *ev = a->ev;
    strbuf_appends(sb, ",\"agent\":{");
    kv_str(sb, "id", a->agent_id, false);
    if (ev) {
        kv_str(sb, "hostname", ev->hostname, true);
        str_array(sb, "ipv4", ev->ipv4, ev->nipv4);
    }
    strbuf_appends(sb, "}");
    if (!ev) {
        strbuf_appends(sb, "}");
        return;
    }
    strbuf_appendf(sb, ",\"data_type\":%d,\"event_time_ms\":%" PRId64 ",\"server_time\":%" PRId64,
                   ev->data_type, ev->time_ms, ev->server_time);
    if (a->rule->type != RULE_SIMPLE)
        strbuf_appendf(sb, ",\"observed\":%u", a->observed);
    if (ev->partition >= 0)
        strbuf_appendf(sb, ",\"source\":{\"partition\":%d,\"offset\":%" PRId64 "}", ev->partition,
                       ev->offset);
    strbuf_appends(sb, ",\"key\":{");
    for (size_t i = 0; i < a->rule->nkeys; i++) {
        const char *name = a->rs->slots[a->rule->keys[i]].name;
        kv_str(sb, name, hub_event_field(ev, name), i > 0);
    }
    strbuf_appends(sb, "},\"event\":{");
    for (size_t i = 0; i < ev->nfields; i++)
        kv_str(sb, ev->fields[i]->key, ev->fields[i]->value, i > 0);
    strbuf_appends(sb, "},\"process_chain\":[");
    for (size_t i = 0; i < a->nchain; i++) {
        const proc_t *p = a->chain[i];
        strbuf_appendf(sb, "%s{\"pid\":%d,\"ppid\":%d", i ? "," : "", p->pid, p->ppid);
        kv_str(sb, "exe", p->exe, true);
        kv_str(sb, "comm", p->comm, true);
        kv_str(sb, "argv", p->argv, true);
        kv_str(sb, "uid", p->uid, true);
        strbuf_appends(sb, "}");
    }
    strbuf_appends(sb, "]}");
}
