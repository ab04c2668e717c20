// SPDX-License-Identifier: BSD-2-Clause
/* From ring-buffer records to spans: the tracer fed recorded event sequences as the BPF side
 * emits them (writes at entry, reads at exit, TCP sequence numbers), spans collected. */
#include <arpa/inet.h>
#include <errno.h>
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
#include "trace/proc.h"

struct fixture {
	struct tracer *t;
	struct collected out;
	uint32_t seq[2][2]; /* [fd slot][dir] */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->t = replay_tracer_new(&f->out);
	assert_non_null(f->t);
	f->seq[0][0] = 1000;
	f->seq[0][1] = 5000;
	f->seq[1][0] = 90000;
	f->seq[1][1] = 70000;
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

/* fd 3: accepted on 127.0.0.1:8080 from 127.0.0.1:40000; fd 4: connected to 127.0.0.1:9090.
 * total bytes moved, of which payload was captured. */
static void send_cut(struct fixture *f, int fd, uint32_t tid, uint8_t dir, uint64_t ts,
		     const char *payload, size_t total)
{
	struct zt_tuple t = fd == 3 ? make_tuple("127.0.0.1", 8080, "127.0.0.1", 40000)
				    : make_tuple("127.0.0.1", 41000, "127.0.0.1", 9090);
	int slot = fd == 3 ? 0 : 1;
	uint32_t seq = f->seq[slot][dir];

	f->seq[slot][dir] += total;
	assert_int_equal(
	    replay_data_cut(f->t, getpid(), tid, fd, fd * 1000, &t, dir, seq, ts, payload, total),
	    0);
}

static void send_data(struct fixture *f, int fd, uint32_t tid, uint8_t dir, uint64_t ts,
		      const char *payload)
{
	send_cut(f, fd, tid, dir, ts, payload, strlen(payload));
}

static const char *attr_str(const struct span *s, const char *key)
{
	const struct attr *a = span__attr(s, key);

	return a && a->type == ATTR_STR ? a->str : NULL;
}

static int64_t attr_int(const struct span *s, const char *key)
{
	const struct attr *a = span__attr(s, key);

	return a && a->type == ATTR_INT ? a->i : -1;
}

static void test_server_keepalive(void **state)
{
	struct fixture *f = *state;
	struct span *s;

	send_data(f, 3, 11, ZT_DIR_READ, 100,
		  "GET /orders/1017/items?x=3&token=t HTTP/1.1\r\nHost: shop:8080\r\n"
		  "User-Agent: curl/7.88.1\r\nAuthorization: Bearer secret\r\nCookie: c=1\r\n\r\n");
	assert_int_equal(f->out.n, 0);
	send_data(f, 3, 11, ZT_DIR_WRITE, 150, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
	send_data(f, 3, 11, ZT_DIR_WRITE, 160, "ok");
	assert_int_equal(f->out.n, 1);
	send_data(f, 3, 11, ZT_DIR_READ, 200,
		  "POST /orders HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
	send_data(f, 3, 11, ZT_DIR_WRITE, 250, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->out.n, 2);

	s = f->out.spans[0];
	assert_int_equal(s->kind, SPAN_KIND_SERVER);
	assert_string_equal(s->name, "GET /orders/{id}/items");
	assert_int_equal(s->start_ns, 100);
	assert_int_equal(s->end_ns, 160);
	assert_string_equal(attr_str(s, "http.request.method"), "GET");
	assert_string_equal(attr_str(s, "url.path"), "/orders/1017/items");
	assert_string_equal(attr_str(s, "url.query"), "x=3&token=REDACTED");
	assert_string_equal(attr_str(s, "http.route"), "/orders/{id}/items");
	assert_string_equal(attr_str(s, "server.address"), "shop");
	assert_int_equal(attr_int(s, "server.port"), 8080);
	assert_string_equal(attr_str(s, "client.address"), "127.0.0.1");
	assert_string_equal(attr_str(s, "network.peer.address"), "127.0.0.1");
	assert_int_equal(attr_int(s, "network.peer.port"), 40000);
	assert_string_equal(attr_str(s, "network.protocol.version"), "1.1");
	assert_string_equal(attr_str(s, "user_agent.original"), "curl/7.88.1");
	assert_int_equal(attr_int(s, "http.response.status_code"), 200);
	assert_int_equal(s->status, SPAN_STATUS_UNSET);
	assert_false(s->has_parent);
	/* credentials never leave the agent */
	for (int i = 0; i < s->nattrs; i++)
		if (s->attrs[i].type == ATTR_STR)
			assert_null(strstr(s->attrs[i].str, "secret"));
	assert_non_null(s->proc);
	assert_int_equal(s->proc->pid, (uint32_t)getpid());

	s = f->out.spans[1];
	assert_string_equal(s->name, "POST /orders");
	assert_int_equal(s->status, SPAN_STATUS_ERROR); /* 5xx on a server */
	assert_memory_not_equal(s->ctx.trace_id, f->out.spans[0]->ctx.trace_id, 16);
}

static void test_traceparent_and_thread_child(void **state)
{
	struct fixture *f = *state;
	struct span *server, *client;
	static const uint8_t caller_trace[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
						 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
	static const uint8_t caller_span[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

	send_data(f, 3, 21, ZT_DIR_READ, 100,
		  "GET /front HTTP/1.1\r\n"
		  "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
		  "tracestate: congo=t61rcWkgMzE\r\n\r\n");
	/* the same thread calls a backend while serving */
	send_data(f, 4, 21, ZT_DIR_WRITE, 110, "GET /back/7 HTTP/1.1\r\nHost: backend\r\n\r\n");
	/* another thread's call is not a child of it */
	send_data(f, 4, 22, ZT_DIR_READ, 120,
		  "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->out.n, 1);
	send_data(f, 3, 21, ZT_DIR_WRITE, 130, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->out.n, 2);

	client = f->out.spans[0];
	server = f->out.spans[1];
	assert_int_equal(server->kind, SPAN_KIND_SERVER);
	assert_memory_equal(server->ctx.trace_id, caller_trace, 16);
	assert_true(server->has_parent);
	assert_memory_equal(server->parent_id, caller_span, 8);
	assert_string_equal(server->trace_state, "congo=t61rcWkgMzE");

	assert_int_equal(client->kind, SPAN_KIND_CLIENT);
	assert_string_equal(client->name, "GET /back/{id}");
	assert_memory_equal(client->ctx.trace_id, caller_trace, 16);
	assert_true(client->has_parent);
	assert_memory_equal(client->parent_id, server->ctx.span_id, 8);
	assert_string_equal(attr_str(client, "server.address"), "backend");
	assert_int_equal(attr_int(client, "server.port"), 9090);
	assert_int_equal(client->status, SPAN_STATUS_ERROR); /* 4xx on a client */
	assert_int_equal(client->start_ns, 110);
	assert_int_equal(client->end_ns, 120);

	/* once the server span ended, the thread's next call starts a new trace */
	send_data(f, 4, 21, ZT_DIR_WRITE, 140, "GET /later HTTP/1.1\r\n\r\n");
	send_data(f, 4, 21, ZT_DIR_READ, 150, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->out.n, 3);
	assert_false(f->out.spans[2]->has_parent);
	assert_memory_not_equal(f->out.spans[2]->ctx.trace_id, caller_trace, 16);
}

static void test_invalid_traceparent_starts_new_trace(void **state)
{
	struct fixture *f = *state;

	send_data(f, 3, 5, ZT_DIR_READ, 1,
		  "GET / HTTP/1.1\r\n"
		  "traceparent: ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n");
	send_data(f, 3, 5, ZT_DIR_WRITE, 2, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->out.n, 1);
	assert_false(f->out.spans[0]->has_parent);
}

static void test_pipelined_client_and_head(void **state)
{
	struct fixture *f = *state;

	send_data(f, 4, 1, ZT_DIR_WRITE, 10, "HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
	send_data(f, 4, 1, ZT_DIR_READ, 20,
		  "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
		  "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nxyz");
	assert_int_equal(f->out.n, 2);
	assert_string_equal(f->out.spans[0]->name, "HEAD /a");
	assert_int_equal(attr_int(f->out.spans[0], "http.response.status_code"), 200);
	assert_string_equal(f->out.spans[1]->name, "GET /b");
	assert_int_equal(attr_int(f->out.spans[1], "http.response.status_code"), 201);
	assert_int_equal(f->out.spans[1]->kind, SPAN_KIND_CLIENT);
}

/* a retried partial write repeats bytes: the sequence number says so */
static void test_seq_overlap_is_skipped(void **state)
{
	struct fixture *f = *state;

	send_data(f, 3, 1, ZT_DIR_READ, 10, "GET /x HTTP/1.1\r\n\r\n");
	send_data(f, 3, 1, ZT_DIR_WRITE, 20, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
	f->seq[0][ZT_DIR_WRITE] -= 2; /* the kernel took only up to "ab"'s start... */
	send_data(f, 3, 1, ZT_DIR_WRITE, 30, "abcd"); /* ...and the retry resends it */
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.spans[0]->end_ns, 30);
	assert_false(f->out.spans[0]->incomplete);
	assert_int_equal(f->t->stats.seq_gaps, 0);
}

/* lost bytes in the response direction: waiting requests cannot be paired honestly */
static void test_seq_gap_marks_incomplete(void **state)
{
	struct fixture *f = *state;

	send_data(f, 4, 1, ZT_DIR_WRITE, 5, "GET /0 HTTP/1.1\r\n\r\n");
	send_data(f, 4, 1, ZT_DIR_READ, 6, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	send_data(f, 4, 1, ZT_DIR_WRITE, 10, "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
	f->seq[1][ZT_DIR_READ] += 500; /* an event went missing */
	send_data(f, 4, 1, ZT_DIR_READ, 20, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->t->stats.seq_gaps, 1);
	assert_int_equal(f->out.n, 3);
	assert_false(f->out.spans[0]->incomplete);
	assert_true(f->out.spans[1]->incomplete);
	assert_true(f->out.spans[2]->incomplete);
	assert_int_equal(f->t->build.stats.unmatched_responses, 1);
}

static void test_close_ends_until_close_response(void **state)
{
	struct fixture *f = *state;
	struct zt_conn_event ce = {};

	send_data(f, 4, 1, ZT_DIR_WRITE, 10, "GET /stream HTTP/1.0\r\n\r\n");
	send_data(f, 4, 1, ZT_DIR_READ, 20, "HTTP/1.0 200 OK\r\n\r\nbody without length");
	assert_int_equal(f->out.n, 0);
	ce.hdr.type = ZT_EV_CONN_CLOSE;
	ce.hdr.len = sizeof(ce);
	ce.hdr.pid = getpid();
	ce.hdr.ts = 30;
	ce.conn.pid = getpid();
	ce.conn.fd = 4;
	ce.conn.gen = 4000;
	assert_int_equal(tracer__handle(f->t, &ce, sizeof(ce)), 0);
	assert_int_equal(f->out.n, 1);
	assert_int_equal(f->out.spans[0]->end_ns, 30);
	assert_false(f->out.spans[0]->incomplete);
	assert_string_equal(attr_str(f->out.spans[0], "network.protocol.version"), "1.0");
}

/* Heads longer than the capture. A request's complete lines still make its span, a child of
 * the traceparent before the cut. A response's status line still answers its request, whose
 * span ends there, incomplete: nginx's ~240-byte heads with capture 64 used to leave every
 * request of a keep-alive connection waiting until the connection closed. */
static void test_cut_heads_still_make_spans(void **state)
{
	const char *cut_req = "POST /upload HTTP/1.1\r\n"
			      "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
			      "\r\nCookie: jwt=eyJhbGciOi";
	const char *cut_resp =
	    "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov";
	const uint8_t parent[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
	struct fixture *f = *state;

	send_cut(f, 3, 1, ZT_DIR_READ, 10, cut_req, 9000);
	send_data(f, 3, 1, ZT_DIR_WRITE, 20, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->out.n, 1);
	assert_string_equal(f->out.spans[0]->name, "POST /upload");
	assert_true(f->out.spans[0]->has_parent);
	assert_memory_equal(f->out.spans[0]->parent_id, parent, 8);
	assert_int_equal(attr_int(f->out.spans[0], "http.response.status_code"), 201);
	assert_int_equal(f->out.spans[0]->end_ns, 20);
	assert_false(f->out.spans[0]->incomplete);

	for (int i = 1; i < 4; i++) {
		send_data(f, 3, 1, ZT_DIR_READ, 100 * i + 10, "GET /tiny.txt HTTP/1.1\r\n\r\n");
		send_cut(f, 3, 1, ZT_DIR_WRITE, 100 * i + 20, cut_resp, 240);
		send_cut(f, 3, 1, ZT_DIR_WRITE, 100 * i + 30, "", 3); /* sendfile */
		assert_int_equal(f->out.n, i + 1);
		assert_true(f->out.spans[i]->incomplete);
		assert_int_equal(f->out.spans[i]->start_ns, 100 * i + 10);
		assert_int_equal(f->out.spans[i]->end_ns, 100 * i + 20);
		assert_int_equal(attr_int(f->out.spans[i], "http.response.status_code"), 404);
	}
	assert_int_equal(f->t->build.stats.http1_requests_evicted, 0);
}

/* A connection's waiting requests are bounded: responses that went by unseen cannot keep
 * every later request in memory until the connection closes. */
static void test_waiting_requests_bounded(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 300; i++)
		send_data(f, 3, 1, ZT_DIR_READ, 10 + i, "GET /x HTTP/1.1\r\n\r\n");
	assert_int_equal(f->t->build.stats.http1_requests_evicted, 300 - 256);
	assert_int_equal(f->out.n, 300 - 256);
	for (int i = 0; i < f->out.n; i++) {
		assert_true(f->out.spans[i]->incomplete);
		assert_int_equal(f->out.spans[i]->start_ns, 10 + i); /* the oldest went first */
	}
	/* the next response answers the oldest request still waiting */
	send_data(f, 3, 1, ZT_DIR_WRITE, 1000, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->out.n, 300 - 256 + 1);
	assert_int_equal(f->out.spans[f->out.n - 1]->start_ns, 10 + 300 - 256);
	assert_false(f->out.spans[f->out.n - 1]->incomplete);
}

static void count_ask(void *ctx)
{
	(*(int *)ctx)++;
}

/* Data whose connection's addresses never came (the agent evicted it, or a full ring dropped its
 * ZT_EV_CONN_INFO): counted once, the kernel asked to ship them again, spans without addresses
 * rather than wrong ones until they come, and with them after. */
static void test_data_before_addresses(void **state)
{
	struct fixture *f = *state;
	struct zt_tuple t = make_tuple("127.0.0.1", 8080, "127.0.0.1", 40000);
	const char *req = "GET /a HTTP/1.1\r\nHost: shop\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	int asked = 0;

	f->t->resend_addrs = count_ask;
	f->t->resend_addrs_ctx = &asked;
	assert_int_equal(
	    replay_data_only(f->t, getpid(), 11, 3, 3000, ZT_DIR_READ, 1000, 100, req, strlen(req)),
	    0);
	assert_int_equal(replay_data_only(f->t, getpid(), 11, 3, 3000, ZT_DIR_WRITE, 5000, 150,
					  resp, strlen(resp)),
			 0);
	assert_int_equal(f->t->stats.conns_without_addrs, 1);
	assert_int_equal(asked, 1);
	assert_int_equal(f->out.n, 1);
	assert_string_equal(attr_str(f->out.spans[0], "server.address"), "shop");
	assert_null(attr_str(f->out.spans[0], "network.peer.address"));
	assert_int_equal(attr_int(f->out.spans[0], "network.peer.port"), -1);

	/* what the ask brings: the same connection's addresses, then its next request */
	assert_int_equal(replay_conn_info(f->t, getpid(), 11, 3, 3000, &t, ZT_ROLE_SERVER), 0);
	assert_int_equal(replay_data_only(f->t, getpid(), 11, 3, 3000, ZT_DIR_READ,
					  1000 + strlen(req), 200, req, strlen(req)),
			 0);
	assert_int_equal(replay_data_only(f->t, getpid(), 11, 3, 3000, ZT_DIR_WRITE,
					  5000 + strlen(resp), 250, resp, strlen(resp)),
			 0);
	assert_int_equal(f->out.n, 2);
	assert_string_equal(attr_str(f->out.spans[1], "network.peer.address"), "127.0.0.1");
	assert_int_equal(attr_int(f->out.spans[1], "network.peer.port"), 40000);
	assert_int_equal(attr_int(f->out.spans[1], "server.port"), 8080);
	assert_int_equal(f->t->stats.conns_without_addrs, 1);
	assert_int_equal(asked, 1);
}

static void test_malformed_record_counted(void **state)
{
	struct fixture *f = *state;
	struct zt_event_header h = {.type = ZT_EV_DATA, .len = 500};

	assert_int_equal(tracer__handle(f->t, &h, sizeof(h)), -EINVAL);
	assert_int_equal(f->t->stats.bad_events, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_server_keepalive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_traceparent_and_thread_child, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_traceparent_starts_new_trace, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined_client_and_head, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seq_overlap_is_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seq_gap_marks_incomplete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_ends_until_close_response, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_before_addresses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_heads_still_make_spans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_waiting_requests_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_record_counted, setup, teardown),
	};

	return cmocka_run_group_tests_name("spans", tests, NULL, NULL);
}
