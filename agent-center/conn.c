#include "agent-center/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

conn_t *conn_new(uint64_t serial, size_t command_queue)
{
    conn_t *c = xcalloc(1, sizeof(*c));
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->room, NULL);
    c->serial = serial;
    grpc_metadata_array_init(&c->request_md);
    c->op_new = (conn_op_t){c, OP_NEW};
    c->op_recv = (conn_op_t){c, OP_RECV};
    c->op_send = (conn_op_t){c, OP_SEND};
    c->op_close = (conn_op_t){c, OP_CLOSE};
    c->op_status = (conn_op_t){c, OP_STATUS};
    c->cmd_cap = command_queue;
    c->cmdq = xcalloc(command_queue, sizeof(*c->cmdq));
    return c;
}

void conn_ref(conn_t *c)
{
    atomic_fetch_add(&c->refs, 1);
}

void conn_unref(conn_t *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    grpc_byte_buffer *bb;
    while ((bb = conn_cmd_pop(c)))
        grpc_byte_buffer_destroy(bb);
    free(c->cmdq);
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    ingest_msg_dispose(&c->msg);
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->request_md);
    json_decref(c->ips);
    free(c->heartbeat);
    for (size_t i = 0; i < c->nplugins; i++)
        free(c->plugins[i].payload);
    pthread_cond_destroy(&c->room);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void copy_field(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static json_t *string_list(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i])); /* printable ASCII: ingest checked */
    return a;
}

void conn_set_metadata(conn_t *c, const Grpc__PackagedData *pd)
{
    copy_field(c->hostname, sizeof(c->hostname), pd->hostname);
    copy_field(c->version, sizeof(c->version), pd->version);
    copy_field(c->product, sizeof(c->product), pd->product);
    json_decref(c->ips);
    c->ips = json_pack("{s:o, s:o, s:o, s:o}", "intranet_ipv4",
                       string_list(pd->intranet_ipv4, pd->n_intranet_ipv4), "extranet_ipv4",
                       string_list(pd->extranet_ipv4, pd->n_extranet_ipv4), "intranet_ipv6",
                       string_list(pd->intranet_ipv6, pd->n_intranet_ipv6), "extranet_ipv6",
                       string_list(pd->extranet_ipv6, pd->n_extranet_ipv6));
}

static void keep_bytes(uint8_t **dst, size_t *dlen, const uint8_t *p, size_t n)
{
    if (n > CONN_HEARTBEAT_MAX)
        n = CONN_HEARTBEAT_MAX; /* a truncated payload fails to decode and shows as such */
    *dst = xrealloc(*dst, n ? n : 1);
    if (n)
        memcpy(*dst, p, n);
    *dlen = n;
}

int conn_note_heartbeat(conn_t *c, int32_t data_type, const uint8_t *payload, size_t len,
                        int64_t now_ms)
{
    if (data_type != 1001) {
        keep_bytes(&c->heartbeat, &c->heartbeat_len, payload, len);
        c->heartbeat_ms = now_ms;
        return 0;
    }
    Grpc__Payload *pl = grpc__payload__unpack(NULL, len, payload);
    const char *name = NULL;
    for (size_t i = 0; pl && i < pl->n_fields; i++)
        if (strcmp(pl->fields[i]->key, "name") == 0)
            name = pl->fields[i]->value;
    if (!name || !ingest_id_valid(name) || strlen(name) >= sizeof(c->plugins[0].name)) {
        if (pl)
            grpc__payload__free_unpacked(pl, NULL);
        return -EINVAL;
    }
    size_t slot = c->nplugins;
    for (size_t i = 0; i < c->nplugins; i++)
        if (strcmp(c->plugins[i].name, name) == 0)
            slot = i;
    if (slot == CONN_PLUGINS_MAX) { /* full: replace the stalest */
        slot = 0;
        for (size_t i = 1; i < c->nplugins; i++)
            if (c->plugins[i].at_ms < c->plugins[slot].at_ms)
                slot = i;
    } else if (slot == c->nplugins) {
        c->nplugins++;
    }
    conn_plugin_hb_t *p = &c->plugins[slot];
    copy_field(p->name, sizeof(p->name), name);
    keep_bytes(&p->payload, &p->len, payload, len);
    p->at_ms = now_ms;
    grpc__payload__free_unpacked(pl, NULL);
    return 0;
}

int conn_cmd_push(conn_t *c, grpc_byte_buffer *bb)
{
    if (c->cmd_len == c->cmd_cap)
        return -ENOSPC;
    c->cmdq[(c->cmd_head + c->cmd_len) % c->cmd_cap] = bb;
    c->cmd_len++;
    return 0;
}

grpc_byte_buffer *conn_cmd_pop(conn_t *c)
{
    if (c->cmd_len == 0)
        return NULL;
    grpc_byte_buffer *bb = c->cmdq[c->cmd_head];
    c->cmd_head = (c->cmd_head + 1) % c->cmd_cap;
    c->cmd_len--;
    pthread_cond_broadcast(&c->room);
    return bb;
}

/* A JSON string of bytes an agent sent: valid UTF-8 stays, anything else is replaced. */
static json_t *lossy_string(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j ? j : json_string("");
}

/* Decodes a kept Payload into a JSON object of its fields (or {"_undecodable":true}). */
static json_t *payload_json(const uint8_t *p, size_t n)
{
    Grpc__Payload *pl = grpc__payload__unpack(NULL, n, p);
    if (!pl)
        return json_pack("{s:b}", "_undecodable", 1);
    json_t *o = json_object();
    for (size_t i = 0; i < pl->n_fields; i++) {
        json_t *k = lossy_string(pl->fields[i]->key);
        json_object_set_new(o, json_string_value(k), lossy_string(pl->fields[i]->value));
        json_decref(k);
    }
    grpc__payload__free_unpacked(pl, NULL);
    return o;
}

json_t *conn_to_json(conn_t *c, bool detail)
{
    pthread_mutex_lock(&c->mu);
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:s, s:s, s:s, s:O?, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "agent_id",
        c->identity, "peer", c->peer, "connected_at", (json_int_t)c->connected_ms, "hostname",
        c->hostname, "version", c->version, "product", c->product, "ips", c->ips,
        "last_heartbeat_at", (json_int_t)c->heartbeat_ms, "records_in",
        (json_int_t)atomic_load(&c->records_in), "bytes_in", (json_int_t)atomic_load(&c->bytes_in),
        "messages_in", (json_int_t)atomic_load(&c->messages_in), "records_rejected",
        (json_int_t)atomic_load(&c->records_rejected), "commands_sent",
        (json_int_t)atomic_load(&c->commands_sent), "paused", c->paused, "command_queue",
        (json_int_t)c->cmd_len);
    if (detail) {
        json_object_set_new(o, "heartbeat",
                            c->heartbeat ? payload_json(c->heartbeat, c->heartbeat_len)
                                         : json_object());
        json_t *plugins = json_array();
        for (size_t i = 0; i < c->nplugins; i++) {
            json_t *p = json_pack("{s:s, s:I, s:o}", "name", c->plugins[i].name, "at",
                                  (json_int_t)c->plugins[i].at_ms, "heartbeat",
                                  payload_json(c->plugins[i].payload, c->plugins[i].len));
            json_array_append_new(plugins, p);
        }
        json_object_set_new(o, "plugins", plugins);
    }
    pthread_mutex_unlock(&c->mu);
    return o;
}
