// SPDX-License-Identifier: BSD-2-Clause
/*
 * The benchmark's OTLP receiver: accepts OTLP/HTTP protobuf on 127.0.0.1:PORT, decodes each
 * export request (protobuf-c, the agent's own .proto) and counts spans per (service, kind).
 * GET /stats returns the counts as JSON. Deliberately light, so that it costs the machine
 * far less than the agent it measures.
 *
 * usage: otlp_sink PORT
 */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "otlp_trace.pb-c.h"

#define MAX_KEYS 256
#define MAX_BODY (64 << 20)

struct count {
	char service[64];
	int kind;
	unsigned long long spans;
};

static struct count counts[MAX_KEYS];
static int ncounts;
static unsigned long long requests, bad_requests;

struct body {
	char *data;
	size_t len;
};

static void add(const char *service, int kind, size_t n)
{
	for (int i = 0; i < ncounts; i++) {
		if (counts[i].kind == kind && !strcmp(counts[i].service, service)) {
			counts[i].spans += n;
			return;
		}
	}
	if (ncounts < MAX_KEYS) {
		snprintf(counts[ncounts].service, sizeof(counts[0].service), "%s", service);
		counts[ncounts].kind = kind;
		counts[ncounts++].spans = n;
	}
}

static void count_request(const struct body *b)
{
	Opentelemetry__Proto__ExportTraceServiceRequest *req;

	req = opentelemetry__proto__export_trace_service_request__unpack(NULL, b->len,
									 (uint8_t *)b->data);
	if (!req) {
		bad_requests++;
		return;
	}
	requests++;
	for (size_t r = 0; r < req->n_resource_spans; r++) {
		Opentelemetry__Proto__ResourceSpans *rs = req->resource_spans[r];
		const char *svc = "?";

		for (size_t a = 0; rs->resource && a < rs->resource->n_attributes; a++)
			if (!strcmp(rs->resource->attributes[a]->key, "service.name"))
				svc = rs->resource->attributes[a]->value->string_value;
		for (size_t s = 0; s < rs->n_scope_spans; s++)
			for (size_t i = 0; i < rs->scope_spans[s]->n_spans; i++)
				add(svc, rs->scope_spans[s]->spans[i]->kind, 1);
	}
	opentelemetry__proto__export_trace_service_request__free_unpacked(req, NULL);
}

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);

	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	struct body *b = *state;
	char json[16384];
	size_t o = 0;

	(void)cls;
	(void)version;
	if (!strcmp(method, "GET") && !strcmp(url, "/stats")) {
		o += snprintf(json + o, sizeof(json) - o,
			      "{\"requests\":%llu,\"bad_requests\":%llu,\"spans\":[", requests,
			      bad_requests);
		for (int i = 0; i < ncounts && o < sizeof(json) - 128; i++)
			o += snprintf(json + o, sizeof(json) - o,
				      "%s{\"service\":\"%s\",\"kind\":%d,\"count\":%llu}",
				      i ? "," : "", counts[i].service, counts[i].kind,
				      counts[i].spans);
		snprintf(json + o, sizeof(json) - o, "]}");
		return reply(conn, MHD_HTTP_OK, json);
	}
	if (strcmp(method, "POST"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "");
	if (!b) {
		*state = calloc(1, sizeof(struct body));
		return *state ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		char *nd;

		if (b->len + *upload_size > MAX_BODY)
			return MHD_NO;
		nd = realloc(b->data, b->len + *upload_size);
		if (!nd)
			return MHD_NO;
		memcpy(nd + b->len, upload, *upload_size);
		b->data = nd;
		b->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	count_request(b);
	return reply(conn, MHD_HTTP_OK, "");
}

static void done(void *cls, struct MHD_Connection *conn, void **state,
		 enum MHD_RequestTerminationCode code)
{
	struct body *b = *state;

	(void)cls;
	(void)conn;
	(void)code;
	if (b) {
		free(b->data);
		free(b);
		*state = NULL;
	}
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sigset_t set;
	int sig;

	if (argc != 2) {
		fprintf(stderr, "usage: otlp_sink PORT\n");
		return 2;
	}
	sa.sin_port = htons(atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* one thread: the counters need no locks */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, NULL,
			     MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "otlp_sink: cannot listen on 127.0.0.1:%s\n", argv[1]);
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
