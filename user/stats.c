// SPDX-License-Identifier: BSD-2-Clause
/*
 * The agent's counters, one table per set: each table drives its log line, its /metrics
 * samples and the loss check, so a counter has one name everywhere (`name=N` in the log,
 * `zerotrace_name_total` or, for a gauge, `zerotrace_name` in /metrics) and none is left out.
 */
#include <stddef.h>
#include <stdint.h>
#include "agent.h"
#include "ingest/conn.h"
#include "trace/correlate.h"
#include "export/exporter.h"
#include "capture/gofollow.h"
#include "trace/gohttp.h"
#include "base/log.h"
#include "metrics/metrics.h"
#include "capture/probe.h"
#include "trace/proc.h"
#include "ingest/tracer.h"

/* Everything counted, read at one moment. */
struct snapshot {
	struct tracer_stats t;
	struct span_stats s;
	struct exporter_stats e;
	struct correlator_stats c;
	struct gofollow_stats g;
	uint64_t hand_over_resets;
	uint64_t conns, procs, queue_depth;
	uint64_t drops[ZT_DROP_MAX];
};

enum counter_kind { COUNTER, GAUGE, LOSS /* a counter whose every count is something lost */ };

struct counter {
	const char *name;
	size_t off; /* of its uint64_t in struct snapshot */
	enum counter_kind kind;
	const char *help;
};

#define C(field, name, kind, help)                                                                 \
	{                                                                                          \
		name, offsetof(struct snapshot, field), kind, help                                 \
	}

static const struct counter stats_counters[] = {
    C(t.events, "events", COUNTER, "Ring-buffer records read."),
    C(s.spans_finished, "spans", COUNTER, "Spans built."),
    C(s.spans_incomplete, "incomplete", COUNTER, "Spans exported with missing parts."),
    C(e.exported, "exported", COUNTER, "Spans accepted by the backend."),
    C(e.dropped_queue_full, "queue_dropped", LOSS, "Spans dropped: the export queue was full."),
    C(e.dropped_export_failed, "export_failed", LOSS,
      "Spans dropped: the backend did not take them after retries."),
    C(e.export_errors, "export_errors", COUNTER, "Failed export attempts, retried or not."),
    C(e.retries, "export_retries", COUNTER, "Export attempts that were retries."),
    C(queue_depth, "export_queue_depth", GAUGE, "Spans waiting for export."),
    C(s.unmatched_responses, "unmatched_responses", COUNTER, "Responses with no request seen."),
    C(t.seq_gaps, "seq_gaps", LOSS, "Bytes missing between two events of a connection."),
    C(t.conns_evicted, "conns_evicted", LOSS, "Connections dropped from a full connection table."),
    C(t.conns_without_addrs, "conns_without_addrs", LOSS,
      "Connections whose data came before their addresses (evicted, or lost with a full "
      "ring): their spans lack them until the kernel ships them again."),
    C(s.h2_streams_evicted, "h2_streams_evicted", LOSS,
      "HTTP/2 streams ended early: their connection had too many open."),
    C(s.http1_requests_evicted, "http1_requests_evicted", LOSS,
      "HTTP/1 requests ended early: their connection had too many waiting."),
    C(s.db_calls_evicted, "db_calls_evicted", LOSS,
      "Database commands ended early: their connection had too many waiting for a reply."),
    C(t.bad_events, "bad_events", LOSS, "Malformed ring-buffer records."),
    C(s.filtered_events, "not_selected", COUNTER,
      "Requests left out by --port/--exe/cgroup selection."),
    C(s.responses_mixed, "responses_mixed", COUNTER,
      "Reads holding responses to calls of different requests: their reader in no context."),
    C(s.no_process, "no_process", COUNTER,
      "Requests whose process was gone before /proc could be read (unknown_service)."),
    C(conns, "conns_tracked", GAUGE, "Connections in the agent's table."),
    C(procs, "processes_tracked", GAUGE, "Processes in the agent's table."),
};

