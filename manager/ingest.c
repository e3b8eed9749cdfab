#include "manager/ingest.h"

#include <ctype.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/log_bridge.h"
#include "common/xalloc.h"
#include "envelope.pb-c.h"
#include "manager/asset.h"
#include "manager/mgr.h"
#include "rampart.pb-c.h"

#define ALERT_MAX  (4 << 20)
#define FIELDS_MAX 256
#define VALUE_MAX  16384
#define SEVERITIES 5

static const char *const SEV[SEVERITIES] = {"info", "low", "medium", "high", "critical"};

/* One consumer per topic, each with its own thread: a backlog of asset snapshots on
 * rampart.state (slow to write) must not hold back alerts. */
typedef struct {
    ingest_t *in;
    const char *topic;
    rd_kafka_t *rk;
    pthread_t th;
    bool started;
    atomic_bool paused;
    atomic_int assigned;
} consumer_t;

enum { C_STATE, C_ALERTS, C_COUNT };

struct ingest {
    mgr_t *m;
    consumer_t c[C_COUNT];
    atomic_bool stopping;
    metrics_counter_t *m_stored_alerts, *m_stored_state;
    metrics_counter_t *m_msgs, *m_alerts, *m_updates, *m_hb, *m_assets, *m_results, *m_invalid,
        *m_other;
};

/* ---- decoding ---------------------------------------------------------------------------- */

int ingest_severity_rank(const char *s)
{
    for (int i = 0; s && i < SEVERITIES; i++)
        if (strcmp(s, SEV[i]) == 0)
            return i;
    return -1;
}

