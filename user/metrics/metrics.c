// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "metrics/metrics.h"
#include "trace/proc.h"
#include "trace/span.h"

/* The OTel semantic conventions' advice for HTTP durations, in seconds. */
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
				 0.5,	0.75, 1,     2.5,  5,	  7.5, 10};
#define NBUCKETS     (sizeof(buckets) / sizeof(buckets[0]))
#define NBUCKETS_ALL (NBUCKETS + 1)
/* ... and for database operations (db.client.operation.duration) */
static const double db_buckets[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};
#define NDB_BUCKETS (sizeof(db_buckets) / sizeof(db_buckets[0]))

/* Series kinds: SPAN_KIND_SERVER and SPAN_KIND_CLIENT for HTTP, and this for a database
 * client's operations (a span with db.system.name). */
#define KIND_DB 100

/* An HTTP series is (service, method, route, status); a database one (service,
 * db.system.name in method, db.operation.name in route, error.type in error). */
struct series {
	struct series *next;
	uint64_t hash;
	int kind;
	char *service, *method, *route, *error;
	int64_t status;
	uint64_t counts[NBUCKETS_ALL]; /* per bucket (not cumulative); last is +Inf */
	uint64_t count;
	double sum;
};

#define NHEADS 1024

struct metrics {
	pthread_mutex_t mu;
	struct series *heads[NHEADS];
	uint32_t nseries, max_series;
	uint64_t series_dropped; /* observations of series over max_series */
	struct MHD_Daemon *httpd;
	metrics_counters_fn counters;
	void *counters_ctx;
};

struct metrics *metrics__new(uint32_t max_series)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->max_series = max_series;
	return m;
}