static const struct counter link_counters[] = {
    C(c.joined_same_node, "joined_same_node", COUNTER,
      "Server spans parented by a client span on this node."),
    C(c.joined_nat, "joined_nat", COUNTER, "Same-node joins whose tuples differed (NAT)."),
    C(c.joined_traceparent, "joined_traceparent", COUNTER,
      "Server spans parented by a traceparent header."),
    C(c.joined_thread, "joined_thread", COUNTER,
      "Client spans parented by their thread's or goroutine's context."),
    C(c.joined_connect, "joined_connect", COUNTER,
      "First requests parented by whoever opened the connection."),
    C(c.joined_held, "joined_held", COUNTER, "Joins to a client span that had already ended."),
    C(c.client_adopted, "client_adopted", COUNTER,
      "Client requests that carried their own traceparent (no second span made)."),
    C(c.client_unjoined, "client_unjoined", COUNTER,
      "Client spans no server span on this node claimed."),
    C(c.server_local_unjoined, "server_local_unjoined", COUNTER,
      "Requests from this node that matched no client span."),
    C(c.context_resets, "context_resets", COUNTER,
      "Context tables emptied because they were full."),
};

static const struct counter go_counters[] = {
    C(g.binaries_followed, "binaries_followed", GAUGE,
      "Go executables whose goroutines are followed (uprobes attached)."),
    C(g.binaries_unfollowed, "binaries_unfollowed", GAUGE,
      "Go executables that cannot be followed: no in-process links for their processes."),
    C(g.attach_failed, "attach_failed", COUNTER,
      "Go executables whose uprobes the kernel refused."),
    C(g.pids_followed, "pids_followed", GAUGE, "Go processes followed now."),
    C(g.pids_unfollowed, "pids_unfollowed", GAUGE, "Go processes not followed now."),
    C(c.inherited, "goroutines_inherited", COUNTER, "Goroutines created in a request's context."),
    C(c.goroutine_unlinked, "client_unlinked", COUNTER,
      "Client spans of goroutines in no request's context (worker pools): new traces."),
    C(c.h2_handlers_linked, "h2_handlers_linked", COUNTER,
      "Goroutines handling an HTTP/2 server stream, put in its request's context."),
    C(c.h2_handlers_unlinked, "h2_handlers_unlinked", COUNTER,
      "Goroutines handling an HTTP/2 server stream whose request was not found."),
    C(s.go_h2_linked, "h2_linked", COUNTER,
      "HTTP/2 client calls of followed Go processes (grpc-go) linked to their caller."),
    C(s.go_h2_unlinked, "h2_unlinked", COUNTER,
      "HTTP/2 client calls of followed Go processes, left without an in-process link."),
    C(hand_over_resets, "hand_over_resets", COUNTER,
      "net/http and grpc-go hand-over tables emptied because they were full."),
};

struct counter_set {
	const char *line;   /* its log line: "stats", "links", "go" */
	const char *prefix; /* of its /metrics names after zerotrace_ */
	const struct counter *c;
	size_t n;
};

#define SET(line, prefix, table)                                                                   \
	{                                                                                          \
		line, prefix, table, sizeof(table) / sizeof(table[0])                              \
	}

static const struct counter_set sets[] = {
    SET("stats", "", stats_counters),
    SET("links", "", link_counters),
    SET("go", "go_", go_counters),
};

static void snapshot(struct agent *a, struct snapshot *s)
{
	s->t = a->tracer->stats;
	s->s = a->tracer->build.stats;
	exporter__stats(a->exp, &s->e);
	correlator__stats(a->tracer->build.corr, &s->c);
	gofollow__stats(a->go, &s->g);
	s->hand_over_resets = gohttp__resets(a->tracer->build.gohttp);
	s->conns = conn_table__size(a->tracer->conns);
	s->procs = proc_table__size(a->tracer->build.procs);
	s->queue_depth = exporter__queue_depth(a->exp);
	probe__drops(a->probe, s->drops);
}

static uint64_t value(const struct snapshot *s, const struct counter *c)
{
	return *(const uint64_t *)((const char *)s + c->off);
}

