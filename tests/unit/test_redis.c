// SPDX-License-Identifier: BSD-2-Clause
/* Redis: RESP2 and RESP3 connections recorded between redis-py and redis-server
 * (tests/unit/data/record_redis.py) replayed through the tracer from the client's end — whole,
 * cut at odd sizes, a byte at a time, with a value the capture cut short, and with bytes
 * missing — and the spans they give. */
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

#define DATA_DIR "tests/unit/data/"

struct bytes {
	uint8_t *p;
	size_t len;
};

static struct bytes load(const char *name)
{
	struct bytes b = {.p = malloc(65536)};
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	b.len = fread(b.p, 1, 65536, f);
	fclose(f);
	return b;
}

struct fixture {
	struct tracer *t;
	struct collected out;
	uint32_t seq[2];
	uint64_t ts;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct zt_tuple tuple = make_tuple("127.0.0.1", 41000, "127.0.0.1", 6379);

	f->t = replay_tracer_new(&f->out);
	assert_non_null(f->t);
	f->seq[ZT_DIR_WRITE] = 5000;
	f->seq[ZT_DIR_READ] = 90000;
	f->ts = 1000000;
	assert_int_equal(replay_conn_info(f->t, getpid(), getpid(), 5, 1, &tuple, ZT_ROLE_CLIENT),
			 0);
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

/* One event of direction dir: total bytes moved, the first `captured` of p shipped. */
static void feed(struct fixture *f, uint8_t dir, const uint8_t *p, size_t captured, size_t total)
{
	static uint8_t buf[sizeof(struct zt_data_event) + 65536];
	struct zt_data_event *ev = (void *)buf;

	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = ZT_EV_DATA;
	ev->hdr.len = sizeof(*ev) + captured;
	ev->hdr.pid = getpid();
	ev->hdr.tid = getpid();
	ev->hdr.ts = f->ts += 1000;
	ev->conn = (struct zt_conn_id){.pid = getpid(), .fd = 5, .gen = 1};
	ev->seq = f->seq[dir];
	ev->bytes = total;
	ev->captured = captured;
	ev->dir = dir;
	ev->role = ZT_ROLE_CLIENT;
	ev->proto = ZT_PROTO_REDIS;
	memcpy(ev + 1, p, captured);
	assert_int_equal(tracer__handle(f->t, buf, sizeof(*ev) + captured), 0);
	f->seq[dir] += total;
}

/* A direction's bytes in events of `chunk` bytes (0: one event), each capture cut at `cap`. */
static void replay(struct fixture *f, uint8_t dir, const struct bytes *b, size_t chunk, size_t cap)
{
	for (size_t pos = 0; pos < b->len;) {
		size_t n = chunk && chunk < b->len - pos ? chunk : b->len - pos;

		feed(f, dir, b->p + pos, n < cap ? n : cap, n);
		pos += n;
	}
}

static const struct attr *attr(const struct span *s, const char *key)
{
	return span__attr(s, key);
}

static const char *str(const struct span *s, const char *key)
{
	const struct attr *a = attr(s, key);

	return a && a->type == ATTR_STR ? a->str : "";
}

/* The RESP2 recording's commands, in order: name, query text, database, error code or "" */
static const char *const resp2_spans[][4] = {
    {"CLIENT", "CLIENT ? ? ?", "0", "ERR"}, /* redis 7.0 has no CLIENT SETINFO */
    {"CLIENT", "CLIENT ? ? ?", "0", "ERR"},
    {"SET", "SET ? ?", "0", ""},
    {"GET", "GET ?", "0", ""},
    {"GET", "GET ?", "0", ""},
    {"INCRBY", "INCRBY ? ?", "0", ""},
    {"INCRBY", "INCRBY ? ?", "0", ""},
    {"GET", "GET ?", "0", ""},
    {"MULTI", "MULTI", "0", ""},
    {"SET", "SET ? ?", "0", ""},
    {"INCRBY", "INCRBY ? ?", "0", ""},
    {"EXEC", "EXEC", "0", ""},
    {"INCRBY", "INCRBY ? ?", "0", "ERR"},
    {"SET", "SET ? ?", "0", ""},
    {"GET", "GET ?", "0", ""},
    {"SELECT", "SELECT ?", "0", ""},
    {"SET", "SET ? ?", "2", ""},
    {"LRANGE", "LRANGE ? ? ?", "2", ""},
};

#define NRESP2 (sizeof(resp2_spans) / sizeof(resp2_spans[0]))

static void check_resp2(struct fixture *f)
{
	assert_int_equal(f->out.n, NRESP2);
	for (size_t i = 0; i < NRESP2; i++) {
		const struct span *s = f->out.spans[i];

		assert_string_equal(s->name, resp2_spans[i][0]);
		assert_int_equal(s->kind, SPAN_KIND_CLIENT);
		assert_false(s->incomplete);
		assert_string_equal(str(s, "db.system.name"), "redis");
		assert_string_equal(str(s, "db.operation.name"), resp2_spans[i][0]);
		assert_string_equal(str(s, "db.query.text"), resp2_spans[i][1]);
		assert_string_equal(str(s, "db.namespace"), resp2_spans[i][2]);
		assert_string_equal(str(s, "db.response.status_code"), resp2_spans[i][3]);
		assert_int_equal(s->status,
				 resp2_spans[i][3][0] ? SPAN_STATUS_ERROR : SPAN_STATUS_UNSET);
		assert_string_equal(str(s, "server.address"), "127.0.0.1");
		assert_int_equal(attr(s, "server.port")->i, 6379);
		assert_true(s->end_ns >= s->start_ns);
	}
	/* no value of the recording is anywhere in a span */
	for (int i = 0; i < f->out.n; i++)
		for (int a = 0; a < f->out.spans[i]->nattrs; a++) {
			const struct attr *at = &f->out.spans[i]->attrs[a];

			if (at->type == ATTR_STR)
				assert_null(strstr(at->str, "alice"));
		}
}

/* Replies pair with commands first in, first out: the whole recording as a pipeline. */
static void test_resp2_whole(void **state)
{
	struct fixture *f = *state;
	struct bytes c2s = load("redis_resp2.c2s.bin"), s2c = load("redis_resp2.s2c.bin");

	replay(f, ZT_DIR_WRITE, &c2s, 0, SIZE_MAX);
	replay(f, ZT_DIR_READ, &s2c, 0, SIZE_MAX);
	check_resp2(f);
	assert_int_equal(f->t->build.stats.unmatched_responses, 0);
	free(c2s.p);
	free(s2c.p);
}

/* Each command followed by its reply, both in events of odd sizes or a byte at a time. */
static void replay_interleaved(struct fixture *f, size_t chunk, size_t cap)
{
	struct bytes c2s = load("redis_resp2.c2s.bin"), s2c = load("redis_resp2.s2c.bin");

	replay(f, ZT_DIR_WRITE, &c2s, chunk, cap);
	replay(f, ZT_DIR_READ, &s2c, chunk, cap);
	free(c2s.p);
	free(s2c.p);
}

static void test_resp2_odd_sizes(void **state)
{
	struct fixture *f = *state;

	replay_interleaved(f, 7, SIZE_MAX);
	check_resp2(f);
}

static void test_resp2_byte_at_a_time(void **state)
{
	struct fixture *f = *state;

	replay_interleaved(f, 1, SIZE_MAX);
	check_resp2(f);
}

/* The capture keeps only an event's first bytes: a 10 KB value written and read, each in one
 * event of which 4096 bytes were shipped, is skipped by its length. */
static void test_value_cut_by_capture(void **state)
{
	static char set[10100], reply[10100];
	static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
	struct fixture *f = *state;
	int n;

	n = snprintf(set, sizeof(set), "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$10000\r\n");
	memset(set + n, 'x', 10000);
	memcpy(set + n + 10000, "\r\n", 2);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)set, 4096, n + 10002);
	feed(f, ZT_DIR_READ, (const uint8_t *)"+OK\r\n", 5, 5);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)get, strlen(get), strlen(get));
	n = snprintf(reply, sizeof(reply), "$10000\r\n");
	memset(reply + n, 'x', 10000);
	feed(f, ZT_DIR_READ, (const uint8_t *)reply, 4096, n + 10002);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)get, strlen(get), strlen(get));
	feed(f, ZT_DIR_READ, (const uint8_t *)"$-1\r\n", 5, 5);
	assert_int_equal(f->out.n, 3);
	for (int i = 0; i < 3; i++)
		assert_false(f->out.spans[i]->incomplete);
	assert_string_equal(str(f->out.spans[0], "db.query.text"), "SET ? ?");
	assert_string_equal(str(f->out.spans[2], "db.query.text"), "GET ?");
}

