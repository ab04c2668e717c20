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
#include "agent.h"
#include "base/clock.h"
#include "config.h"
#include "export/exporter.h"
#include "capture/gofollow.h"
#include "base/log.h"
#include "metrics/metrics.h"
#include "base/notify.h"
#include "capture/probe.h"
#include "trace/proc.h"
#include "trace/span.h"
#include "ingest/tracer.h"
#include "base/version.h"

/* How often the ring is read when fewer than wakeup_bytes arrived. Events carry their own
 * times and a span waits up to batch_delay_ms (1 s) to be exported anyway; at 2,000 requests/s
 * (make bench's Go case) reading every 20 ms cost 3.6-4.8 µs of agent CPU per request, every
 * 100 ms 2.6-2.9. */
#define POLL_MS 100
/* SIGTERM: how long the export queue may take to drain (systemd's stop timeout is longer) */
#define FLUSH_MS 5000

static volatile sig_atomic_t stop_signal, reload_signal;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_signal = 1;
	else
		stop_signal = sig;
}

static int on_event(void *ctx, void *data, size_t len)
{
	tracer__handle(ctx, data, len);
	return 0;
}

static void submit_span(void *ctx, struct span *s)
{
	struct agent *a = ctx;

	if (a->metrics)
		metrics__observe(a->metrics, s);
	exporter__submit(a->exp, s);
}

static void exporter_opts_of(const struct config *cfg, struct exporter_opts *eo, bool quiet)
{
	memset(eo, 0, sizeof(*eo));
	eo->headers = cfg->headers;
	eo->resource_attrs = cfg->resource_attrs;
	eo->gzip = cfg->gzip;
	eo->queue_size = cfg->queue_size;
	eo->batch_size = cfg->batch_size;
	eo->batch_delay_ms = cfg->batch_delay_ms;
	eo->timeout_ms = cfg->timeout_ms;
	if (cfg->otlp_file) {
		eo->kind = EXPORTER_OTLP_FILE;
		eo->file_path = cfg->otlp_file;
		if (!quiet)
			pr_info("exporting OTLP/JSON to %s", cfg->otlp_file);
	} else if (cfg->endpoint) {
		eo->kind = EXPORTER_OTLP_HTTP;
		eo->endpoint = cfg->endpoint;
		if (!quiet)
			pr_info("exporting OTLP/HTTP protobuf to %s", cfg->endpoint);
	} else {
		eo->kind = EXPORTER_CONSOLE;
		if (!quiet)
			pr_info("no OTLP endpoint set: printing traces on stdout");
	}
}

static struct filter *filter_of(struct config *cfg)
{
	struct filter *f = &cfg->filter;

	return f->nports || f->nglobs || f->ncgroups ? f : NULL;
}

/* The same settings in old and new? What a reload cannot change needs a restart. */
static void warn_restart_only(const struct config *old, const struct config *cur)
{
	if (old->hooks != cur->hooks || old->capture_bytes != cur->capture_bytes ||
	    old->go_goroutines != cur->go_goroutines || old->max_conns != cur->max_conns ||
	    old->ringbuf_bytes != cur->ringbuf_bytes ||
	    old->metrics_enabled != cur->metrics_enabled ||
	    (old->metrics_addr && cur->metrics_addr &&
	     strcmp(old->metrics_addr, cur->metrics_addr)))
		pr_warn("reload: capture and metrics settings change only with a restart");
}

/* SIGHUP: re-read file, environment and flags; apply selection, service names, exporter
 * settings and log level without losing anything queued. A bad configuration is refused
 * whole and the running one kept. */
static void reload(struct agent *a, int argc, char **argv, char **envp)
{
	struct exporter_opts eo;
	struct config next;

	pr_info("reload: reading the configuration again");
	if (config_load(&next, argc, argv, envp)) {
		config_free(&next);
		pr_err("reload: the new configuration is not valid; keeping the running one");
		return;
	}
	warn_restart_only(&a->cfg, &next);
	exporter_opts_of(&next, &eo, false);
	if (exporter__reconfigure(a->exp, &eo)) {
		config_free(&next);
		pr_err("reload: out of memory; keeping the running configuration");
		return;
	}
	probe__set_pids(a->probe, next.pids, next.npids);
	log_set_level(next.log_level);
	/* the new config's strings back the filter and the rules from here on */
	config_free(&a->cfg);
	a->cfg = next;
	a->tracer->build.filter = filter_of(&a->cfg);
	proc_table__set_rules(a->tracer->build.procs, a->cfg.service_names, a->cfg.nservice_names);
	pr_info("reload: done");
	notify_systemd("READY=1");
}

