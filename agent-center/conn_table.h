/* conn_table: the live agent streams by agent id, one per agent.
 *
 * When an agent opens a second stream while its first is still registered (a reconnect after
 * a network break the server has not noticed yet), the NEWER stream wins: conn_table_bind()
 * hands back the older one, which the caller cancels with ABORTED. Refusing the newcomer
 * instead would lock a reconnecting agent out until keepalive noticed the dead stream. */
#ifndef RAMPART_AC_CONN_TABLE_H
#define RAMPART_AC_CONN_TABLE_H

#include <stddef.h>

#include "agent-center/conn.h"

typedef struct conn_table conn_table_t;

conn_table_t *conn_table_new(size_t buckets);
void conn_table_free(conn_table_t *t);

/* Registers c under c->identity (takes a reference). Returns the conn it replaced, with the
 * table's reference transferred to the caller, or NULL. */
conn_t *conn_table_bind(conn_table_t *t, conn_t *c);
/* Removes c if it is the conn registered under its identity; drops the table's reference. */
void conn_table_remove(conn_table_t *t, conn_t *c);
/* The conn of agent_id with a new reference (conn_unref it), or NULL. */
conn_t *conn_table_get(conn_table_t *t, const char *agent_id);
size_t conn_table_count(conn_table_t *t);
/* Every registered conn, each with a new reference, sorted by agent id. *n set; free() the
 * array after unref'ing the conns. */
conn_t **conn_table_snapshot(conn_table_t *t, size_t *n);

#endif
