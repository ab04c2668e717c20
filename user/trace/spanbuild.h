/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The span builder: what every protocol session shares to start and end its spans, whatever the
 * protocol — the process a span belongs to, whether it is selected, its ids and parent from the
 * correlator, its peer's attributes, its times, where it goes when it ends, and the counters of
 * all that. A session sees only this and its connection's flow, never the tracer.
 */
#ifndef ZT_SPANBUILD_H
#define ZT_SPANBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "events.h"
#include "trace/span.h"

struct proc_table;
struct filter;
struct correlator;
struct gohttp;
struct join_key;

/* A connection as its session sees it: owned by the connection table, read by sessions. */
struct flow {
	struct zt_conn_id id;
	struct zt_tuple tuple;	/* family 0 until ZT_EV_CONN_INFO brings it: flow__has_addrs */
	uint8_t role;		/* enum zt_role, as the kernel saw it */
	uint64_t task;		/* whose context the event being parsed is in (correlate.h) */
	uint64_t g;		/* the goroutine it ran on, in a Go process followed; else 0 */
	uint64_t last_ts;	/* monotonic ns of the last event */
	uint32_t requests_sent; /* requests this side wrote */
	/* the read event whose responses last set its reader's context (spanbuild__response) */
	uint64_t response_ts;
	uint8_t response_parent[8];
	bool response_mixed;
	uint8_t local_len, peer_len;
	char local_str[46]; /* INET6_ADDRSTRLEN; formatted once (flow__format_addrs) */
	char peer_str[46];
};

static inline bool flow__has_addrs(const struct flow *f)
{
	return f->tuple.family != 0;
}

void flow__set_addrs(struct flow *f, const struct zt_tuple *tuple);
/* f->local_str and f->peer_str, formatted once per connection */
void flow__format_addrs(struct flow *f);

/* Counters of the spans the sessions make (names as in the log line and /metrics). */
struct span_stats {
	uint64_t spans_started;
	uint64_t spans_finished;
	uint64_t spans_incomplete;	 /* exported with zerotrace.incomplete=true */
	uint64_t unmatched_responses;	 /* responses with no request seen: not exported */
	uint64_t filtered_events;	 /* not selected by --port/--exe */
	uint64_t no_process;		 /* process vanished before it could be identified */
	uint64_t h2_streams_evicted;	 /* HTTP/2 connection with too many open streams */
	uint64_t http1_requests_evicted; /* HTTP/1 connection with too many waiting requests */
	uint64_t db_calls_evicted;	 /* database connection with too many waiting commands */
	uint64_t go_h2_linked;		 /* HTTP/2 calls of followed Go processes: caller found */
	uint64_t go_h2_unlinked;	 /* ... not found (another stack, or before the agent) */
	uint64_t responses_mixed;	 /* reads of responses to calls of different requests */
};

/* Where finished spans go; takes ownership. */
typedef void (*span_sink_fn)(void *ctx, struct span *s);

struct span_builder {
	struct proc_table *procs;
	struct filter *filter; /* NULL: everything */
	struct correlator *corr;
	struct gohttp *gohttp; /* Go's client hand-overs (gohttp.h) */
	span_sink_fn sink;
	void *sink_ctx;
	int64_t mono_to_unix_ns; /* add to a BPF timestamp to get unix time */
	struct span_stats stats;
};

static inline uint64_t spanbuild__unix_ns(const struct span_builder *b, uint64_t mono_ns)
{
	return mono_ns + b->mono_to_unix_ns;
}

/* A span of the flow's process starting at ts (monotonic), or NULL when the process is not
 * selected (counted) or memory ran out. */
struct span *spanbuild__start(struct span_builder *b, const struct flow *f, enum span_kind kind,
			      uint64_t ts);
/* The peer's attributes: network.peer.*, server.address/port, client.address. host: the
 * server's name as the request gave it, or len 0. */
void spanbuild__peer(struct flow *f, struct span *s, const char *host, size_t host_len);
/* Its trace identity (correlate.h) in task's context: false when it is a client request the
 * application traces itself, and then the span is freed. */
bool spanbuild__identify(struct span_builder *b, struct flow *f, struct span *s, uint64_t task,
			 const struct join_key *k, const char *traceparent, size_t tp_len,
			 const char *tracestate, size_t ts_len);
/* The response to client span s was read (by f->task, in the event at f->last_ts): the reader
 * is back in s's caller's context (correlate.h) — unless the same read held responses to calls
 * of other requests too, and then it is in none. */
void spanbuild__response(struct span_builder *b, struct flow *f, const struct span *s);
/* The span's exchange is over at ts (or never will be, incomplete): end it and hand it on. */
void spanbuild__end(struct span_builder *b, struct span *s, uint64_t ts, bool incomplete);
void spanbuild__emit(struct span_builder *b, struct span *s);

#endif
