// SPDX-License-Identifier: BSD-2-Clause
/* OTLP encoding: what the exporter sends, decoded back with protobuf-c and compared field by
 * field; the OTLP/JSON line; gzip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include "export/encode.h"
#include "export/exporter.h"
#include "otlp_trace.pb-c.h"
#include "trace/proc.h"
#include "trace/span.h"

static struct process *fake_process(uint32_t pid, const char *name)
{
	struct process *p = process__from_names(pid, name, "/usr/bin/x");

	assert_non_null(p);
	return p;
}

static struct span *make_span(struct process *p, uint8_t seed, bool parent)
{
	struct span *s = span__new();

	for (int i = 0; i < 16; i++)
		s->ctx.trace_id[i] = seed + i;
	for (int i = 0; i < 8; i++)
		s->ctx.span_id[i] = seed + 100 + i;
	if (parent) {
		memset(s->parent_id, 0xab, 8);
		s->has_parent = true;
	}
	s->trace_flags = 1;
	s->trace_state = strdup("vendor=x");
	s->kind = parent ? SPAN_KIND_CLIENT : SPAN_KIND_SERVER;
	span__set_name(s, "GET /users/{id}", 15);
	s->start_ns = 1700000000000000000ull + seed;
	s->end_ns = s->start_ns + 1234567;
	s->status = SPAN_STATUS_ERROR;
	span__set_str(s, "http.request.method", "GET", 3);
	span__set_int(s, "http.response.status_code", 503);
	span__set_bool(s, "zerotrace.incomplete", true);
	/* a oneof member holding its default still goes out */
	span__set_int(s, "zerotrace.zero", 0);
	span__set_int(s, "zerotrace.negative", -7);
	span__set_bool(s, "zerotrace.false", false);
	span__set_str(s, "zerotrace.empty", "", 0);
	span__set_process(s, p);
	return s;
}

static const Opentelemetry__Proto__KeyValue *find_kv(Opentelemetry__Proto__KeyValue **kvs, size_t n,
						     const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kvs[i]->key, key))
			return kvs[i];
	return NULL;
}

static void test_protobuf_roundtrip(void **state)
{
	struct process *a = fake_process(101, "frontend"), *b = fake_process(202, "backend");
	struct span *spans[3] = {make_span(a, 1, false), make_span(b, 2, true),
				 make_span(a, 3, true)};
	Opentelemetry__Proto__ExportTraceServiceRequest *req;
	uint8_t *buf, *repacked;
	size_t len;
	int seen = 0;

	(void)state;
	assert_int_equal(otlp_pb_encode(spans, 3, "deployment.environment=test,team=a%20b",
					"node-1", &buf, &len),
			 0);
	req = opentelemetry__proto__export_trace_service_request__unpack(NULL, len, buf);
	assert_non_null(req);
	assert_int_equal(req->n_resource_spans, 2); /* one per process */
	for (size_t r = 0; r < req->n_resource_spans; r++) {
		Opentelemetry__Proto__ResourceSpans *rs = req->resource_spans[r];
		Opentelemetry__Proto__Resource *res = rs->resource;
		const Opentelemetry__Proto__KeyValue *svc, *pid, *env, *team, *host;

		svc = find_kv(res->attributes, res->n_attributes, "service.name");
		pid = find_kv(res->attributes, res->n_attributes, "process.pid");
		env = find_kv(res->attributes, res->n_attributes, "deployment.environment");
		team = find_kv(res->attributes, res->n_attributes, "team");
		host = find_kv(res->attributes, res->n_attributes, "host.name");
		assert_non_null(svc);
		assert_non_null(pid);
		assert_string_equal(env->value->string_value, "test");
		assert_string_equal(team->value->string_value, "a b");
		assert_string_equal(host->value->string_value, "node-1");
		assert_int_equal(rs->n_scope_spans, 1);
		assert_string_equal(rs->scope_spans[0]->scope->name, "zerotrace");
		for (size_t i = 0; i < rs->scope_spans[0]->n_spans; i++) {
			Opentelemetry__Proto__Span *ps = rs->scope_spans[0]->spans[i];
			struct span *orig = NULL;
			const Opentelemetry__Proto__KeyValue *kv;

			for (int k = 0; k < 3; k++)
				if (!memcmp(spans[k]->ctx.span_id, ps->span_id.data, 8))
					orig = spans[k];
			assert_non_null(orig);
			assert_string_equal(svc->value->string_value, orig->proc->service_name);
			assert_int_equal(pid->value->int_value, orig->proc->pid);
			assert_int_equal(ps->trace_id.len, 16);
			assert_memory_equal(ps->trace_id.data, orig->ctx.trace_id, 16);
			assert_int_equal(ps->span_id.len, 8);
			if (orig->has_parent) {
				assert_int_equal(ps->parent_span_id.len, 8);
				assert_memory_equal(ps->parent_span_id.data, orig->parent_id, 8);
			} else {
				assert_int_equal(ps->parent_span_id.len, 0);
			}
			assert_string_equal(ps->name, "GET /users/{id}");
			assert_string_equal(ps->trace_state, "vendor=x");
			assert_int_equal(ps->kind, orig->kind);
			assert_int_equal(ps->start_time_unix_nano, orig->start_ns);
			assert_int_equal(ps->end_time_unix_nano, orig->end_ns);
			assert_int_equal(ps->status->code, 2);
			assert_int_equal(ps->flags, 1);
			assert_int_equal(ps->n_attributes, 7);
			kv = find_kv(ps->attributes, ps->n_attributes, "http.request.method");
			assert_string_equal(kv->value->string_value, "GET");
			kv = find_kv(ps->attributes, ps->n_attributes, "http.response.status_code");
			assert_int_equal(kv->value->value_case,
					 OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_INT_VALUE);
			assert_int_equal(kv->value->int_value, 503);
			kv = find_kv(ps->attributes, ps->n_attributes, "zerotrace.incomplete");
			assert_true(kv->value->bool_value);
			kv = find_kv(ps->attributes, ps->n_attributes, "zerotrace.zero");
			assert_int_equal(kv->value->value_case,
					 OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_INT_VALUE);
			assert_int_equal(kv->value->int_value, 0);
			kv = find_kv(ps->attributes, ps->n_attributes, "zerotrace.negative");
			assert_int_equal(kv->value->int_value, -7);
			kv = find_kv(ps->attributes, ps->n_attributes, "zerotrace.false");
			assert_int_equal(kv->value->value_case,
					 OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_BOOL_VALUE);
			assert_false(kv->value->bool_value);
			kv = find_kv(ps->attributes, ps->n_attributes, "zerotrace.empty");
			assert_int_equal(kv->value->value_case,
					 OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_STRING_VALUE);
			assert_string_equal(kv->value->string_value, "");
			seen++;
		}
	}
	assert_int_equal(seen, 3);
	/* canonical: protobuf-c packs what it decoded into the very same bytes */
	repacked = malloc(len);
	assert_int_equal(opentelemetry__proto__export_trace_service_request__get_packed_size(req),
			 len);
	opentelemetry__proto__export_trace_service_request__pack(req, repacked);
	assert_memory_equal(repacked, buf, len);
	free(repacked);
	opentelemetry__proto__export_trace_service_request__free_unpacked(req, NULL);
	free(buf);
	for (int k = 0; k < 3; k++)
		span__free(spans[k]);
	process__put(a);
	process__put(b);
}

