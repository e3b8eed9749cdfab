#include "endpoint/agent/agent.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/xalloc.h"
#include "proto/transfer_paths.h"

#define PLUGIN_SET_FILE "plugins.pb"
#define METADATA_FILE   "metadata.json"
#define META_MAX        63

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *state_path(const agent_t *a, const char *name)
{
    return xasprintf("%s/%s", a->cfg.state_dir, name);
}

/* ---- records the agent makes ------------------------------------------------------------- */

static void emit(agent_t *a, int32_t data_type, const strbuf_t *payload)
{
    if (spool_push(a->spool, data_type, (int64_t)time(NULL), payload->data, payload->len) < 0)
        LOG_ERROR("record_refused", "data_type=%d bytes=%zu", (int)data_type, payload->len);
}

static void task_result(agent_t *a, const char *token, bool ok, const char *msg)
{
    strbuf_t b = STRBUF_INIT;
    payload_put(&b, "token", token ? token : "");
    payload_put(&b, "status", ok ? "succeed" : "failed");
    payload_put(&b, "msg", msg);
    payload_put(&b, "agent_id", a->id);
    emit(a, RAMPART_DT_TASK_RESULT, &b);
    strbuf_dispose(&b);
}

/* ---- plugin sink --------------------------------------------------------------------------- */

static void on_record(void *ud, const char *plugin, const frame_record_t *rec)
{
    agent_t *a = ud;
    (void)plugin;
    if (spool_push(a->spool, rec->data_type, rec->timestamp, rec->data, rec->len) < 0)
        LOG_ERROR("record_refused", "plugin=%s data_type=%d bytes=%zu", plugin, (int)rec->data_type,
                  rec->len);
    metrics_counter_inc(a->m_records_in);
}

static void on_task_failed(void *ud, const Grpc__Task *t, const char *why)
{
    agent_t *a = ud;
    char q[160], m[256];
    LOG_WARN("task_undelivered", "object_name=%s token=%s reason=\"%s\"",
             log_quote(q, sizeof(q), t->object_name), t->token, why);
    snprintf(m, sizeof(m), "%s: %.128s", why, t->object_name);
    task_result(a, t->token, false, m);
}

/* ---- metadata (task 1051) ------------------------------------------------------------------ */

static bool meta_ok(const char *s)
{
    if (strlen(s) > META_MAX)
        return false;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

/* Applies {"idc","region"} (either may be absent). 0, or -EINVAL with why. */
static int apply_metadata(agent_t *a, const char *text, size_t len, const char **why)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        *why = "data is not a JSON object";
        return -EINVAL;
    }
    json_t *idc = json_object_get(j, "idc"), *region = json_object_get(j, "region");
    if ((idc && (!json_is_string(idc) || !meta_ok(json_string_value(idc)))) ||
        (region && (!json_is_string(region) || !meta_ok(json_string_value(region))))) {
        json_decref(j);
        *why = "idc and region must be printable strings of at most 63 characters";
        return -EINVAL;
    }
    pthread_mutex_lock(&a->mu);
    if (idc)
        snprintf(a->idc, sizeof(a->idc), "%s", json_string_value(idc));
    if (region)
        snprintf(a->region, sizeof(a->region), "%s", json_string_value(region));
    pthread_mutex_unlock(&a->mu);
    json_decref(j);
    return 0;
}

static void save_metadata(agent_t *a)
{
    pthread_mutex_lock(&a->mu);
    json_t *j = json_pack("{s:s,s:s}", "idc", a->idc, "region", a->region);
    pthread_mutex_unlock(&a->mu);
    char *text = json_dumps(j, JSON_COMPACT);
    char *p = state_path(a, METADATA_FILE);
    int rc = pki_save_file(p, text, 0644, true);
    if (rc < 0)
        LOG_ERROR("metadata_save_failed", "path=%s errno=%d", p, -rc);
    free(p);
    free(text);
    json_decref(j);
}

static void load_metadata(agent_t *a)
{
    char *p = state_path(a, METADATA_FILE), *text = NULL;
    const char *why = NULL;
    if (pki_load_file(p, &text) == 0 && apply_metadata(a, text, strlen(text), &why) < 0)
        LOG_WARN("metadata_ignored", "path=%s reason=\"%s\"", p, why);
    free(text);
    free(p);
}

