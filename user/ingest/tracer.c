// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/clock.h"
#include "ingest/conn.h"
#include "trace/correlate.h"
#include "capture/gofollow.h"
#include "trace/gohttp.h"
#include "base/log.h"
#include "trace/proc.h"
#include "trace/span.h"
#include "ingest/tracer.h"

static int64_t clock_offset(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000LL + (real.tv_nsec - mono.tv_nsec);
}

struct tracer *tracer__new(const struct tracer_opts *opts)
{
	struct tracer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->build.sink = opts->sink;
	t->build.sink_ctx = opts->sink_ctx;
	t->build.filter = opts->filter;
	t->build.mono_to_unix_ns = clock_offset();
	t->build.procs = proc_table__new(opts->proc_root ? opts->proc_root : "/proc", 1024);
	t->build.corr = correlator__new(4096);
	t->build.gohttp = gohttp__new(16384);
	t->conns = conn_table__new(&t->build, opts->max_conns ? opts->max_conns : 16384,
				   &t->stats.seq_gaps, &t->stats.conns_evicted);
	if (!t->build.procs || !t->conns || !t->build.corr || !t->build.gohttp) {
		tracer__free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	conn_table__free(t->conns);
	correlator__free(t->build.corr);
	gohttp__free(t->build.gohttp);
	proc_table__free(t->build.procs);
	free(t);
}

/* How often the kernel is asked for every connection's addresses at most: each ask costs one
 * more record per live connection. */
#define ADDRS_ASK_NS 100000000ull

static void ask_addrs(struct tracer *t, uint64_t now)
{
	if (t->addrs_asked_ts && now - t->addrs_asked_ts < ADDRS_ASK_NS)
		return;
	t->addrs_asked_ts = now;
	t->addrs_wanted = false;
	if (t->resend_addrs)
		t->resend_addrs(t->resend_addrs_ctx);
}

void tracer__tick(struct tracer *t)
{
	/* wall clock steps (NTP) must not skew span times for long */
	t->build.mono_to_unix_ns = clock_offset();
	correlator__expire(t->build.corr, false);
	gofollow__tick(t->go, now_ns());
	if (t->addrs_wanted)
		ask_addrs(t, now_ns());
}

void tracer__flush(struct tracer *t)
{
	conn_table__close_all(t->conns, now_ns());
	correlator__expire(t->build.corr, true);
}

/* Whose context an event is in (correlate.h): its thread; in a Go process the agent follows,
 * the goroutine it ran on, or for a write the one a net/http writer goroutine writes for; none
 * in a Go process that cannot be followed. */
static uint64_t task_of(struct tracer *t, const struct zt_event_header *h, uint8_t role, bool write)
{
	uint64_t g = h->g;

	switch (gofollow__state(t->go, h->pid)) {
	case GO_FOLLOWED:
		if (role == ZT_ROLE_CLIENT)
			gofollow__calls_out(t->go, h->pid);
		if (g && write)
			g = gohttp__writes_for(t->build.gohttp, h->pid, g);
		return g ? task_of_goroutine(h->pid, g) : 0;
	case GO_UNFOLLOWED: return 0;
	default: return task_of_thread(h->pid, h->tid);
	}
}

static void handle_go(struct tracer *t, const struct zt_go_event *ev)
{
	uint32_t pid = ev->hdr.pid;

	switch (ev->hdr.type) {
	case ZT_EV_GO_NEWG:
		gohttp__forget(t->build.gohttp, pid, ev->object);
		correlator__inherit(t->build.corr, task_of_goroutine(pid, ev->subject),
				    task_of_goroutine(pid, ev->object));
		break;
	case ZT_EV_GO_HTTP_RT:
		gofollow__calls_out(t->go, pid);
		gohttp__round_trip(t->build.gohttp, pid, ev->subject, ev->object);
		break;
	case ZT_EV_GO_HTTP_WRITE:
		gohttp__request_write(t->build.gohttp, pid, ev->subject, ev->object);
		break;
	case ZT_EV_GO_H2_HANDLER:
		correlator__h2_stream_handler(t->build.corr, task_of_goroutine(pid, ev->subject),
					      (uint32_t)ev->object);
		break;
	case ZT_EV_GO_H2_CALL:
		gohttp__h2_call(t->build.gohttp, pid, ev->subject, ev->object);
		break;
	case ZT_EV_GO_H2_WRITE:
		gohttp__h2_write(t->build.gohttp, pid, ev->subject, ev->object, ev->stream);
		break;
	}
}

static int handle_data(struct tracer *t, const struct zt_data_event *ev, size_t len)
{
	struct conn *c;

	if (len < sizeof(*ev) || sizeof(*ev) + ev->captured > len)
		return -EINVAL;
	c = conn_table__get(t->conns, &ev->conn, ev->role);
	if (!c)
		return -ENOMEM;
	/* evicted here, or its ZT_EV_CONN_INFO lost with a full ring: its spans lack addresses
	 * until the kernel ships them again */
	if (!flow__has_addrs(&c->flow) && !c->flow.last_ts) {
		t->stats.conns_without_addrs++;
		t->addrs_wanted = true;
		ask_addrs(t, ev->hdr.ts);
	}
	conn__feed(t->conns, c, ev, (const uint8_t *)(ev + 1),
		   task_of(t, &ev->hdr, ev->role, ev->dir == ZT_DIR_WRITE));
	return 0;
}

static int handle_info(struct tracer *t, const struct zt_conn_event *ev)
{
	struct conn *c = conn_table__get(t->conns, &ev->conn, ev->role);

	if (!c)
		return -ENOMEM;
	flow__set_addrs(&c->flow, &ev->tuple);
	return 0;
}

static void handle_close(struct tracer *t, const struct zt_conn_event *ev)
{
	struct conn *c = conn_table__find(t->conns, &ev->conn);

	if (c)
		conn_table__close(t->conns, c, ev->hdr.ts);
}

int tracer__handle(struct tracer *t, const void *data, size_t len)
{
	const struct zt_event_header *h = data;
	int err = 0;

	t->stats.events++;
	if (len < sizeof(*h) || h->len > len) {
		t->stats.bad_events++;
		return -EINVAL;
	}
	switch (h->type) {
	case ZT_EV_DATA: err = handle_data(t, data, len); break;
	case ZT_EV_CONN_OPEN:
		if (len < sizeof(struct zt_conn_event)) {
			err = -EINVAL;
			break;
		}
		correlator__conn_open(t->build.corr,
				      conn_key_of(&((const struct zt_conn_event *)data)->conn),
				      task_of(t, h, ZT_ROLE_UNKNOWN, false));
		break;
	case ZT_EV_CONN_CLOSE:
		if (len < sizeof(struct zt_conn_event)) {
			err = -EINVAL;
			break;
		}
		handle_close(t, data);
		break;
	case ZT_EV_CONN_INFO:
		if (len < sizeof(struct zt_conn_event)) {
			err = -EINVAL;
			break;
		}
		err = handle_info(t, data);
		break;
	case ZT_EV_PROC_EXEC: {
		const struct zt_proc_event *pe = data;
		char comm[ZT_COMM_LEN + 1], file[ZT_FILENAME_LEN + 1];

		if (len < sizeof(*pe)) {
			err = -EINVAL;
			break;
		}
		/* a new program: new name, new resource */
		snprintf(comm, sizeof(comm), "%.*s", ZT_COMM_LEN, pe->comm);
		snprintf(file, sizeof(file), "%.*s", ZT_FILENAME_LEN, pe->filename);
		proc_table__exec(t->build.procs, h->pid, comm, file);
		gofollow__exec(t->go, h->pid);
		break;
	}
	case ZT_EV_PROC_EXIT:
		conn_table__close_pid(t->conns, h->pid, h->ts, t->forget, t->forget_ctx);
		proc_table__forget(t->build.procs, h->pid);
		gofollow__exit(t->go, h->pid);
		break;
	case ZT_EV_GO_NEWG:
	case ZT_EV_GO_HTTP_RT:
	case ZT_EV_GO_HTTP_WRITE:
	case ZT_EV_GO_H2_HANDLER:
	case ZT_EV_GO_H2_CALL:
	case ZT_EV_GO_H2_WRITE:
		if (len < sizeof(struct zt_go_event)) {
			err = -EINVAL;
			break;
		}
		handle_go(t, data);
		break;
	default: err = -EINVAL;
	}
	if (err == -EINVAL)
		t->stats.bad_events++;
	return err;
}
