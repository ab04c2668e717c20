/* SPDX-License-Identifier: BSD-2-Clause */
/* Connections as the agent sees them, keyed by (pid, fd, generation). */
#ifndef ZT_CONN_H
#define ZT_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include "events.h"
#include "proto/http1.h"

struct tracer;
struct conn;
struct h2_conn;
struct span;

/* A request waiting for its response. span is NULL for a request whose head was lost: its
 * response is consumed and dropped rather than paired with the wrong request. */
struct pending {
	struct span *span;
	bool head_request; /* HEAD: the response has no body */
	bool connect;
	uint8_t req_dir;
	bool responding; /* its response head has been seen */
	struct pending *next;
};

struct conn_dir {
	struct conn *conn;
	uint8_t dir;
	bool seq_valid;
	bool head_is_request; /* kind of the message whose head was parsed last */
	bool in_body;	      /* between on_head and on_complete */
	uint32_t next_seq;
	uint32_t seq_base; /* TCP sequence number of stream offset 0, for head positions */
	struct http1_parser parser;
};

struct conn {
	struct zt_conn_id id;
	struct zt_tuple tuple; /* family 0 until ZT_EV_CONN_INFO brings it: conn__has_addrs */
	uint8_t role;	       /* enum zt_role, as the kernel saw it */
	uint64_t cur_task;     /* whose context the event being parsed is in (correlate.h) */
	uint64_t cur_g;	       /* the goroutine it ran on, in a Go process followed; else 0 */
	uint64_t last_ts;      /* monotonic ns of the last event */
	struct conn_dir dir[2];
	struct pending *pend_head, *pend_tail;
	uint32_t npending;
	/* most connections have one request in flight: its record, without an allocation */
	struct pending inline_pending;
	bool inline_pending_used;
	uint32_t requests_sent; /* requests this side wrote */
	struct h2_conn *h2;	/* HTTP/2 state: set once the kernel classified it so */
	uint8_t local_len, peer_len;
	char local_str[46]; /* INET6_ADDRSTRLEN */
	char peer_str[46];
	struct tracer *tracer;
	struct conn *hnext;
	struct conn *lru_prev, *lru_next;
};

struct conn_table;

struct conn_table *conn_table__new(struct tracer *t, uint32_t capacity);
void conn_table__free(struct conn_table *ct);
/* Lookup, creating on first sight (evicting the least recently used when full), without
 * addresses until conn__set_addrs. */
struct conn *conn_table__get(struct conn_table *ct, const struct zt_conn_id *id, uint8_t role);
void conn__set_addrs(struct conn *c, const struct zt_tuple *tuple);

static inline bool conn__has_addrs(const struct conn *c)
{
	return c->tuple.family != 0;
}

struct conn *conn_table__find(struct conn_table *ct, const struct zt_conn_id *id);
/* Connection closed: complete what close completes, finish the rest incomplete, free. */
void conn_table__close(struct conn_table *ct, struct conn *c, uint64_t ts);
/* Close every connection of pid; calls forget(pid, fd) for each. */
void conn_table__close_pid(struct conn_table *ct, uint32_t pid, uint64_t ts,
			   void (*forget)(void *ctx, uint32_t pid, int32_t fd), void *ctx);
void conn_table__close_all(struct conn_table *ct, uint64_t ts);
uint32_t conn_table__size(const struct conn_table *ct);

/* One data event of this connection. */
void conn__feed(struct conn *c, const struct zt_data_event *ev, const uint8_t *payload,
		uint64_t task);

/* httpspan.c: HTTP/1 messages → spans, and what HTTP/2 spans share with them */
extern const struct http1_callbacks http_span_callbacks;
/* Every request still waiting ends now, incomplete. */
void httpspan__finish_pending(struct conn *c, uint64_t ts);
/* A zeroed record of a request in flight, and its release. */
struct pending *pending__new(struct conn *c);
void pending__free(struct conn *c, struct pending *p);
void httpspan__lost_request(struct conn *c, uint8_t dir);
/* The request attributes and name both HTTP versions share (head: the request's fields). */
void httpspan__request_attrs(struct conn *c, struct span *s, const struct http1_head *h,
			     const char *version);
/* The span's response is complete (or never will be): end it and hand it on. */
void httpspan__end(struct tracer *t, struct span *s, uint64_t ts, bool incomplete);
/* c->local_str and c->peer_str, formatted once per connection */
void conn__format_addrs(struct conn *c);

/* h2span.c: HTTP/2 frames of one connection → spans, one per stream */
struct h2_conn *h2_conn__new(struct conn *c);
void h2_conn__free(struct h2_conn *h);
/* One event of direction dir; its first skip bytes were fed before (a retried write). */
void h2_conn__feed(struct h2_conn *h, uint8_t dir, const uint8_t *segments, size_t captured,
		   size_t total, size_t skip, uint32_t seq, uint64_t ts);
void h2_conn__gap(struct h2_conn *h, uint8_t dir);
/* Every open stream ends now, incomplete. */
void h2_conn__close(struct h2_conn *h, uint64_t ts);

#endif
