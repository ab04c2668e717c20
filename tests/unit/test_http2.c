// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/2 and gRPC: real captured connections (curl →
 * nginx, python grpcio ⇄ Go grpc, tests/unit/data/) replayed through the tracer from both ends
 * the way the kernel ships them — frame segments, cut into events of many sizes — and the spans
 * checked: names, rpc.* attributes, status, message counts, and the same-node join per stream.
 */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "event_builder.h"
#include "h2_segments.h"
#include "proto/http2.h"

#define DATA_DIR    "tests/unit/data/"
#define PREFACE_LEN 24

/* ---- the kernel's segments, from a whole captured direction ---- */

struct stream_bytes {
	uint8_t *p;
	size_t len;
	size_t start; /* first frame (after the client preface) */
};

static struct stream_bytes load(const char *name)
{
	struct stream_bytes s = {};
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	s.p = malloc(65536);
	s.len = fread(s.p, 1, 65536, f);
	fclose(f);
	if (s.len >= PREFACE_LEN && !memcmp(s.p, "PRI * HTTP/2.0", 14))
		s.start = PREFACE_LEN;
	return s;
}

struct end {
	uint32_t pid;
	int fd;
	uint8_t role;
	struct zt_tuple tuple;
	uint32_t seq[2]; /* TCP sequence number of each direction's byte 0 */
};

static uint64_t now_ts = 1000000;

static void feed(struct tracer *t, const struct end *e, uint8_t dir, const struct stream_bytes *s,
		 size_t a, size_t b)
{
	static uint8_t buf[sizeof(struct zt_data_event) + 200000];
	struct zt_data_event *ev = (void *)buf;
	size_t n = h2_segments_for(s->p, s->start, s->len, a, b, (uint8_t *)(ev + 1));

	assert_int_equal(replay_conn_info(t, e->pid, e->pid, e->fd, 7, &e->tuple, e->role), 0);
	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = ZT_EV_DATA;
	ev->hdr.len = sizeof(*ev) + n;
	ev->hdr.pid = e->pid;
	ev->hdr.tid = e->pid;
	ev->hdr.ts = now_ts += 1000;
	ev->conn = (struct zt_conn_id){.pid = e->pid, .fd = e->fd, .gen = 7};
	ev->seq = e->seq[dir] + (uint32_t)a;
	ev->bytes = b - a;
	ev->captured = n;
	ev->dir = dir;
	ev->role = e->role;
	ev->proto = ZT_PROTO_HTTP2;
	ev->flags = ZT_DATA_F_SEGMENTS;
	assert_int_equal(tracer__handle(t, buf, sizeof(*ev) + n), 0);
}

/*
 * Replays a captured connection from both ends, client and server as two processes on this
 * node: every chunk of the client's bytes is written by the client, then read by the server;
 * then the server's bytes the same way. chunks: event sizes, cycled (0: one event each way).
 * from: where in each direction the ends start looking (a mid-stream join when non-zero).
 */
static void replay_bytes(struct tracer *t, const struct stream_bytes *c2s,
			 const struct stream_bytes *s2c, const size_t *chunks, size_t nchunks,
			 size_t from_c2s, size_t from_s2c, uint8_t role_known)
{
	struct end client = {.pid = getpid(),
			     .fd = 5,
			     .role = role_known ? ZT_ROLE_CLIENT : 0,
			     .tuple = make_tuple("127.0.0.1", 41000, "127.0.0.1", 50051),
			     .seq = {[ZT_DIR_WRITE] = 1000, [ZT_DIR_READ] = 900000}};
	struct end server = {.pid = getpid() + 1,
			     .fd = 6,
			     .role = role_known ? ZT_ROLE_SERVER : 0,
			     .tuple = make_tuple("127.0.0.1", 50051, "127.0.0.1", 41000),
			     .seq = {[ZT_DIR_READ] = 1000, [ZT_DIR_WRITE] = 900000}};

	for (int d = 0; d < 2; d++) {
		const struct stream_bytes *s = d ? s2c : c2s;
		const struct end *w = d ? &server : &client, *r = d ? &client : &server;
		size_t pos = d ? from_s2c : from_c2s, k = 0;

		while (pos < s->len) {
			size_t n = nchunks ? chunks[k++ % nchunks] : s->len;
			size_t end = pos + n < s->len ? pos + n : s->len;

			feed(t, w, ZT_DIR_WRITE, s, pos, end);
			feed(t, r, ZT_DIR_READ, s, pos, end);
			pos = end;
		}
	}
}

