// SPDX-License-Identifier: BSD-2-Clause
/* Same-node join and in-process causality on recorded event sequences: client and server
 * sides of one connection, as two processes on this node would produce them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>
#include "trace/correlate.h"
#include "event_builder.h"

static const char req1[] = "GET /users/1 HTTP/1.1\r\nHost: users\r\n\r\n";
static const char req2[] = "GET /users/2 HTTP/1.1\r\nHost: users\r\n\r\n";
static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

struct fixture {
	struct tracer *t;
	struct collected out;
	uint32_t client_pid, server_pid;
	struct zt_tuple client_side, server_side; /* one connection seen from both ends */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->t = replay_tracer_new(&f->out);
	assert_non_null(f->t);
	f->client_pid = getpid();
	f->server_pid = getppid();
	f->client_side = make_tuple("127.0.0.1", 51000, "127.0.0.1", 8080);
	f->server_side = make_tuple("127.0.0.1", 8080, "127.0.0.1", 51000);
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

/* client fd 5 (gen 50), server fd 7 (gen 70) */
static void client(struct fixture *f, uint32_t tid, uint8_t dir, uint32_t seq, uint64_t ts,
		   const char *p)
{
	assert_int_equal(
	    replay_data(f->t, f->client_pid, tid, 5, 50, &f->client_side, dir, seq, ts, p), 0);
}

static void server(struct fixture *f, uint32_t tid, uint8_t dir, uint32_t seq, uint64_t ts,
		   const char *p)
{
	assert_int_equal(
	    replay_data(f->t, f->server_pid, tid, 7, 70, &f->server_side, dir, seq, ts, p), 0);
}

static struct span *find(struct fixture *f, enum span_kind kind, const char *path)
{
	for (int i = 0; i < f->out.n; i++) {
		const struct attr *a = span__attr(f->out.spans[i], "url.path");

		if (f->out.spans[i]->kind == kind && a && !strcmp(a->str, path))
			return f->out.spans[i];
	}
	fail_msg("no %s span for %s", kind == SPAN_KIND_SERVER ? "SERVER" : "CLIENT", path);
	return NULL;
}

static struct correlator_stats stats(struct fixture *f)
{
	struct correlator_stats s;

	correlator__stats(f->t->build.corr, &s);
	return s;
}

/* two requests on one keep-alive connection, each joined to its own client span */
static void test_keepalive_join(void **state)
{
	struct fixture *f = *state;
	uint32_t up = 1000, down = 9000;

	client(f, 11, ZT_DIR_WRITE, up, 10, req1);
	server(f, 21, ZT_DIR_READ, up, 11, req1);
	server(f, 21, ZT_DIR_WRITE, down, 12, ok);
	client(f, 11, ZT_DIR_READ, down, 13, ok);
	up += strlen(req1);
	down += strlen(ok);
	client(f, 11, ZT_DIR_WRITE, up, 20, req2);
	server(f, 21, ZT_DIR_READ, up, 21, req2);
	server(f, 21, ZT_DIR_WRITE, down, 22, ok);
	client(f, 11, ZT_DIR_READ, down, 23, ok);
	assert_int_equal(f->out.n, 4);
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/1"),
			find(f, SPAN_KIND_CLIENT, "/users/1"));
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/2"),
			find(f, SPAN_KIND_CLIENT, "/users/2"));
	assert_memory_not_equal(find(f, SPAN_KIND_SERVER, "/users/1")->ctx.trace_id,
				find(f, SPAN_KIND_SERVER, "/users/2")->ctx.trace_id, 16);
	assert_int_equal(stats(f).joined_same_node, 2);
	assert_int_equal(stats(f).joined_nat, 0);
}