void metrics__free(struct metrics *m)
{
	if (!m)
		return;
	if (m->httpd)
		MHD_stop_daemon(m->httpd);
	for (int i = 0; i < NHEADS; i++) {
		struct series *s = m->heads[i], *next;

		for (; s; s = next) {
			next = s->next;
			free(s->service);
			free(s->method);
			free(s->route);
			free(s->error);
			free(s);
		}
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static const char *attr_str(const struct span *s, const char *key)
{
	const struct attr *a = span__attr(s, key);

	return a && a->type == ATTR_STR ? a->str : "";
}

static uint64_t fnv(uint64_t h, const char *p)
{
	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull; /* separator */
}

static void bucket_bounds(int kind, const double **b, size_t *n)
{
	*b = kind == KIND_DB ? db_buckets : buckets;
	*n = kind == KIND_DB ? NDB_BUCKETS : NBUCKETS;
}

void metrics__observe(struct metrics *m, const struct span *s)
{
	const char *service = s->proc ? s->proc->service_name : "unknown_service";
	const char *db = attr_str(s, "db.system.name");
	int kind = *db ? KIND_DB : (int)s->kind;
	const char *method = *db ? db : attr_str(s, "http.request.method");
	/* client spans carry no http.route; their name holds the same low-cardinality path */
	const char *route = *db				      ? attr_str(s, "db.operation.name")
			    : s->name && strchr(s->name, ' ') ? strchr(s->name, ' ') + 1
							      : "";
	const char *error = *db ? attr_str(s, "error.type") : "";
	const struct attr *st = span__attr(s, "http.response.status_code");
	int64_t status = !*db && st && st->type == ATTR_INT ? st->i : 0;
	double secs = (s->end_ns - s->start_ns) / 1e9;
	uint64_t h =
	    fnv(fnv(fnv(fnv(0xcbf29ce484222325ull ^ kind, service), method), route), error);
	const double *bounds;
	struct series *x;
	size_t b = 0, nb;

	h ^= (uint64_t)status * 0x9E3779B97F4A7C15ull;
	pthread_mutex_lock(&m->mu);
	for (x = m->heads[h % NHEADS]; x; x = x->next)
		if (x->hash == h && x->kind == kind && x->status == status &&
		    !strcmp(x->service, service) && !strcmp(x->method, method) &&
		    !strcmp(x->route, route) && !strcmp(x->error, error))
			break;
	if (!x) {
		if (m->nseries >= m->max_series || !(x = calloc(1, sizeof(*x)))) {
			m->series_dropped++;
			goto out;
		}
		x->hash = h;
		x->kind = kind;
		x->status = status;
		x->service = strdup(service);
		x->method = strdup(method);
		x->route = strdup(route);
		x->error = strdup(error);
		x->next = m->heads[h % NHEADS];
		m->heads[h % NHEADS] = x;
		m->nseries++;
	}
	bucket_bounds(kind, &bounds, &nb);
	while (b < nb && secs > bounds[b])
		b++;
	x->counts[b]++;
	x->count++;
	x->sum += secs;
out:
	pthread_mutex_unlock(&m->mu);
}

void metrics_write_label(FILE *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(out, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void label(FILE *out, const char *name, const char *value, bool first)
{
	fprintf(out, "%s%s=\"", first ? "" : ",", name);
	metrics_write_label(out, value);
	fputc('"', out);
}

static void labels(FILE *out, const struct series *x)
{
	label(out, "service_name", x->service, true);
	if (x->kind == KIND_DB) {
		label(out, "db_system_name", x->method, false);
		label(out, "db_operation_name", x->route, false);
		label(out, "error_type", x->error, false);
		return;
	}
	label(out, "http_request_method", x->method, false);
	label(out, "http_route", x->route, false);
	fprintf(out, ",http_response_status_code=\"%lld\"", (long long)x->status);
}

static void render_kind(struct metrics *m, FILE *out, int kind, const char *name, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	const double *bounds;
	size_t nb;

	bucket_bounds(kind, &bounds, &nb);
	for (int i = 0; i < NHEADS; i++) {
		for (const struct series *x = m->heads[i]; x; x = x->next) {
			uint64_t cum = 0;

			if (x->kind != kind)
				continue;
			for (size_t b = 0; b <= nb; b++) {
				cum += x->counts[b];
				fprintf(out, "%s_bucket{", name);
				labels(out, x);
				if (b < nb)
					fprintf(out, ",le=\"%g\"} %llu\n", bounds[b],
						(unsigned long long)cum);
				else
					fprintf(out, ",le=\"+Inf\"} %llu\n",
						(unsigned long long)cum);
			}
			fprintf(out, "%s_sum{", name);
			labels(out, x);
			fprintf(out, "} %.9f\n%s_count{", x->sum, name);
			labels(out, x);
			fprintf(out, "} %llu\n", (unsigned long long)x->count);
		}
	}
}

void metrics__render(struct metrics *m, FILE *out)
{
	pthread_mutex_lock(&m->mu);
	render_kind(m, out, SPAN_KIND_SERVER, "http_server_request_duration_seconds",
		    "Duration of HTTP server requests (OTel http.server.request.duration).");
	render_kind(m, out, SPAN_KIND_CLIENT, "http_client_request_duration_seconds",
		    "Duration of HTTP client requests (OTel http.client.request.duration).");
	render_kind(m, out, KIND_DB, "db_client_operation_duration_seconds",
		    "Duration of database client operations (OTel db.client.operation.duration).");
	fprintf(out,
		"# HELP zerotrace_metric_series_dropped_total Observations not recorded: too "
		"many series.\n# TYPE zerotrace_metric_series_dropped_total counter\n"
		"zerotrace_metric_series_dropped_total %llu\n",
		(unsigned long long)m->series_dropped);
	pthread_mutex_unlock(&m->mu);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int status = MHD_HTTP_OK;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	out = open_memstream(&text, &len);
	if (!out)
		return MHD_NO;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		fputs("try /metrics\n", out);
	} else {
		if (m->counters)
			m->counters(m->counters_ctx, out);
		metrics__render(m, out);
	}
	fclose(out);
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* "host:port" or "[v6]:port" → socket address */
static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	long port;
	char *end;

	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memcpy(host, addr, colon - addr);
	host[colon - addr] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
	}
}

int metrics__serve(struct metrics *m, const char *addr, metrics_counters_fn fn, void *ctx)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (parse_addr(addr, &ss)) {
		pr_err("metrics address '%s' is not host:port (an IPv4 address or [IPv6])", addr);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->counters = fn;
	m->counters_ctx = ctx;
	m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, &ss,
				    MHD_OPTION_CONNECTION_LIMIT, 16, MHD_OPTION_END);
	if (!m->httpd) {
		pr_err("cannot serve metrics on %s (in use, or not an address of this host)", addr);
		return -EADDRINUSE;
	}
	pr_info("metrics on http://%s/metrics", addr);
	return 0;
}