/* ---- commands ------------------------------------------------------------------------------ */

static void agent_task(agent_t *a, const Grpc__Task *t)
{
    char q[160];
    LOG_INFO("agent_task", "data_type=%d token=%s", (int)t->data_type,
             log_quote(q, sizeof(q), t->token));
    switch (t->data_type) {
    case AGENT_TASK_SHUTDOWN:
        task_result(a, t->token, true, "shutting down");
        atomic_store(&a->shutdown_task, true);
        kill(getpid(), SIGTERM);
        break;
    case AGENT_TASK_SET_METADATA: {
        const char *why = NULL;
        if (apply_metadata(a, t->data, strlen(t->data), &why) < 0) {
            task_result(a, t->token, false, why);
            break;
        }
        save_metadata(a);
        task_result(a, t->token, true, "metadata set");
        break;
    }
    default: {
        char m[96];
        snprintf(m, sizeof(m), "unknown agent task data_type %d", (int)t->data_type);
        task_result(a, t->token, false, m);
    }
    }
}

/* Keeps the plugin set so that a restart without an AgentCenter runs the same plugins. */
static void save_plugin_set(agent_t *a, Grpc__Config *const *cfgs, size_t n)
{
    Grpc__Command c = GRPC__COMMAND__INIT;
    c.configs = (Grpc__Config **)cfgs;
    c.n_configs = n;
    size_t len = grpc__command__get_packed_size(&c);
    uint8_t *buf = xmalloc(len + 1);
    grpc__command__pack(&c, buf);
    char *p = state_path(a, PLUGIN_SET_FILE), *tmp = xasprintf("%s.tmp", p);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok || rename(tmp, p) < 0)
        LOG_ERROR("plugin_set_save_failed", "path=%s errno=%d", p, errno);
    free(tmp);
    free(p);
    free(buf);
}

static void sync_plugins(agent_t *a, Grpc__Config *const *cfgs, size_t n, bool save)
{
    Grpc__Config **keep = xcalloc(n ? n : 1, sizeof(*keep));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cfgs[i]->name, AGENT_NAME) == 0) {
            char q[96];
            LOG_INFO("agent_config_ignored",
                     "version=%s reason=\"the agent is upgraded by its "
                     "package, not by a config sync\"",
                     log_quote(q, sizeof(q), cfgs[i]->version));
            continue;
        }
        keep[k++] = cfgs[i];
    }
    LOG_INFO("plugin_sync", "plugins=%zu", k);
    if (save)
        save_plugin_set(a, keep, k);
    plugin_host_sync(a->plugins, keep, k);
    free(keep);
}

static void load_plugin_set(agent_t *a)
{
    char *p = state_path(a, PLUGIN_SET_FILE);
    FILE *f = fopen(p, "rb");
    free(p);
    if (!f)
        return;
    uint8_t *buf = xmalloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    Grpc__Command *c = grpc__command__unpack(NULL, n, buf);
    free(buf);
    if (!c) {
        LOG_WARN("plugin_set_ignored", "reason=\"%s/%s does not decode\"", a->cfg.state_dir,
                 PLUGIN_SET_FILE);
        return;
    }
    sync_plugins(a, c->configs, c->n_configs, false);
    grpc__command__free_unpacked(c, NULL);
}

static void on_command(void *ud, const Grpc__Command *c)
{
    agent_t *a = ud;
    if (c->task) {
        const Grpc__Task *t = c->task;
        if (t->object_name[0] == '\0' || strcmp(t->object_name, AGENT_NAME) == 0)
            agent_task(a, t);
        else
            plugin_host_task(a->plugins, t);
        return;
    }
    sync_plugins(a, c->configs, c->n_configs, true);
}

/* ---- heartbeats ---------------------------------------------------------------------------- */

static const char *rate(char *buf, size_t len, uint64_t now, uint64_t before, double secs)
{
    snprintf(buf, len, "%.2f", secs > 0 && now >= before ? (double)(now - before) / secs : 0.0);
    return buf;
}