/* pipelining: two requests in one write and one read; the head offsets tell them apart */
static void test_pipelined_join(void **state)
{
	struct fixture *f = *state;
	char both[256];

	snprintf(both, sizeof(both), "%s%s", req1, req2);
	client(f, 11, ZT_DIR_WRITE, 500, 10, both);
	server(f, 21, ZT_DIR_READ, 500, 11, both);
	server(f, 21, ZT_DIR_WRITE, 7000, 12, ok);
	server(f, 21, ZT_DIR_WRITE, 7000 + strlen(ok), 13, ok);
	client(f, 11, ZT_DIR_READ, 7000, 14, ok);
	client(f, 11, ZT_DIR_READ, 7000 + strlen(ok), 15, ok);
	assert_int_equal(f->out.n, 4);
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/1"),
			find(f, SPAN_KIND_CLIENT, "/users/1"));
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/2"),
			find(f, SPAN_KIND_CLIENT, "/users/2"));
}

/* a request split over two writes and read in one: same first byte, same join */
static void test_split_write_join(void **state)
{
	struct fixture *f = *state;
	char head[32];

	memcpy(head, req1, 10);
	head[10] = '\0';
	client(f, 11, ZT_DIR_WRITE, 42, 10, head);
	client(f, 11, ZT_DIR_WRITE, 52, 11, req1 + 10);
	server(f, 21, ZT_DIR_READ, 42, 12, req1);
	server(f, 21, ZT_DIR_WRITE, 1, 13, ok);
	client(f, 11, ZT_DIR_READ, 1, 14, ok);
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/1"),
			find(f, SPAN_KIND_CLIENT, "/users/1"));
	assert_int_equal(find(f, SPAN_KIND_CLIENT, "/users/1")->start_ns, 10);
}

/* behind NAT the server sees other addresses; sequence number and bytes still match */
static void test_nat_join(void **state)
{
	struct fixture *f = *state;

	f->server_side = make_tuple("10.0.0.2", 80, "10.0.0.1", 33000);
	client(f, 11, ZT_DIR_WRITE, 77, 10, req1);
	server(f, 21, ZT_DIR_READ, 77, 11, req1);
	server(f, 21, ZT_DIR_WRITE, 1, 12, ok);
	client(f, 11, ZT_DIR_READ, 1, 13, ok);
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/1"),
			find(f, SPAN_KIND_CLIENT, "/users/1"));
	assert_int_equal(stats(f).joined_nat, 1);
}

/* a dual-stack server sees the IPv4 client as ::ffff:127.0.0.1: the same end */
static void test_v4_mapped_join(void **state)
{
	struct fixture *f = *state;

	f->server_side = make_tuple("::ffff:127.0.0.1", 8080, "::ffff:127.0.0.1", 51000);
	client(f, 11, ZT_DIR_WRITE, 77, 10, req1);
	server(f, 21, ZT_DIR_READ, 77, 11, req1);
	server(f, 21, ZT_DIR_WRITE, 1, 12, ok);
	client(f, 11, ZT_DIR_READ, 1, 13, ok);
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/1"),
			find(f, SPAN_KIND_CLIENT, "/users/1"));
	assert_int_equal(stats(f).joined_nat, 0);
	assert_int_equal(stats(f).joined_same_node, 1);
}

/* same sequence number, different bytes: not the same request */
static void test_no_join_on_other_bytes(void **state)
{
	struct fixture *f = *state;

	client(f, 11, ZT_DIR_WRITE, 77, 10, req1);
	server(f, 21, ZT_DIR_READ, 77, 11, req2);
	server(f, 21, ZT_DIR_WRITE, 1, 12, ok);
	assert_false(find(f, SPAN_KIND_SERVER, "/users/2")->has_parent);
	assert_int_equal(stats(f).joined_same_node, 0);
}

/* Out of order: the server's read processed before the client's write. The ring buffer
 * cannot deliver this (writes are captured at syscall entry, before the peer can read), but if
 * it happened the server starts its own trace and both misses are counted, never hidden. */
