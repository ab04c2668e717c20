// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "events.h"

/* One setter per option, shared by the YAML file, the environment and the flags so that all
 * three validate the same way. */
typedef int (*setter_fn)(struct config *cfg, const char *v);

static int set_str(char **dst, const char *v)
{
	char *c = strdup(v);

	if (!c)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max || *v == '-')
		return -EINVAL;
	*out = n;
	return 0;
}

static int set_traces_endpoint(struct config *c, const char *v)
{
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
		return -EINVAL;
	return set_str(&c->endpoint, v);
}

/* OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: the signal path is appended (OTel spec). */
static int set_base_endpoint(struct config *c, const char *v)
{
	char *url;
	size_t n = strlen(v);
	int err;

	if (asprintf(&url, "%.*s/v1/traces", (int)(n && v[n - 1] == '/' ? n - 1 : n), v) < 0)
		return -ENOMEM;
	err = set_traces_endpoint(c, url);
	free(url);
	return err;
}

static int set_headers(struct config *c, const char *v)
{
	return set_str(&c->headers, v);
}
static int set_otlp_file(struct config *c, const char *v)
{
	return set_str(&c->otlp_file, v);
}
static int set_resource(struct config *c, const char *v)
{
	return set_str(&c->resource_attrs, v);
}

static int set_protocol(struct config *c, const char *v)
{
	(void)c;
	/* the only OTLP transport built in; say so rather than send what the backend won't read */
	return strcmp(v, "http/protobuf") ? -ENOTSUP : 0;
}

static int set_compression(struct config *c, const char *v)
{
	if (!strcmp(v, "gzip"))
		c->gzip = true;
	else if (!strcmp(v, "none"))
		c->gzip = false;
	else
		return -EINVAL;
	return 0;
}

static int set_timeout(struct config *c, const char *v)
{
	return parse_u32(v, 1, 600000, &c->timeout_ms);
}
static int set_queue(struct config *c, const char *v)
{
	return parse_u32(v, 1, 1 << 22, &c->queue_size);
}
static int set_batch(struct config *c, const char *v)
{
	return parse_u32(v, 1, 1 << 16, &c->batch_size);
}
static int set_batch_delay(struct config *c, const char *v)
{
	return parse_u32(v, 1, 60000, &c->batch_delay_ms);
}
static int set_capture(struct config *c, const char *v)
{
	return parse_u32(v, 64, ZT_MAX_CAPTURE, &c->capture_bytes);
}
static int set_max_conns(struct config *c, const char *v)
{
	return parse_u32(v, 16, 1 << 22, &c->max_conns);
}
static int set_stats_interval(struct config *c, const char *v)
{
	return parse_u32(v, 0, 86400, &c->stats_interval_s);
}

static int set_ringbuf(struct config *c, const char *v)
{
	uint32_t n;

	/* the kernel wants a power-of-two multiple of the page size */
	if (parse_u32(v, 4096, 1u << 30, &n) || (n & (n - 1)))
		return -EINVAL;
	c->ringbuf_bytes = n;
	return 0;
}

static int set_hooks(struct config *c, const char *v)
{
	if (!strcmp(v, "auto"))
		c->hooks = HOOKS_AUTO;
	else if (!strcmp(v, "socket"))
		c->hooks = HOOKS_SOCKET;
	else if (!strcmp(v, "tracepoint"))
		c->hooks = HOOKS_TRACEPOINT;
	else if (!strcmp(v, "kprobe"))
		c->hooks = HOOKS_KPROBE;
	else
		return -EINVAL;
	return 0;
}

static int set_btf(struct config *c, const char *v)
{
	return *v ? set_str(&c->btf_path, v) : -EINVAL;
}

static int set_log_level(struct config *c, const char *v)
{
	return log_level_parse(v, &c->log_level);
}

static int add_pid(struct config *c, const char *v)
{
	if (c->npids >= FILTER_MAX)
		return -E2BIG;
	return parse_u32(v, 1, INT_MAX, &c->pids[c->npids++]) ? (c->npids--, -EINVAL) : 0;
}

static int add_port(struct config *c, const char *v)
{
	uint32_t p;

	if (c->filter.nports >= FILTER_MAX)
		return -E2BIG;
	if (parse_u32(v, 1, 65535, &p))
		return -EINVAL;
	c->filter.ports[c->filter.nports++] = p;
	return 0;
}