/* RESP3: HELLO's map, HGETALL's map, an unknown command's error. */
static void test_resp3(void **state)
{
	static const char *const want[][2] = {
	    {"HELLO", ""},   {"CLIENT", "ERR"}, {"CLIENT", "ERR"},	  {"HSET", ""},
	    {"HGETALL", ""}, {"GET", ""},	{"NOSUCHCOMMAND", "ERR"},
	};
	struct fixture *f = *state;
	struct bytes c2s = load("redis_resp3.c2s.bin"), s2c = load("redis_resp3.s2c.bin");

	replay(f, ZT_DIR_WRITE, &c2s, 0, SIZE_MAX);
	replay(f, ZT_DIR_READ, &s2c, 3, SIZE_MAX);
	assert_int_equal(f->out.n, sizeof(want) / sizeof(want[0]));
	for (int i = 0; i < f->out.n; i++) {
		assert_string_equal(f->out.spans[i]->name, want[i][0]);
		assert_false(f->out.spans[i]->incomplete);
		assert_string_equal(str(f->out.spans[i], "db.response.status_code"), want[i][1]);
	}
	assert_string_equal(str(f->out.spans[4], "db.query.text"), "HGETALL ?");
	free(c2s.p);
	free(s2c.p);
}

/* Bytes missing from the replies: the commands waiting end incomplete, never paired with a
 * reply that is not theirs; the next command written starts over, and pairs. */