static bool hex32(const char *s)
{
    if (!s || strlen(s) != 32)
        return false;
    for (size_t i = 0; i < 32; i++)
        if (!isxdigit((unsigned char)s[i]))
            return false;
    return true;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int ingest_alert_view(json_t *j, alert_view_t *v, const char **why)
{
    memset(v, 0, sizeof(*v));
    json_t *rule = json_object_get(j, "rule"), *agent = json_object_get(j, "agent");
    const char *schema = str(j, "schema");
    v->id = str(j, "id");
    v->kind = str(j, "kind");
    v->rule_id = str(rule, "id");
    v->rule_name = str(rule, "name");
    v->severity = str(rule, "severity");
    v->agent_id = str(agent, "id");
    v->hostname = str(agent, "hostname");
    v->count = json_integer_value(json_object_get(j, "count"));
    v->first_seen = json_integer_value(json_object_get(j, "first_seen_ms"));
    v->last_seen = json_integer_value(json_object_get(j, "last_seen_ms"));
    v->detected_at = json_integer_value(json_object_get(j, "detected_at_ms"));
    v->data_type = json_integer_value(json_object_get(j, "data_type"));
    if (!json_is_object(j) || !schema || strcmp(schema, "rampart.alert/1") != 0)
        *why = "not a rampart.alert/1 object";
    else if (!hex32(v->id))
        *why = "id is not 32 hex digits";
    else if (!v->kind || (strcmp(v->kind, "alert") != 0 && strcmp(v->kind, "update") != 0))
        *why = "kind is neither alert nor update";
    else if (!v->rule_id || !*v->rule_id || strlen(v->rule_id) > 64)
        *why = "rule.id missing";
    else if (ingest_severity_rank(v->severity) < 0)
        *why = "rule.severity unknown";
    else if (!v->agent_id || !*v->agent_id || strlen(v->agent_id) > 256)
        *why = "agent.id missing";
    else if (v->count < 1 || v->detected_at <= 0)
        *why = "count or detected_at_ms missing";
    else
        return 0;
    return -EINVAL;
}

void ingest_field_name(const char *key, char *out, size_t size)
{
    size_t n = 0;
    for (; key[n] && n + 1 < size && n < 64; n++) {
        unsigned char ch = (unsigned char)key[n];
        out[n] = isalnum(ch) || ch == '_' ? (char)ch : '_';
    }
    if (n == 0 && size > 1)
        out[n++] = '_';
    out[n] = '\0';
}

/* ---- writes ------------------------------------------------------------------------------ */

typedef struct {
    store_bulk_t *hosts, *assets, *alerts, *subtasks, *inserts;
    size_t nhosts, nassets, nalerts, nsubtasks, ninserts;
    bson_t **docs; /* copies of the alert inserts, for the one-by-one retry */
    size_t ndocs, capdocs;
} batch_t;

static void append_fields(bson_t *doc, const char *key, const Grpc__Payload *p, const char *skip)
{
    bson_t sub;
    BSON_APPEND_DOCUMENT_BEGIN(doc, key, &sub);
    for (size_t i = 0; p && i < p->n_fields && i < FIELDS_MAX; i++) {
        const char *k = p->fields[i]->key, *v = p->fields[i]->value;
        if (!k || !v || (skip && strcmp(k, skip) == 0))
            continue;
        char name[80];
        ingest_field_name(k, name, sizeof(name));
        size_t len = strnlen(v, VALUE_MAX);
        /* Valid UTF-8 only: libbson refuses anything else at insert. */
        if (bson_utf8_validate(v, len, false))
            bson_append_utf8(&sub, name, -1, v, (int)len);
    }
    bson_append_document_end(doc, &sub);
}

static const char *field(const Grpc__Payload *p, const char *k)
{
    for (size_t i = 0; p && i < p->n_fields; i++)
        if (p->fields[i]->key && strcmp(p->fields[i]->key, k) == 0)
            return p->fields[i]->value;
    return NULL;
}

static void append_str_array(bson_t *doc, const char *key, char **v, size_t n)
{
    bson_t arr;
    BSON_APPEND_ARRAY_BEGIN(doc, key, &arr);
    for (size_t i = 0; i < n && i < 64; i++) {
        if (!v[i] || !bson_utf8_validate(v[i], strlen(v[i]), false))
            continue;
        char k[24];
        snprintf(k, sizeof(k), "%zu", i);
        BSON_APPEND_UTF8(&arr, k, v[i]);
    }
    bson_append_array_end(doc, &arr);
}

static const char *utf8_or(const char *s, const char *def)
{
    return s && bson_utf8_validate(s, strlen(s), false) ? s : def;
}

static void heartbeat(ingest_t *in, batch_t *b, const Rampart__EnvelopeView *e, int64_t t)
{
    (void)in;
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set, soi;
    BSON_APPEND_UTF8(&f, "_id", e->agent_id);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    if (e->data_type == 1000) {
        BSON_APPEND_UTF8(&set, "hostname", utf8_or(e->hostname, ""));
        BSON_APPEND_UTF8(&set, "version", utf8_or(e->version, ""));
        BSON_APPEND_UTF8(&set, "product", utf8_or(e->product, ""));
        BSON_APPEND_UTF8(&set, "agent_center", utf8_or(e->agent_center, ""));
        append_str_array(&set, "intranet_ipv4", e->intranet_ipv4, e->n_intranet_ipv4);
        append_str_array(&set, "extranet_ipv4", e->extranet_ipv4, e->n_extranet_ipv4);
        append_str_array(&set, "intranet_ipv6", e->intranet_ipv6, e->n_intranet_ipv6);
        BSON_APPEND_INT64(&set, "last_seen", t);
        BSON_APPEND_BOOL(&set, "online", true);
        append_fields(&set, "facts", e->payload, NULL);
    } else {
        const char *name = field(e->payload, "name");
        char key[120], pn[80];
        ingest_field_name(name ? name : "unnamed", pn, sizeof(pn));
        snprintf(key, sizeof(key), "plugins.%s", pn);
        bson_t pl;
        BSON_APPEND_DOCUMENT_BEGIN(&set, key, &pl);
        BSON_APPEND_INT64(&pl, "last_seen", t);
        append_fields(&pl, "fields", e->payload, NULL);
        bson_append_document_end(&set, &pl);
    }
    bson_append_document_end(&u, &set);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$setOnInsert", &soi);
    BSON_APPEND_INT64(&soi, "first_seen", t);
    bson_t tags;
    BSON_APPEND_ARRAY_BEGIN(&soi, "tags", &tags);
    bson_append_array_end(&soi, &tags);
    if (e->data_type != 1000) {
        BSON_APPEND_BOOL(&soi, "online", true);
        BSON_APPEND_INT64(&soi, "last_seen", t);
        BSON_APPEND_UTF8(&soi, "hostname", utf8_or(e->hostname, ""));
    }
    bson_append_document_end(&u, &soi);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "upsert", true);
    mongoc_bulk_operation_update_one_with_opts(store_bulk_op(b->hosts), &f, &u, &opts, NULL);
    b->nhosts++;
    bson_destroy(&opts);
    bson_destroy(&f);
    bson_destroy(&u);
}

