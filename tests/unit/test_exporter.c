// SPDX-License-Identifier: BSD-2-Clause
/* The exporter thread against a real HTTP receiver (libmicrohttpd on loopback): batches by size
 * and by age, every span once, a reload to another kind of backend that loses nothing, and a
 * full queue whose drops are all counted. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <cmocka.h>
#include "export/exporter.h"
#include "otlp_trace.pb-c.h"
#include "trace/proc.h"
#include "trace/span.h"

#define MAX_SPANS 256

/* What the receiver got: span ids (their first byte) and how many requests. */
struct receiver {
	struct MHD_Daemon *httpd;
	uint16_t port;
	pthread_mutex_t mu;
	int posts;
	int spans;
	int seen[MAX_SPANS]; /* times each span id arrived */
	int services;	     /* ResourceSpans, summed over requests */
};

struct upload {
	uint8_t *buf;
	size_t len;
};

static void count_request(struct receiver *r, const struct upload *u)
{
	Opentelemetry__Proto__ExportTraceServiceRequest *req =
	    opentelemetry__proto__export_trace_service_request__unpack(NULL, u->len, u->buf);

	assert_non_null(req);
	pthread_mutex_lock(&r->mu);
	r->posts++;
	r->services += req->n_resource_spans;
	for (size_t i = 0; i < req->n_resource_spans; i++) {
		Opentelemetry__Proto__ResourceSpans *rs = req->resource_spans[i];

		for (size_t j = 0; j < rs->n_scope_spans; j++) {
			for (size_t k = 0; k < rs->scope_spans[j]->n_spans; k++) {
				Opentelemetry__Proto__Span *s = rs->scope_spans[j]->spans[k];

				assert_int_equal(s->span_id.len, 8);
				r->seen[s->span_id.data[0]]++;
				r->spans++;
			}
		}
	}
	pthread_mutex_unlock(&r->mu);
	opentelemetry__proto__export_trace_service_request__free_unpacked(req, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_len, void **con_cls)
{
	struct upload *u = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!u) {
		*con_cls = calloc(1, sizeof(*u));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_len) {
		u->buf = realloc(u->buf, u->len + *data_len);
		assert_non_null(u->buf);
		memcpy(u->buf + u->len, data, *data_len);
		u->len += *data_len;
		*data_len = 0;
		return MHD_YES;
	}
	count_request(cls, u);
	free(u->buf);
	free(u);
	*con_cls = NULL;
	resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void receiver_start(struct receiver *r)
{
	const union MHD_DaemonInfo *info;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, r,
				    MHD_OPTION_END);
	assert_non_null(r->httpd);
	info = MHD_get_daemon_info(r->httpd, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	r->port = info->port;
}

static void receiver_stop(struct receiver *r)
{
	MHD_stop_daemon(r->httpd);
	pthread_mutex_destroy(&r->mu);
}

static int received(struct receiver *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->spans;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Wait up to ms for the receiver to hold want spans. */
static int wait_received(struct receiver *r, int want, int ms)
{
	for (int i = 0; i < ms / 10 && received(r) < want; i++)
		usleep(10000);
	return received(r);
}

static struct span *make_span(struct process *p, uint8_t id)
{
	struct span *s = span__new();

	assert_non_null(s);
	memset(s->ctx.trace_id, 0x42, 16);
	memset(s->ctx.span_id, 0, 8);
	s->ctx.span_id[0] = id;
	s->ctx.span_id[7] = 1; /* ids are never all zero */
	s->kind = SPAN_KIND_SERVER;
	span__set_name(s, "GET /", 5);
	s->start_ns = 1700000000000000000ull + id;
	s->end_ns = s->start_ns + 1000;
	span__set_str(s, "http.request.method", "GET", 3);
	span__set_process(s, p);
	return s;
}

static void http_opts(struct exporter_opts *o, char *url, size_t url_len, uint16_t port)
{
	snprintf(url, url_len, "http://127.0.0.1:%u/v1/traces", port);
	memset(o, 0, sizeof(*o));
	o->kind = EXPORTER_OTLP_HTTP;
	o->endpoint = url;
	o->timeout_ms = 2000;
}

static struct exporter *started_exporter(const struct exporter_opts *o)
{
	struct exporter *e = exporter__new(o);

	assert_non_null(e);
	assert_int_equal(exporter__start(e), 0);
	return e;
}

/* Full batches go at once, the rest when the exporter stops; two processes, two resources. */
static void test_batches_by_size(void **state)
{
	struct process *a = process__from_names(11, "alpha", "/bin/a");
	struct process *b = process__from_names(12, "beta", "/bin/b");
	struct exporter_opts o;
	struct exporter_stats st;
	struct receiver r;
	struct exporter *e;
	char url[64];

	(void)state;
	receiver_start(&r);
	http_opts(&o, url, sizeof(url), r.port);
	o.batch_size = 4;
	o.batch_delay_ms = 60000;
	e = started_exporter(&o);
	for (int i = 0; i < 10; i++)
		exporter__submit(e, make_span(i % 2 ? a : b, i));
	assert_int_equal(wait_received(&r, 8, 3000), 8);
	usleep(200000);
	assert_int_equal(received(&r), 8); /* the last 2 wait for their batch to fill */
	assert_int_equal(exporter__queue_depth(e), 2);
	exporter__stop(e, 2000);
	assert_int_equal(received(&r), 10);
	assert_int_equal(r.posts, 3);
	assert_int_equal(r.services, 6); /* both processes in each request */
	for (int i = 0; i < 10; i++)
		assert_int_equal(r.seen[i], 1);
	exporter__stats(e, &st);
	assert_int_equal(st.queued, 10);
	assert_int_equal(st.exported, 10);
	assert_int_equal(st.dropped_queue_full + st.dropped_export_failed, 0);
	exporter__free(e);
	receiver_stop(&r);
	process__put(a);
	process__put(b);
}

/* A batch that does not fill leaves after batch_delay_ms, with nobody stopping the exporter. */
static void test_batch_delay(void **state)
{
	struct process *a = process__from_names(13, "alpha", "/bin/a");
	struct exporter_opts o;
	struct receiver r;
	struct exporter *e;
	char url[64];

	(void)state;
	receiver_start(&r);
	http_opts(&o, url, sizeof(url), r.port);
	o.batch_size = 512;
	o.batch_delay_ms = 200;
	e = started_exporter(&o);
	for (int i = 0; i < 3; i++)
		exporter__submit(e, make_span(a, i));
	assert_int_equal(wait_received(&r, 3, 3000), 3);
	assert_int_equal(r.posts, 1);
	exporter__free(e);
	receiver_stop(&r);
	process__put(a);
}

/* Spans encoded for OTLP/HTTP when a reload switches to an OTLP file still reach the HTTP
 * receiver; the ones submitted after the switch go to the file. */
static void test_reload_to_file_loses_nothing(void **state)
{
	struct process *a = process__from_names(14, "alpha", "/bin/a");
	char path[] = "/tmp/zt-exporter-XXXXXX", url[64], line[8192];
	struct exporter_opts o, file_o;
	struct exporter_stats st;
	struct receiver r;
	struct exporter *e;
	int fd = mkstemp(path), in_file = 0;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	receiver_start(&r);
	http_opts(&o, url, sizeof(url), r.port);
	o.batch_size = 100;
	o.batch_delay_ms = 60000;
	e = started_exporter(&o);
	for (int i = 0; i < 5; i++)
		exporter__submit(e, make_span(a, i));
	memset(&file_o, 0, sizeof(file_o));
	file_o.kind = EXPORTER_OTLP_FILE;
	file_o.file_path = path;
	file_o.batch_size = 100;
	file_o.batch_delay_ms = 50;
	assert_int_equal(exporter__reconfigure(e, &file_o), 0);
	/* drained to the old backend as the switch happens, not at the 60 s batch delay */
	assert_int_equal(wait_received(&r, 5, 3000), 5);
	for (int i = 5; i < 8; i++)
		exporter__submit(e, make_span(a, i));
	exporter__stop(e, 2000);
	exporter__stats(e, &st);
	assert_int_equal(st.exported, 8);
	assert_int_equal(received(&r), 5);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		for (char *p = line; (p = strstr(p, "\"spanId\":\"0")); p++)
			in_file++;
	fclose(f);
	assert_int_equal(in_file, 3);
	exporter__free(e);
	receiver_stop(&r);
	unlink(path);
	process__put(a);
}

/* A backend that refuses connections: the queue fills, and every span is accounted for as
 * queued, dropped because the queue was full, or dropped because export failed. */
static void test_full_queue_counts_every_span(void **state)
{
	struct process *a = process__from_names(15, "alpha", "/bin/a");
	struct exporter_opts o;
	struct exporter_stats st;
	struct receiver r;
	struct exporter *e;
	char url[64];
	uint16_t dead_port;

	(void)state;
	receiver_start(&r);
	dead_port = r.port;
	receiver_stop(&r); /* nothing listens there now */
	http_opts(&o, url, sizeof(url), dead_port);
	o.batch_size = 2;
	o.queue_size = 4;
	o.batch_delay_ms = 60000;
	o.max_retry_ms = 60000;
	e = started_exporter(&o);
	for (int i = 0; i < 40; i++)
		exporter__submit(e, make_span(a, i));
	exporter__stats(e, &st);
	assert_true(st.dropped_queue_full > 0);
	assert_int_equal(st.queued + st.dropped_queue_full, 40);
	exporter__stop(e, 0);
	exporter__stats(e, &st);
	assert_int_equal(st.exported, 0);
	assert_int_equal(st.dropped_queue_full + st.dropped_export_failed, 40);
	exporter__free(e);
	process__put(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batches_by_size),
	    cmocka_unit_test(test_batch_delay),
	    cmocka_unit_test(test_reload_to_file_loses_nothing),
	    cmocka_unit_test(test_full_queue_counts_every_span),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
