// SPDX-License-Identifier: BSD-2-Clause
#include <stdint.h>
#include "agent.h"
#include "conn.h"
#include "correlate.h"
#include "export/exporter.h"
#include "gofollow.h"
#include "gohttp.h"
#include "log.h"
#include "metrics.h"
#include "probe.h"
#include "proc.h"
#include "tracer.h"

bool agent__any_loss(struct agent *a)
{
	uint64_t drops[ZT_DROP_MAX];
	struct exporter_stats es;

	probe__drops(a->probe, drops);
	exporter__stats(a->exp, &es);
	return drops[ZT_DROP_RINGBUF_FULL] || drops[ZT_DROP_CONN_MAP_FULL] ||
	       drops[ZT_DROP_PAYLOAD_READ_FAILED] || es.dropped_queue_full ||
	       es.dropped_export_failed || a->tracer->stats.seq_gaps ||
	       a->tracer->stats.conns_evicted || a->tracer->stats.h2_streams_evicted ||
	       a->tracer->stats.http1_requests_evicted || a->tracer->stats.conns_without_addrs;
}

void agent__log_stats(struct agent *a, bool final)
{
	const struct tracer_stats *ts = &a->tracer->stats;
	struct gofollow_stats gs;
	uint64_t drops[ZT_DROP_MAX];
	struct correlator_stats cs;
	struct exporter_stats es;
	char kbuf[256] = "";
	size_t o = 0;

	probe__drops(a->probe, drops);
	exporter__stats(a->exp, &es);
	correlator__stats(a->tracer->corr, &cs);
	for (int r = 0; r < ZT_DROP_MAX; r++)
		o += snprintf(kbuf + o, sizeof(kbuf) - o, " %s=%llu", drop_reason_names[r],
			      (unsigned long long)drops[r]);
	pr_info("%s: events=%llu spans=%llu incomplete=%llu exported=%llu queue_dropped=%llu "
		"export_failed=%llu export_errors=%llu unmatched_responses=%llu seq_gaps=%llu "
		"conns_evicted=%llu conns_without_addrs=%llu h2_streams_evicted=%llu "
		"http1_requests_evicted=%llu bad_events=%llu not_selected=%llu "
		"no_process=%llu kernel_drops:%s",
		final ? "final stats" : "stats", (unsigned long long)ts->events,
		(unsigned long long)ts->spans_finished, (unsigned long long)ts->spans_incomplete,
		(unsigned long long)es.exported, (unsigned long long)es.dropped_queue_full,
		(unsigned long long)es.dropped_export_failed, (unsigned long long)es.export_errors,
		(unsigned long long)ts->unmatched_responses, (unsigned long long)ts->seq_gaps,
		(unsigned long long)ts->conns_evicted, (unsigned long long)ts->conns_without_addrs,
		(unsigned long long)ts->h2_streams_evicted,
		(unsigned long long)ts->http1_requests_evicted, (unsigned long long)ts->bad_events,
		(unsigned long long)ts->filtered_events, (unsigned long long)ts->no_process, kbuf);
	pr_info("%s: joined_same_node=%llu joined_nat=%llu joined_traceparent=%llu "
		"joined_thread=%llu joined_connect=%llu joined_held=%llu client_adopted=%llu "
		"client_unjoined=%llu server_local_unjoined=%llu context_resets=%llu",
		final ? "final links" : "links", (unsigned long long)cs.joined_same_node,
		(unsigned long long)cs.joined_nat, (unsigned long long)cs.joined_traceparent,
		(unsigned long long)cs.joined_thread, (unsigned long long)cs.joined_connect,
		(unsigned long long)cs.joined_held, (unsigned long long)cs.client_adopted,
		(unsigned long long)cs.client_unjoined,
		(unsigned long long)cs.server_local_unjoined,
		(unsigned long long)cs.context_resets);
	gofollow__stats(a->go, &gs);
	pr_info("%s: binaries_followed=%llu binaries_unfollowed=%llu attach_failed=%llu "
		"pids_followed=%llu pids_unfollowed=%llu goroutines_inherited=%llu "
		"client_unlinked=%llu h2_handlers_linked=%llu h2_handlers_unlinked=%llu "
		"h2_linked=%llu h2_unlinked=%llu http_writer_resets=%llu",
		final ? "final go" : "go", (unsigned long long)gs.binaries_followed,
		(unsigned long long)gs.binaries_unfollowed, (unsigned long long)gs.attach_failed,
		(unsigned long long)gs.pids_followed, (unsigned long long)gs.pids_unfollowed,
		(unsigned long long)cs.inherited, (unsigned long long)cs.goroutine_unlinked,
		(unsigned long long)cs.h2_handlers_linked,
		(unsigned long long)cs.h2_handlers_unlinked, (unsigned long long)ts->go_h2_linked,
		(unsigned long long)ts->go_h2_unlinked, (unsigned long long)gohttp__resets(a->tracer->gohttp));
}

