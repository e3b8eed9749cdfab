/* offtrack: which consumed offsets may be committed (at-least-once delivery of alerts).
 *
 * Every consumed message is added in offset order per partition with the number of alerts
 * it produced; each delivered alert decrements its message's count. The offset to commit
 * for a partition is the first message still waiting for a delivery (or one past the last
 * message when none waits), so a crash can only redeliver, never skip, an event whose alerts
 * were not yet in Kafka. A handle packs (partition slot, epoch, sequence) into 64 bits so a
 * delivery report needs no allocation to find its message. */
#ifndef RAMPART_HUB_OFFTRACK_H
#define RAMPART_HUB_OFFTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFTRACK_MAX_PARTITIONS 4096

typedef struct offtrack offtrack_t;

offtrack_t *offtrack_new(void);
void offtrack_free(offtrack_t *t);

/* Starts tracking a partition (at assignment); forgets what was tracked before for it. */
void offtrack_assign(offtrack_t *t, int32_t partition);
/* Stops tracking a partition (at revocation). */
void offtrack_revoke(offtrack_t *t, int32_t partition);
bool offtrack_assigned(const offtrack_t *t, int32_t partition);

/* Adds a consumed message; returns its handle (0 when the partition is not tracked). */
uint64_t offtrack_add(offtrack_t *t, int32_t partition, int64_t offset);
/* One more alert waits for delivery for the message. */
void offtrack_hold(offtrack_t *t, uint64_t handle);
/* An alert of the message was delivered (or given up). Stale handles are ignored. */
void offtrack_release(offtrack_t *t, uint64_t handle);

/* The offset to commit for a partition, dropping finished messages from the front; -1 when
 * nothing new can be committed since the last call. */
int64_t offtrack_committable(offtrack_t *t, int32_t partition);
/* The last offset offtrack_committable returned for the partition (-1: none yet); what a
 * final synchronous commit sends. */
int64_t offtrack_position(const offtrack_t *t, int32_t partition);
/* Messages added and not yet dropped, all partitions. */
size_t offtrack_inflight(const offtrack_t *t);
/* Calls fn for every tracked partition. */
void offtrack_foreach(const offtrack_t *t, void (*fn)(int32_t partition, void *ud), void *ud);

#endif
