// SPDX-License-Identifier: BSD-2-Clause
/*
 * Spans → OTLP ExportTraceServiceRequest (protobuf), written straight from struct span.
 *
 * protobuf-c packs by walking field descriptors: it measured every message and then packed it,
 * and the spans had first to be copied into its structs — 29% of the agent's CPU at 30,000
 * requests/s. The encoder below knows the handful of OTLP messages it writes: one pass
 * measures each span and group, one writes them into a buffer of exactly that size. protobuf-c
 * stays the reference: tests/unit/test_otlp.c decodes this output with it field by field.
 * Field numbers are those of opentelemetry/proto/trace/v1/trace.proto and common/v1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "exporter.h"
#include "pbwire.h"
#include "span.h"
#include "version.h"

enum {
	REQUEST_RESOURCE_SPANS = 1,
	RESOURCE_SPANS_RESOURCE = 1,
	RESOURCE_SPANS_SCOPE_SPANS = 2,
	RESOURCE_ATTRIBUTES = 1,
	SCOPE_SPANS_SCOPE = 1,
	SCOPE_SPANS_SPANS = 2,
	SCOPE_NAME = 1,
	SCOPE_VERSION = 2,
	SPAN_TRACE_ID = 1,
	SPAN_SPAN_ID = 2,
	SPAN_TRACE_STATE = 3,
	SPAN_PARENT_SPAN_ID = 4,
	SPAN_NAME = 5,
	SPAN_KIND = 6,
	SPAN_START_TIME = 7,
	SPAN_END_TIME = 8,
	SPAN_ATTRIBUTES = 9,
	SPAN_STATUS = 15,
	SPAN_FLAGS = 16,
	STATUS_CODE = 3,
	KEY_VALUE_KEY = 1,
	KEY_VALUE_VALUE = 2,
	ANY_VALUE_STRING = 1,
	ANY_VALUE_BOOL = 2,
	ANY_VALUE_INT = 3,
};

static const char scope_name[] = "zerotrace";

/* AnyValue is a oneof: its member goes out even when it holds the default (0, false, "") */
static size_t any_value_size(const struct attr *a)
{
	switch (a->type) {
	case ATTR_STR: return pb_len_field_size(ANY_VALUE_STRING, a->str_len);
	case ATTR_INT: return pb_tag_size(ANY_VALUE_INT) + pb_varint_size((uint64_t)a->i);
	case ATTR_BOOL: return pb_tag_size(ANY_VALUE_BOOL) + 1;
	}
	return 0;
}

static size_t key_value_size(const struct attr *a)
{
	return pb_len_field_size(KEY_VALUE_KEY, a->key_len) +
	       pb_len_field_size(KEY_VALUE_VALUE, any_value_size(a));
}

static uint8_t *put_key_value(uint8_t *p, uint32_t field, const struct attr *a)
{
	p = pb_put_len_prefix(p, field, key_value_size(a));
	p = pb_put_bytes(p, KEY_VALUE_KEY, a->key, a->key_len);
	p = pb_put_len_prefix(p, KEY_VALUE_VALUE, any_value_size(a));
	switch (a->type) {
	case ATTR_STR: return pb_put_bytes(p, ANY_VALUE_STRING, a->str, a->str_len);
	case ATTR_INT: return pb_put_uint(p, ANY_VALUE_INT, (uint64_t)a->i);
	case ATTR_BOOL: return pb_put_uint(p, ANY_VALUE_BOOL, a->b);
	}
	return p;
}

static size_t status_size(const struct span *s)
{
	return s->status ? pb_tag_size(STATUS_CODE) + pb_varint_size(s->status) : 0;
}

