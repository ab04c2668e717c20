// SPDX-License-Identifier: BSD-2-Clause
/*
 * The benchmark's OTLP receiver: accepts OTLP/HTTP protobuf on 127.0.0.1:PORT, walks each
 * export request's wire format and counts spans per (service, kind). GET /stats returns the
 * counts as JSON. Deliberately light, so that it costs the machine far less than the agent it
 * measures: it shares the two CPUs with the service, and a full decode (protobuf-c allocates
 * every message and attribute) cost more CPU per span than the agent. It reads only the fields
 * it counts by, but checks that every length and varint in the request is well formed; the
 * unit tests decode the agent's output field by field with protobuf-c.
 *
 * usage: otlp_sink PORT
 */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	size_t len, cap;
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

/* A length-delimited region of the request, read field by field. */
struct wire {
	const uint8_t *p, *end;
};

static bool varint(struct wire *w, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (w->p >= w->end)
			return false;
		*v |= (uint64_t)(*w->p & 0x7f) << shift;
		if (!(*w->p++ & 0x80))
			return true;
	}
	return false;
}

/* The next field: its number, its wire type, and its value (varint) or bytes (length
 * delimited). false at the end or on malformed input (*bad set). */
static bool next_field(struct wire *w, uint32_t *field, uint64_t *val, struct wire *sub, bool *bad)
{
	uint64_t tag, len;

	if (w->p == w->end)
		return false;
	*bad = true;
	if (!varint(w, &tag))
		return false;
	*field = tag >> 3;
	switch (tag & 7) {
	case 0: /* varint */
		if (!varint(w, val))
			return false;
		break;
	case 1: /* fixed64 */
		if (w->end - w->p < 8)
			return false;
		w->p += 8;
		break;
	case 5: /* fixed32 */
		if (w->end - w->p < 4)
			return false;
		w->p += 4;
		break;
	case 2: /* length delimited */
		if (!varint(w, &len) || len > (uint64_t)(w->end - w->p))
			return false;
		sub->p = w->p;
		sub->end = w->p + len;
		w->p += len;
		break;
	default: return false;
	}
	*bad = false;
	return true;
}

/* KeyValue → its string value, when its key is service.name */
static bool service_name(struct wire kv, char *out, size_t size, bool *bad)
{
	static const char key[] = "service.name";
	struct wire sub, value = {};
	uint32_t f;
	uint64_t v;
	bool is_service = false;

	while (next_field(&kv, &f, &v, &sub, bad)) {
		if (f == 1)
			is_service = (size_t)(sub.end - sub.p) == sizeof(key) - 1 &&
				     !memcmp(sub.p, key, sizeof(key) - 1);
		else if (f == 2)
			value = sub;
	}
	if (*bad || !is_service || !value.p)
		return false;
	while (next_field(&value, &f, &v, &sub, bad)) {
		if (f == 1) { /* AnyValue.string_value */
			size_t n = sub.end - sub.p;

			if (n > size - 1)
				n = size - 1;

			memcpy(out, sub.p, n);
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

/* ExportTraceServiceRequest.resource_spans(1) → ResourceSpans: resource(1) →
 * attributes(1); scope_spans(2) → spans(2) → Span.kind(6) */
static bool count_resource_spans(struct wire rs)
{
	struct wire sub, in, kv;
	char svc[64] = "?";
	int kinds[8] = {};
	uint32_t f, g;
	uint64_t v;
	bool bad = false;

	while (next_field(&rs, &f, &v, &sub, &bad)) {
		if (f == 1) {
			while (next_field(&sub, &g, &v, &kv, &bad))
				if (g == 1)
					service_name(kv, svc, sizeof(svc), &bad);
		} else if (f == 2) {
			while (next_field(&sub, &g, &v, &in, &bad)) {
				struct wire span = in;
				uint64_t kind = 0;
				uint32_t h;

				if (g != 2)
					continue;
				while (next_field(&span, &h, &v, &kv, &bad))
					if (h == 6)
						kind = v;
				if (bad)
					return false;
				kinds[kind < 8 ? kind : 0]++;
			}
		}
		if (bad)
			return false;
	}
	if (bad)
		return false;
	for (int k = 0; k < 8; k++)
		if (kinds[k])
			add(svc, k, kinds[k]);
	return true;
}

static void count_request(const struct body *b)
{
	struct wire req = {(const uint8_t *)b->data, (const uint8_t *)b->data + b->len}, rs;
	uint32_t f;
	uint64_t v;
	bool bad = false;

	while (next_field(&req, &f, &v, &rs, &bad))
		if (f == 1 && !count_resource_spans(rs))
			bad = true;
	if (bad)
		bad_requests++;
	else
		requests++;
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
		if (b->len + *upload_size > b->cap) {
			size_t cap = b->cap ? b->cap : 65536;

			while (cap < b->len + *upload_size)
				cap *= 2;
			nd = realloc(b->data, cap);
			if (!nd)
				return MHD_NO;
			b->data = nd;
			b->cap = cap;
		}
		memcpy(b->data + b->len, upload, *upload_size);
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