static int start(struct agent *a)
{
	struct exporter_opts eo;
	struct probe_opts po = {};
	struct tracer_opts to = {};
	struct features feat;

	if (probe__check_host(&feat, a->cfg.btf_path))
		return -1;
	exporter_opts_of(&a->cfg, &eo, false);
	a->exp = exporter__new(&eo);
	if (!a->exp || exporter__start(a->exp)) {
		pr_err("cannot start the exporter");
		return -1;
	}
	to.max_conns = a->cfg.max_conns;
	to.sink = submit_span;
	to.sink_ctx = a;
	to.filter = filter_of(&a->cfg);
	a->tracer = tracer__new(&to);
	if (!a->tracer) {
		pr_err("out of memory");
		return -1;
	}
	proc_table__set_rules(a->tracer->build.procs, a->cfg.service_names, a->cfg.nservice_names);
	if (a->cfg.metrics_enabled) {
		a->metrics = metrics__new(10000);
		if (!a->metrics ||
		    metrics__serve(a->metrics, a->cfg.metrics_addr, agent__prometheus, a))
			return -1;
	}
	po.capture_bytes = a->cfg.capture_bytes;
	po.max_conns = a->cfg.max_conns;
	po.ringbuf_bytes = a->cfg.ringbuf_bytes;
	po.pids = a->cfg.pids;
	po.npids = a->cfg.npids;
	po.hooks = a->cfg.hooks;
	po.btf_path = a->cfg.btf_path;
	a->probe = probe__new(&po, &feat, on_event, a->tracer);
	if (!a->probe)
		return -1;
	a->tracer->forget = probe__forget_conn;
	a->tracer->forget_ctx = a->probe;
	a->tracer->resend_addrs = probe__resend_addrs;
	a->tracer->resend_addrs_ctx = a->probe;
	a->go = gofollow__new(a->probe, "/proc", a->cfg.go_goroutines);
	if (!a->go) {
		pr_err("out of memory");
		return -1;
	}
	a->tracer->go = a->go;
	gofollow__scan(a->go);
	return 0;
}

static int run(struct agent *a, int argc, char **argv, char **envp)
{
	const char *wd = getenv("WATCHDOG_USEC");
	uint64_t watchdog_ms = wd ? strtoull(wd, NULL, 10) / 2000 : 0; /* ping at half of it */
	uint64_t last_tick = now_ms(), last_stats = now_ms(), last_ping = now_ms();

	pr_info("ready: %s programs attached, tracing %s", probe__path(a->probe),
		a->cfg.npids ? "selected processes" : "all processes");
	notify_systemd("READY=1");
	while (!stop_signal) {
		int n = probe__poll(a->probe, POLL_MS);

		if (n < 0 && n != -EINTR) {
			pr_err("reading the ring buffer failed: %s", strerror(-n));
			return -1;
		}
		if (reload_signal) {
			reload_signal = 0;
			notify_systemd("RELOADING=1");
			/* what happened before the signal is judged by the old configuration */
			probe__poll(a->probe, 0);
			reload(a, argc, argv, envp);
		}
		if (now_ms() - last_tick >= 1000) {
			last_tick = now_ms();
			tracer__tick(a->tracer);
		}
		if (watchdog_ms && now_ms() - last_ping >= watchdog_ms) {
			last_ping = now_ms();
			notify_systemd("WATCHDOG=1");
		}
		if (a->cfg.stats_interval_s &&
		    now_ms() - last_stats >= a->cfg.stats_interval_s * 1000ull) {
			last_stats = now_ms();
			if (agent__any_loss(a) || log_get_level() >= LOG_LVL_DEBUG)
				agent__log_stats(a, false);
		}
	}
	pr_info("stopping on %s: flushing", strsignal(stop_signal));
	notify_systemd("STOPPING=1");
	probe__poll(a->probe, 0); /* what is already in the ring */
	tracer__flush(a->tracer);
	exporter__stop(a->exp, FLUSH_MS);
	agent__log_stats(a, true);
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct agent a = {};
	int err = 1;

	if (config_load(&a.cfg, argc, argv, envp)) {
		config_free(&a.cfg);
		return 2;
	}
	if (a.cfg.show_help || a.cfg.show_version || a.cfg.check_config) {
		if (a.cfg.show_help)
			config_usage(stdout);
		else if (a.cfg.show_version)
			printf("zerotrace %s\n", zt_version);
		else
			printf("zerotrace: the configuration is valid\n");
		config_free(&a.cfg);
		return 0;
	}
	log_set_level(a.cfg.log_level);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (!start(&a) && !run(&a, argc, argv, envp))
		err = 0;
	gofollow__free(a.go); /* its uprobes before the programs */
	probe__free(a.probe);
	metrics__free(a.metrics);
	exporter__free(a.exp);
	tracer__free(a.tracer);
	config_free(&a.cfg);
	curl_global_cleanup();
	return err;
}