static void test_out_of_order_is_counted(void **state)
{
	struct fixture *f = *state;

	server(f, 21, ZT_DIR_READ, 77, 11, req1);
	client(f, 11, ZT_DIR_WRITE, 77, 10, req1);
	server(f, 21, ZT_DIR_WRITE, 1, 12, ok);
	client(f, 11, ZT_DIR_READ, 1, 13, ok);
	assert_false(find(f, SPAN_KIND_SERVER, "/users/1")->has_parent);
	assert_int_equal(stats(f).joined_same_node, 0);
	assert_int_equal(stats(f).server_local_unjoined, 1);
	correlator__expire(f->t->build.corr, true);
	assert_int_equal(stats(f).client_unjoined, 1);
}

/* A client that gives up — writes its request and closes before the server has read it (wrk
 * at the end of a run): the client span ends first, and is held so the join still happens. */
static void test_client_closed_before_server_read(void **state)
{
	struct fixture *f = *state;
	struct zt_conn_event close_ev = {};

	client(f, 11, ZT_DIR_WRITE, 77, 10, req1);
	close_ev.hdr.type = ZT_EV_CONN_CLOSE;
	close_ev.hdr.len = sizeof(close_ev);
	close_ev.hdr.pid = f->client_pid;
	close_ev.hdr.ts = 11;
	close_ev.conn.pid = f->client_pid;
	close_ev.conn.fd = 5;
	close_ev.conn.gen = 50;
	assert_int_equal(tracer__handle(f->t, &close_ev, sizeof(close_ev)), 0);
	assert_int_equal(f->out.n, 1);
	assert_true(f->out.spans[0]->incomplete);
	server(f, 21, ZT_DIR_READ, 77, 12, req1);
	server(f, 21, ZT_DIR_WRITE, 1, 13, ok);
	assert_child_of(find(f, SPAN_KIND_SERVER, "/users/1"),
			find(f, SPAN_KIND_CLIENT, "/users/1"));
	assert_int_equal(stats(f).joined_held, 1);
	correlator__expire(f->t->build.corr, true);
	assert_int_equal(stats(f).client_unjoined, 0);
}

/* A three-hop chain inside one event loop: the gateway (server fd 7) calls a backend on a
 * connection it opens (fd 9) while serving, but writes the request only after the connect
 * completes, after it has read a second request — the connect rule keeps it with the first. */
