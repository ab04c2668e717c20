/* SPDX-License-Identifier: BSD-2-Clause */
/* The reader thread's state: from ring-buffer records to finished spans. */
#ifndef ZT_TRACER_H
#define ZT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include "events.h"
#include "trace/spanbuild.h"

struct conn_table;
struct gofollow;

struct tracer_stats {
	uint64_t events;
	uint64_t bad_events;	      /* records shorter than they claim: ABI mismatch */
	uint64_t seq_gaps;	      /* bytes missing between two events of a connection */
	uint64_t conns_evicted;	      /* connection table full: oldest dropped */
	uint64_t conns_without_addrs; /* data before the connection's addresses: asked again */
};
/* Tells the BPF side to forget a connection (its process exited). */
typedef void (*conn_forget_fn)(void *ctx, uint32_t pid, int32_t fd);
/* Asks the BPF side to ship every connection's addresses again (ZT_EV_CONN_INFO). */
typedef void (*conn_addrs_fn)(void *ctx);

struct tracer {
	struct span_builder build; /* processes, selection, correlator, span sink, clock */
	struct conn_table *conns;
	struct gofollow *go; /* NULL: no process is followed as Go */
	conn_forget_fn forget;
	void *forget_ctx;
	conn_addrs_fn resend_addrs;
	void *resend_addrs_ctx;
	uint64_t addrs_asked_ts; /* when resend_addrs was last called, monotonic ns */
	bool addrs_wanted;	 /* a connection still needs its addresses */
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

#endif