void agent_heartbeat(agent_t *a)
{
    pthread_mutex_lock(&a->mu);
    int64_t now = mono_ms();
    double secs = a->hb_at_ms ? (double)(now - a->hb_at_ms) / 1000.0 : 0;
    transport_stats_t ts;
    transport_stats(a->transport, &ts);
    spool_stats_t ss;
    spool_stats(a->spool, &ss);
    size_t np = plugin_host_stats(a->plugins, a->pstats, AGENT_MAX_PLUGINS);
    uint64_t throttled = 0;
    bool abnormal = false;
    strbuf_t detail = STRBUF_INIT;
    strbuf_appends(&detail, "");
    for (size_t i = 0; i < np; i++) {
        throttled += a->pstats[i].dropped;
        if (strcmp(a->pstats[i].state, "running") != 0) {
            abnormal = true;
            strbuf_appendf(&detail, "%splugin %s %s", detail.len ? "; " : "", a->pstats[i].name,
                           a->pstats[i].state);
        }
    }
    if (ss.dropped > a->hb_dropped) {
        abnormal = true;
        strbuf_appendf(&detail, "%sspool full: %" PRIu64 " records dropped", detail.len ? "; " : "",
                       ss.dropped - a->hb_dropped);
    }

    strbuf_t b = STRBUF_INIT;
    char v[64];
    heartbeat_host_facts(&b);
    payload_put(&b, "agent_id", a->id);
    payload_put(&b, "version", RAMPART_VERSION);
    payload_put(&b, "product", AGENT_NAME);
    payload_putf(&b, "pid", "%d", (int)getpid());
    payload_putf(&b, "start_time", "%" PRId64, a->started_at);
    payload_put(&b, "state", abnormal ? "abnormal" : "running");
    payload_put(&b, "state_detail", detail.data);
    payload_put(&b, "idc", a->idc);
    payload_put(&b, "region", a->region);
    payload_put(&b, "net_mode", a->cfg.sd_addrs && a->cfg.sd_addrs[0] ? "sd" : "static");
    payload_put(&b, "connected", ts.connected ? "true" : "false");
    payload_put(&b, "agent_center", ts.addr);
    payload_putf(&b, "cpu", "%.4f", heartbeat_self_cpu(&a->cpu));
    payload_putf(&b, "rss", "%" PRIu64, heartbeat_self_rss());
    payload_putf(&b, "nfd", "%d", heartbeat_self_nfd());
    payload_put(&b, "tx_tps", rate(v, sizeof(v), ts.records_sent, a->hb_sent, secs));
    payload_put(&b, "tx_speed", rate(v, sizeof(v), ts.bytes_sent, a->hb_bytes, secs));
    payload_put(&b, "rx_tps", rate(v, sizeof(v), ts.commands, a->hb_commands, secs));
    payload_putf(&b, "records_sent", "%" PRIu64, ts.records_sent);
    payload_putf(&b, "streams", "%" PRIu64, ts.streams);
    payload_putf(&b, "spool_records", "%" PRIu64, ss.mem_records + ss.disk_records);
    payload_putf(&b, "spool_memory_bytes", "%" PRIu64, ss.mem_bytes);
    payload_putf(&b, "spool_disk_bytes", "%" PRIu64, ss.disk_bytes);
    payload_putf(&b, "spool_dropped", "%" PRIu64, ss.dropped - a->hb_dropped);
    payload_putf(&b, "spool_dropped_total", "%" PRIu64, ss.dropped);
    payload_putf(&b, "plugin_dropped", "%" PRIu64,
                 throttled >= a->hb_throttled ? throttled - a->hb_throttled : throttled);
    payload_putf(&b, "plugin_dropped_total", "%" PRIu64, throttled);
    payload_putf(&b, "plugins", "%zu", np);
    payload_put(&b, "plugin_limits", plugin_host_limit_mode(a->plugins));
    payload_putf(&b, "heartbeat_interval", "%" PRId64, a->cfg.heartbeat_interval_ms / 1000);
    emit(a, RAMPART_DT_AGENT_HEARTBEAT, &b);

    agent_plugin_prev_t *prev = a->pprev;
    for (size_t i = 0; i < np; i++) {
        plugin_stat_t *p = &a->pstats[i];
        agent_plugin_prev_t *pv = NULL;
        for (size_t k = 0; k < AGENT_MAX_PLUGINS && !pv; k++)
            if (strcmp(prev[k].name, p->name) == 0)
                pv = &prev[k];
        for (size_t k = 0; k < AGENT_MAX_PLUGINS && !pv; k++)
            if (!prev[k].name[0]) {
                pv = &prev[k];
                snprintf(pv->name, sizeof(pv->name), "%s", p->name);
            }
        agent_plugin_prev_t zero = {0};
        if (!pv)
            pv = &zero;
        b.len = 0;
        /* The plugin's own fields first: the agent's win on a clash. */
        strbuf_append(&b, p->report, p->report_len);
        payload_put(&b, "name", p->name);
        payload_put(&b, "pversion", p->version);
        payload_put(&b, "state", p->state);
        payload_put(&b, "last_exit", p->last_exit);
        payload_putf(&b, "pid", "%d", (int)p->pid);
        payload_putf(&b, "start_time", "%" PRId64, p->started_at);
        payload_putf(&b, "cpu", "%.4f", p->cpu);
        payload_putf(&b, "rss", "%" PRIu64, p->rss);
        payload_putf(&b, "nfd", "%d", p->nfd);
        payload_putf(&b, "restarts", "%" PRIu64, p->restarts);
        payload_putf(&b, "records", "%" PRIu64, p->records);
        payload_putf(&b, "drops", "%" PRIu64, p->dropped);
        payload_putf(&b, "cutoffs", "%" PRIu64, p->cutoffs);
        payload_putf(&b, "tasks", "%" PRIu64, p->tasks);
        payload_put(&b, "tx_tps", rate(v, sizeof(v), p->records, pv->records, secs));
        payload_put(&b, "tx_speed", rate(v, sizeof(v), p->bytes, pv->bytes, secs));
        payload_put(&b, "rx_tps", rate(v, sizeof(v), p->tasks, pv->tasks, secs));
        pv->records = p->records;
        pv->bytes = p->bytes;
        pv->tasks = p->tasks;
        emit(a, RAMPART_DT_PLUGIN_HEARTBEAT, &b);
    }
    a->hb_sent = ts.records_sent;
    a->hb_bytes = ts.bytes_sent;
    a->hb_commands = ts.commands;
    a->hb_dropped = ss.dropped;
    a->hb_throttled = throttled;
    a->hb_at_ms = now;
    pthread_mutex_unlock(&a->mu);
    LOG_DEBUG("heartbeat", "plugins=%zu connected=%d spool_records=%" PRIu64, np, ts.connected,
              ss.mem_records + ss.disk_records);
    strbuf_dispose(&b);
    strbuf_dispose(&detail);
}