/* proto3: fields holding their default are left out, as every encoder does */
static size_t span_size(const struct span *s)
{
	size_t n = pb_len_field_size(SPAN_TRACE_ID, sizeof(s->ctx.trace_id)) +
		   pb_len_field_size(SPAN_SPAN_ID, sizeof(s->ctx.span_id)) +
		   pb_len_field_size(SPAN_STATUS, status_size(s));

	if (s->trace_state && *s->trace_state)
		n += pb_len_field_size(SPAN_TRACE_STATE, strlen(s->trace_state));
	if (s->has_parent)
		n += pb_len_field_size(SPAN_PARENT_SPAN_ID, sizeof(s->parent_id));
	if (s->name && *s->name)
		n += pb_len_field_size(SPAN_NAME, strlen(s->name));
	if (s->kind)
		n += pb_tag_size(SPAN_KIND) + pb_varint_size(s->kind);
	if (s->start_ns)
		n += pb_tag_size(SPAN_START_TIME) + 8;
	if (s->end_ns)
		n += pb_tag_size(SPAN_END_TIME) + 8;
	for (int i = 0; i < s->nattrs; i++)
		n += pb_len_field_size(SPAN_ATTRIBUTES, key_value_size(&s->attrs[i]));
	if (s->trace_flags)
		n += pb_tag_size(SPAN_FLAGS) + 4;
	return n;
}

static uint8_t *put_span(uint8_t *p, const struct span *s, size_t size)
{
	p = pb_put_len_prefix(p, SCOPE_SPANS_SPANS, size);
	p = pb_put_bytes(p, SPAN_TRACE_ID, s->ctx.trace_id, sizeof(s->ctx.trace_id));
	p = pb_put_bytes(p, SPAN_SPAN_ID, s->ctx.span_id, sizeof(s->ctx.span_id));
	if (s->trace_state && *s->trace_state)
		p = pb_put_bytes(p, SPAN_TRACE_STATE, s->trace_state, strlen(s->trace_state));
	if (s->has_parent)
		p = pb_put_bytes(p, SPAN_PARENT_SPAN_ID, s->parent_id, sizeof(s->parent_id));
	if (s->name && *s->name)
		p = pb_put_bytes(p, SPAN_NAME, s->name, strlen(s->name));
	if (s->kind)
		p = pb_put_uint(p, SPAN_KIND, s->kind);
	if (s->start_ns)
		p = pb_put_fixed64(p, SPAN_START_TIME, s->start_ns);
	if (s->end_ns)
		p = pb_put_fixed64(p, SPAN_END_TIME, s->end_ns);
	for (int i = 0; i < s->nattrs; i++)
		p = put_key_value(p, SPAN_ATTRIBUTES, &s->attrs[i]);
	p = pb_put_len_prefix(p, SPAN_STATUS, status_size(s));
	if (s->status)
		p = pb_put_uint(p, STATUS_CODE, s->status);
	if (s->trace_flags)
		p = pb_put_fixed32(p, SPAN_FLAGS, s->trace_flags);
	return p;
}

/* One ResourceSpans: the spans [first, first + n) of one process, and their sizes. */
struct group {
	int first, n;
	struct resource res;
	struct attr attrs[RES_MAX_ATTRS]; /* res as span attributes, measured */
	size_t res_size, scope_spans_size, size;
};

static size_t scope_size(void)
{
	return pb_len_field_size(SCOPE_NAME, sizeof(scope_name) - 1) +
	       pb_len_field_size(SCOPE_VERSION, strlen(zt_version));
}

static int measure_group(struct group *g, struct span **spans, size_t *span_sizes,
			 const char *global_attrs, const char *host_name)
{
	int err = resource__build(&g->res, spans[g->first]->proc, global_attrs, host_name);

	if (err)
		return err;
	g->res_size = 0;
	for (int k = 0; k < g->res.n; k++) {
		struct attr *a = &g->attrs[k];
		const struct res_attr *r = &g->res.attrs[k];

		a->key = r->key;
		a->key_len = strlen(r->key);
		if (r->str) {
			a->type = ATTR_STR;
			a->str = r->str;
			a->str_len = strlen(r->str);
		} else {
			a->type = ATTR_INT;
			a->i = r->i;
		}
		g->res_size += pb_len_field_size(RESOURCE_ATTRIBUTES, key_value_size(a));
	}
	g->scope_spans_size = pb_len_field_size(SCOPE_SPANS_SCOPE, scope_size());
	for (int i = g->first; i < g->first + g->n; i++) {
		span_sizes[i] = span_size(spans[i]);
		g->scope_spans_size += pb_len_field_size(SCOPE_SPANS_SPANS, span_sizes[i]);
	}
	g->size = pb_len_field_size(RESOURCE_SPANS_RESOURCE, g->res_size) +
		  pb_len_field_size(RESOURCE_SPANS_SCOPE_SPANS, g->scope_spans_size);
	return 0;
}