static void test_json_line(void **state)
{
	struct process *a = fake_process(7, "svc");
	struct span *s = make_span(a, 0, true);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	s->status = SPAN_STATUS_UNSET;
	span__set_str(s, "user_agent.original", "q\"b\\c\x01 end", 10);
	assert_int_equal(otlp_json_write(&s, 1, NULL, "h", f), 0);
	fclose(f);
	assert_non_null(strstr(out, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
				    "\"service.name\",\"value\":{\"stringValue\":\"svc\"}}"));
	assert_non_null(strstr(out, "\"scopeSpans\":[{\"scope\":{\"name\":\"zerotrace\""));
	assert_non_null(strstr(out, "\"traceId\":\"000102030405060708090a0b0c0d0e0f\","
				    "\"spanId\":\"6465666768696a6b\",\"traceState\":\"vendor=x\","
				    "\"parentSpanId\":\"abababababababab\",\"flags\":1,"
				    "\"name\":\"GET /users/{id}\",\"kind\":3,"
				    "\"startTimeUnixNano\":\"1700000000000000000\","
				    "\"endTimeUnixNano\":\"1700000000001234567\""));
	assert_non_null(strstr(out, "{\"key\":\"http.response.status_code\",\"value\":"
				    "{\"intValue\":\"503\"}}"));
	/* quotes, backslashes and control characters escaped, the runs between them whole */
	assert_non_null(strstr(out, "{\"key\":\"user_agent.original\",\"value\":"
				    "{\"stringValue\":\"q\\\"b\\\\c\\u0001 end\"}}"));
	assert_non_null(strstr(out, "\"status\":{}}]}]}]}\n"));
	assert_int_equal(strchr(out, '\n') - out + 1, (long)len); /* one line */
	free(out);
	span__free(s);
	process__put(a);
}

static void test_gzip_roundtrip(void **state)
{
	const char *text = "zerotrace zerotrace zerotrace zerotrace";
	uint8_t *gz, back[128];
	size_t gzlen;
	z_stream zs = {};

	(void)state;
	assert_int_equal(gzip_compress((const uint8_t *)text, strlen(text), &gz, &gzlen), 0);
	assert_int_equal(gz[0], 0x1f); /* gzip magic */
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = gz;
	zs.avail_in = gzlen;
	zs.next_out = back;
	zs.avail_out = sizeof(back);
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_int_equal(zs.total_out, strlen(text));
	assert_memory_equal(back, text, strlen(text));
	inflateEnd(&zs);
	free(gz);
}

static int count_pair(void *ctx, const char *k, const char *v)
{
	(void)k;
	(void)v;
	(*(int *)ctx)++;
	return 0;
}

static void test_kv_list(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(kv_list_parse("a=1, b = 2 ,,c=%3D", count_pair, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(kv_list_parse("novalue", count_pair, &n), -EINVAL);
	assert_int_equal(kv_list_parse("=x", count_pair, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_protobuf_roundtrip),
	    cmocka_unit_test(test_json_line),
	    cmocka_unit_test(test_gzip_roundtrip),
	    cmocka_unit_test(test_kv_list),
	};

	return cmocka_run_group_tests_name("otlp", tests, NULL, NULL);
}