static void test_event_loop_connect_and_response_context(void **state)
{
	struct fixture *f = *state;
	struct zt_tuple front2 = make_tuple("127.0.0.1", 8080, "127.0.0.1", 51001);
	struct zt_tuple back = make_tuple("127.0.0.1", 52000, "127.0.0.1", 9090);
	const char *call1 = "GET /a-call HTTP/1.1\r\n\r\n";
	const char *call2 = "GET /a-second-call HTTP/1.1\r\n\r\n";
	struct zt_conn_event open = {};
	uint32_t loop = 21;

	server(f, loop, ZT_DIR_READ, 100, 1, "GET /a HTTP/1.1\r\n\r\n"); /* request A */
	open.hdr.type = ZT_EV_CONN_OPEN;
	open.hdr.len = sizeof(open);
	open.hdr.pid = f->server_pid;
	open.hdr.tid = loop;
	open.conn.pid = f->server_pid;
	open.conn.fd = 9;
	open.conn.gen = 90;
	assert_int_equal(tracer__handle(f->t, &open, sizeof(open)), 0); /* connect() for A */
	/* request B arrives on another connection before the connect completes */
	assert_int_equal(replay_data(f->t, f->server_pid, loop, 8, 80, &front2, ZT_DIR_READ, 300, 2,
				     "GET /b HTTP/1.1\r\n\r\n"),
			 0);
	/* connect done: A's call is written now, in B's turn */
	assert_int_equal(
	    replay_data(f->t, f->server_pid, loop, 9, 90, &back, ZT_DIR_WRITE, 1, 3, call1), 0);
	/* reading A's call's response puts the loop back into A's context... */
	assert_int_equal(
	    replay_data(f->t, f->server_pid, loop, 9, 90, &back, ZT_DIR_READ, 1, 4, ok), 0);
	/* ...so A's second call is A's child */
	assert_int_equal(replay_data(f->t, f->server_pid, loop, 9, 90, &back, ZT_DIR_WRITE,
				     1 + strlen(call1), 5, call2),
			 0);
	assert_int_equal(replay_data(f->t, f->server_pid, loop, 9, 90, &back, ZT_DIR_READ,
				     1 + strlen(ok), 6, ok),
			 0);
	server(f, loop, ZT_DIR_WRITE, 1, 7, ok); /* A answered */
	assert_int_equal(
	    replay_data(f->t, f->server_pid, loop, 8, 80, &front2, ZT_DIR_WRITE, 1, 8, ok),
	    0); /* B answered */
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/a-call"), find(f, SPAN_KIND_SERVER, "/a"));
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/a-second-call"),
			find(f, SPAN_KIND_SERVER, "/a"));
	assert_int_equal(stats(f).joined_connect, 1);
	/* once A is answered, work the loop does for it later cannot be attributed: new trace */
	assert_int_equal(replay_data(f->t, f->server_pid, loop, 9, 90, &back, ZT_DIR_WRITE,
				     1 + strlen(call1) + strlen(call2), 9,
				     "GET /late HTTP/1.1\r\n\r\n"),
			 0);
	assert_int_equal(replay_data(f->t, f->server_pid, loop, 9, 90, &back, ZT_DIR_READ,
				     1 + 2 * strlen(ok), 10, ok),
			 0);
	assert_false(find(f, SPAN_KIND_CLIENT, "/late")->has_parent);
}

/* a client request that carries its application's own traceparent makes no second span; one
 * that forwards the served request's header unchanged is ours */
static void test_client_adopts_its_traceparent(void **state)
{
	struct fixture *f = *state;
	const char *in = "GET /in HTTP/1.1\r\ntraceparent: "
			 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";
	const char *sdk = "GET /sdk HTTP/1.1\r\ntraceparent: "
			  "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01\r\n\r\n";
	const char *fwd = "GET /fwd HTTP/1.1\r\ntraceparent: "
			  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n";
	struct zt_tuple out = make_tuple("127.0.0.1", 53000, "127.0.0.1", 9999);

	server(f, 21, ZT_DIR_READ, 1, 1, in);
	assert_int_equal(replay_data(f->t, f->server_pid, 21, 9, 90, &out, ZT_DIR_WRITE, 1, 2, sdk),
			 0);
	assert_int_equal(replay_data(f->t, f->server_pid, 21, 9, 90, &out, ZT_DIR_READ, 1, 3, ok),
			 0);
	assert_int_equal(replay_data(f->t, f->server_pid, 21, 9, 90, &out, ZT_DIR_WRITE,
				     1 + strlen(sdk), 4, fwd),
			 0);
	assert_int_equal(
	    replay_data(f->t, f->server_pid, 21, 9, 90, &out, ZT_DIR_READ, 1 + strlen(ok), 5, ok),
	    0);
	server(f, 21, ZT_DIR_WRITE, 1, 6, ok);
	assert_int_equal(f->out.n, 2); /* /in and /fwd: no span for /sdk */
	assert_child_of(find(f, SPAN_KIND_CLIENT, "/fwd"), find(f, SPAN_KIND_SERVER, "/in"));
	assert_int_equal(stats(f).client_adopted, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keepalive_join, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined_join, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split_write_join, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nat_join, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_v4_mapped_join, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_join_on_other_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_is_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_closed_before_server_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_loop_connect_and_response_context, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_client_adopts_its_traceparent, setup, teardown),
	};

	return cmocka_run_group_tests_name("join", tests, NULL, NULL);
}
