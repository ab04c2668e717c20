// SPDX-License-Identifier: BSD-2-Clause
/*
 * The HTTP/2 session: a connection's streams → SERVER and CLIENT spans, one per stream, from the
 * first HEADERS to the END_STREAM (or RST_STREAM) of the response. gRPC calls are named after
 * their method and take their status from the trailers; a streaming call is one span.
 */
#include <stdlib.h>
#include <string.h>
#include "trace/correlate.h"
#include "trace/gohttp.h"
#include "session/httpattrs.h"
#include "proto/http2.h"
#include "session/session.h"

#define H2_MAX_STREAMS 1024 /* open streams kept per connection; the oldest goes first */

struct h2_stream {
	uint32_t id;
	uint8_t req_dir; /* direction the request went: READ = this process serves it */
	bool responded;	 /* response headers seen */
	bool grpc;
	bool incomplete;      /* its request headers could not all be decoded */
	int grpc_status;      /* -1 until the trailers (or a trailers-only response) */
	uint32_t msgs[2];     /* gRPC messages by direction */
	uint32_t msg_left[2]; /* bytes of the current gRPC message still to come */
	bool msgs_lower_bound[2];
	struct span *span; /* NULL: not traced (not selected, or the application traces it) */
	struct h2_stream *next;
};

struct h2_side {
	struct http2_session *h;
	uint8_t dir;
};

struct http2_session {
	struct flow *flow;
	struct span_builder *b;
	struct h2_parser parser[2];
	struct h2_side side[2];
	uint32_t seq_base[2];	   /* TCP sequence number of stream offset 0, per direction */
	struct h2_stream *streams; /* newest first */
	uint32_t nstreams;
};

static const struct h2_callbacks h2_span_callbacks;

static void *http2_open(struct flow *f, struct span_builder *b)
{
	struct http2_session *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->flow = f;
	h->b = b;
	for (int d = 0; d < 2; d++) {
		h->side[d] = (struct h2_side){h, d};
		/* a connection the kernel saw accepted or connected is seen from its first byte */
		h2_parser__init(&h->parser[d], &h2_span_callbacks, &h->side[d],
				f->role != ZT_ROLE_UNKNOWN);
	}
	return h;
}

static void stream_free(struct h2_stream *st)
{
	span__free(st->span);
	free(st);
}

static void http2_free(void *session)
{
	struct http2_session *h = session;
	struct h2_stream *st, *next;

	for (st = h->streams; st; st = next) {
		next = st->next;
		stream_free(st);
	}
	h2_parser__free(&h->parser[0]);
	h2_parser__free(&h->parser[1]);
	free(h);
}

static struct h2_stream *find(struct http2_session *h, uint32_t id)
{
	for (struct h2_stream *st = h->streams; st; st = st->next)
		if (st->id == id)
			return st;
	return NULL;
}

static void unlink_stream(struct http2_session *h, struct h2_stream *st)
{
	struct h2_stream **pp = &h->streams;

	while (*pp && *pp != st)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = st->next;
		h->nstreams--;
	}
}

static bool grpc_server_error(int code)
{
	/* the gRPC semantic conventions: on the server side, only these are the server's fault */
	return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
}

/* The stream is over: its span ends at ts. */
static void finish(struct http2_session *h, struct h2_stream *st, uint64_t ts, bool incomplete)
{
	struct span *s = st->span;
	uint8_t req = st->req_dir;

	unlink_stream(h, st);
	st->span = NULL;
	if (s && st->grpc) {
		span__set_int(s, "zerotrace.rpc.request_messages", st->msgs[req]);
		span__set_int(s, "zerotrace.rpc.response_messages", st->msgs[!req]);
		if (st->msgs_lower_bound[0] || st->msgs_lower_bound[1])
			span__set_bool(s, "zerotrace.rpc.message_counts_lower_bound", true);
		if (st->grpc_status >= 0) {
			span__set_int(s, "rpc.grpc.status_code", st->grpc_status);
			if (s->kind == SPAN_KIND_CLIENT ? st->grpc_status != 0
							: grpc_server_error(st->grpc_status))
				s->status = SPAN_STATUS_ERROR;
		} else {
			s->status = SPAN_STATUS_ERROR; /* ended without a status: reset or cut */
		}
	}
	if (s)
		spanbuild__end(h->b, s, ts, incomplete || st->incomplete);
	free(st);
}

/* Every open stream ends now, incomplete. */
static void close_streams(struct http2_session *h, uint64_t ts)
{
	while (h->streams)
		finish(h, h->streams, ts, true);
}

static void set_grpc_attrs(struct span *s, struct h2_str path)
{
	const char *slash;

	/* "/package.Service/Method" */
	if (path.len < 2 || path.p[0] != '/')
		return;
	span__set_name(s, path.p + 1, path.len - 1);
	span__set_str(s, "rpc.system", "grpc", 4);
	slash = memchr(path.p + 1, '/', path.len - 1);
	if (!slash)
		return;
	span__set_str(s, "rpc.service", path.p + 1, slash - path.p - 1);
	span__set_str(s, "rpc.method", slash + 1, path.p + path.len - slash - 1);
}

