// SPDX-License-Identifier: BSD-2-Clause
/* The HTTP/1 session: a connection's HTTP/1 messages → SERVER and CLIENT spans, requests paired
 * with their responses in order (HTTP/1 has no other way to pair them, pipelined or not). */
#include <stdlib.h>
#include <string.h>
#include "trace/correlate.h"
#include "session/httpattrs.h"
#include "proto/http1.h"
#include "session/session.h"

/* A request waiting for its response. span is NULL for a request whose head was lost, or that
 * was not selected: its response is consumed and dropped rather than paired with the wrong
 * request. */
struct pending {
	struct span *span;
	bool head_request; /* HEAD: the response has no body */
	bool connect;
	uint8_t req_dir;
	bool responding; /* its response head has been seen */
	struct pending *next;
};

struct http1_dir {
	struct http1_session *h;
	uint8_t dir;
	bool head_is_request; /* kind of the message whose head was parsed last */
	bool in_body;	      /* between on_head and on_complete */
	uint32_t seq_base;    /* TCP sequence number of stream offset 0, for head positions */
	struct http1_parser parser;
};

struct http1_session {
	struct flow *flow;
	struct span_builder *b;
	struct http1_dir dir[2];
	struct pending *pend_head, *pend_tail;
	uint32_t npending;
	/* most connections have one request in flight: its record, without an allocation */
	struct pending inline_pending;
	bool inline_pending_used;
};

static void finish(struct http1_session *h, struct pending *p, uint64_t ts, bool incomplete);

/* Requests one connection may have waiting for a response. Pipelining never goes this deep;
 * a response that went by unseen (inside bytes the capture never had) must not keep every
 * later request waiting, in memory, until the connection closes. */
#define HTTP1_MAX_PENDING 256

static void push_pending(struct http1_session *h, struct pending *p)
{
	if (h->npending >= HTTP1_MAX_PENDING) {
		h->b->stats.http1_requests_evicted++;
		finish(h, h->pend_head, h->flow->last_ts, true);
	}
	p->next = NULL;
	if (h->pend_tail)
		h->pend_tail->next = p;
	else
		h->pend_head = p;
	h->pend_tail = p;
	h->npending++;
}

static void unlink_pending(struct http1_session *h, struct pending *p)
{
	struct pending **pp = &h->pend_head, *prev = NULL;

	while (*pp && *pp != p) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = p->next;
	if (h->pend_tail == p)
		h->pend_tail = prev;
	h->npending--;
}

/* A zeroed record of a request in flight. */
static struct pending *pending_new(struct http1_session *h)
{
	if (h->inline_pending_used)
		return calloc(1, sizeof(struct pending));
	h->inline_pending_used = true;
	memset(&h->inline_pending, 0, sizeof(h->inline_pending));
	return &h->inline_pending;
}

static void pending_free(struct http1_session *h, struct pending *p)
{
	if (p == &h->inline_pending)
		h->inline_pending_used = false;
	else
		free(p);
}

static void finish(struct http1_session *h, struct pending *p, uint64_t ts, bool incomplete)
{
	struct span *s = p->span;

	unlink_pending(h, p);
	pending_free(h, p);
	if (s)
		spanbuild__end(h->b, s, ts, incomplete);
}

/* A request whose head was lost: a placeholder, so that its response pairs with nothing. */
static void lost_request(struct http1_session *h, uint8_t dir)
{
	struct pending *p = pending_new(h);

	if (!p)
		return;
	p->req_dir = dir;
	push_pending(h, p);
}

static void finish_pending(struct http1_session *h, uint64_t ts)
{
	while (h->pend_head)
		finish(h, h->pend_head, ts, true);
}

static void start_request(struct http1_dir *hd, const struct http1_head *head, uint64_t start_ts)
{
	struct http1_session *h = hd->h;
	struct flow *f = h->flow;
	struct join_key key = {
	    .seq = hd->seq_base + (uint32_t)head->stream_pos,
	    .head_hash = head->head_hash,
	    .tuple = &f->tuple,
	};
	struct http_request_fields req = {
	    .method = head->method.p,
	    .method_len = head->method.len,
	    .target = head->target.p,
	    .target_len = head->target.len,
	    .host = head->host.p,
	    .host_len = head->host.len,
	    .user_agent = head->user_agent.p,
	    .user_agent_len = head->user_agent.len,
	    .version = head->minor_version ? "1.1" : "1.0",
	};
	struct pending *p = pending_new(h);
	struct span *s;

	if (!p)
		return;
	p->req_dir = hd->dir;
	p->head_request = head->method.len == 4 && !memcmp(head->method.p, "HEAD", 4);
	p->connect = head->method.len == 7 && !memcmp(head->method.p, "CONNECT", 7);
	push_pending(h, p);

	/* not selected: stays a placeholder so its response pairs correctly */
	s = spanbuild__start(h->b, f, hd->dir == ZT_DIR_READ ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT,
			     start_ts);
	if (!s)
		return;
	http_request_attrs(f, s, &req);
	if (spanbuild__identify(h->b, f, s, f->task, &key, head->traceparent.p,
				head->traceparent.len, head->tracestate.p, head->tracestate.len))
		p->span = s;
}