/* A copy the config owns (freed with it). */
static char *own(struct config *c, const char *v, size_t n)
{
	char *s;

	if (c->nstrings >= FILTER_MAX * 4)
		return NULL;
	s = strndup(v, n);
	if (s)
		c->strings[c->nstrings++] = s;
	return s;
}

static int add_exe(struct config *c, const char *v)
{
	const char *s;

	if (!*v)
		return -EINVAL;
	if (c->filter.nglobs >= FILTER_MAX || !(s = own(c, v, strlen(v))))
		return -E2BIG;
	c->filter.exe_globs[c->filter.nglobs++] = s;
	return 0;
}

static int add_cgroup(struct config *c, const char *v)
{
	const char *s;

	if (*v != '/')
		return -EINVAL;
	if (c->filter.ncgroups >= FILTER_MAX || !(s = own(c, v, strlen(v))))
		return -E2BIG;
	c->filter.cgroup_globs[c->filter.ncgroups++] = s;
	return 0;
}

/* "GLOB=NAME": processes whose executable matches GLOB are the service NAME */
static int add_service_name(struct config *c, const char *v)
{
	const char *eq = strrchr(v, '=');
	struct name_rule *r;

	if (!eq || eq == v || !eq[1])
		return -EINVAL;
	if (c->nservice_names >= FILTER_MAX)
		return -E2BIG;
	r = &c->service_names[c->nservice_names];
	r->glob = own(c, v, eq - v);
	r->name = own(c, eq + 1, strlen(eq + 1));
	if (!r->glob || !r->name)
		return -E2BIG;
	c->nservice_names++;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
		 !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int set_go_goroutines(struct config *c, const char *v)
{
	return parse_bool(v, &c->go_goroutines);
}

static int set_metrics_enabled(struct config *c, const char *v)
{
	return parse_bool(v, &c->metrics_enabled);
}

static int set_metrics_addr(struct config *c, const char *v)
{
	const char *colon = strrchr(v, ':');

	if (!colon || colon == v || !colon[1])
		return -EINVAL;
	return set_str(&c->metrics_addr, v);
}

struct option_def {
	const char *key; /* YAML path */
	const char *env; /* environment variable, or NULL */
	setter_fn set;
	const char *what; /* for error messages: what a valid value is */
};

static const struct option_def options[] = {
    {"exporter.endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", set_base_endpoint, "an http(s) URL"},
    {"exporter.traces_endpoint", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", set_traces_endpoint,
     "an http(s) URL"},
    {"exporter.headers", "OTEL_EXPORTER_OTLP_HEADERS", set_headers, "key=value pairs"},
    {"exporter.traces_headers", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", set_headers,
     "key=value pairs"},
    {"exporter.protocol", "OTEL_EXPORTER_OTLP_PROTOCOL", set_protocol, "http/protobuf"},
    {"exporter.traces_protocol", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", set_protocol,
     "http/protobuf"},
    {"exporter.compression", "OTEL_EXPORTER_OTLP_COMPRESSION", set_compression, "gzip or none"},
    {"exporter.timeout_ms", "OTEL_EXPORTER_OTLP_TIMEOUT", set_timeout, "milliseconds, 1..600000"},
    {"exporter.file", "ZEROTRACE_OTLP_FILE", set_otlp_file, "a file path"},
    {"exporter.queue_size", "ZEROTRACE_QUEUE_SIZE", set_queue, "a span count, 1..4194304"},
    {"exporter.batch_size", "ZEROTRACE_BATCH_SIZE", set_batch, "a span count, 1..65536"},
    {"exporter.batch_delay_ms", "ZEROTRACE_BATCH_DELAY_MS", set_batch_delay,
     "milliseconds, 1..60000"},
    {"resource_attributes", "OTEL_RESOURCE_ATTRIBUTES", set_resource, "key=value pairs"},
    {"select.pids", NULL, add_pid, "process ids"},
    {"select.ports", NULL, add_port, "TCP ports, 1..65535"},
    {"select.exes", NULL, add_exe, "glob patterns"},
    {"capture.hooks", "ZEROTRACE_HOOKS", set_hooks, "auto, socket, tracepoint or kprobe"},
    {"capture.btf", "ZEROTRACE_BTF", set_btf, "a BTF file path"},
    {"capture.payload_bytes", "ZEROTRACE_CAPTURE_BYTES", set_capture, "bytes, 64..8192"},
    {"capture.max_connections", "ZEROTRACE_MAX_CONNECTIONS", set_max_conns, "a count, 16..4194304"},
    {"capture.ringbuf_bytes", "ZEROTRACE_RINGBUF_BYTES", set_ringbuf,
     "a power of two, 4096..1073741824"},
    {"capture.go_goroutines", "ZEROTRACE_GO_GOROUTINES", set_go_goroutines, "true or false"},
    {"log.level", "ZEROTRACE_LOG_LEVEL", set_log_level, "error, warn, info or debug"},
    {"select.cgroups", NULL, add_cgroup, "cgroup path globs (starting with /)"},
    {"service_names", NULL, add_service_name, "GLOB=NAME (executable glob, service name)"},
    {"metrics.enabled", "ZEROTRACE_METRICS", set_metrics_enabled, "true or false"},
    {"metrics.address", "ZEROTRACE_METRICS_ADDRESS", set_metrics_addr, "host:port"},
    {"log.stats_interval_s", "ZEROTRACE_STATS_INTERVAL", set_stats_interval, "seconds, 0..86400"},
};

const struct option_def *config_option(const char *key)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (!strcmp(options[i].key, key))
			return &options[i];
	return NULL;
}

