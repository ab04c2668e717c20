// SPDX-License-Identifier: BSD-2-Clause
/* Spans → one OTLP/JSON ExportTraceServiceRequest on one line, the format of the OTel
 * Collector's file exporter: ids as lower-case hex, 64-bit integers as decimal strings, enums
 * as numbers, camelCase field names. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "export/encode.h"
#include "base/version.h"
#include "trace/span.h"

/* The caller holds f's lock (otlp_json_write), and runs that need no escaping go out whole: a
 * locked stdio call per character was half the agent's CPU with this exporter (14 µs per
 * nginx request under wrk, 7 without). */
static void json_str(FILE *f, const char *s)
{
	const char *run = s;

	putc_unlocked('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c != '"' && c != '\\' && c >= 0x20)
			continue;
		fwrite_unlocked(run, 1, s - run, f);
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else
			fprintf(f, "\\u%04x", c);
		run = s + 1;
	}
	fwrite_unlocked(run, 1, s - run, f);
	putc_unlocked('"', f);
}

static void json_kv_str(FILE *f, const char *k, const char *v, bool comma)
{
	fprintf(f, "%s{\"key\":", comma ? "," : "");
	json_str(f, k);
	fputs(",\"value\":{\"stringValue\":", f);
	json_str(f, v);
	fputs("}}", f);
}

static void json_kv_int(FILE *f, const char *k, int64_t v, bool comma)
{
	fprintf(f, "%s{\"key\":", comma ? "," : "");
	json_str(f, k);
	fprintf(f, ",\"value\":{\"intValue\":\"%" PRId64 "\"}}", v);
}

static void write_span(FILE *f, const struct span *s)
{
	char tid[33], sid[17], pid[17];

	hex_encode(s->ctx.trace_id, 16, tid);
	hex_encode(s->ctx.span_id, 8, sid);
	fprintf(f, "{\"traceId\":\"%s\",\"spanId\":\"%s\"", tid, sid);
	if (s->trace_state && *s->trace_state) {
		fputs(",\"traceState\":", f);
		json_str(f, s->trace_state);
	}
	if (s->has_parent) {
		hex_encode(s->parent_id, 8, pid);
		fprintf(f, ",\"parentSpanId\":\"%s\"", pid);
	}
	fprintf(f, ",\"flags\":%u,\"name\":", s->trace_flags);
	json_str(f, s->name ? s->name : "");
	fprintf(f,
		",\"kind\":%d,\"startTimeUnixNano\":\"%" PRIu64 "\",\"endTimeUnixNano\":\"%" PRIu64
		"\",\"attributes\":[",
		s->kind, s->start_ns, s->end_ns);
	for (int i = 0; i < s->nattrs; i++) {
		const struct attr *a = &s->attrs[i];

		if (a->type == ATTR_STR) {
			json_kv_str(f, a->key, a->str, i > 0);
		} else if (a->type == ATTR_INT) {
			json_kv_int(f, a->key, a->i, i > 0);
		} else {
			fprintf(f, "%s{\"key\":", i > 0 ? "," : "");
			json_str(f, a->key);
			fprintf(f, ",\"value\":{\"boolValue\":%s}}", a->b ? "true" : "false");
		}
	}
	fputs("],\"status\":{", f);
	if (s->status)
		fprintf(f, "\"code\":%d", s->status);
	fputs("}}", f);
}

static int cmp_proc(const void *x, const void *y)
{
	const struct span *a = *(struct span *const *)x, *b = *(struct span *const *)y;

	return a->proc < b->proc ? -1 : a->proc > b->proc;
}

int otlp_json_write(struct span **in, int n, const char *global_attrs, const char *host_name,
		    FILE *f)
{
	struct span **spans = malloc(n * sizeof(*spans));

	if (!spans)
		return -ENOMEM;
	memcpy(spans, in, n * sizeof(*spans));
	qsort(spans, n, sizeof(*spans), cmp_proc);
	flockfile(f);
	fputs("{\"resourceSpans\":[", f);
	for (int i = 0; i < n; i++) {
		if (i == 0 || spans[i]->proc != spans[i - 1]->proc) {
			struct resource r;

			if (i)
				fputs("]}]},", f);
			resource__build(&r, spans[i]->proc, global_attrs, host_name);
			fputs("{\"resource\":{\"attributes\":[", f);
			for (int k = 0; k < r.n; k++) {
				if (r.attrs[k].str)
					json_kv_str(f, r.attrs[k].key, r.attrs[k].str, k > 0);
				else
					json_kv_int(f, r.attrs[k].key, r.attrs[k].i, k > 0);
			}
			resource__free(&r);
			fputs("]},\"scopeSpans\":[{\"scope\":{\"name\":\"zerotrace\",\"version\":",
			      f);
			json_str(f, zt_version);
			fputs("},\"spans\":[", f);
		} else {
			fputc(',', f);
		}
		write_span(f, spans[i]);
	}
	if (n)
		fputs("]}]}", f);
	fputs("]}\n", f);
	funlockfile(f);
	free(spans);
	return ferror(f) ? -EIO : 0;
}