static bool is_grpc(struct h2_str ct)
{
	return ct.len >= 16 && !memcmp(ct.p, "application/grpc", 16);
}

/* The task a stream's span is in. Go's HTTP/2 stacks read and write every stream from
 * goroutines of the connection, not of the request. A server stream's handler goroutine, created
 * by the reader, is put in the stream's context when it starts (correlator__h2_stream_handler);
 * a grpc-go client stream's writer was handed it by its caller (gohttp.h). Any other: no
 * in-process link rather than a wrong one. */
static uint64_t stream_task(struct http2_session *h, const struct span *s, uint32_t stream)
{
	struct flow *f = h->flow;
	uint64_t caller;

	if (!(f->task & TASK_GOROUTINE))
		return f->task;
	if (s->kind == SPAN_KIND_SERVER)
		return 0;
	caller = gohttp__h2_caller(h->b->gohttp, f->id.pid, f->g, stream);
	if (!caller) {
		h->b->stats.go_h2_unlinked++;
		return 0;
	}
	h->b->stats.go_h2_linked++;
	return task_of_goroutine(f->id.pid, caller);
}

/* A request's HEADERS: a new stream, and its span. */
static void start_stream(struct http2_session *h, uint8_t dir, const struct h2_headers *hd)
{
	struct flow *f = h->flow;
	struct join_key key = {
	    .seq = h->seq_base[dir] + (uint32_t)hd->pos,
	    .head_hash = hd->hash,
	    .tuple = &f->tuple,
	};
	struct h2_stream *st;
	struct span *s;

	if (h->nstreams >= H2_MAX_STREAMS) {
		struct h2_stream *old = h->streams;

		while (old->next)
			old = old->next;
		h->b->stats.h2_streams_evicted++;
		finish(h, old, f->last_ts, true);
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return;
	st->id = hd->stream;
	st->req_dir = dir;
	st->grpc_status = -1;
	st->grpc = is_grpc(hd->content_type);
	st->incomplete = !hd->fields_complete;
	st->next = h->streams;
	h->streams = st;
	h->nstreams++;

	s = spanbuild__start(h->b, f, dir == ZT_DIR_READ ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT,
			     hd->ts);
	if (!s)
		return;
	if (hd->method.len && hd->path.len) {
		struct http_request_fields req = {
		    .method = hd->method.p,
		    .method_len = hd->method.len,
		    .target = hd->path.p,
		    .target_len = hd->path.len,
		    .host = hd->authority.p,
		    .host_len = hd->authority.len,
		    .user_agent = hd->user_agent.p,
		    .user_agent_len = hd->user_agent.len,
		    .version = "2",
		};

		http_request_attrs(f, s, &req);
		if (st->grpc)
			set_grpc_attrs(s, hd->path);
	} else {
		/* joined mid-stream: the request's fields are not knowable, and are not guessed */
		span__set_name(s, "HTTP/2", 6);
		span__set_str(s, "network.protocol.version", "2", 1);
		if (flow__has_addrs(f)) {
			flow__format_addrs(f);
			span__set_str(s, "network.peer.address", f->peer_str, f->peer_len);
			span__set_int(s, "network.peer.port", f->tuple.dport);
		}
	}
	span__set_int(s, "zerotrace.http2.stream_id", hd->stream);
	if (!spanbuild__identify(h->b, f, s, stream_task(h, s, hd->stream), &key, hd->traceparent.p,
				 hd->traceparent.len, hd->tracestate.p, hd->tracestate.len))
		return;
	/* Go's HTTP/2 servers: the reader goroutine read this stream's request */
	if (s->kind == SPAN_KIND_SERVER && (f->task & TASK_GOROUTINE))
		correlator__h2_stream_read(h->b->corr, f->task, hd->stream, s);
	st->span = s;
}

static void on_headers(void *ctx, const struct h2_headers *hd)
{
	struct h2_side *side = ctx;
	struct http2_session *h = side->h;
	struct h2_stream *st = find(h, hd->stream);
	struct span *s;

	if (!st) {
		uint8_t role = h->flow->role;
		/* requests go client → server: a known role says which way they can go */
		bool request_dir = role == ZT_ROLE_UNKNOWN ||
				   (role == ZT_ROLE_CLIENT) == (side->dir == ZT_DIR_WRITE);

		/* client-initiated streams are odd; a response to a request never seen (sent
		 * before the agent looked) has nothing to pair with */
		if (!(hd->stream & 1) || !request_dir || hd->status ||
		    (hd->fields_complete && !hd->method.len)) {
			if (hd->status)
				h->b->stats.unmatched_responses++;
			return;
		}
		start_stream(h, side->dir, hd);
		return;
	}
	if (side->dir == st->req_dir)
		return; /* request trailers */
	s = st->span;
	if (hd->grpc_status >= 0)
		st->grpc_status = hd->grpc_status;
	if (!st->responded) {
		st->responded = true;
		if (!st->grpc && is_grpc(hd->content_type) && s) {
			st->grpc = true; /* the request's content-type was not decodable */
		}
		if (s && s->kind == SPAN_KIND_CLIENT)
			spanbuild__response(h->b, h->flow, s);
		if (s && hd->status)
			http_response_status(s, hd->status);
	}
	if (s && hd->grpc_message.len)
		span__set_str(s, "zerotrace.rpc.grpc_message", hd->grpc_message.p,
			      hd->grpc_message.len);
	if (hd->end_stream)
		finish(h, st, hd->ts, false);
}

/* gRPC messages: a 5-byte prefix (flag, length) per message, anywhere in the DATA frames. The
 * kernel ships each frame's first bytes only, so a frame that starts a message is counted
 * exactly; one holding the starts of more messages makes the count a lower bound. */
static void count_messages(struct h2_stream *st, uint8_t dir, uint32_t len, const uint8_t *prefix,
			   size_t n)
{
	uint64_t left = st->msg_left[dir];

	if (!len)
		return;
	if (!left) {
		if (n < ZT_H2_GRPC_PREFIX) {
			st->msgs_lower_bound[dir] = true;
			return;
		}
		left = ZT_H2_GRPC_PREFIX +
		       ((uint64_t)prefix[1] << 24 | prefix[2] << 16 | prefix[3] << 8 | prefix[4]);
		st->msgs[dir]++;
	}
	if (len > left) {
		st->msgs[dir]++;
		st->msgs_lower_bound[dir] = true;
		left = 0;
	} else {
		left -= len;
	}
	st->msg_left[dir] = left;
}

static void on_data(void *ctx, uint32_t stream, uint32_t len, bool end_stream,
		    const uint8_t *prefix, size_t n, uint64_t ts)
{
	struct h2_side *side = ctx;
	struct h2_stream *st = find(side->h, stream);

	if (!st)
		return;
	if (st->grpc)
		count_messages(st, side->dir, len, prefix, n);
	if (end_stream && side->dir != st->req_dir)
		finish(side->h, st, ts, false);
}

static const char *const h2_errors[] = {
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "INTERNAL_ERROR",
    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",
    "FRAME_SIZE_ERROR",
    "REFUSED_STREAM",
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY",
    "HTTP_1_1_REQUIRED",
};

static void on_rst_stream(void *ctx, uint32_t stream, uint32_t code, uint64_t ts)
{
	struct h2_side *side = ctx;
	struct h2_stream *st = find(side->h, stream);

	if (!st)
		return;
	if (st->span && code) {
		const char *name = code < sizeof(h2_errors) / sizeof(h2_errors[0]) ? h2_errors[code]
										   : "RST_STREAM";

		span__set_str(st->span, "error.type", name, strlen(name));
		st->span->status = SPAN_STATUS_ERROR;
	}
	finish(side->h, st, ts, false);
}

static void on_goaway(void *ctx, uint32_t last_stream, uint32_t code, uint64_t ts)
{
	struct h2_side *side = ctx;
	struct h2_stream *st, *next;

	/* streams the GOAWAY's receiver opened past last_stream were never processed */
	for (st = side->h->streams; st; st = next) {
		next = st->next;
		if (st->req_dir != side->dir && st->id > last_stream)
			finish(side->h, st, ts, true);
	}
	(void)code;
}

static void on_table_size(void *ctx, uint32_t size)
{
	struct h2_side *side = ctx;

	/* the sender of these SETTINGS decodes the other direction */
	h2_parser__set_table_size(&side->h->parser[!side->dir], size);
}

static void on_lost(void *ctx)
{
	struct h2_side *side = ctx;

	/* frames of open streams may be among the lost bytes: their ends would never come */
	close_streams(side->h, side->h->flow->last_ts);
}

static const struct h2_callbacks h2_span_callbacks = {
    .on_headers = on_headers,
    .on_data = on_data,
    .on_rst_stream = on_rst_stream,
    .on_goaway = on_goaway,
    .on_table_size = on_table_size,
    .on_lost = on_lost,
};

static void http2_feed(void *session, uint8_t dir, const uint8_t *segments, size_t captured,
		       size_t total, size_t skip, uint32_t seq, uint64_t ts)
{
	struct http2_session *h = session;
	struct h2_parser *p = &h->parser[dir & 1];

	h->seq_base[dir & 1] = seq - (uint32_t)(p->pos - skip);
	h2_parser__feed(p, segments, captured, total, skip, ts);
}

static void http2_gap(void *session, uint8_t dir)
{
	struct http2_session *h = session;

	h2_parser__gap(&h->parser[dir & 1]);
}

static void http2_close(void *session, uint64_t ts)
{
	close_streams(session, ts);
}

const struct session_ops http2_session_ops = {
    .name = "http2",
    .open = http2_open,
    .feed = http2_feed,
    .gap = http2_gap,
    .close = http2_close,
    .free = http2_free,
};