/* The request a response in direction dir answers: the oldest one sent the other way. */
static struct pending *oldest_waiting(struct http1_session *h, uint8_t dir)
{
	for (struct pending *p = h->pend_head; p; p = p->next)
		if (p->req_dir != dir && !p->responding)
			return p;
	return NULL;
}

static struct pending *responding(struct http1_session *h, uint8_t dir)
{
	for (struct pending *p = h->pend_head; p; p = p->next)
		if (p->req_dir != dir && p->responding)
			return p;
	return NULL;
}

static void on_head(void *ctx, const struct http1_head *head, uint64_t start_ts,
		    enum http1_body *body)
{
	struct http1_dir *hd = ctx;
	struct http1_session *h = hd->h;
	struct pending *p;

	hd->head_is_request = head->request;
	hd->in_body = true;
	if (head->request) {
		start_request(hd, head, start_ts);
		return;
	}
	p = oldest_waiting(h, hd->dir);
	if (!p) {
		h->b->stats.unmatched_responses++;
		return;
	}
	p->responding = true;
	if (p->head_request)
		*body = HTTP1_BODY_NONE;
	else if (p->connect && head->status >= 200 && head->status < 300)
		*body = HTTP1_BODY_TUNNEL;
	if (!p->span)
		return;
	if (p->span->kind == SPAN_KIND_CLIENT)
		spanbuild__response(h->b, h->flow, p->span);
	http_response_status(p->span, head->status);
}

static void on_complete(void *ctx, uint64_t end_ts)
{
	struct http1_dir *hd = ctx;
	struct pending *p;

	hd->in_body = false;
	if (hd->head_is_request)
		return;
	p = responding(hd->h, hd->dir);
	if (p)
		finish(hd->h, p, end_ts, false);
}

static void on_lost(void *ctx)
{
	struct http1_dir *hd = ctx;
	struct http1_session *h = hd->h;
	struct pending *p;

	if (!hd->in_body) {
		/* lost inside a head: if it was a request, its response must not pair with the
		 * next request in line */
		if (hd->head_is_request || !oldest_waiting(h, hd->dir))
			lost_request(h, hd->dir);
		return;
	}
	hd->in_body = false;
	if (hd->head_is_request)
		return; /* request body framing lost: the span still ends with its response */
	p = responding(h, hd->dir);
	if (p)
		finish(h, p, h->flow->last_ts, true);
}

static const struct http1_callbacks http1_session_callbacks = {
    .on_head = on_head,
    .on_complete = on_complete,
    .on_lost = on_lost,
};

static void *http1_open(struct flow *f, struct span_builder *b)
{
	struct http1_session *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->flow = f;
	h->b = b;
	for (int d = 0; d < 2; d++) {
		h->dir[d].h = h;
		h->dir[d].dir = d;
		http1_parser__init(&h->dir[d].parser, &http1_session_callbacks, &h->dir[d]);
	}
	return h;
}

static void http1_feed(void *s, uint8_t dir, const uint8_t *data, size_t captured, size_t total,
		       size_t skip, uint32_t seq, uint64_t ts)
{
	struct http1_session *h = s;
	struct http1_dir *hd = &h->dir[dir & 1];

	(void)skip; /* 0: the connection cut what was fed before (session.h) */
	hd->seq_base = seq - (uint32_t)hd->parser.pos;
	http1_parser__feed(&hd->parser, data, captured, total, ts);
}

/* Bytes are missing in direction dir. What was in flight there cannot be trusted. */
static void http1_gap(void *s, uint8_t dir)
{
	struct http1_session *h = s;
	struct http1_dir *hd = &h->dir[dir & 1];

	if (hd->head_is_request || !h->pend_head) {
		/* whole requests may have been lost: keep later responses from pairing wrongly */
		if (!hd->in_body)
			lost_request(h, dir);
	} else {
		/* responses may have been lost: none of the waiting requests can be paired */
		finish_pending(h, h->flow->last_ts);
	}
	hd->in_body = false;
	http1_parser__gap(&hd->parser);
}

static void http1_close(void *s, uint64_t ts)
{
	struct http1_session *h = s;

	http1_parser__close(&h->dir[ZT_DIR_READ].parser, ts);
	http1_parser__close(&h->dir[ZT_DIR_WRITE].parser, ts);
	finish_pending(h, ts);
}

static void http1_free(void *s)
{
	struct http1_session *h = s;
	struct pending *p, *next;

	for (p = h->pend_head; p; p = next) {
		next = p->next;
		span__free(p->span);
		pending_free(h, p);
	}
	http1_parser__free(&h->dir[0].parser);
	http1_parser__free(&h->dir[1].parser);
	free(h);
}

const struct session_ops http1_session_ops = {
    .name = "http1",
    .open = http1_open,
    .feed = http1_feed,
    .gap = http1_gap,
    .close = http1_close,
    .free = http1_free,
};
