// SPDX-License-Identifier: BSD-2-Clause
#include <stdlib.h>
#include <string.h>
#include "export/console.h"
#include "trace/proc.h"
#include "trace/span.h"

#define TRACE_MAX_SPANS 256
#define TREE_MAX_DEPTH	32

/* Spans of one trace as they arrive; a trace is printed once it has been quiet, since the
 * spans of one request finish in any order and in different processes. */
struct trace_buf {
	uint8_t trace_id[16];
	struct span *spans[TRACE_MAX_SPANS];
	int n;
	uint64_t last_ms;
};

struct console {
	FILE *out;
	uint32_t quiet_ms;
	uint32_t max;
	uint32_t n;
	struct trace_buf **traces;
};

struct console *console__new(FILE *out, uint32_t quiet_ms, uint32_t max_traces)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->out = out;
	c->quiet_ms = quiet_ms;
	c->max = max_traces;
	c->traces = calloc(max_traces, sizeof(*c->traces));
	if (!c->traces) {
		free(c);
		return NULL;
	}
	return c;
}

static void print_span(FILE *f, const struct span *s, int depth)
{
	const struct attr *status = span__attr(s, "http.response.status_code");
	double ms = (s->end_ns - s->start_ns) / 1e6;

	fprintf(f, "%*s%s%s %s %s", depth * 3, "", depth ? "└─ " : "",
		s->kind == SPAN_KIND_SERVER ? "SERVER" : "CLIENT",
		s->proc ? s->proc->service_name : "unknown_service", s->name ? s->name : "");
	if (status)
		fprintf(f, "  %lld", (long long)status->i);
	fprintf(f, "  %.3f ms%s%s\n", ms, s->status == SPAN_STATUS_ERROR ? "  ERROR" : "",
		s->incomplete ? "  (incomplete)" : "");
}

static int by_start(const void *x, const void *y)
{
	const struct span *a = *(struct span *const *)x, *b = *(struct span *const *)y;

	return a->start_ns < b->start_ns ? -1 : a->start_ns > b->start_ns;
}

static void print_children(FILE *f, struct trace_buf *t, const struct span *parent, int depth)
{
	if (depth >= TREE_MAX_DEPTH)
		return;
	for (int i = 0; i < t->n; i++) {
		const struct span *s = t->spans[i];

		if (s->has_parent && !memcmp(s->parent_id, parent->ctx.span_id, 8)) {
			print_span(f, s, depth);
			print_children(f, t, s, depth + 1);
		}
	}
}

static bool parent_present(const struct trace_buf *t, const struct span *s)
{
	if (!s->has_parent)
		return false;
	for (int i = 0; i < t->n; i++)
		if (!memcmp(t->spans[i]->ctx.span_id, s->parent_id, 8))
			return true;
	return false;
}

static void print_trace(FILE *f, struct trace_buf *t)
{
	char id[33];

	qsort(t->spans, t->n, sizeof(t->spans[0]), by_start);
	hex_encode(t->trace_id, 16, id);
	fprintf(f, "trace %s (%d span%s)\n", id, t->n, t->n == 1 ? "" : "s");
	for (int i = 0; i < t->n; i++) {
		if (parent_present(t, t->spans[i]))
			continue;
		print_span(f, t->spans[i], 0);
		print_children(f, t, t->spans[i], 1);
	}
	fflush(f);
}

static void drop_trace(struct console *c, uint32_t i)
{
	struct trace_buf *t = c->traces[i];

	for (int k = 0; k < t->n; k++)
		span__free(t->spans[k]);
	free(t);
	c->traces[i] = c->traces[--c->n];
}

void console__add(struct console *c, struct span *s, uint64_t now_ms)
{
	struct trace_buf *t = NULL;

	for (uint32_t i = 0; i < c->n && !t; i++)
		if (!memcmp(c->traces[i]->trace_id, s->ctx.trace_id, 16))
			t = c->traces[i];
	if (!t) {
		if (c->n == c->max) {
			/* the oldest goes out early rather than being lost */
			print_trace(c->out, c->traces[0]);
			drop_trace(c, 0);
		}
		t = calloc(1, sizeof(*t));
		if (!t) {
			span__free(s);
			return;
		}
		memcpy(t->trace_id, s->ctx.trace_id, 16);
		c->traces[c->n++] = t;
	}
	if (t->n == TRACE_MAX_SPANS) {
		print_trace(c->out, t);
		for (int k = 0; k < t->n; k++)
			span__free(t->spans[k]);
		t->n = 0;
	}
	t->spans[t->n++] = s;
	t->last_ms = now_ms;
}

void console__flush(struct console *c, bool all, uint64_t now_ms)
{
	for (uint32_t i = 0; i < c->n;) {
		if (all || now_ms - c->traces[i]->last_ms >= c->quiet_ms) {
			print_trace(c->out, c->traces[i]);
			drop_trace(c, i);
		} else {
			i++;
		}
	}
}

void console__free(struct console *c)
{
	if (!c)
		return;
	while (c->n)
		drop_trace(c, 0);
	free(c->traces);
	free(c);
}