/* the kernel's drops that lose something (a truncated payload only shortens a capture) */
static bool kernel_loss(int reason)
{
	return reason != ZT_DROP_PAYLOAD_TRUNCATED;
}

bool agent__any_loss(struct agent *a)
{
	struct snapshot s;

	snapshot(a, &s);
	for (int r = 0; r < ZT_DROP_MAX; r++)
		if (kernel_loss(r) && s.drops[r])
			return true;
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++)
		for (size_t i = 0; i < sets[k].n; i++)
			if (sets[k].c[i].kind == LOSS && value(&s, &sets[k].c[i]))
				return true;
	return false;
}

void agent__log_stats(struct agent *a, bool final)
{
	struct snapshot s;

	snapshot(a, &s);
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		char line[1536];
		size_t o = 0;

		for (size_t i = 0; i < sets[k].n && o < sizeof(line); i++)
			o += snprintf(line + o, sizeof(line) - o, "%s%s=%llu", i ? " " : "",
				      sets[k].c[i].name,
				      (unsigned long long)value(&s, &sets[k].c[i]));
		if (k == 0) /* the kernel's, per reason */
			for (int r = 0; r < ZT_DROP_MAX && o < sizeof(line); r++)
				o += snprintf(line + o, sizeof(line) - o, "%s %s=%llu",
					      r ? "" : " kernel_drops:", drop_reason_names[r],
					      (unsigned long long)s.drops[r]);
		pr_info("%s%s: %s", final ? "final " : "", sets[k].line, line);
	}
}

/* a metric family's samples stay together: one pass per family */
static void prog_seconds(void *ctx, const char *name, uint64_t run_time_ns, uint64_t run_cnt)
{
	(void)run_cnt;
	fprintf(ctx, "zerotrace_bpf_run_seconds_total{program=\"%s\"} %.9f\n", name,
		run_time_ns / 1e9);
}

static void prog_runs(void *ctx, const char *name, uint64_t run_time_ns, uint64_t run_cnt)
{
	(void)run_time_ns;
	fprintf(ctx, "zerotrace_bpf_runs_total{program=\"%s\"} %llu\n", name,
		(unsigned long long)run_cnt);
}

void agent__prometheus(void *agent, FILE *out)
{
	struct snapshot s;

	snapshot(agent, &s);
	for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
		for (size_t i = 0; i < sets[k].n; i++) {
			const struct counter *c = &sets[k].c[i];
			const char *suffix = c->kind == GAUGE ? "" : "_total";

			fprintf(out,
				"# HELP zerotrace_%s%s%s %s\n# TYPE zerotrace_%s%s%s %s\n"
				"zerotrace_%s%s%s %llu\n",
				sets[k].prefix, c->name, suffix, c->help, sets[k].prefix, c->name,
				suffix, c->kind == GAUGE ? "gauge" : "counter", sets[k].prefix,
				c->name, suffix, (unsigned long long)value(&s, c));
		}
	}
	fputs("# HELP zerotrace_kernel_drops_total Events the kernel lost or cut short, by "
	      "reason.\n# TYPE zerotrace_kernel_drops_total counter\n",
	      out);
	for (int r = 0; r < ZT_DROP_MAX; r++)
		fprintf(out, "zerotrace_kernel_drops_total{reason=\"%s\"} %llu\n",
			drop_reason_names[r], (unsigned long long)s.drops[r]);
	fputs("# HELP zerotrace_bpf_run_seconds_total BPF program run time "
	      "(kernel.bpf_stats_enabled=1).\n# TYPE zerotrace_bpf_run_seconds_total counter\n",
	      out);
	probe__prog_stats(((struct agent *)agent)->probe, prog_seconds, out);
	fputs("# HELP zerotrace_bpf_runs_total BPF program runs (kernel.bpf_stats_enabled=1).\n"
	      "# TYPE zerotrace_bpf_runs_total counter\n",
	      out);
	probe__prog_stats(((struct agent *)agent)->probe, prog_runs, out);
}
