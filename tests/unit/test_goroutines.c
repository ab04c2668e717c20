// SPDX-License-Identifier: BSD-2-Clause
/* Goroutine context on replayed event sequences of a Go process the agent follows: requests
 * served by goroutines, calls made from goroutines they created, written by net/http's
 * writeLoop goroutine on a pooled connection; recycled goroutines; a process not followed. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include "trace/correlate.h"
#include "event_builder.h"
#include "capture/gofollow.h"
#include "h2_segments.h"

static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/* goroutine structures (their addresses are all the agent knows of them) */
enum {
	G_SERVE1 = 0xc000100000,
	G_SERVE2 = 0xc000200000,
	G_CHILD = 0xc000300000,
	G_WRITER = 0xc000400000,
	G_IDLE = 0xc000500000
};
enum { REQ1 = 0xc000a00000, REQ2 = 0xc000b00000, REQ_UNSEEN = 0xc000c00000 };
/* grpc-go header lists */
enum { HF1 = 0xc000d00000, HF2 = 0xc000e00000, HF3 = 0xc000f00000 };
#define TID 42 /* one thread runs every goroutine: a thread rule would link everything */

struct fixture {
	struct tracer *t;
	struct gofollow *go;
	struct collected out;
	char root[64];
	uint32_t pid;
	uint32_t seq[16];
	nghttp2_hd_deflater *hpack[16]; /* HTTP/2 connections' encoders, by fd */
};

/* A fake /proc whose PID/exe is the Go binary the Makefile built (ZT_TEST_GO_BINARY). */
static int setup_with(void **state, bool follow)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *bin = getenv("ZT_TEST_GO_BINARY");
	char dir[PATH_MAX - 8], link[PATH_MAX];

	assert_non_null(bin);
	f->pid = getpid();
	snprintf(f->root, sizeof(f->root), "/tmp/zt-goproc-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(dir, sizeof(dir), "%s/%u", f->root, f->pid);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(link, sizeof(link), "%s/exe", dir);
	assert_int_equal(symlink(bin, link), 0);
	f->t = replay_tracer_new(&f->out);
	f->go = gofollow__new(NULL, f->root, follow);
	assert_non_null(f->t);
	assert_non_null(f->go);
	f->t->go = f->go;
	gofollow__exec(f->go, f->pid);
	assert_int_equal(gofollow__state(f->go, f->pid), follow ? GO_FOLLOWED : GO_UNFOLLOWED);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, true);
}

