// SPDX-License-Identifier: BSD-2-Clause
/* The HTTP/1 parser over byte streams as real servers and clients write them (python's
 * http.server, nginx, curl), cut the ways capture cuts them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "proto/http1.h"

#define MAX_EVENTS 32

/* What the parser reported, in order. */
struct rec {
	int heads, completes, losts;
	char methods[MAX_EVENTS][16];
	char targets[MAX_EVENTS][128];
	int statuses[MAX_EVENTS];
	uint64_t head_ts[MAX_EVENTS];
	uint64_t end_ts[MAX_EVENTS];
	char traceparent[MAX_EVENTS][64];
	bool response_no_body; /* simulate "this answers a HEAD request" */
};

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static void on_head(void *ctx, const struct http1_head *h, uint64_t ts, enum http1_body *body)
{
	struct rec *r = ctx;
	int i = r->heads++;

	snprintf(r->methods[i], 16, "%.*s", (int)h->method.len, h->method.p);
	snprintf(r->targets[i], 128, "%.*s", (int)h->target.len, h->target.p);
	snprintf(r->traceparent[i], 64, "%.*s", (int)h->traceparent.len, h->traceparent.p);
	r->statuses[i] = h->request ? 0 : h->status;
	r->head_ts[i] = ts;
	if (!h->request && r->response_no_body)
		*body = HTTP1_BODY_NONE;
}

static void on_complete(void *ctx, uint64_t ts)
{
	struct rec *r = ctx;

	r->end_ts[r->completes++] = ts;
}

static void on_lost(void *ctx)
{
	((struct rec *)ctx)->losts++;
}

static const struct http1_callbacks cb = {on_head, on_complete, on_lost};

static void feed(struct http1_parser *p, const char *s, uint64_t ts)
{
	http1_parser__feed(p, (const uint8_t *)s, strlen(s), strlen(s), ts);
}

static const char python_response[] = "HTTP/1.0 200 OK\r\n"
				      "Server: SimpleHTTP/0.6 Python/3.11.7\r\n"
				      "Date: Sun, 22 Nov 2026 06:41:43 GMT\r\n"
				      "Content-type: text/html\r\n"
				      "Content-Length: 6\r\n"
				      "Last-Modified: Sun, 22 Nov 2026 06:41:09 GMT\r\n\r\n";

static const char curl_request[] =
    "GET /orders/1017/items?x=3 HTTP/1.1\r\n"
    "Host: localhost:8081\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
    "\r\n";