/* ---- HTTP and metrics ----------------------------------------------------------------------- */

static double g_spool_records(void *ud)
{
    spool_stats_t s;
    spool_stats(((agent_t *)ud)->spool, &s);
    return (double)(s.mem_records + s.disk_records);
}

static double g_spool_disk(void *ud)
{
    spool_stats_t s;
    spool_stats(((agent_t *)ud)->spool, &s);
    return (double)s.disk_bytes;
}

static double g_spool_dropped(void *ud)
{
    spool_stats_t s;
    spool_stats(((agent_t *)ud)->spool, &s);
    return (double)s.dropped;
}

static double g_rss(void *ud)
{
    (void)ud;
    return (double)heartbeat_self_rss();
}

static unsigned health(void *ud, json_t **body)
{
    agent_t *a = ud;
    transport_stats_t ts;
    transport_stats(a->transport, &ts);
    *body = json_pack("{s:s,s:s,s:b,s:s,s:I}", "status", "ok", "agent_id", a->id, "connected",
                      ts.connected, "agent_center", ts.addr, "spool_records",
                      (json_int_t)spool_pending(a->spool));
    return 200;
}

static int start_http(agent_t *a)
{
    if (a->cfg.http_port == 0)
        return 0;
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%" PRId64, a->cfg.http_port);
    http_server_opts_t ho = {.listen = listen,
                             .threads = 1,
                             .max_body = 4096,
                             .max_connections = 16,
                             .timeout_s = 10,
                             .metric_prefix = "rampart_agent",
                             .metrics = a->metrics};
    a->http = http_server_new(&ho);
    http_server_set_health(a->http, health, a);
    int rc = http_server_start(a->http);
    if (rc < 0)
        LOG_ERROR("http_failed", "listen=%s errno=%d", listen, -rc);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static int load_tls(agent_t *a)
{
    const struct {
        const char *key, *path;
        char **out;
    } f[] = {{"tls.ca_file", a->cfg.tls_ca_file, &a->ca_pem},
             {"tls.cert_file", a->cfg.tls_cert_file, &a->cert_pem},
             {"tls.key_file", a->cfg.tls_key_file, &a->key_pem}};
    for (size_t i = 0; i < 3; i++) {
        int rc = pki_load_file(f[i].path, f[i].out);
        if (rc < 0) {
            LOG_ERROR("start_failed", "reason=\"%s %s: %s\"", f[i].key, f[i].path, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

int agent_start(agent_t *a)
{
    char err[512];
    pthread_mutex_init(&a->mu, NULL);
    atomic_init(&a->shutdown_task, false);
    a->started_at = (int64_t)time(NULL);
    if ((uint64_t)a->cfg.plugin_max_frame + 4096 > (uint64_t)a->cfg.batch_max_bytes) {
        LOG_ERROR("start_failed", "reason=\"plugins.max_frame must be at least 4 KiB below "
                                  "transport.batch_max_bytes\"");
        return -EINVAL;
    }
    if ((!a->cfg.sd_addrs || !a->cfg.sd_addrs[0]) && (!a->cfg.ac_addrs || !a->cfg.ac_addrs[0])) {
        LOG_ERROR("start_failed", "reason=\"set sd.addrs or agent_center.addrs (or both)\"");
        return -EINVAL;
    }
    if (mkdir(a->cfg.state_dir, 0750) < 0 && errno != EEXIST) {
        LOG_ERROR("start_failed", "reason=\"agent.state_dir %s: %s\"", a->cfg.state_dir,
                  strerror(errno));
        return -errno;
    }
    int rc =
        agent_id_load(a->cfg.agent_id, a->cfg.state_dir, a->id, sizeof(a->id), err, sizeof(err));
    if (rc == 0)
        rc = agent_id_check_cert(a->id, a->cfg.tls_cert_file, err, sizeof(err));
    if (rc < 0) {
        char q[600];
        LOG_ERROR("start_failed", "reason=%s", log_quote(q, sizeof(q), err));
        fprintf(stderr, "%s: %s\n", AGENT_NAME, err);
        return rc;
    }
    if ((rc = load_tls(a)) < 0)
        return rc;
    spool_opts_t so = {.dir = a->cfg.spool_dir,
                       .memory_max = (size_t)a->cfg.spool_memory_max,
                       .disk_max = (uint64_t)a->cfg.spool_disk_max,
                       .segment_size = (uint64_t)a->cfg.spool_segment_size};
    a->spool = spool_open(&so, err, sizeof(err));
    if (!a->spool) {
        char q[600];
        LOG_ERROR("start_failed", "reason=%s", log_quote(q, sizeof(q), err));
        return -EIO;
    }
    a->metrics = metrics_registry_new();
    metrics_gauge_fn(a->metrics, "rampart_agent_spool_records", "records waiting to be sent", NULL,
                     g_spool_records, a);
    metrics_gauge_fn(a->metrics, "rampart_agent_spool_disk_bytes", "bytes of spool segment files",
                     NULL, g_spool_disk, a);
    metrics_gauge_fn(a->metrics, "rampart_agent_spool_dropped_total",
                     "records dropped because the disk spool was full", NULL, g_spool_dropped, a);
    metrics_gauge_fn(a->metrics, "rampart_agent_rss_bytes", "resident memory of the agent", NULL,
                     g_rss, a);
    a->m_records_in = metrics_counter(a->metrics, "rampart_agent_plugin_records_in_total",
                                      "records accepted from all plugins", NULL);
    a->pstats = xcalloc(AGENT_MAX_PLUGINS, sizeof(*a->pstats));
    a->pprev = xcalloc(AGENT_MAX_PLUGINS, sizeof(*a->pprev));
    load_metadata(a);

    transport_opts_t to = {.sd_addrs = a->cfg.sd_addrs,
                           .sd_name = a->cfg.sd_name,
                           .ac_addrs = a->cfg.ac_addrs,
                           .ca_pem = a->ca_pem,
                           .cert_pem = a->cert_pem,
                           .key_pem = a->key_pem,
                           .server_name = a->cfg.tls_server_name,
                           .backoff_min_ms = a->cfg.backoff_min_ms,
                           .backoff_max_ms = a->cfg.backoff_max_ms,
                           .batch_interval_ms = a->cfg.batch_interval_ms,
                           .batch_max_records = (size_t)a->cfg.batch_max_records,
                           .batch_max_bytes = (size_t)a->cfg.batch_max_bytes,
                           .keepalive_ms = a->cfg.keepalive_ms,
                           .connect_timeout_ms = a->cfg.connect_timeout_ms,
                           .agent_id = a->id,
                           .spool = a->spool,
                           .on_command = on_command,
                           .ud = a,
                           .metrics = a->metrics};
    a->transport = transport_new(&to);
    transport_meta_t m;
    heartbeat_host_meta(&m);
    transport_set_meta(a->transport, &m);
    transport_meta_dispose(&m);

    char *logdir = state_path(a, "plugins");
    plugin_host_opts_t po = {
        .dir = a->cfg.plugins_dir,
        .log_dir = logdir,
        .agent_id = a->id,
        .max_frame = (size_t)a->cfg.plugin_max_frame,
        .rate = a->cfg.plugin_rate,
        .burst = a->cfg.plugin_burst,
        .memory_max = a->cfg.plugin_memory_max,
        .cpu_percent = a->cfg.plugin_cpu_percent,
        .backoff_min_ms = a->cfg.plugin_backoff_min_ms,
        .backoff_max_ms = a->cfg.plugin_backoff_max_ms,
        .stop_timeout_ms = a->cfg.plugin_stop_timeout_ms,
        .sink = {.on_record = on_record, .on_task_failed = on_task_failed, .ud = a},
        .metrics = a->metrics};
    a->plugins = plugin_host_new(&po);
    free(logdir);
    if ((rc = start_http(a)) < 0)
        return rc;
    if ((rc = plugin_host_start(a->plugins)) < 0 || (rc = transport_start(a->transport)) < 0) {
        LOG_ERROR("start_failed", "reason=\"cannot start a thread\" errno=%d", -rc);
        return rc;
    }
    load_plugin_set(a);
    spool_stats_t ss;
    spool_stats(a->spool, &ss);
    LOG_INFO("started", "agent_id=%s version=%s spool_records=%" PRIu64 " plugins_dir=%s", a->id,
             RAMPART_VERSION, ss.mem_records + ss.disk_records, a->cfg.plugins_dir);
    agent_heartbeat(a);
    return 0;
}

int agent_stop(agent_t *a)
{
    plugin_host_free(a->plugins); /* their last records are read first */
    a->plugins = NULL;
    if (a->transport) {
        transport_stop(a->transport, a->cfg.drain_timeout_ms);
        transport_stats_t ts;
        transport_stats(a->transport, &ts);
        transport_free(a->transport);
        a->transport = NULL;
        LOG_INFO("transport_stopped", "records_sent=%" PRIu64, ts.records_sent);
    }
    http_server_free(a->http);
    a->http = NULL;
    if (a->spool) {
        spool_stats_t ss;
        spool_stats(a->spool, &ss);
        spool_close(a->spool);
        a->spool = NULL;
        LOG_INFO("stopped",
                 "spooled_records=%" PRIu64 " dropped_total=%" PRIu64 " shutdown_task=%s",
                 ss.mem_records + ss.disk_records, ss.dropped,
                 atomic_load(&a->shutdown_task) ? "true" : "false");
    }
    metrics_registry_free(a->metrics);
    a->metrics = NULL;
    free(a->pstats);
    free(a->pprev);
    free(a->ca_pem);
    free(a->cert_pem);
    free(a->key_pem);
    int code = atomic_load(&a->shutdown_task) ? AGENT_EXIT_SHUTDOWN : 0;
    config_dispose(agent_config_options, agent_config_noptions, &a->cfg);
    return code;
}
