/* SPDX-License-Identifier: BSD-2-Clause */
/* Connections as the agent sees them, keyed by (pid, fd, generation): each one's bytes in TCP
 * order, fed to the protocol session its data is classified as (session.h). */
#ifndef ZT_CONN_H
#define ZT_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include "events.h"
#include "session/session.h"

struct conn_dir {
	bool seq_valid;
	uint32_t next_seq;
};

struct conn {
	struct flow flow; /* what its session sees */
	struct conn_dir dir[2];
	const struct session_ops *ops; /* NULL until its first data */
	void *session;
	struct conn *hnext;
	struct conn *lru_prev, *lru_next;
};

struct conn_table;

/* stats: where seq_gaps and conns_evicted are counted */
struct conn_table *conn_table__new(struct span_builder *b, uint32_t capacity, uint64_t *seq_gaps,
				   uint64_t *evicted);
void conn_table__free(struct conn_table *ct);
/* Lookup, creating on first sight (evicting the least recently used when full), without
 * addresses until flow__set_addrs. */
struct conn *conn_table__get(struct conn_table *ct, const struct zt_conn_id *id, uint8_t role);
struct conn *conn_table__find(struct conn_table *ct, const struct zt_conn_id *id);
/* Connection closed: complete what close completes, finish the rest incomplete, free. */
void conn_table__close(struct conn_table *ct, struct conn *c, uint64_t ts);
/* Close every connection of pid; calls forget(pid, fd) for each. */
void conn_table__close_pid(struct conn_table *ct, uint32_t pid, uint64_t ts,
			   void (*forget)(void *ctx, uint32_t pid, int32_t fd), void *ctx);
void conn_table__close_all(struct conn_table *ct, uint64_t ts);
uint32_t conn_table__size(const struct conn_table *ct);

/* One data event of this connection, in task's context (correlate.h). */
void conn__feed(struct conn_table *ct, struct conn *c, const struct zt_data_event *ev,
		const uint8_t *payload, uint64_t task);

#endif