static void test_request_head(void **state)
{
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	feed(&p, curl_request, 10);
	assert_int_equal(r.heads, 1);
	assert_int_equal(r.completes, 1); /* GET without body completes with its head */
	assert_string_equal(r.methods[0], "GET");
	assert_string_equal(r.targets[0], "/orders/1017/items?x=3");
	assert_string_equal(r.traceparent[0],
			    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	assert_int_equal(r.head_ts[0], 10);
	http1_parser__free(&p);
}

/* python's http.server writes the head and the body in separate calls */
static void test_response_head_then_body(void **state)
{
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	feed(&p, python_response, 100);
	assert_int_equal(r.heads, 1);
	assert_int_equal(r.statuses[0], 200);
	assert_int_equal(r.completes, 0);
	feed(&p, "hello\n", 105);
	assert_int_equal(r.completes, 1);
	assert_int_equal(r.end_ts[0], 105);
	http1_parser__free(&p);
}

/* a head split across three reads, one cut inside the blank line */
static void test_head_split_over_reads(void **state)
{
	struct rec r = {};
	struct http1_parser p;
	size_t n = strlen(curl_request);

	(void)state;
	http1_parser__init(&p, &cb, &r);
	http1_parser__feed(&p, (const uint8_t *)curl_request, 7, 7, 1);
	http1_parser__feed(&p, (const uint8_t *)curl_request + 7, n - 9, n - 9, 2);
	assert_int_equal(r.heads, 0);
	http1_parser__feed(&p, (const uint8_t *)curl_request + n - 2, 2, 2, 3);
	assert_int_equal(r.heads, 1);
	assert_int_equal(r.head_ts[0], 1); /* start = the event with the first byte */
	assert_int_equal(r.end_ts[0], 3);
	assert_string_equal(r.targets[0], "/orders/1017/items?x=3");
	http1_parser__free(&p);
}

/* every cut: the response head and its body, then the next head, one byte per read */
static void test_byte_at_a_time(void **state)
{
	char stream[1024];
	struct rec r = {};
	struct http1_parser p;
	size_t n;

	(void)state;
	n = snprintf(stream, sizeof(stream), "%shello\n%shello\n", python_response,
		     python_response);
	http1_parser__init(&p, &cb, &r);
	for (size_t i = 0; i < n; i++)
		http1_parser__feed(&p, (const uint8_t *)stream + i, 1, 1, 1000 + i);
	assert_int_equal(r.heads, 2);
	assert_int_equal(r.completes, 2);
	assert_int_equal(r.losts, 0);
	assert_int_equal(r.statuses[1], 200);
	assert_int_equal(r.head_ts[1], 1000 + strlen(python_response) + 6);
	assert_int_equal(r.end_ts[1], 1000 + n - 1);
	http1_parser__free(&p);
}

/* keep-alive and pipelining: three requests in one read, one with a body */
static void test_pipelined_requests(void **state)
{
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	feed(&p,
	     "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	     "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
	     "DELETE /c/9 HTTP/1.1\r\nHost: x\r\n\r\n",
	     7);
	assert_int_equal(r.heads, 3);
	assert_int_equal(r.completes, 3);
	assert_string_equal(r.methods[1], "POST");
	assert_string_equal(r.targets[2], "/c/9");
	http1_parser__free(&p);
}

/* nginx-style chunked response, chunks split across writes at awkward places */
static void test_chunked_response(void **state)
{
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	feed(&p,
	     "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nTransfer-Encoding: chunked\r\n"
	     "Connection: keep-alive\r\n\r\n5\r\nhel",
	     1);
	feed(&p, "lo\r\n1", 2);
	feed(&p, "0;ext=1\r\n0123456789abcdef\r\n", 3);
	assert_int_equal(r.completes, 0);
	feed(&p, "0\r\nX-Trailer: y\r\n\r\n", 4);
	assert_int_equal(r.completes, 1);
	assert_int_equal(r.end_ts[0], 4);
	/* and the next response on the same connection parses */
	feed(&p, "HTTP/1.1 204 No Content\r\n\r\n", 5);
	assert_int_equal(r.heads, 2);
	assert_int_equal(r.statuses[1], 204);
	assert_int_equal(r.completes, 2);
	assert_int_equal(r.losts, 0);
	http1_parser__free(&p);
}

/* 100 Continue is interim: one request, one final response */
static void test_interim_response(void **state)
{
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	feed(&p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
	     1);
	assert_int_equal(r.heads, 1);
	assert_int_equal(r.statuses[0], 201);
	assert_int_equal(r.completes, 1);
	http1_parser__free(&p);
}

/* a response to HEAD carries Content-Length but no body */
static void test_head_response_has_no_body(void **state)
{
	struct rec r = {.response_no_body = true};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 1);
	assert_int_equal(r.completes, 1);
	feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 2);
	assert_int_equal(r.heads, 2);
	http1_parser__free(&p);
}