int config_set(struct config *cfg, const char *key, const char *value, const char *where)
{
	const struct option_def *o = config_option(key);
	int err;

	if (!o) {
		fprintf(stderr, "zerotrace: %s: unknown key '%s'\n", where, key);
		return -EINVAL;
	}
	err = o->set(cfg, value);
	if (err == -ENOTSUP)
		fprintf(stderr, "zerotrace: %s: %s '%s' is not supported; use http/protobuf\n",
			where, key, value);
	else if (err == -E2BIG)
		fprintf(stderr, "zerotrace: %s: too many values for %s (at most %d)\n", where, key,
			FILTER_MAX);
	else if (err)
		fprintf(stderr, "zerotrace: %s: bad value '%s' for %s: expected %s\n", where, value,
			key, o->what);
	return err ? -EINVAL : 0;
}

static void defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = 10000;
	c->queue_size = 8192;
	c->batch_size = 512;
	c->batch_delay_ms = 1000;
	c->capture_bytes = ZT_DEFAULT_CAPTURE;
	c->max_conns = 16384;
	c->ringbuf_bytes = 2 << 20;
	c->go_goroutines = true;
	c->stats_interval_s = 60;
	c->log_level = LOG_LVL_INFO;
	c->metrics_addr = strdup("127.0.0.1:9464");
}

static int apply_env(struct config *c, char **envp)
{
	/* generic before signal-specific: OTEL_EXPORTER_OTLP_TRACES_* wins (OTel spec) */
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const char *v;
		char where[96];

		if (!options[i].env)
			continue;
		v = NULL;
		for (char **e = envp; e && *e; e++) {
			size_t n = strlen(options[i].env);

			if (!strncmp(*e, options[i].env, n) && (*e)[n] == '=')
				v = *e + n + 1;
		}
		if (!v || !*v)
			continue;
		snprintf(where, sizeof(where), "environment %s", options[i].env);
		if (config_set(c, options[i].key, v, where))
			return -EINVAL;
	}
	return 0;
}

enum {
	OPT_OTLP_FILE = 256,
	OPT_OTLP_ENDPOINT,
	OPT_PID,
	OPT_PORT,
	OPT_EXE,
	OPT_HOOKS,
	OPT_CAPTURE,
	OPT_BTF,
	OPT_METRICS,
	OPT_CHECK,
	OPT_VERSION,
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"otlp-file", required_argument, NULL, OPT_OTLP_FILE},
    {"otlp-endpoint", required_argument, NULL, OPT_OTLP_ENDPOINT},
    {"pid", required_argument, NULL, OPT_PID},
    {"port", required_argument, NULL, OPT_PORT},
    {"exe", required_argument, NULL, OPT_EXE},
    {"hooks", required_argument, NULL, OPT_HOOKS},
    {"capture-bytes", required_argument, NULL, OPT_CAPTURE},
    {"btf", required_argument, NULL, OPT_BTF},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"check-config", no_argument, NULL, OPT_CHECK},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {},
};

