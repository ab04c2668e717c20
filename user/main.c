// SPDX-License-Identifier: BSD-2-Clause
/* zerotrace: zero-code distributed tracing for HTTP services, from eBPF. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "config.h"
#include "correlate.h"
#include "export/exporter.h"
#include "log.h"
#include "notify.h"
#include "probe.h"
#include "span.h"
#include "tracer.h"
#include "version.h"

/* how often the ring is read when fewer than wakeup_bytes arrived: the most a span waits */
#define POLL_MS 20

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int on_event(void *ctx, void *data, size_t len)
{
	tracer__handle(ctx, data, len);
	return 0;
}

static void submit_span(void *ctx, struct span *s)
{
	exporter__submit(ctx, s);
}

/* One line with every counter, so a drop is never silent. */
static void log_stats(struct probe *p, struct tracer *t, struct exporter *e, bool final)
{
	uint64_t drops[ZT_DROP_MAX];
	struct correlator_stats cs;
	struct exporter_stats es;
	char kbuf[256] = "";
	size_t o = 0;

	probe__drops(p, drops);
	exporter__stats(e, &es);
	correlator__stats(t->corr, &cs);
	for (int r = 0; r < ZT_DROP_MAX; r++)
		o += snprintf(kbuf + o, sizeof(kbuf) - o, " %s=%llu", drop_reason_names[r],
			      (unsigned long long)drops[r]);
	pr_info("%s: events=%llu spans=%llu incomplete=%llu exported=%llu queue_dropped=%llu "
		"export_failed=%llu export_errors=%llu unmatched_responses=%llu seq_gaps=%llu "
		"conns_evicted=%llu bad_events=%llu kernel_drops:%s",
		final ? "final stats" : "stats", (unsigned long long)t->stats.events,
		(unsigned long long)t->stats.spans_finished,
		(unsigned long long)t->stats.spans_incomplete, (unsigned long long)es.exported,
		(unsigned long long)es.dropped_queue_full,
		(unsigned long long)es.dropped_export_failed, (unsigned long long)es.export_errors,
		(unsigned long long)t->stats.unmatched_responses,
		(unsigned long long)t->stats.seq_gaps, (unsigned long long)t->stats.conns_evicted,
		(unsigned long long)t->stats.bad_events, kbuf);
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
}

static bool any_loss(struct probe *p, struct tracer *t, struct exporter *e)
{
	uint64_t drops[ZT_DROP_MAX];
	struct exporter_stats es;

	probe__drops(p, drops);
	exporter__stats(e, &es);
	/* truncated payloads are normal for bodies; everything else means lost data */
	return drops[ZT_DROP_RINGBUF_FULL] || drops[ZT_DROP_CONN_MAP_FULL] ||
	       es.dropped_queue_full || es.dropped_export_failed || t->stats.seq_gaps ||
	       t->stats.conns_evicted;
}

static struct exporter *make_exporter(const struct config *cfg)
{
	struct exporter_opts eo = {
	    .headers = cfg->headers,
	    .resource_attrs = cfg->resource_attrs,
	    .gzip = cfg->gzip,
	    .queue_size = cfg->queue_size,
	    .batch_size = cfg->batch_size,
	    .batch_delay_ms = cfg->batch_delay_ms,
	    .timeout_ms = cfg->timeout_ms,
	};

	if (cfg->otlp_file) {
		eo.kind = EXPORTER_OTLP_FILE;
		eo.file_path = cfg->otlp_file;
		pr_info("exporting OTLP/JSON to %s", cfg->otlp_file);
	} else if (cfg->endpoint) {
		eo.kind = EXPORTER_OTLP_HTTP;
		eo.endpoint = cfg->endpoint;
		pr_info("exporting OTLP/HTTP protobuf to %s", cfg->endpoint);
	} else {
		eo.kind = EXPORTER_CONSOLE;
		pr_info("no OTLP endpoint set: printing traces on stdout");
	}
	return exporter__new(&eo);
}

int main(int argc, char **argv, char **envp)
{
	struct probe_opts po = {};
	struct tracer_opts to = {};
	struct exporter *exp = NULL;
	struct tracer *tracer = NULL;
	struct probe *probe = NULL;
	struct features feat;
	struct config cfg;
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t last_tick, last_stats;
	int err = 1;

	if (config_load(&cfg, argc, argv, envp)) {
		config_free(&cfg);
		return 2;
	}
	if (cfg.show_help) {
		config_usage(stdout);
		config_free(&cfg);
		return 0;
	}
	if (cfg.show_version) {
		printf("zerotrace %s\n", zt_version);
		config_free(&cfg);
		return 0;
	}
	log_set_level(cfg.log_level);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (probe__check_host(&feat, cfg.btf_path))
		goto cleanup;
	exp = make_exporter(&cfg);
	if (!exp || exporter__start(exp)) {
		pr_err("cannot start the exporter");
		goto cleanup;
	}
	to.max_conns = cfg.max_conns;
	to.sink = submit_span;
	to.sink_ctx = exp;
	to.filter = (cfg.filter.nports || cfg.filter.nglobs) ? &cfg.filter : NULL;
	tracer = tracer__new(&to);
	if (!tracer) {
		pr_err("out of memory");
		goto cleanup;
	}
	po.capture_bytes = cfg.capture_bytes;
	po.max_conns = cfg.max_conns;
	po.ringbuf_bytes = cfg.ringbuf_bytes;
	po.pids = cfg.pids;
	po.npids = cfg.npids;
	po.hooks = cfg.hooks;
	po.btf_path = cfg.btf_path;
	probe = probe__new(&po, &feat, on_event, tracer);
	if (!probe)
		goto cleanup;
	tracer->forget = probe__forget_conn;
	tracer->forget_ctx = probe;

	pr_info("ready: %s programs attached, tracing %s", probe__path(probe),
		cfg.npids ? "selected processes" : "all processes");
	notify_systemd("READY=1");
	last_tick = last_stats = now_s();
	while (!stop_signal) {
		int n = probe__poll(probe, POLL_MS);

		if (n < 0 && n != -EINTR) {
			pr_err("reading the ring buffer failed: %s", strerror(-n));
			goto cleanup;
		}
		if (now_s() != last_tick) {
			last_tick = now_s();
			tracer__tick(tracer);
		}
		if (cfg.stats_interval_s && now_s() - last_stats >= cfg.stats_interval_s) {
			last_stats = now_s();
			if (any_loss(probe, tracer, exp) || log_get_level() >= LOG_LVL_DEBUG)
				log_stats(probe, tracer, exp, false);
		}
	}
	pr_info("stopping on %s: flushing", strsignal(stop_signal));
	notify_systemd("STOPPING=1");
	probe__poll(probe, 0); /* what is already in the ring */
	tracer__flush(tracer);
	exporter__stop(exp, 5000);
	log_stats(probe, tracer, exp, true);
	err = 0;
cleanup:
	probe__free(probe);
	exporter__free(exp);
	tracer__free(tracer);
	config_free(&cfg);
	curl_global_cleanup();
	return err;
}
