/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Trace identity for new spans (DESIGN §4). Every span gets its ids when its request starts,
 * so its children can point at it at once.
 *
 * Server span (a request read), first rule that applies:
 *   2. same-node join: the request's first byte was written on this node by a client span —
 *      same TCP sequence number and same head bytes, the 4-tuple reversed (or, behind NAT,
 *      not) — so it is that client span's child. Exact: no time window.
 *   1. a valid traceparent header: child of the caller's span, tracestate kept.
 *   5. a new trace.
 * Rule 2 goes first because it is exact about the very bytes read: it differs from rule 1
 * only when a proxy forwards the caller's traceparent unchanged, and then the proxy's client
 * span really is the parent.
 *
 * Client span (a request written), first rule that applies:
 *   4. the request carries a traceparent the application made itself (not the one the thread
 *      is serving, forwarded unchanged): the application's own instrumentation has this client
 *      span already, so no second one is made; the server side joins through the header.
 *   3. in-process causality: child of the writing thread's context — the server span whose
 *      request, or whose own client call's response, was the last inbound message the thread
 *      read (thread-per-request, thread pools and single-threaded event loops alike).
 *   5. a new trace.
 * Work deferred by timers or queues runs on a thread whose last inbound message may belong to
 * another request, or to one that has finished: when the context's server span has ended the
 * call starts a new trace rather than a wrong link; while it is still open the rule cannot
 * tell (see README, "Trace linking").
 */
#ifndef ZT_CORRELATE_H
#define ZT_CORRELATE_H

#include <stdbool.h>
#include <stdint.h>
#include "events.h"
#include "trace/span.h"

struct correlator;

/* A request as both ends of its connection see it. */
struct join_key {
	uint32_t seq;		      /* TCP sequence number of the request's first byte */
	uint32_t head_hash;	      /* hash of the head's first bytes */
	const struct zt_tuple *tuple; /* as this end sees it (local = saddr) */
};

struct correlator_stats {
	uint64_t joined_same_node;   /* server spans parented by a client span on this node */
	uint64_t joined_traceparent; /* server spans parented by a traceparent header */
	uint64_t joined_nat;	     /* same-node joins whose tuples differed (NAT) */
	uint64_t joined_thread;	     /* client spans parented by their thread's context */
	uint64_t joined_connect;     /* first requests parented by whoever opened the connection */
	uint64_t client_adopted;     /* client requests that carried their own traceparent */
	uint64_t client_unjoined;    /* client spans no server span on this node claimed */
	uint64_t joined_held;	     /* joins to a client span that had already ended */
	uint64_t server_local_unjoined; /* requests from this node that matched no client span */
	uint64_t context_resets;	/* thread-context or connect table full and emptied */
	uint64_t inherited;		/* goroutines created in a request's context */
	uint64_t goroutine_unlinked;	/* client spans of goroutines in no request's context */
	uint64_t h2_handlers_linked;	/* goroutines handling an HTTP/2 stream, in its context */
	uint64_t h2_handlers_unlinked;	/* ... whose stream's server span was not found */
};

/*
 * A task is whose context a request is in: a thread, or in a Go process the agent follows, a
 * goroutine; 0 is none (a Go process that cannot be followed: no link rather than a guess from
 * threads that goroutines move between).
 */
#define TASK_GOROUTINE (1ull << 63)

static inline uint64_t task_of_thread(uint32_t pid, uint32_t tid)
{
	return (uint64_t)pid << 32 | tid;
}

uint64_t task_of_goroutine(uint32_t pid, uint64_t g);

struct correlator *correlator__new(uint32_t capacity);
void correlator__free(struct correlator *c);

/* Fresh random ids (never all-zero). */
void correlator__new_trace_id(struct correlator *c, uint8_t id[16]);
void correlator__new_span_id(struct correlator *c, uint8_t id[8]);

void correlator__server_start(struct correlator *c, struct span *s, uint64_t task,
			      const struct join_key *k, const char *traceparent, size_t tp_len,
			      const char *tracestate, size_t ts_len);
/* A connection was opened by a thread: remember its context, for the connection's first
 * request (event loops write it when the connect completes, in another message's turn).
 * conn_key identifies the connection (conn_key_of). */
void correlator__conn_open(struct correlator *c, uint64_t conn_key, uint64_t task);
/* Goroutine child was created by parent: it starts in parent's context (or none). */
void correlator__inherit(struct correlator *c, uint64_t parent, uint64_t child);
/* Go's HTTP/2 servers read every stream from one goroutine of the connection, which creates a
 * goroutine per stream to handle it: the reader read the request of stream s (server span s),
 * and later a goroutine it created handles that stream; the handler is then in s's context. */
void correlator__h2_stream_read(struct correlator *c, uint64_t reader, uint32_t stream,
				const struct span *s);
void correlator__h2_stream_handler(struct correlator *c, uint64_t handler, uint32_t stream);
/* first_on_conn: conn_key of the connection when this is its first request, else 0.
 * false: rule 4, make no span for this request. */
bool correlator__client_start(struct correlator *c, struct span *s, uint64_t task,
			      uint64_t first_on_conn, const struct join_key *k,
			      const char *traceparent, size_t tp_len);
uint64_t conn_key_of(const struct zt_conn_id *id);
/* The response to client span s was read by task: a thread is back in s's caller's context
 * (spanbuild__response decides when a read mixes several callers' responses). */
void correlator__client_response(struct correlator *c, const struct span *s, uint64_t task);
/* task is in no request's context any more */
void correlator__forget_context(struct correlator *c, uint64_t task);
/* A span ended (or is dropped): it can no longer be a parent or be joined. */
void correlator__span_end(struct correlator *c, struct span *s);

/* Forget ended client spans held longer than the hold time (call periodically), or all of
 * them (shutdown); the unclaimed ones count as client_unjoined. */
void correlator__expire(struct correlator *c, bool all);
void correlator__stats(const struct correlator *c, struct correlator_stats *out);

#endif