static int setup_unfollowed(void **state)
{
	return setup_with(state, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	replay_tracer_free(f->t, &f->out);
	gofollow__free(f->go);
	for (int i = 0; i < 16; i++)
		if (f->hpack[i])
			nghttp2_hd_deflate_del(f->hpack[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Bytes on connection fd (its own port), by goroutine g. */
static void io(struct fixture *f, uint64_t g, int fd, bool server, uint8_t dir, const char *p)
{
	struct zt_tuple tuple = server ? make_tuple("127.0.0.1", 8080, "127.0.0.1", 50000 + fd)
				       : make_tuple("127.0.0.1", 40000 + fd, "127.0.0.1", 9090);
	uint32_t *seq = &f->seq[fd * 2 + dir];

	replay_g = g;
	assert_int_equal(replay_data(f->t, f->pid, TID, fd, 100 + fd, &tuple, dir, *seq, 1, p), 0);
	*seq += strlen(p);
}

static void request(struct fixture *f, uint64_t g, int fd, bool server, const char *path)
{
	char head[128];

	snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
	io(f, g, fd, server, server ? ZT_DIR_READ : ZT_DIR_WRITE, head);
}

static void response(struct fixture *f, uint64_t g, int fd, bool server)
{
	io(f, g, fd, server, server ? ZT_DIR_WRITE : ZT_DIR_READ, ok);
}

static void go_event(struct fixture *f, uint16_t type, uint64_t subject, uint64_t object)
{
	assert_int_equal(replay_go(f->t, f->pid, type, subject, object), 0);
}

/* HTTP/2 frames on client connection fd by goroutine g; each direction starts with its SETTINGS
 * (the client's after its preface), as every connection does. */
static void h2_io(struct fixture *f, uint64_t g, int fd, uint8_t dir, const uint8_t *frames,
		  size_t len)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	static const uint8_t settings[9] = {0, 0, 0, 0x4};
	static uint8_t buf[sizeof(struct zt_data_event) + 4096], bytes[2048];
	struct zt_tuple tuple = make_tuple("127.0.0.1", 40000 + fd, "127.0.0.1", 9090);
	struct zt_data_event *ev = (void *)buf;
	uint32_t *seq = &f->seq[fd * 2 + dir];
	size_t start = dir == ZT_DIR_WRITE && !*seq ? sizeof(preface) - 1 : 0, n, at = start;

	memcpy(bytes, preface, start);
	if (!*seq) {
		memcpy(bytes + at, settings, sizeof(settings));
		at += sizeof(settings);
	}
	memcpy(bytes + at, frames, len);
	len += at - start;
	n = h2_segments_for(bytes, start, start + len, 0, start + len, (uint8_t *)(ev + 1));
	assert_int_equal(replay_conn_info(f->t, f->pid, TID, fd, 100 + fd, &tuple, ZT_ROLE_CLIENT),
			 0);
	memset(ev, 0, sizeof(*ev));
	ev->hdr = (struct zt_event_header){
	    .type = ZT_EV_DATA, .len = sizeof(*ev) + n, .pid = f->pid, .tid = TID, .ts = 2, .g = g};
	ev->conn = (struct zt_conn_id){.pid = f->pid, .fd = fd, .gen = 100 + fd};
	ev->seq = *seq;
	ev->bytes = start + len;
	ev->captured = n;
	ev->dir = dir;
	ev->role = ZT_ROLE_CLIENT;
	ev->proto = ZT_PROTO_HTTP2;
	ev->flags = ZT_DATA_F_SEGMENTS;
	assert_int_equal(tracer__handle(f->t, buf, sizeof(*ev) + n), 0);
	*seq += start + len;
}

/* A HEADERS frame (END_HEADERS, and END_STREAM when end) of stream on connection fd. */
static size_t h2_headers(struct fixture *f, int fd, uint32_t stream, const nghttp2_nv *nv,
			 size_t nnv, bool end, uint8_t *out)
{
	ssize_t n;

	if (!f->hpack[fd])
		assert_int_equal(nghttp2_hd_deflate_new(&f->hpack[fd], 4096), 0);
	n = nghttp2_hd_deflate_hd(f->hpack[fd], out + 9, 1024, nv, nnv);
	assert_true(n > 0);
	out[0] = (uint8_t)(n >> 16), out[1] = (uint8_t)(n >> 8), out[2] = (uint8_t)n;
	out[3] = 0x1;			/* HEADERS */
	out[4] = 0x4 | (end ? 0x1 : 0); /* END_HEADERS, END_STREAM */
	out[5] = (uint8_t)(stream >> 24), out[6] = (uint8_t)(stream >> 16);
	out[7] = (uint8_t)(stream >> 8), out[8] = (uint8_t)stream;
	return 9 + (size_t)n;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, 0                    \
	}

/* A client stream's request HEADERS, written by goroutine g; its response read by another. */
static void h2_call(struct fixture *f, uint64_t g, int fd, uint32_t stream, const char *path)
{
	nghttp2_nv req[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", "leaf"),
			    NV(":path", "")};
	uint8_t frame[1100];

	req[3].value = (uint8_t *)path;
	req[3].valuelen = strlen(path);
	h2_io(f, g, fd, ZT_DIR_WRITE, frame, h2_headers(f, fd, stream, req, 4, false, frame));
}

static void h2_answer(struct fixture *f, int fd, uint32_t stream)
{
	nghttp2_nv resp[] = {NV(":status", "200")};
	uint8_t frame[1100];

	/* the response direction has its own HPACK table: encoder fd + 8 */
	h2_io(f, G_IDLE, fd, ZT_DIR_READ, frame,
	      h2_headers(f, fd + 8, stream, resp, 1, true, frame));
}

static struct span *find(struct fixture *f, enum span_kind kind, const char *path)
{
	for (int i = 0; i < f->out.n; i++) {
		const struct attr *a = span__attr(f->out.spans[i], "url.path");

		if (f->out.spans[i]->kind == kind && a && !strcmp(a->str, path))
			return f->out.spans[i];
	}
	fail_msg("no span for %s", path);
	return NULL;
}

static struct correlator_stats stats(struct fixture *f)
{
	struct correlator_stats s;

	correlator__stats(f->t->build.corr, &s);
	return s;
}

/* A call from a goroutine the handler created, written by the pool's writer goroutine; then
 * the same pooled connection and writer carry another request's call. */
static void test_writer_writes_for_the_caller(void **state)
{
	struct fixture *f = *state;

	request(f, G_SERVE1, 1, true, "/api/1");
	go_event(f, ZT_EV_GO_NEWG, G_SERVE1, G_CHILD);
	go_event(f, ZT_EV_GO_HTTP_RT, G_CHILD, REQ1);
	go_event(f, ZT_EV_GO_HTTP_WRITE, G_WRITER, REQ1);
	request(f, G_WRITER, 5, false, "/leaf/1");
	response(f, G_IDLE, 5, false); /* the readLoop */
	/* request 2 arrives while request 1 is still open, on the same thread */
	request(f, G_SERVE2, 2, true, "/api/2");
	go_event(f, ZT_EV_GO_HTTP_RT, G_SERVE2, REQ2);
	go_event(f, ZT_EV_GO_HTTP_WRITE, G_WRITER, REQ2);
	request(f, G_WRITER, 5, false, "/leaf/2");
	response(f, G_IDLE, 5, false);
	response(f, G_SERVE1, 1, true);
	response(f, G_SERVE2, 2, true);
	assert_int_equal(f->out.n, 4);
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/leaf/1"), find(f, SPAN_KIND_SERVER, "/api/1"));
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/leaf/2"), find(f, SPAN_KIND_SERVER, "/api/2"));
	assert_int_equal(stats(f).inherited, 1);
	assert_int_equal(stats(f).joined_thread, 2);
}

/* A goroutine structure reused by a goroutine that no request created keeps nothing of its
 * previous life; a writer whose request's caller was never seen links to nobody. */
static void test_no_stale_or_guessed_context(void **state)
{
	struct fixture *f = *state;

	request(f, G_SERVE1, 1, true, "/api/1");
	go_event(f, ZT_EV_GO_NEWG, G_SERVE1, G_CHILD);
	go_event(f, ZT_EV_GO_NEWG, G_IDLE, G_CHILD); /* G_CHILD ended; its g is reused */
	request(f, G_CHILD, 6, false, "/direct/1");
	response(f, G_CHILD, 6, false);
	go_event(f, ZT_EV_GO_HTTP_WRITE, G_WRITER, REQ_UNSEEN);
	request(f, G_WRITER, 5, false, "/leaf/9");
	response(f, G_IDLE, 5, false);
	response(f, G_SERVE1, 1, true);
	assert_int_equal(f->out.n, 3);
	assert_false(find(f, SPAN_KIND_CLIENT, "/direct/1")->has_parent);
	assert_false(find(f, SPAN_KIND_CLIENT, "/leaf/9")->has_parent);
	assert_int_equal(stats(f).joined_thread, 0);
	assert_int_equal(stats(f).goroutine_unlinked, 1); /* the writer's is no goroutine's */
}

/* A writer goroutine's structure reused, before goroutine creation is followed, by a goroutine
 * that serves requests: the hand-over it had was spent on its request's head, so the reads and
 * writes of its new life are its own (a stale one would give its request's context away). */
static void test_writer_structure_reused_unseen(void **state)
{
	struct fixture *f = *state;

	request(f, G_SERVE1, 1, true, "/api/1");
	go_event(f, ZT_EV_GO_HTTP_RT, G_SERVE1, REQ1);
	go_event(f, ZT_EV_GO_HTTP_WRITE, G_WRITER, REQ1);
	request(f, G_WRITER, 5, false, "/leaf/1");
	response(f, G_IDLE, 5, false);
	response(f, G_SERVE1, 1, true);
	/* G_WRITER's structure now serves a connection of its own */
	request(f, G_WRITER, 2, true, "/api/2");
	request(f, G_WRITER, 6, false, "/direct/2");
	response(f, G_WRITER, 6, false);
	response(f, G_WRITER, 2, true);
	assert_int_equal(f->out.n, 4);
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/leaf/1"), find(f, SPAN_KIND_SERVER, "/api/1"));
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/direct/2"),
			find(f, SPAN_KIND_SERVER, "/api/2"));
}

/* grpc-go's client: the loopy goroutine writes the HEADERS of every call on the connection,
 * in the order it is handed them; each stream's span is its caller's child. A stream handed
 * over to a loopy goroutine whose structure was then reused, or never handed over, has none. */
static void test_grpc_client_streams_follow_their_callers(void **state)
{
	struct fixture *f = *state;

	request(f, G_SERVE1, 1, true, "/api/1");
	request(f, G_SERVE2, 2, true, "/api/2");
	go_event(f, ZT_EV_GO_NEWG, G_SERVE1, G_CHILD);
	go_event(f, ZT_EV_GO_H2_CALL, G_CHILD, HF1);
	go_event(f, ZT_EV_GO_H2_CALL, G_SERVE2, HF2);
	assert_int_equal(replay_go_stream(f->t, f->pid, ZT_EV_GO_H2_WRITE, G_WRITER, HF2, 1), 0);
	assert_int_equal(replay_go_stream(f->t, f->pid, ZT_EV_GO_H2_WRITE, G_WRITER, HF1, 3), 0);
	h2_call(f, G_WRITER, 5, 1, "/zt.Echo/Two");
	h2_call(f, G_WRITER, 5, 3, "/zt.Echo/One");
	h2_call(f, G_WRITER, 5, 5, "/zt.Echo/Nobody"); /* never handed over */
	/* a hand-over pending when the loopy goroutine's structure is reused */
	go_event(f, ZT_EV_GO_H2_CALL, G_SERVE1, HF3);
	assert_int_equal(replay_go_stream(f->t, f->pid, ZT_EV_GO_H2_WRITE, G_WRITER, HF3, 1), 0);
	go_event(f, ZT_EV_GO_NEWG, G_IDLE, G_WRITER);
	h2_call(f, G_WRITER, 6, 1, "/zt.Echo/Stale");
	h2_answer(f, 5, 1);
	h2_answer(f, 5, 3);
	h2_answer(f, 5, 5);
	h2_answer(f, 6, 1);
	response(f, G_SERVE1, 1, true);
	response(f, G_SERVE2, 2, true);
	assert_int_equal(f->out.n, 6);
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/zt.Echo/One"),
			find(f, SPAN_KIND_SERVER, "/api/1"));
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/zt.Echo/Two"),
			find(f, SPAN_KIND_SERVER, "/api/2"));
	assert_false(find(f, SPAN_KIND_CLIENT, "/zt.Echo/Nobody")->has_parent);
	assert_false(find(f, SPAN_KIND_CLIENT, "/zt.Echo/Stale")->has_parent);
	assert_int_equal(f->t->build.stats.go_h2_linked, 2);
	assert_int_equal(f->t->build.stats.go_h2_unlinked, 2);
}

/* Go not followed (capture.go_goroutines off): no link from the thread either. */
static void test_unfollowed_go_gets_no_thread_links(void **state)
{
	struct fixture *f = *state;

	request(f, G_SERVE1, 1, true, "/api/1");
	request(f, G_SERVE1, 5, false, "/leaf/1");
	response(f, G_SERVE1, 5, false);
	response(f, G_SERVE1, 1, true);
	assert_int_equal(f->out.n, 2);
	assert_false(find(f, SPAN_KIND_CLIENT, "/leaf/1")->has_parent);
	assert_int_equal(stats(f).joined_thread, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_writer_writes_for_the_caller, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_stale_or_guessed_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writer_structure_reused_unseen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grpc_client_streams_follow_their_callers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unfollowed_go_gets_no_thread_links,
					    setup_unfollowed, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