/* HTTP/1.0 without Content-Length: the body ends when the connection closes */
static void test_connection_close_delimited(void **state)
{
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	feed(&p, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nsome body", 1);
	feed(&p, "more body", 2);
	assert_int_equal(r.completes, 0);
	http1_parser__close(&p, 3);
	assert_int_equal(r.completes, 1);
	assert_int_equal(r.end_ts[0], 3);
	http1_parser__free(&p);
}

/* capture keeps only a prefix: the uncaptured body bytes are counted, not needed */
static void test_truncated_capture(void **state)
{
	struct rec r = {};
	struct http1_parser p;
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n";

	(void)state;
	http1_parser__init(&p, &cb, &r);
	/* the write carried head + 10000 body bytes; 64 bytes were captured */
	http1_parser__feed(&p, (const uint8_t *)head, strlen(head), strlen(head) + 6000, 1);
	assert_int_equal(r.completes, 0);
	http1_parser__feed(&p, NULL, 0, 4000, 2); /* sendfile: no payload at all */
	assert_int_equal(r.completes, 1);
	assert_int_equal(r.end_ts[0], 2);
	feed(&p, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 3);
	assert_int_equal(r.statuses[1], 404);
	assert_int_equal(r.losts, 0);
	http1_parser__free(&p);
}

/* A head cut off by the capture limit: its complete lines are a head (the cut one is not
 * taken for a whole header), then framing is lost until the next message starts an event. */
static void test_truncated_head_then_resync(void **state)
{
	struct rec r = {};
	struct http1_parser p;
	const char *part = "GET /very/long HTTP/1.1\r\ntraceparent: " TP "\r\nCookie: session=";

	(void)state;
	http1_parser__init(&p, &cb, &r);
	http1_parser__feed(&p, (const uint8_t *)part, strlen(part), 9000, 1);
	assert_int_equal(r.heads, 1);
	assert_string_equal(r.methods[0], "GET");
	assert_string_equal(r.targets[0], "/very/long");
	assert_string_equal(r.traceparent[0], TP);
	assert_int_equal(r.head_ts[0], 1);
	assert_int_equal(r.completes, 0);
	assert_int_equal(r.losts, 1);
	feed(&p, "tail of a body that is not a message", 2);
	assert_int_equal(r.heads, 1);
	feed(&p, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n", 3);
	assert_int_equal(r.heads, 2);
	assert_string_equal(r.targets[1], "/next");
	/* cut inside the request line: nothing to read, framing lost all the same */
	http1_parser__feed(&p, (const uint8_t *)"GET /a/very/long/p", 18, 9000, 4);
	assert_int_equal(r.heads, 2);
	assert_int_equal(r.losts, 2);
	http1_parser__free(&p);
}

/* nginx's ~240-byte response head, 64 bytes captured, over two events: the status line is
 * read, and the head carried over from the first event counts from there */
static void test_cut_response_head(void **state)
{
	const char *nginx = "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov "
			    "2026 15:00:00 GMT\r\nContent-Type: text/html\r\n";
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	http1_parser__feed(&p, (const uint8_t *)nginx, 16, 16, 7);
	http1_parser__feed(&p, (const uint8_t *)nginx + 16, 48, 224, 8);
	assert_int_equal(r.heads, 1);
	assert_int_equal(r.statuses[0], 404);
	assert_int_equal(r.head_ts[0], 7);
	assert_int_equal(r.completes, 0);
	assert_int_equal(r.losts, 1);
	feed(&p, "HTTP/1.1 204 No Content\r\n\r\n", 9);
	assert_int_equal(r.heads, 2);
	assert_int_equal(r.statuses[1], 204);
	assert_int_equal(r.completes, 1);
	http1_parser__free(&p);
}

/* joining a connection mid-stream, and a gap from a lost event */
static void test_midstream_join_and_gap(void **state)
{
	struct rec r = {};
	struct http1_parser p;

	(void)state;
	http1_parser__init(&p, &cb, &r);
	http1_parser__gap(&p); /* agent started: nothing known before this */
	feed(&p, "rest of an earlier body", 1);
	assert_int_equal(r.heads, 0);
	feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", 2);
	assert_int_equal(r.heads, 1);
	http1_parser__gap(&p); /* lost the last two body bytes */
	assert_int_equal(r.losts, 1);
	assert_int_equal(r.completes, 0);
	http1_parser__free(&p);
}

static void test_rejects_garbage(void **state)
{
	struct http1_head h;

	(void)state;
	assert_int_equal(http1_parse_head("GET / HTTP/2.0\r\n\r\n", 18, &h), -EINVAL);
	assert_int_equal(http1_parse_head("GET / HTTP/1.1\r\nno colon\r\n\r\n", 29, &h), -EINVAL);
	assert_int_equal(http1_parse_head("HTTP/1.1 2x0 OK\r\n\r\n", 19, &h), -EINVAL);
	assert_int_equal(http1_parse_head("POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", 41, &h),
			 -EINVAL);
	assert_true(http1_is_message_start((const uint8_t *)"HTTP/1.1 200", 12));
	assert_false(http1_is_message_start((const uint8_t *)"\x16\x03\x01\x02\x00", 5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_head),
	    cmocka_unit_test(test_response_head_then_body),
	    cmocka_unit_test(test_head_split_over_reads),
	    cmocka_unit_test(test_byte_at_a_time),
	    cmocka_unit_test(test_pipelined_requests),
	    cmocka_unit_test(test_chunked_response),
	    cmocka_unit_test(test_interim_response),
	    cmocka_unit_test(test_head_response_has_no_body),
	    cmocka_unit_test(test_connection_close_delimited),
	    cmocka_unit_test(test_truncated_capture),
	    cmocka_unit_test(test_truncated_head_then_resync),
	    cmocka_unit_test(test_cut_response_head),
	    cmocka_unit_test(test_midstream_join_and_gap),
	    cmocka_unit_test(test_rejects_garbage),
	};

	return cmocka_run_group_tests_name("http1", tests, NULL, NULL);
}