static void replay(struct tracer *t, const char *name, const size_t *chunks, size_t nchunks,
		   size_t from_c2s, size_t from_s2c, uint8_t role_known)
{
	struct stream_bytes c2s, s2c;
	char path[128];

	snprintf(path, sizeof(path), "%s.c2s.bin", name);
	c2s = load(path);
	snprintf(path, sizeof(path), "%s.s2c.bin", name);
	s2c = load(path);
	replay_bytes(t, &c2s, &s2c, chunks, nchunks, from_c2s, from_s2c, role_known);
	free(c2s.p);
	free(s2c.p);
}

/* ---- span checks ---- */

static const struct attr *attr(const struct span *s, const char *key)
{
	return span__attr(s, key);
}

static const char *attr_str(const struct span *s, const char *key)
{
	const struct attr *a = attr(s, key);

	return a && a->type == ATTR_STR ? a->str : NULL;
}

static int64_t attr_int(const struct span *s, const char *key, int64_t dflt)
{
	const struct attr *a = attr(s, key);

	return a && a->type == ATTR_INT ? a->i : dflt;
}

struct fixture {
	struct tracer *t;
	struct collected out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->t = replay_tracer_new(&f->out);
	assert_non_null(f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	replay_tracer_free(f->t, &f->out);
	free(f);
	return 0;
}

static const struct span *find_span(const struct collected *out, enum span_kind kind,
				    int64_t stream)
{
	for (int i = 0; i < out->n; i++)
		if (out->spans[i]->kind == kind &&
		    attr_int(out->spans[i], "zerotrace.http2.stream_id", -1) == stream)
			return out->spans[i];
	return NULL;
}

/* Server span of each stream is the child of the client span of the same stream. */
static void assert_joined(const struct collected *out, int64_t stream)
{
	const struct span *c = find_span(out, SPAN_KIND_CLIENT, stream);
	const struct span *s = find_span(out, SPAN_KIND_SERVER, stream);

	assert_non_null(c);
	assert_non_null(s);
	assert_memory_equal(s->ctx.trace_id, c->ctx.trace_id, 16);
	assert_true(s->has_parent);
	assert_memory_equal(s->parent_id, c->ctx.span_id, 8);
}

/* python grpcio client → Go server, 4 concurrent calls: the plan of apps/grpc_py.py */
static void check_grpc_plan(const struct collected *out, int unary_ok, int stream_msgs)
{
	int calls = unary_ok + 2 + 2, seen_status[16] = {}, streams = 0, server_errors = 0,
	    client_errors = 0;

	assert_int_equal(out->n, 2 * calls);
	for (int i = 0; i < out->n; i++) {
		const struct span *s = out->spans[i];
		const char *name = s->name;
		int64_t code = attr_int(s, "rpc.grpc.status_code", -1);

		assert_false(s->incomplete);
		assert_string_equal(attr_str(s, "rpc.system"), "grpc");
		assert_string_equal(attr_str(s, "rpc.service"), "zt.test.Echo");
		assert_string_equal(attr_str(s, "network.protocol.version"), "2");
		assert_int_equal(attr_int(s, "http.response.status_code", 0), 200);
		assert_true(code >= 0 && code < 16);
		if (s->kind == SPAN_KIND_SERVER)
			seen_status[code]++;
		if (!strcmp(name, "zt.test.Echo/ServerStream")) {
			assert_string_equal(attr_str(s, "rpc.method"), "ServerStream");
			assert_int_equal(attr_int(s, "zerotrace.rpc.request_messages", -1), 1);
			assert_int_equal(attr_int(s, "zerotrace.rpc.response_messages", -1),
					 code == 0 ? stream_msgs : 2);
			streams++;
		} else {
			assert_string_equal(name, "zt.test.Echo/Unary");
			assert_string_equal(attr_str(s, "rpc.method"), "Unary");
			assert_int_equal(attr_int(s, "zerotrace.rpc.request_messages", -1), 1);
			assert_int_equal(attr_int(s, "zerotrace.rpc.response_messages", -1),
					 code == 0 ? 1 : 0);
		}
		if (s->status == SPAN_STATUS_ERROR)
			*(s->kind == SPAN_KIND_SERVER ? &server_errors : &client_errors) += 1;
	}
	assert_int_equal(streams, 4);
	assert_int_equal(seen_status[0], unary_ok + 1);
	assert_int_equal(seen_status[5], 1);  /* NOT_FOUND */
	assert_int_equal(seen_status[13], 1); /* INTERNAL */
	assert_int_equal(seen_status[10], 1); /* ABORTED */
	/* semantic conventions: a server's span is an error only for its own faults */
	assert_int_equal(server_errors, 1);
	assert_int_equal(client_errors, 3);
}

static const size_t odd_chunks[] = {7, 13, 64, 200, 1, 3};
static const size_t one_byte[] = {1};

static void test_grpc_python_to_go(void **state)
{
	struct fixture *f = *state;

	/* many frames per write: each direction in a single event */
	replay(f->t, "grpcpy_go", NULL, 0, 0, 0, 1);
	tracer__flush(f->t);
	check_grpc_plan(&f->out, 5, 3);
	for (int64_t id = 1; id <= 17; id += 2)
		assert_joined(&f->out, id);
}

static void test_grpc_go_to_python_split_reads(void **state)
{
	struct fixture *f = *state;

	/* frame headers and header blocks cut at every odd place */
	replay(f->t, "grpcgo_py", odd_chunks, 6, 0, 0, 1);
	tracer__flush(f->t);
	check_grpc_plan(&f->out, 5, 3);
	assert_int_equal(f->t->stats.seq_gaps, 0);
}

static void test_grpc_byte_at_a_time(void **state)
{
	struct fixture *f = *state;

	replay(f->t, "grpcpy_go", one_byte, 1, 0, 0, 1);
	tracer__flush(f->t);
	check_grpc_plan(&f->out, 5, 3);
}

static void test_curl_nginx(void **state)
{
	struct fixture *f = *state;
	const struct span *s, *c;

	replay(f->t, "curl_nginx", odd_chunks, 6, 0, 0, 1);
	tracer__flush(f->t);
	/* curl sent a traceparent of its own making: that is the client span (rule 4), none is
	 * made for it, and the server joins the caller's trace through the header */
	assert_int_equal(f->out.n, 1);
	s = find_span(&f->out, SPAN_KIND_SERVER, 1);
	c = find_span(&f->out, SPAN_KIND_CLIENT, 1);
	assert_non_null(s);
	assert_null(c);
	assert_memory_equal(s->ctx.trace_id,
			    "\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36", 16);
	assert_true(s->has_parent);
	assert_memory_equal(s->parent_id, "\x00\xf0\x67\xaa\x0b\xa9\x02\xb7", 8);
	assert_int_equal(f->t->build.stats.spans_started, 1);
	assert_string_equal(s->name, "GET /users/{id}");
	assert_string_equal(attr_str(s, "http.route"), "/users/{id}");
	assert_string_equal(attr_str(s, "url.path"), "/users/42");
	assert_string_equal(attr_str(s, "url.query"), "x=1");
	assert_string_equal(attr_str(s, "http.request.method"), "GET");
	assert_string_equal(attr_str(s, "server.address"), "127.0.0.1");
	assert_string_equal(attr_str(s, "user_agent.original"), "curl/7.88.1");
	assert_string_equal(attr_str(s, "network.protocol.version"), "2");
	assert_int_equal(attr_int(s, "http.response.status_code", 0), 200);
	assert_null(attr(s, "rpc.system"));
	assert_false(s->incomplete);
}

/* Joined mid-stream: the dynamic tables are unknowable. Spans still come, with what could be
 * decoded; nothing decoded is wrong, and what is missing is marked incomplete. */
static void test_midstream_join(void **state)
{
	struct fixture *f = *state;
	struct stream_bytes c2s = load("grpcpy_go.c2s.bin"), s2c = load("grpcpy_go.s2c.bin");
	size_t from[2] = {0, 0};
	int complete = 0;

	/* start at the third request's HEADERS and the matching point of the responses */
	for (int d = 0; d < 2; d++) {
		const struct stream_bytes *s = d ? &s2c : &c2s;
		int headers = 0;

		for (size_t p = s->start; p + 9 <= s->len;
		     p += 9 + ((uint32_t)s->p[p] << 16 | s->p[p + 1] << 8 | s->p[p + 2])) {
			if (s->p[p + 3] == 1 && ++headers == (d ? 5 : 3)) {
				from[d] = p;
				break;
			}
		}
		assert_true(from[d] > 0);
	}
	free(c2s.p);
	free(s2c.p);
	replay(f->t, "grpcpy_go", odd_chunks, 6, from[0], from[1], 0);
	tracer__flush(f->t);
	assert_true(f->out.n >= 6);
	for (int i = 0; i < f->out.n; i++) {
		const struct span *s = f->out.spans[i];
		const char *m = attr_str(s, "rpc.method");

		if (m)
			assert_true(!strcmp(m, "Unary") || !strcmp(m, "ServerStream"));
		if (!s->incomplete) {
			complete++;
			assert_non_null(m);
		} else {
			const struct attr *a = attr(s, "zerotrace.incomplete");

			assert_non_null(a);
			assert_true(a->b);
		}
	}
	/* gRPC's request blocks refer to fields indexed before the join: none decode fully */
	assert_int_equal(complete, 0);
}

/* A request header block in HEADERS + two CONTINUATIONs, fed a byte at a time. */
static void test_continuation_over_reads(void **state)
{
	struct fixture *f = *state;
	uint8_t block[64], c2s[256], s2c[64];
	size_t bl = unhex("828684410f7777772e6578616d706c652e636f6d", block), n = 0, m = 0;
	const size_t cut[] = {0, 3, 9, bl};
	struct stream_bytes cs = {.p = c2s, .start = PREFACE_LEN}, sc = {.p = s2c};
	const struct span *s;

	memcpy(c2s, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", PREFACE_LEN);
	n = PREFACE_LEN;
	memcpy(c2s + n, "\0\0\0\x04\0\0\0\0\0", 9); /* SETTINGS */
	n += 9;
	for (int i = 0; i < 3; i++) {
		size_t len = cut[i + 1] - cut[i];
		uint8_t type = i ? 9 : 1, flags = (i == 2 ? 0x4 : 0) | (i == 0 ? 0x1 : 0);
		uint8_t h[9] = {0, 0, len, type, flags, 0, 0, 0, 1};

		memcpy(c2s + n, h, 9);
		memcpy(c2s + n + 9, block + cut[i], len);
		n += 9 + len;
	}
	memcpy(s2c, "\0\0\0\x04\0\0\0\0\0", 9);
	m = 9;
	memcpy(s2c + m, "\0\0\x01\x01\x05\0\0\0\x01\x88", 10); /* :status 200, END_STREAM */
	m += 10;
	cs.len = n;
	sc.len = m;
	replay_bytes(f->t, &cs, &sc, one_byte, 1, 0, 0, 1);
	tracer__flush(f->t);
	assert_int_equal(f->out.n, 2);
	s = find_span(&f->out, SPAN_KIND_SERVER, 1);
	assert_non_null(s);
	assert_string_equal(s->name, "GET /");
	assert_string_equal(attr_str(s, "server.address"), "www.example.com");
	assert_int_equal(attr_int(s, "http.response.status_code", 0), 200);
	assert_false(s->incomplete);
	assert_joined(&f->out, 1);
}

static size_t put_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t stream,
			const uint8_t *payload, size_t len)
{
	uint8_t h[9] = {len >> 16,    len >> 8,	    len,	 type,	flags,
			stream >> 24, stream >> 16, stream >> 8, stream};

	memcpy(out, h, 9);
	if (len)
		memcpy(out + 9, payload, len);
	return 9 + len;
}

/* RST_STREAM ends a stream as an error named after its code; a GOAWAY ends the streams it
 * refused (past its last stream id) incomplete. */
static void test_rst_stream_and_goaway(void **state)
{
	struct fixture *f = *state;
	uint8_t block[64], c2s[256], s2c[64];
	size_t bl = unhex("828684410f7777772e6578616d706c652e636f6d", block), n, m;
	static const uint8_t cancel[4] = {0, 0, 0, 8}, goaway[8] = {0, 0, 0, 1, 0, 0, 0, 0};
	static const uint8_t again[] = {0x82, 0x86, 0x84, 0xbe}; /* same request, indexed */
	struct stream_bytes cs = {.p = c2s, .start = PREFACE_LEN}, sc = {.p = s2c};
	const struct span *s;

	memcpy(c2s, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", PREFACE_LEN);
	n = PREFACE_LEN;
	n += put_frame(c2s + n, 4, 0, 0, NULL, 0);
	n += put_frame(c2s + n, 1, 0x5, 1, block, bl);
	n += put_frame(c2s + n, 1, 0x5, 3, again, sizeof(again));
	n += put_frame(c2s + n, 3, 0, 1, cancel, sizeof(cancel));
	m = put_frame(s2c, 4, 0, 0, NULL, 0);
	m += put_frame(s2c + m, 7, 0, 0, goaway, sizeof(goaway));
	cs.len = n;
	sc.len = m;
	replay_bytes(f->t, &cs, &sc, odd_chunks, 6, 0, 0, 1);
	assert_int_equal(f->out.n, 4); /* every stream ended before the connection did */
	for (int k = 0; k < 2; k++) {
		enum span_kind kind = k ? SPAN_KIND_SERVER : SPAN_KIND_CLIENT;

		s = find_span(&f->out, kind, 1);
		assert_non_null(s);
		assert_string_equal(s->name, "GET /");
		assert_int_equal(s->status, SPAN_STATUS_ERROR);
		assert_string_equal(attr_str(s, "error.type"), "CANCEL");
		assert_false(s->incomplete);
		s = find_span(&f->out, kind, 3);
		assert_non_null(s);
		assert_string_equal(s->name, "GET /");
		assert_true(s->incomplete);
	}
	assert_joined(&f->out, 1);
	assert_joined(&f->out, 3);
}

/* Bytes lost in the middle: streams open then end incomplete, later ones still come, and the
 * HPACK table, now unknowable, is not trusted again. */
static void test_gap_ends_open_streams(void **state)
{
	struct fixture *f = *state;
	struct stream_bytes c2s = load("grpcpy_go.c2s.bin");
	struct end server = {.pid = getpid() + 1,
			     .fd = 6,
			     .role = ZT_ROLE_SERVER,
			     .tuple = make_tuple("127.0.0.1", 50051, "127.0.0.1", 41000),
			     .seq = {[ZT_DIR_READ] = 1000, [ZT_DIR_WRITE] = 900000}};
	size_t half = c2s.len / 2;

	feed(f->t, &server, ZT_DIR_READ, &c2s, 0, half);
	/* the next 40 bytes never arrive */
	feed(f->t, &server, ZT_DIR_READ, &c2s, half + 40, c2s.len);
	tracer__flush(f->t);
	assert_int_equal(f->t->stats.seq_gaps, 1);
	assert_true(f->out.n >= 1);
	for (int i = 0; i < f->out.n; i++)
		assert_true(f->out.spans[i]->incomplete); /* no response was read at all */
	free(c2s.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_grpc_python_to_go, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grpc_go_to_python_split_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grpc_byte_at_a_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_curl_nginx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_midstream_join, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_continuation_over_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gap_ends_open_streams, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rst_stream_and_goaway, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