void config_usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: zerotrace [-c FILE] [--otlp-file PATH] [--otlp-endpoint URL] [--pid N]...\n"
	    "                 [--port N]... [--exe GLOB]... [--hooks MODE]\n"
	    "                 [--capture-bytes N] [--btf PATH] [--metrics ADDR] [-v] "
	    "[--check-config]\n"
	    "                 [--help] [--version]\n"
	    "\n"
	    "Traces HTTP requests of uninstrumented processes with eBPF and exports OTLP spans.\n"
	    "With no exporter configured, prints each trace as a tree on stdout.\n"
	    "\n"
	    "  -c, --config FILE      YAML configuration (keys: configs/zerotrace.yaml)\n"
	    "      --otlp-file PATH   append OTLP/JSON export requests to PATH, one per line\n"
	    "      --otlp-endpoint URL  OTLP/HTTP base URL (/v1/traces is appended)\n"
	    "      --pid N            trace only these processes (repeatable)\n"
	    "      --port N           trace only connections with this local or remote port\n"
	    "      --exe GLOB         trace only executables matching GLOB (path or name)\n"
	    "      --hooks MODE       capture path: auto (default), socket, tracepoint or kprobe\n"
	    "      --capture-bytes N  payload bytes captured per socket call (64..8192)\n"
	    "      --btf PATH         vmlinux BTF file, for kernels without "
	    "/sys/kernel/btf/vmlinux\n"
	    "      --metrics ADDR     serve Prometheus /metrics on ADDR (host:port; off by "
	    "default)\n"
	    "      --check-config     validate the configuration and exit\n"
	    "  -v, --verbose          debug logging\n"
	    "\n"
	    "Environment: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,\n"
	    "OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_PROTOCOL, "
	    "OTEL_EXPORTER_OTLP_COMPRESSION,\n"
	    "OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_RESOURCE_ATTRIBUTES, ZEROTRACE_* (see README).\n");
}

static int apply_flag(struct config *c, int opt, const char *arg)
{
	char where[64];

	snprintf(where, sizeof(where), "command line");
	switch (opt) {
	case 'c': return set_str(&c->config_file, arg);
	case OPT_OTLP_FILE: return config_set(c, "exporter.file", arg, where);
	case OPT_OTLP_ENDPOINT: return config_set(c, "exporter.endpoint", arg, where);
	case OPT_PID: return config_set(c, "select.pids", arg, where);
	case OPT_PORT: return config_set(c, "select.ports", arg, where);
	case OPT_EXE: return config_set(c, "select.exes", arg, where);
	case OPT_HOOKS: return config_set(c, "capture.hooks", arg, where);
	case OPT_CAPTURE: return config_set(c, "capture.payload_bytes", arg, where);
	case OPT_BTF: return config_set(c, "capture.btf", arg, where);
	case OPT_METRICS:
		c->metrics_enabled = true;
		return config_set(c, "metrics.address", arg, where);
	case OPT_CHECK: c->check_config = true; return 0;
	case 'v': c->log_level = LOG_LVL_DEBUG; return 0;
	case 'h': c->show_help = true; return 0;
	case OPT_VERSION: c->show_version = true; return 0;
	default: return -EINVAL;
	}
}

static int scan_flags(struct config *c, int argc, char **argv, bool only_config)
{
	int opt;

	optind = 1;
	opterr = !only_config;
	while ((opt = getopt_long(argc, argv, "c:vh", long_opts, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			if (only_config)
				continue;
			fprintf(stderr, "zerotrace: bad command line; see zerotrace --help\n");
			return -EINVAL;
		}
		if (only_config != (opt == 'c'))
			continue;
		if (apply_flag(c, opt, optarg))
			return -EINVAL;
	}
	if (!only_config && optind < argc) {
		fprintf(stderr, "zerotrace: unexpected argument '%s'; see zerotrace --help\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct config *cfg, int argc, char **argv, char **envp)
{
	defaults(cfg);
	if (scan_flags(cfg, argc, argv, true))
		return -EINVAL;
	if (cfg->config_file && config_load_yaml(cfg, cfg->config_file))
		return -EINVAL;
	if (apply_env(cfg, envp))
		return -EINVAL;
	return scan_flags(cfg, argc, argv, false);
}

void config_free(struct config *cfg)
{
	free(cfg->config_file);
	free(cfg->endpoint);
	free(cfg->headers);
	free(cfg->otlp_file);
	free(cfg->resource_attrs);
	free(cfg->btf_path);
	free(cfg->metrics_addr);
	for (int i = 0; i < cfg->nstrings; i++)
		free(cfg->strings[i]);
	memset(cfg, 0, sizeof(*cfg));
}
