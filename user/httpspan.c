// SPDX-License-Identifier: BSD-2-Clause
/* HTTP/1 messages of one connection → SERVER and CLIENT spans, requests paired with their
 * responses in order (HTTP/1 has no other way to pair them, pipelined or not). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conn.h"
#include "correlate.h"
#include "filter.h"
#include "proc.h"
#include "route.h"
#include "span.h"
#include "tracer.h"

#define ROUTE_MAX 256
#define QUERY_MAX 512 /* also holds the span name: ROUTE_MAX + a method */

void format_addr(const uint8_t addr[16], uint16_t family, char *out, size_t outsz)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == 10 && !memcmp(addr, v4mapped, 12))
		inet_ntop(AF_INET, addr + 12, out, outsz);
	else
		inet_ntop(family == 10 ? AF_INET6 : AF_INET, addr, out, outsz);
}

/* "host:port", "[v6]:port" or "host" → host */
static struct http1_str host_only(struct http1_str h)
{
	const char *colon;

	if (!h.len)
		return h; /* no Host header: h.p is NULL (fuzzed) */
	if (h.p[0] == '[') {
		const char *rb = memchr(h.p, ']', h.len);

		if (rb)
			return (struct http1_str){h.p + 1, rb - h.p - 1};
	}
	colon = memchr(h.p, ':', h.len);
	return (struct http1_str){h.p, colon ? (size_t)(colon - h.p) : h.len};
}

static void finish(struct conn *c, struct pending *p, uint64_t ts, bool incomplete);

/* Requests one connection may have waiting for a response. Pipelining never goes this deep;
 * a response that went by unseen (inside bytes the capture never had) must not keep every
 * later request waiting, in memory, until the connection closes. */
#define HTTP1_MAX_PENDING 256

static void push_pending(struct conn *c, struct pending *p)
{
	if (c->npending >= HTTP1_MAX_PENDING) {
		c->tracer->stats.http1_requests_evicted++;
		finish(c, c->pend_head, c->last_ts, true);
	}
	p->next = NULL;
	if (c->pend_tail)
		c->pend_tail->next = p;
	else
		c->pend_head = p;
	c->pend_tail = p;
	c->npending++;
}

static void unlink_pending(struct conn *c, struct pending *p)
{
	struct pending **pp = &c->pend_head, *prev = NULL;

	while (*pp && *pp != p) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = p->next;
	if (c->pend_tail == p)
		c->pend_tail = prev;
	c->npending--;
}

struct pending *pending__new(struct conn *c)
{
	if (c->inline_pending_used)
		return calloc(1, sizeof(struct pending));
	c->inline_pending_used = true;
	memset(&c->inline_pending, 0, sizeof(c->inline_pending));
	return &c->inline_pending;
}

void pending__free(struct conn *c, struct pending *p)
{
	if (p == &c->inline_pending)
		c->inline_pending_used = false;
	else
		free(p);
}

static void finish(struct conn *c, struct pending *p, uint64_t ts, bool incomplete)
{
	struct span *s = p->span;

	unlink_pending(c, p);
	pending__free(c, p);
	if (s)
		httpspan__end(c->tracer, s, ts, incomplete);
}

void httpspan__end(struct tracer *t, struct span *s, uint64_t ts, bool incomplete)
{
	correlator__span_end(t->corr, s);
	s->end_ns = tracer__unix_ns(t, ts);
	if (s->end_ns < s->start_ns)
		s->end_ns = s->start_ns;
	if (incomplete) {
		s->incomplete = true;
		span__set_bool(s, "zerotrace.incomplete", true);
		t->stats.spans_incomplete++;
	}
	t->stats.spans_finished++;
	tracer__emit(t, s);
}

/* A connection's addresses as text, formatted once per connection, not once per request. */
void conn__format_addrs(struct conn *c)
{
	if (c->local_len)
		return;
	format_addr(c->tuple.saddr, c->tuple.family, c->local_str, sizeof(c->local_str));
	format_addr(c->tuple.daddr, c->tuple.family, c->peer_str, sizeof(c->peer_str));
	c->local_len = strlen(c->local_str);
	c->peer_len = strlen(c->peer_str);
}

void httpspan__request_attrs(struct conn *c, struct span *s, const struct http1_head *h,
			     const char *version)
{
	const char *path, *query;
	size_t path_len, query_len, route_len, n;
	char route[ROUTE_MAX], buf[QUERY_MAX];
	struct http1_str host = host_only(h->host);

	conn__format_addrs(c);
	http_target_split(h->target.p, h->target.len, &path, &path_len, &query, &query_len);
	route_len = http_route_template(path, path_len, route, sizeof(route));
	/* name: "METHOD route" */
	n = h->method.len < 32 ? h->method.len : 32;
	memcpy(buf, h->method.p, n);
	buf[n++] = ' ';
	memcpy(buf + n, route, route_len);
	span__set_name(s, buf, n + route_len);
	span__set_str(s, "http.request.method", h->method.p, h->method.len);
	span__set_str(s, "url.path", path_len ? path : "/", path_len ? path_len : 1);
	if (query_len) {
		n = url_query_redact(query, query_len, buf, sizeof(buf));
		span__set_str(s, "url.query", buf, n);
	}
	span__set_str(s, "url.scheme", "http", 4);
	span__set_str(s, "network.protocol.version", version, strlen(version));
	if (h->user_agent.len)
		span__set_str(s, "user_agent.original", h->user_agent.p, h->user_agent.len);
	if (s->kind == SPAN_KIND_SERVER)
		span__set_str(s, "http.route", route, route_len);
	if (host.len)
		span__set_str(s, "server.address", host.p, host.len);
	/* no addresses rather than 0.0.0.0:0 while the kernel has not shipped them
	 * (conns_without_addrs) */
	if (!conn__has_addrs(c))
		return;
	span__set_str(s, "network.peer.address", c->peer_str, c->peer_len);
	span__set_int(s, "network.peer.port", c->tuple.dport);
	if (s->kind == SPAN_KIND_SERVER) {
		if (!host.len)
			span__set_str(s, "server.address", c->local_str, c->local_len);
		span__set_int(s, "server.port", c->tuple.sport);
		span__set_str(s, "client.address", c->peer_str, c->peer_len);
	} else {
		if (!host.len)
			span__set_str(s, "server.address", c->peer_str, c->peer_len);
		span__set_int(s, "server.port", c->tuple.dport);
	}
}

