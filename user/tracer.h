/* SPDX-License-Identifier: BSD-2-Clause */
/* The reader thread's state: from ring-buffer records to finished spans. */
#ifndef ZT_TRACER_H
#define ZT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include "events.h"

struct span;
struct proc_table;
struct conn_table;
struct correlator;
struct filter;
struct gofollow;
struct gohttp;

struct tracer_stats {
	uint64_t events;
	uint64_t bad_events; /* records shorter than they claim: ABI mismatch */
	uint64_t spans_started;
	uint64_t spans_finished;
	uint64_t spans_incomplete;	 /* exported with zerotrace.incomplete=true */
	uint64_t unmatched_responses;	 /* responses with no request seen: not exported */
	uint64_t seq_gaps;		 /* bytes missing between two events of a connection */
	uint64_t conns_evicted;		 /* connection table full: oldest dropped */
	uint64_t conns_without_addrs;	 /* data before the connection's addresses: asked again */
	uint64_t filtered_events;	 /* not selected by --port/--exe */
	uint64_t no_process;		 /* process vanished before it could be identified */
	uint64_t h2_streams_evicted;	 /* HTTP/2 connection with too many open streams */
	uint64_t http1_requests_evicted; /* HTTP/1 connection with too many waiting requests */
	uint64_t go_h2_linked;		 /* HTTP/2 calls of followed Go processes: caller found */
	uint64_t go_h2_unlinked;	 /* ... not found (another stack, or before the agent) */
};

/* Where finished spans go; takes ownership. */
typedef void (*span_sink_fn)(void *ctx, struct span *s);
/* Tells the BPF side to forget a connection (its process exited). */
typedef void (*conn_forget_fn)(void *ctx, uint32_t pid, int32_t fd);
/* Asks the BPF side to ship every connection's addresses again (ZT_EV_CONN_INFO). */
typedef void (*conn_addrs_fn)(void *ctx);

struct tracer {
	struct proc_table *procs;
	struct conn_table *conns;
	struct correlator *corr;
	struct filter *filter;
	struct gofollow *go; /* NULL: no process is followed as Go */
	struct gohttp *gohttp;
	span_sink_fn sink;
	void *sink_ctx;
	conn_forget_fn forget;
	void *forget_ctx;
	conn_addrs_fn resend_addrs;
	void *resend_addrs_ctx;
	uint64_t addrs_asked_ts; /* when resend_addrs was last called, monotonic ns */
	bool addrs_wanted;	 /* a connection still needs its addresses */
	int64_t mono_to_unix_ns; /* add to a BPF timestamp to get unix time */
	struct tracer_stats stats;
};

struct tracer_opts {
	const char *proc_root; /* "/proc", or a fake one in tests */
	uint32_t max_conns;
	span_sink_fn sink;
	void *sink_ctx;
	struct filter *filter; /* NULL: everything */
};

struct tracer *tracer__new(const struct tracer_opts *opts);
void tracer__free(struct tracer *t);
/* One ring-buffer record. 0, or -EINVAL for a malformed one (counted). */
int tracer__handle(struct tracer *t, const void *data, size_t len);
/* Periodic work: clock resync. */
void tracer__tick(struct tracer *t);
/* Finish every open span (shutdown). */
void tracer__flush(struct tracer *t);

uint64_t tracer__unix_ns(const struct tracer *t, uint64_t mono_ns);
void tracer__emit(struct tracer *t, struct span *s);

#endif