static void test_lost_replies(void **state)
{
	static const char get[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	static const char set[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
	struct fixture *f = *state;

	feed(f, ZT_DIR_WRITE, (const uint8_t *)get, strlen(get), strlen(get));
	feed(f, ZT_DIR_WRITE, (const uint8_t *)get, strlen(get), strlen(get));
	feed(f, ZT_DIR_READ, (const uint8_t *)"$5\r\nva", 6, 6);
	f->seq[ZT_DIR_READ] += 40; /* a gap */
	feed(f, ZT_DIR_READ, (const uint8_t *)":1\r\n", 4, 4);
	assert_int_equal(f->out.n, 2);
	assert_true(f->out.spans[0]->incomplete);
	assert_true(f->out.spans[1]->incomplete);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)set, strlen(set), strlen(set));
	feed(f, ZT_DIR_READ, (const uint8_t *)"+OK\r\n", 5, 5);
	assert_int_equal(f->out.n, 3);
	assert_string_equal(f->out.spans[2]->name, "SET");
	assert_false(f->out.spans[2]->incomplete);
}

static const struct span *by_name(struct fixture *f, const char *name, int nth)
{
	for (int i = 0; i < f->out.n; i++)
		if (!strcmp(f->out.spans[i]->name, name) && !nth--)
			return f->out.spans[i];
	fail_msg("no span %s", name);
	return NULL;
}

/* An event loop (one thread) serving two requests shares one Redis connection: a command is
 * its request's child, and a reply read alone puts the loop back in its request's context;
 * a read holding the replies of both requests' commands puts it in neither (what it writes next
 * may continue either one): no link rather than the last reply's. */
static void test_event_loop_replies_of_two_requests(void **state)
{
	static const char get[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
	static const char set[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
	static const char del[] = "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
	struct fixture *f = *state;
	struct zt_tuple a = make_tuple("127.0.0.1", 8080, "127.0.0.1", 50001);
	struct zt_tuple b = make_tuple("127.0.0.1", 8080, "127.0.0.1", 50002);
	const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	uint32_t pid = getpid();

	assert_int_equal(replay_data(f->t, pid, pid, 10, 1, &a, ZT_DIR_READ, 1, f->ts += 1000,
				     "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
			 0);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)get, strlen(get), strlen(get));
	assert_int_equal(replay_data(f->t, pid, pid, 11, 1, &b, ZT_DIR_READ, 1, f->ts += 1000,
				     "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"),
			 0);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)get, strlen(get), strlen(get));
	/* A's reply alone: the loop is back in A's context */
	feed(f, ZT_DIR_READ, (const uint8_t *)"$-1\r\n", 5, 5);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)del, strlen(del), strlen(del));
	/* B's reply and A's in one read: in neither */
	feed(f, ZT_DIR_READ, (const uint8_t *)"$-1\r\n:1\r\n", 9, 9);
	feed(f, ZT_DIR_WRITE, (const uint8_t *)set, strlen(set), strlen(set));
	feed(f, ZT_DIR_READ, (const uint8_t *)"+OK\r\n", 5, 5);
	assert_int_equal(replay_data(f->t, pid, pid, 10, 1, &a, ZT_DIR_WRITE, 1, f->ts += 1000, ok),
			 0);
	assert_int_equal(replay_data(f->t, pid, pid, 11, 1, &b, ZT_DIR_WRITE, 1, f->ts += 1000, ok),
			 0);
	assert_int_equal(f->out.n, 6);
	assert_child_of(by_name(f, "GET", 0), by_name(f, "GET /a", 0));
	assert_child_of(by_name(f, "GET", 1), by_name(f, "GET /b", 0));
	assert_child_of(by_name(f, "DEL", 0), by_name(f, "GET /a", 0));
	assert_false(by_name(f, "SET", 0)->has_parent);
	assert_int_equal(f->t->build.stats.responses_mixed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_resp2_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resp2_odd_sizes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resp2_byte_at_a_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_value_cut_by_capture, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resp3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lost_replies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_loop_replies_of_two_requests, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