static uint8_t *put_group(uint8_t *p, const struct group *g, struct span **spans,
			  const size_t *span_sizes)
{
	p = pb_put_len_prefix(p, REQUEST_RESOURCE_SPANS, g->size);
	p = pb_put_len_prefix(p, RESOURCE_SPANS_RESOURCE, g->res_size);
	for (int k = 0; k < g->res.n; k++)
		p = put_key_value(p, RESOURCE_ATTRIBUTES, &g->attrs[k]);
	p = pb_put_len_prefix(p, RESOURCE_SPANS_SCOPE_SPANS, g->scope_spans_size);
	p = pb_put_len_prefix(p, SCOPE_SPANS_SCOPE, scope_size());
	p = pb_put_bytes(p, SCOPE_NAME, scope_name, sizeof(scope_name) - 1);
	p = pb_put_bytes(p, SCOPE_VERSION, zt_version, strlen(zt_version));
	for (int i = g->first; i < g->first + g->n; i++)
		p = put_span(p, spans[i], span_sizes[i]);
	return p;
}

static int cmp_proc(const void *x, const void *y)
{
	const struct span *a = *(struct span *const *)x, *b = *(struct span *const *)y;

	return a->proc < b->proc ? -1 : a->proc > b->proc;
}

int otlp_pb_encode(struct span **in, int n, const char *global_attrs, const char *host_name,
		   uint8_t **out, size_t *out_len)
{
	struct span **spans = malloc(n * sizeof(*spans));
	size_t *span_sizes = malloc(n * sizeof(*span_sizes));
	struct group *groups = NULL;
	int ngroups = 0, built = 0, err = -ENOMEM;
	size_t total = 0;
	uint8_t *p;

	*out = NULL;
	*out_len = 0;
	if (!spans || !span_sizes)
		goto cleanup;
	memcpy(spans, in, n * sizeof(*spans));
	/* one ResourceSpans per process */
	qsort(spans, n, sizeof(*spans), cmp_proc);
	for (int i = 0; i < n; i++)
		ngroups += i == 0 || spans[i]->proc != spans[i - 1]->proc;
	groups = calloc(ngroups ? ngroups : 1, sizeof(*groups));
	if (!groups)
		goto cleanup;
	for (int i = 0, g = -1; i < n; i++) {
		if (i == 0 || spans[i]->proc != spans[i - 1]->proc)
			groups[++g].first = i;
		groups[g].n++;
	}
	for (; built < ngroups; built++) {
		err = measure_group(&groups[built], spans, span_sizes, global_attrs, host_name);
		if (err)
			goto cleanup;
		total += pb_len_field_size(REQUEST_RESOURCE_SPANS, groups[built].size);
	}
	err = -ENOMEM;
	*out = malloc(total ? total : 1);
	if (!*out)
		goto cleanup;
	p = *out;
	for (int g = 0; g < ngroups; g++)
		p = put_group(p, &groups[g], spans, span_sizes);
	*out_len = p - *out;
	err = *out_len == total ? 0 : -EFAULT; /* measured and written must agree */
	if (err) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
cleanup:
	for (int g = 0; g < built; g++)
		resource__free(&groups[g].res);
	free(groups);
	free(span_sizes);
	free(spans);
	return err;
}