static int cmp_entry(const void *a, const void *b)
{
    const Grpc__Payload__FieldsEntry *x = *(Grpc__Payload__FieldsEntry *const *)a;
    const Grpc__Payload__FieldsEntry *y = *(Grpc__Payload__FieldsEntry *const *)b;
    return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

static void asset(mgr_t *m, batch_t *b, const Rampart__EnvelopeView *e, int64_t t)
{
    const Grpc__Payload *p = e->payload;
    size_t n = p ? p->n_fields : 0;
    if (n > FIELDS_MAX)
        n = FIELDS_MAX;
    Grpc__Payload__FieldsEntry **sorted = xcalloc(n ? n : 1, sizeof(*sorted));
    for (size_t i = 0; i < n; i++)
        sorted[i] = p->fields[i];
    qsort(sorted, n, sizeof(*sorted), cmp_entry);
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    char dt[16];
    snprintf(dt, sizeof(dt), "%d", e->data_type);
    EVP_DigestUpdate(h, e->agent_id, strlen(e->agent_id) + 1);
    EVP_DigestUpdate(h, dt, strlen(dt) + 1);
    for (size_t i = 0; i < n; i++) {
        const char *k = sorted[i]->key ? sorted[i]->key : "";
        const char *v = sorted[i]->value ? sorted[i]->value : "";
        EVP_DigestUpdate(h, k, strlen(k) + 1);
        EVP_DigestUpdate(h, v, strlen(v) + 1);
    }
    free(sorted);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(h, md, &mdlen);
    EVP_MD_CTX_free(h);
    char id[41];
    for (size_t i = 0; i < 20; i++)
        snprintf(id + 2 * i, 3, "%02x", md[i]);
    const char *name = field(p, asset_key_field(e->data_type));
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set, soi;
    BSON_APPEND_UTF8(&f, "_id", id);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_INT64(&set, "last_seen", t);
    bson_append_document_end(&u, &set);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$setOnInsert", &soi);
    BSON_APPEND_UTF8(&soi, "agent_id", e->agent_id);
    BSON_APPEND_UTF8(&soi, "hostname", utf8_or(e->hostname, ""));
    BSON_APPEND_INT32(&soi, "data_type", e->data_type);
    BSON_APPEND_UTF8(&soi, "type", asset_type_name(e->data_type));
    BSON_APPEND_UTF8(&soi, "name", utf8_or(name, ""));
    BSON_APPEND_INT64(&soi, "first_seen", t);
    append_fields(&soi, "fields", p, NULL);
    bson_append_document_end(&u, &soi);
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_BOOL(&opts, "upsert", true);
    mongoc_bulk_operation_update_one_with_opts(store_bulk_op(b->assets), &f, &u, &opts, NULL);
    b->nassets++;
    bson_destroy(&opts);
    bson_destroy(&f);
    bson_destroy(&u);
    (void)m;
}

static void task_result(batch_t *b, const Rampart__EnvelopeView *e, int64_t t)
{
    const char *token = field(e->payload, "token"), *status = field(e->payload, "status");
    const char *msg = field(e->payload, "msg");
    if (!token || !*token || strlen(token) > 64)
        return;
    bool ok = status && strcmp(status, "succeed") == 0;
    bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
    BSON_APPEND_UTF8(&f, "_id", token);
    BSON_APPEND_UTF8(&f, "agent_id", e->agent_id);
    BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
    BSON_APPEND_UTF8(&set, "status", ok ? "succeed" : "failed");
    char m[1024];
    snprintf(m, sizeof(m), "%s", msg ? msg : "");
    BSON_APPEND_UTF8(&set, "msg", utf8_or(m, ""));
    BSON_APPEND_INT64(&set, "result_at", t);
    BSON_APPEND_INT64(&set, "updated_at", store_now_ms());
    append_fields(&set, "result", e->payload, "token");
    bson_append_document_end(&u, &set);
    mongoc_bulk_operation_update_one_with_opts(store_bulk_op(b->subtasks), &f, &u, NULL, NULL);
    b->nsubtasks++;
    bson_destroy(&f);
    bson_destroy(&u);
}

static int state_msg(ingest_t *in, batch_t *b, const rd_kafka_message_t *msg)
{
    Rampart__EnvelopeView *e =
        rampart__envelope_view__unpack(NULL, msg->len, (const uint8_t *)msg->payload);
    if (!e)
        return -EINVAL;
    int rc = 0;
    if (!e->agent_id || !*e->agent_id || strlen(e->agent_id) > 256 ||
        !bson_utf8_validate(e->agent_id, strlen(e->agent_id), false)) {
        rc = -EINVAL;
    } else {
        int64_t t = e->server_time > 0 ? e->server_time * 1000 : store_now_ms();
        if (e->data_type == 1000 || e->data_type == 1001) {
            heartbeat(in, b, e, t);
            metrics_counter_inc(in->m_hb);
        } else if (asset_type_name(e->data_type)) {
            asset(in->m, b, e, t);
            metrics_counter_inc(in->m_assets);
        } else if (e->data_type == 5100) {
            task_result(b, e, t);
            metrics_counter_inc(in->m_results);
        } else {
            metrics_counter_inc(in->m_other);
        }
    }
    rampart__envelope_view__free_unpacked(e, NULL);
    return rc;
}

static int alert_msg(ingest_t *in, batch_t *b, const rd_kafka_message_t *msg)
{
    if (msg->len > ALERT_MAX)
        return -EINVAL;
    json_t *j = json_loadb(msg->payload, msg->len, JSON_REJECT_DUPLICATES, NULL);
    alert_view_t v;
    const char *why = NULL;
    if (!j || ingest_alert_view(j, &v, &why) < 0) {
        char q[120];
        LOG_DEBUG("alert_invalid", "reason=%s", log_quote(q, sizeof(q), why ? why : "not JSON"));
        json_decref(j);
        return -EINVAL;
    }
    mgr_t *m = in->m;
    int64_t now = store_now_ms();
    if (strcmp(v.kind, "update") == 0) {
        bson_t f = BSON_INITIALIZER, u = BSON_INITIALIZER, set;
        BSON_APPEND_UTF8(&f, "_id", v.id);
        BSON_APPEND_DOCUMENT_BEGIN(&u, "$set", &set);
        BSON_APPEND_INT64(&set, "count", v.count);
        BSON_APPEND_INT64(&set, "first_seen", v.first_seen);
        BSON_APPEND_INT64(&set, "last_seen", v.last_seen);
        bson_append_document_end(&u, &set);
        mongoc_bulk_operation_update_one_with_opts(store_bulk_op(b->alerts), &f, &u, NULL, NULL);
        b->nalerts++;
        bson_destroy(&f);
        bson_destroy(&u);
        metrics_counter_inc(in->m_updates);
    } else {
        /* An insert: a redelivered alert is a duplicate key, ignored (dedup by id). */
        char *raw = json_dumps(j, JSON_COMPACT);
        bson_t d = BSON_INITIALIZER, arr;
        BSON_APPEND_UTF8(&d, "_id", v.id);
        BSON_APPEND_UTF8(&d, "rule_id", utf8_or(v.rule_id, ""));
        BSON_APPEND_UTF8(&d, "rule_name", utf8_or(v.rule_name, ""));
        BSON_APPEND_UTF8(&d, "severity", v.severity);
        BSON_APPEND_INT32(&d, "sev_rank", ingest_severity_rank(v.severity));
        BSON_APPEND_UTF8(&d, "agent_id", utf8_or(v.agent_id, ""));
        BSON_APPEND_UTF8(&d, "hostname", utf8_or(v.hostname, ""));
        BSON_APPEND_INT64(&d, "data_type", v.data_type);
        BSON_APPEND_UTF8(&d, "status", "new");
        BSON_APPEND_UTF8(&d, "assignee", "");
        BSON_APPEND_INT64(&d, "count", v.count);
        BSON_APPEND_INT64(&d, "first_seen", v.first_seen);
        BSON_APPEND_INT64(&d, "last_seen", v.last_seen);
        BSON_APPEND_INT64(&d, "detected_at", v.detected_at);
        BSON_APPEND_INT64(&d, "hour", v.detected_at - v.detected_at % 3600000);
        BSON_APPEND_INT64(&d, "created_at", now);
        BSON_APPEND_INT64(&d, "updated_at", now);
        BSON_APPEND_ARRAY_BEGIN(&d, "attack", &arr);
        size_t i, k = 0;
        json_t *t;
        json_array_foreach(json_object_get(json_object_get(j, "rule"), "attack"), i, t)
        {
            const char *tech = json_string_value(t);
            if (!tech || strlen(tech) > 16 || k >= 32)
                continue;
            char key[24];
            snprintf(key, sizeof(key), "%zu", k++);
            BSON_APPEND_UTF8(&arr, key, utf8_or(tech, ""));
        }
        bson_append_array_end(&d, &arr);
        BSON_APPEND_UTF8(&d, "raw", raw);
        BSON_APPEND_DATE_TIME(&d, "expire_at", now + m->cfg.retention_alerts_ms);
        mongoc_bulk_operation_insert_with_opts(store_bulk_op(b->inserts), &d, NULL, NULL);
        b->ninserts++;
        if (b->ndocs == b->capdocs) {
            b->capdocs = b->capdocs ? 2 * b->capdocs : 64;
            b->docs = xrealloc(b->docs, b->capdocs * sizeof(*b->docs));
        }
        b->docs[b->ndocs++] = bson_copy(&d);
        bson_destroy(&d);
        free(raw);
        metrics_counter_inc(in->m_alerts);
    }
    json_decref(j);
    return 0;
}

/* After a duplicate key in the bulk insert: inserts the alerts one by one, a duplicate being an
 * alert stored before (redelivery). 0 or -EIO. */
static int insert_one_by_one(mgr_t *m, batch_t *b)
{
    for (size_t i = 0; i < b->ndocs; i++) {
        int rc = store_insert(m->store, "alerts", b->docs[i]);
        if (rc == -EIO)
            return rc;
    }
    return 0;
}

/* Writes one batch: alert inserts first (an update may follow its alert in the same batch).
 * 0, or -EIO to retry it later. */
static int write_batch(ingest_t *in, rd_kafka_message_t **msgs, size_t n)
{
    mgr_t *m = in->m;
    batch_t b = {.hosts = store_bulk_new(m->store, "hosts"),
                 .assets = store_bulk_new(m->store, "assets"),
                 .alerts = store_bulk_new(m->store, "alerts"),
                 .subtasks = store_bulk_new(m->store, "subtasks"),
                 .inserts = store_bulk_new(m->store, "alerts")};
    const char *alerts_topic = m->cfg.kafka_alerts_topic;
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_message_t *msg = msgs[i];
        const char *topic = rd_kafka_topic_name(msg->rkt);
        int rc = strcmp(topic, alerts_topic) == 0 ? alert_msg(in, &b, msg) : state_msg(in, &b, msg);
        if (rc < 0)
            metrics_counter_inc(in->m_invalid);
    }
    int rc = 0, r;
    if ((r = store_bulk_run(b.inserts, b.ninserts)) == -EEXIST)
        r = insert_one_by_one(m, &b);
    if (r < 0)
        rc = r;
    if ((r = store_bulk_run(b.hosts, b.nhosts)) < 0 && r != -EEXIST)
        rc = r;
    if ((r = store_bulk_run(b.assets, b.nassets)) < 0 && r != -EEXIST)
        rc = r;
    if ((r = store_bulk_run(b.alerts, b.nalerts)) < 0 && r != -EEXIST)
        rc = r;
    if ((r = store_bulk_run(b.subtasks, b.nsubtasks)) < 0 && r != -EEXIST)
        rc = r;
    for (size_t i = 0; i < b.ndocs; i++)
        bson_destroy(b.docs[i]);
    free(b.docs);
    if (rc != -EIO) {
        metrics_counter_add(in->m_stored_alerts, b.ninserts + b.nalerts);
        metrics_counter_add(in->m_stored_state, b.nhosts + b.nassets + b.nsubtasks);
    }
    return rc == -EIO ? -EIO : 0;
}