static void start_request(struct conn_dir *cd, const struct http1_head *h, uint64_t start_ts)
{
	struct conn *c = cd->conn;
	uint8_t dir = cd->dir;
	struct join_key key = {
	    .seq = cd->seq_base + (uint32_t)h->stream_pos,
	    .head_hash = h->head_hash,
	    .tuple = &c->tuple,
	};
	struct tracer *t = c->tracer;
	struct pending *p = pending__new(c);
	struct process *proc;
	struct span *s;

	if (!p)
		return;
	p->req_dir = dir;
	p->head_request = h->method.len == 4 && !memcmp(h->method.p, "HEAD", 4);
	p->connect = h->method.len == 7 && !memcmp(h->method.p, "CONNECT", 7);
	push_pending(c, p);

	proc = proc_table__lookup(t->procs, c->id.pid);
	if (!proc)
		t->stats.no_process++;
	if (!filter__accepts(t->filter, proc, c->tuple.sport, c->tuple.dport)) {
		t->stats.filtered_events++;
		return; /* stays a placeholder so its response pairs correctly */
	}
	s = span__new();
	if (!s)
		return;
	s->kind = dir == ZT_DIR_READ ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT;
	s->start_ns = tracer__unix_ns(t, start_ts);
	span__set_process(s, proc);
	httpspan__request_attrs(c, s, h, h->minor_version ? "1.1" : "1.0");
	if (s->kind == SPAN_KIND_SERVER) {
		correlator__server_start(t->corr, s, c->cur_task, &key, h->traceparent.p,
					 h->traceparent.len, h->tracestate.p, h->tracestate.len);
	} else if (!correlator__client_start(t->corr, s, c->id.pid, c->cur_task,
					     c->requests_sent++ ? 0 : conn_key_of(&c->id), &key,
					     h->traceparent.p, h->traceparent.len)) {
		/* the application traces this call itself: its span, not a second one */
		span__free(s);
		return;
	}
	p->span = s;
	t->stats.spans_started++;
}

/* The request a response in direction dir answers: the oldest one sent the other way. */
static struct pending *oldest_waiting(struct conn *c, uint8_t dir)
{
	for (struct pending *p = c->pend_head; p; p = p->next)
		if (p->req_dir != dir && !p->responding)
			return p;
	return NULL;
}

static struct pending *responding(struct conn *c, uint8_t dir)
{
	for (struct pending *p = c->pend_head; p; p = p->next)
		if (p->req_dir != dir && p->responding)
			return p;
	return NULL;
}

static void on_head(void *ctx, const struct http1_head *h, uint64_t start_ts, enum http1_body *body)
{
	struct conn_dir *cd = ctx;
	struct conn *c = cd->conn;
	struct pending *p;

	cd->head_is_request = h->request;
	cd->in_body = true;
	if (h->request) {
		start_request(cd, h, start_ts);
		return;
	}
	p = oldest_waiting(c, cd->dir);
	if (!p) {
		c->tracer->stats.unmatched_responses++;
		return;
	}
	p->responding = true;
	if (p->head_request)
		*body = HTTP1_BODY_NONE;
	else if (p->connect && h->status >= 200 && h->status < 300)
		*body = HTTP1_BODY_TUNNEL;
	if (!p->span)
		return;
	if (p->span->kind == SPAN_KIND_CLIENT)
		correlator__client_response(c->tracer->corr, p->span, c->cur_task);
	span__set_int(p->span, "http.response.status_code", h->status);
	if (h->status >= 500 || (h->status >= 400 && p->span->kind == SPAN_KIND_CLIENT))
		p->span->status = SPAN_STATUS_ERROR;
}

static void on_complete(void *ctx, uint64_t end_ts)
{
	struct conn_dir *cd = ctx;
	struct pending *p;

	cd->in_body = false;
	if (cd->head_is_request)
		return;
	p = responding(cd->conn, cd->dir);
	if (p)
		finish(cd->conn, p, end_ts, false);
}

static void on_lost(void *ctx)
{
	struct conn_dir *cd = ctx;
	struct conn *c = cd->conn;
	struct pending *p;

	if (!cd->in_body) {
		/* lost inside a head: if it was a request, its response must not pair with the
		 * next request in line */
		if (cd->head_is_request || !oldest_waiting(c, cd->dir))
			httpspan__lost_request(c, cd->dir);
		return;
	}
	cd->in_body = false;
	if (cd->head_is_request)
		return; /* request body framing lost: the span still ends with its response */
	p = responding(c, cd->dir);
	if (p)
		finish(c, p, c->last_ts, true);
}

const struct http1_callbacks http_span_callbacks = {
    .on_head = on_head,
    .on_complete = on_complete,
    .on_lost = on_lost,
};

void httpspan__lost_request(struct conn *c, uint8_t dir)
{
	struct pending *p = pending__new(c);

	if (!p)
		return;
	p->req_dir = dir;
	push_pending(c, p);
}

void httpspan__finish_pending(struct conn *c, uint64_t ts)
{
	while (c->pend_head)
		finish(c, c->pend_head, ts, true);
}
