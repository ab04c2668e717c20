// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <string.h>
#include "trace/correlate.h"
#include "trace/filter.h"
#include "trace/proc.h"
#include "trace/spanbuild.h"

static void format_addr(const uint8_t addr[16], uint16_t family, char *out, size_t outsz)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == 10 && !memcmp(addr, v4mapped, 12))
		inet_ntop(AF_INET, addr + 12, out, outsz);
	else
		inet_ntop(family == 10 ? AF_INET6 : AF_INET, addr, out, outsz);
}

void flow__set_addrs(struct flow *f, const struct zt_tuple *tuple)
{
	if (!memcmp(&f->tuple, tuple, sizeof(*tuple)))
		return;
	f->tuple = *tuple;
	f->local_len = f->peer_len = 0; /* formatted again from these */
}

/* A connection's addresses as text, formatted once per connection, not once per request. */
void flow__format_addrs(struct flow *f)
{
	if (f->local_len)
		return;
	format_addr(f->tuple.saddr, f->tuple.family, f->local_str, sizeof(f->local_str));
	format_addr(f->tuple.daddr, f->tuple.family, f->peer_str, sizeof(f->peer_str));
	f->local_len = strlen(f->local_str);
	f->peer_len = strlen(f->peer_str);
}

struct span *spanbuild__start(struct span_builder *b, const struct flow *f, enum span_kind kind,
			      uint64_t ts)
{
	struct process *proc = proc_table__lookup(b->procs, f->id.pid);
	struct span *s;

	if (!proc)
		b->stats.no_process++;
	if (!filter__accepts(b->filter, proc, f->tuple.sport, f->tuple.dport)) {
		b->stats.filtered_events++;
		return NULL;
	}
	s = span__new();
	if (!s)
		return NULL;
	s->kind = kind;
	s->start_ns = spanbuild__unix_ns(b, ts);
	span__set_process(s, proc);
	return s;
}

void spanbuild__peer(struct flow *f, struct span *s, const char *host, size_t host_len)
{
	if (host_len)
		span__set_str(s, "server.address", host, host_len);
	/* no addresses rather than 0.0.0.0:0 while the kernel has not shipped them
	 * (conns_without_addrs) */
	if (!flow__has_addrs(f))
		return;
	flow__format_addrs(f);
	span__set_str(s, "network.peer.address", f->peer_str, f->peer_len);
	span__set_int(s, "network.peer.port", f->tuple.dport);
	if (s->kind == SPAN_KIND_SERVER) {
		if (!host_len)
			span__set_str(s, "server.address", f->local_str, f->local_len);
		span__set_int(s, "server.port", f->tuple.sport);
		span__set_str(s, "client.address", f->peer_str, f->peer_len);
	} else {
		if (!host_len)
			span__set_str(s, "server.address", f->peer_str, f->peer_len);
		span__set_int(s, "server.port", f->tuple.dport);
	}
}

bool spanbuild__identify(struct span_builder *b, struct flow *f, struct span *s, uint64_t task,
			 const struct join_key *k, const char *traceparent, size_t tp_len,
			 const char *tracestate, size_t ts_len)
{
	if (s->kind == SPAN_KIND_SERVER) {
		correlator__server_start(b->corr, s, task, k, traceparent, tp_len, tracestate,
					 ts_len);
	} else if (!correlator__client_start(b->corr, s, task,
					     f->requests_sent++ ? 0 : conn_key_of(&f->id), k,
					     traceparent, tp_len)) {
		/* the application traces this call itself: its span, not a second one */
		span__free(s);
		return false;
	}
	b->stats.spans_started++;
	return true;
}

void spanbuild__response(struct span_builder *b, struct flow *f, const struct span *s)
{
	if ((f->task & TASK_GOROUTINE) || f->response_ts != f->last_ts) {
		f->response_ts = f->last_ts;
		f->response_mixed = false;
		memcpy(f->response_parent, s->parent_id, 8);
		correlator__client_response(b->corr, s, f->task);
		return;
	}
	/* One read held the responses to calls of different requests: a connection shared by
	 * an event loop's requests, or pipelined. What its reader runs next may continue any of
	 * them: no context rather than the last one's. */
	if (f->response_mixed || !memcmp(f->response_parent, s->parent_id, 8))
		return;
	f->response_mixed = true;
	correlator__forget_context(b->corr, f->task);
	b->stats.responses_mixed++;
}

void spanbuild__emit(struct span_builder *b, struct span *s)
{
	if (b->sink)
		b->sink(b->sink_ctx, s);
	else
		span__free(s);
}

void spanbuild__end(struct span_builder *b, struct span *s, uint64_t ts, bool incomplete)
{
	correlator__span_end(b->corr, s);
	s->end_ns = spanbuild__unix_ns(b, ts);
	if (s->end_ns < s->start_ns)
		s->end_ns = s->start_ns;
	if (incomplete) {
		s->incomplete = true;
		span__set_bool(s, "zerotrace.incomplete", true);
		b->stats.spans_incomplete++;
	}
	b->stats.spans_finished++;
	spanbuild__emit(b, s);
}
