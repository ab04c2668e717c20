/* SPDX-License-Identifier: BSD-2-Clause */
/* Builds ring-buffer records the way the BPF side does, for tests that replay event sequences
 * through the tracer, and checks what comes out. Header-only: each test binary is one
 * translation unit; include it after <cmocka.h>. */
#ifndef ZT_TEST_EVENT_BUILDER_H
#define ZT_TEST_EVENT_BUILDER_H

#include <arpa/inet.h>
#include <string.h>
#include "events.h"
#include "trace/span.h"
#include "ingest/tracer.h"

#define MAX_SPANS 64

/* The goroutine data events report as running (hdr.g), for replays of a Go process. */
static uint64_t replay_g;

struct collected {
	struct span *spans[MAX_SPANS];
	int n;
};

static inline void collect(void *ctx, struct span *s)
{
	struct collected *c = ctx;

	if (c->n < MAX_SPANS)
		c->spans[c->n++] = s;
	else
		span__free(s);
}

/* A tracer whose finished spans land in *out, with span times equal to event times. */
static inline struct tracer *replay_tracer_new(struct collected *out)
{
	struct tracer_opts o = {.proc_root = "/proc", .max_conns = 64, .sink = collect};
	struct tracer *t;

	o.sink_ctx = out;
	t = tracer__new(&o);
	if (t)
		t->build.mono_to_unix_ns = 0;
	return t;
}

/* Frees the tracer (and the spans still open in it) and every span collected. */
static inline void replay_tracer_free(struct tracer *t, struct collected *out)
{
	tracer__free(t);
	for (int i = 0; i < out->n; i++)
		span__free(out->spans[i]);
	out->n = 0;
}

static inline struct zt_tuple make_tuple(const char *local, uint16_t lport, const char *remote,
					 uint16_t rport)
{
	struct zt_tuple t = {};
	bool v6 = strchr(local, ':') != NULL;

	t.family = v6 ? AF_INET6 : AF_INET;
	inet_pton(v6 ? AF_INET6 : AF_INET, local, t.saddr);
	inet_pton(v6 ? AF_INET6 : AF_INET, remote, t.daddr);
	t.sport = lport;
	t.dport = rport;
	return t;
}

/* A connection's addresses, as the kernel ships them ahead of its first data event. */
static inline int replay_conn_info(struct tracer *t, uint32_t pid, uint32_t tid, int fd,
				   uint64_t gen, const struct zt_tuple *tuple, uint8_t role)
{
	struct zt_conn_event ev = {};

	ev.hdr.type = ZT_EV_CONN_INFO;
	ev.hdr.len = sizeof(ev);
	ev.hdr.pid = pid;
	ev.hdr.tid = tid;
	ev.conn.pid = pid;
	ev.conn.fd = fd;
	ev.conn.gen = gen;
	ev.tuple = *tuple;
	ev.role = role;
	return tracer__handle(t, &ev, sizeof(ev));
}

/* One data event as it comes when its connection's addresses were not shipped: `total` bytes
 * moved by (pid, tid) on (pid, fd, gen), first byte at seq, of which the capture kept
 * `payload`. */
static inline int replay_data_only(struct tracer *t, uint32_t pid, uint32_t tid, int fd,
				   uint64_t gen, uint8_t dir, uint32_t seq, uint64_t ts,
				   const char *payload, size_t total)
{
	static uint8_t buf[sizeof(struct zt_data_event) + 8192];
	struct zt_data_event *ev = (void *)buf;
	size_t n = strlen(payload);

	memset(ev, 0, sizeof(*ev));
	ev->hdr.type = ZT_EV_DATA;
	ev->hdr.len = sizeof(*ev) + n;
	ev->hdr.pid = pid;
	ev->hdr.tid = tid;
	ev->hdr.ts = ts;
	ev->hdr.g = replay_g;
	ev->conn.pid = pid;
	ev->conn.fd = fd;
	ev->conn.gen = gen;
	ev->seq = seq;
	ev->bytes = total;
	ev->captured = n;
	ev->dir = dir;
	ev->proto = ZT_PROTO_HTTP1;
	memcpy(ev + 1, payload, n);
	return tracer__handle(t, buf, sizeof(*ev) + n);
}

/* The same after its connection's addresses, as the kernel ships them. */
static inline int replay_data_cut(struct tracer *t, uint32_t pid, uint32_t tid, int fd,
				  uint64_t gen, const struct zt_tuple *tuple, uint8_t dir,
				  uint32_t seq, uint64_t ts, const char *payload, size_t total)
{
	int err = replay_conn_info(t, pid, tid, fd, gen, tuple, 0);

	return err ?: replay_data_only(t, pid, tid, fd, gen, dir, seq, ts, payload, total);
}

/* One data event whose bytes were all captured. */
static inline int replay_data(struct tracer *t, uint32_t pid, uint32_t tid, int fd, uint64_t gen,
			      const struct zt_tuple *tuple, uint8_t dir, uint32_t seq, uint64_t ts,
			      const char *payload)
{
	return replay_data_cut(t, pid, tid, fd, gen, tuple, dir, seq, ts, payload, strlen(payload));
}

/* A Go runtime event from the uprobes (ZT_EV_GO_*), with a stream id where it has one. */
static inline int replay_go_stream(struct tracer *t, uint32_t pid, uint16_t type, uint64_t subject,
				   uint64_t object, uint32_t stream)
{
	struct zt_go_event ev = {};

	ev.hdr.type = type;
	ev.hdr.len = sizeof(ev);
	ev.hdr.pid = pid;
	ev.hdr.tid = pid;
	ev.subject = subject;
	ev.object = object;
	ev.stream = stream;
	return tracer__handle(t, &ev, sizeof(ev));
}

static inline int replay_go(struct tracer *t, uint32_t pid, uint16_t type, uint64_t subject,
			    uint64_t object)
{
	return replay_go_stream(t, pid, type, subject, object, 0);
}

/* child is parent's child: same trace, parent's id as its parent */
static inline void assert_child_of(const struct span *child, const struct span *parent)
{
	assert_true(child->has_parent);
	assert_memory_equal(child->ctx.trace_id, parent->ctx.trace_id, 16);
	assert_memory_equal(child->parent_id, parent->ctx.span_id, 8);
}

#endif