static void set_paused(consumer_t *c, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts)
        return;
    if (pause)
        rd_kafka_pause_partitions(c->rk, parts);
    else
        rd_kafka_resume_partitions(c->rk, parts);
    atomic_store(&c->assigned, parts->cnt);
    rd_kafka_topic_partition_list_destroy(parts);
    atomic_store(&c->paused, pause);
    LOG_INFO(pause ? "ingest_paused" : "ingest_resumed", "topic=%s reason=%s", c->topic,
             pause ? "mongo_unavailable" : "mongo_back");
}

static void *ingest_main(void *arg)
{
    consumer_t *c = arg;
    ingest_t *in = c->in;
    size_t cap = (size_t)in->m->cfg.kafka_batch;
    rd_kafka_message_t **msgs = xcalloc(cap, sizeof(*msgs));
    while (!atomic_load(&in->stopping)) {
        size_t n = 0;
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(c->rk, 200);
        while (msg) {
            if (msg->err) {
                if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    LOG_WARN("kafka_error", "error=\"%s\"", rd_kafka_message_errstr(msg));
                rd_kafka_message_destroy(msg);
            } else {
                msgs[n++] = msg;
                metrics_counter_inc(in->m_msgs);
            }
            msg = n < cap ? rd_kafka_consumer_poll(c->rk, 0) : NULL;
        }
        if (n == 0)
            continue;
        while (write_batch(in, msgs, n) == -EIO && !atomic_load(&in->stopping)) {
            /* MongoDB away: hold the batch, stop fetching, keep serving the group. */
            if (!atomic_load(&c->paused))
                set_paused(c, true);
            rd_kafka_message_t *x = rd_kafka_consumer_poll(c->rk, 1000);
            if (x)
                rd_kafka_message_destroy(x); /* not committed: read again after a rebalance */
        }
        if (atomic_load(&c->paused))
            set_paused(c, false);
        if (!atomic_load(&in->stopping))
            rd_kafka_commit(c->rk, NULL, 0);
        for (size_t i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
    }
    free(msgs);
    return NULL;
}

/* A consumer of one topic in group, configured from the manager's kafka.* keys. */
static rd_kafka_t *consumer_new(const mgr_config_t *c, const char *topic, const char *group,
                                char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    log_bridge_rdkafka(conf);
    struct {
        const char *k, *v;
    } props[] = {{"bootstrap.servers", c->kafka_brokers}, {"group.id", group},
                 {"enable.auto.commit", "false"},         {"auto.offset.reset", "earliest"},
                 {"client.id", "rampart-manager"},        {"session.timeout.ms", "10000"},
                 {"heartbeat.interval.ms", "1000"},       {"fetch.wait.max.ms", "100"}};
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (rd_kafka_conf_set(conf, props[i].k, props[i].v, err, errlen) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    for (size_t i = 0; c->kafka_properties && c->kafka_properties[i]; i++) {
        char *kv = xstrdup(c->kafka_properties[i]);
        char *eq = strchr(kv, '=');
        int bad = !eq;
        if (eq) {
            *eq = '\0';
            bad = rd_kafka_conf_set(conf, kv, eq + 1, err, errlen) != RD_KAFKA_CONF_OK;
        } else {
            snprintf(err, errlen, "kafka.properties: \"%s\" is not NAME=VALUE", kv);
        }
        free(kv);
        if (bad) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    char e2[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e2, sizeof(e2));
    if (!rk) {
        snprintf(err, errlen, "kafka: %s", e2);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t ke = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (ke) {
        snprintf(err, errlen, "kafka: subscribe to %s: %s", topic, rd_kafka_err2str(ke));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

ingest_t *ingest_new(mgr_t *m, char *err, size_t errlen)
{
    const mgr_config_t *c = &m->cfg;
    ingest_t *in = xcalloc(1, sizeof(*in));
    in->m = m;
    /* Alerts have a group of their own (kafka.group + ".alerts"), so neither consumer's
     * rebalances stop the other. */
    char alerts_group[300];
    snprintf(alerts_group, sizeof(alerts_group), "%s.alerts", c->kafka_group);
    in->c[C_STATE] = (consumer_t){.in = in, .topic = c->kafka_state_topic};
    in->c[C_ALERTS] = (consumer_t){.in = in, .topic = c->kafka_alerts_topic};
    if (!(in->c[C_STATE].rk = consumer_new(c, c->kafka_state_topic, c->kafka_group, err, errlen)) ||
        !(in->c[C_ALERTS].rk = consumer_new(c, c->kafka_alerts_topic, alerts_group, err, errlen))) {
        ingest_free(in);
        return NULL;
    }
    const char *name = "rampart_manager_ingested_total";
    const char *help = "Messages consumed from Kafka, by kind";
    const char *sname = "rampart_manager_stored_total";
    const char *shelp = "Messages whose MongoDB write completed (bulk acknowledged), by topic";
    in->m_stored_alerts = metrics_counter(m->metrics, sname, shelp, "topic=\"alerts\"");
    in->m_stored_state = metrics_counter(m->metrics, sname, shelp, "topic=\"state\"");
    in->m_msgs = metrics_counter(m->metrics, "rampart_manager_kafka_messages_total",
                                 "Messages read from Kafka", NULL);
    in->m_alerts = metrics_counter(m->metrics, name, help, "kind=\"alert\"");
    in->m_updates = metrics_counter(m->metrics, name, help, "kind=\"alert_update\"");
    in->m_hb = metrics_counter(m->metrics, name, help, "kind=\"heartbeat\"");
    in->m_assets = metrics_counter(m->metrics, name, help, "kind=\"asset\"");
    in->m_results = metrics_counter(m->metrics, name, help, "kind=\"task_result\"");
    in->m_other = metrics_counter(m->metrics, name, help, "kind=\"ignored\"");
    in->m_invalid = metrics_counter(m->metrics, name, help, "kind=\"invalid\"");
    for (int i = 0; i < C_COUNT; i++) {
        if (pthread_create(&in->c[i].th, NULL, ingest_main, &in->c[i]) != 0)
            PANIC("cannot start an ingest thread");
        in->c[i].started = true;
    }
    return in;
}

void ingest_free(ingest_t *in)
{
    if (!in)
        return;
    atomic_store(&in->stopping, true);
    for (int i = 0; i < C_COUNT; i++) {
        consumer_t *c = &in->c[i];
        if (c->started)
            pthread_join(c->th, NULL);
        if (c->rk) {
            rd_kafka_consumer_close(c->rk);
            rd_kafka_destroy(c->rk);
        }
    }
    free(in);
}

json_t *ingest_status(ingest_t *in)
{
    if (!in)
        return json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "messages",
                     (json_int_t)metrics_counter_value(in->m_msgs), "alerts",
                     (json_int_t)metrics_counter_value(in->m_alerts), "heartbeats",
                     (json_int_t)metrics_counter_value(in->m_hb), "assets",
                     (json_int_t)metrics_counter_value(in->m_assets), "results",
                     (json_int_t)metrics_counter_value(in->m_results), "invalid",
                     (json_int_t)metrics_counter_value(in->m_invalid), "paused",
                     atomic_load(&in->c[C_STATE].paused) || atomic_load(&in->c[C_ALERTS].paused));
}