static void counter(FILE *out, const char *name, const char *help, uint64_t v)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
		(unsigned long long)v);
}

static void gauge(FILE *out, const char *name, const char *help, uint64_t v)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
		(unsigned long long)v);
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
	struct agent *a = agent;
	const struct tracer_stats *ts = &a->tracer->stats;
	struct gofollow_stats gs;
	uint64_t drops[ZT_DROP_MAX];
	struct correlator_stats cs;
	struct exporter_stats es;

	probe__drops(a->probe, drops);
	exporter__stats(a->exp, &es);
	correlator__stats(a->tracer->corr, &cs);
	counter(out, "zerotrace_events_total", "Ring-buffer records read.", ts->events);
	fputs("# HELP zerotrace_events_dropped_total Events lost or cut short, by reason.\n"
	      "# TYPE zerotrace_events_dropped_total counter\n",
	      out);
	for (int r = 0; r < ZT_DROP_MAX; r++)
		fprintf(out, "zerotrace_events_dropped_total{reason=\"%s\"} %llu\n",
			drop_reason_names[r], (unsigned long long)drops[r]);
	fprintf(out, "zerotrace_events_dropped_total{reason=\"seq_gap\"} %llu\n",
		(unsigned long long)ts->seq_gaps);
	fprintf(out, "zerotrace_events_dropped_total{reason=\"malformed\"} %llu\n",
		(unsigned long long)ts->bad_events);
	counter(out, "zerotrace_spans_total", "Spans built.", ts->spans_finished);
	counter(out, "zerotrace_spans_incomplete_total", "Spans exported with missing parts.",
		ts->spans_incomplete);
	counter(out, "zerotrace_spans_exported_total", "Spans accepted by the backend.",
		es.exported);
	fputs("# HELP zerotrace_spans_dropped_total Spans not exported, by reason.\n"
	      "# TYPE zerotrace_spans_dropped_total counter\n",
	      out);
	fprintf(out, "zerotrace_spans_dropped_total{reason=\"queue_full\"} %llu\n",
		(unsigned long long)es.dropped_queue_full);
	fprintf(out, "zerotrace_spans_dropped_total{reason=\"export_failed\"} %llu\n",
		(unsigned long long)es.dropped_export_failed);
	counter(out, "zerotrace_export_errors_total", "Failed export attempts, retried or not.",
		es.export_errors);
	gauge(out, "zerotrace_export_queue_depth", "Spans waiting for export.",
	      exporter__queue_depth(a->exp));
	gauge(out, "zerotrace_connections_tracked", "Connections in the agent's table.",
	      conn_table__size(a->tracer->conns));
	gauge(out, "zerotrace_processes_tracked", "Processes in the agent's table.",
	      proc_table__size(a->tracer->procs));
	counter(out, "zerotrace_unmatched_responses_total", "Responses with no request seen.",
		ts->unmatched_responses);
	counter(out, "zerotrace_connections_without_addresses_total",
		"Connections whose data came before their addresses (evicted, or lost with a full "
		"ring): their spans lack them until the kernel ships them again.",
		ts->conns_without_addrs);
	counter(out, "zerotrace_http2_streams_evicted_total",
		"HTTP/2 streams ended early: their connection had too many open.",
		ts->h2_streams_evicted);
	counter(out, "zerotrace_http1_requests_evicted_total",
		"HTTP/1 requests ended early: their connection had too many waiting.",
		ts->http1_requests_evicted);
	counter(out, "zerotrace_requests_not_selected_total",
		"Requests left out by --port/--exe/cgroup selection.", ts->filtered_events);
	counter(out, "zerotrace_requests_without_process_total",
		"Requests whose process was gone before /proc could be read (unknown_service).",
		ts->no_process);
	fputs("# HELP zerotrace_links_total Spans linked to a parent, by rule.\n"
	      "# TYPE zerotrace_links_total counter\n",
	      out);
	fprintf(out, "zerotrace_links_total{rule=\"same_node\"} %llu\n",
		(unsigned long long)cs.joined_same_node);
	fprintf(out, "zerotrace_links_total{rule=\"traceparent\"} %llu\n",
		(unsigned long long)cs.joined_traceparent);
	fprintf(out, "zerotrace_links_total{rule=\"thread\"} %llu\n",
		(unsigned long long)cs.joined_thread);
	fprintf(out, "zerotrace_links_total{rule=\"connect\"} %llu\n",
		(unsigned long long)cs.joined_connect);
	gofollow__stats(a->go, &gs);
	gauge(out, "zerotrace_go_binaries_followed",
	      "Go executables whose goroutines are followed (uprobes attached).",
	      gs.binaries_followed);
	gauge(out, "zerotrace_go_binaries_unfollowed",
	      "Go executables that cannot be followed: no in-process links for their processes.",
	      gs.binaries_unfollowed);
	counter(out, "zerotrace_go_attach_failed_total",
		"Go executables whose uprobes the kernel refused.", gs.attach_failed);
	gauge(out, "zerotrace_go_processes_followed", "Go processes followed now.",
	      gs.pids_followed);
	counter(out, "zerotrace_go_goroutines_inherited_total",
		"Goroutines created in a request's context.", cs.inherited);
	counter(out, "zerotrace_go_client_unlinked_total",
		"Client spans of goroutines in no request's context (worker pools): new traces.",
		cs.goroutine_unlinked);
	counter(out, "zerotrace_go_http2_handlers_linked_total",
		"Goroutines handling an HTTP/2 server stream, put in its request's context.",
		cs.h2_handlers_linked);
	counter(out, "zerotrace_go_http2_handlers_unlinked_total",
		"Goroutines handling an HTTP/2 server stream whose request was not found.",
		cs.h2_handlers_unlinked);
	counter(out, "zerotrace_go_http2_linked_total",
		"HTTP/2 client calls of followed Go processes (grpc-go) linked to their caller.",
		ts->go_h2_linked);
	counter(out, "zerotrace_go_http2_unlinked_total",
		"HTTP/2 client calls of followed Go processes, left without an in-process link.",
		ts->go_h2_unlinked);
	counter(out, "zerotrace_go_http_writer_resets_total",
		"net/http and grpc-go hand-over tables emptied because they were full.",
		gohttp__resets(a->tracer->gohttp));
	fputs("# HELP zerotrace_bpf_run_seconds_total BPF program run time "
	      "(kernel.bpf_stats_enabled=1).\n# TYPE zerotrace_bpf_run_seconds_total counter\n",
	      out);
	probe__prog_stats(a->probe, prog_seconds, out);
	fputs("# HELP zerotrace_bpf_runs_total BPF program runs (kernel.bpf_stats_enabled=1).\n"
	      "# TYPE zerotrace_bpf_runs_total counter\n",
	      out);
	probe__prog_stats(a->probe, prog_runs, out);
}
