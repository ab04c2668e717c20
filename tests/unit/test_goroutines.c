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
#include "correlate.h"
#include "event_builder.h"
#include "gofollow.h"

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
#define TID 42 /* one thread runs every goroutine: a thread rule would link everything */

struct fixture {
	struct tracer *t;
	struct gofollow *go;
	struct collected out;
	char root[64];
	uint32_t pid;
	uint32_t seq[16];
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

static void assert_child_of(const struct span *child, const struct span *parent)
{
	assert_true(child->has_parent);
	assert_memory_equal(child->ctx.trace_id, parent->ctx.trace_id, 16);
	assert_memory_equal(child->parent_id, parent->ctx.span_id, 8);
}

static struct correlator_stats stats(struct fixture *f)
{
	struct correlator_stats s;

	correlator__stats(f->t->corr, &s);
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
	    cmocka_unit_test_setup_teardown(test_unfollowed_go_gets_no_thread_links,
					    setup_unfollowed, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
