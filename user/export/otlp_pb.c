// SPDX-License-Identifier: BSD-2-Clause
/*
 * Spans → OTLP ExportTraceServiceRequest (protobuf), written straight from struct span.
 *
 * protobuf-c packs by walking field descriptors: it measured every message and then packed it,
 * and the spans had first to be copied into its structs — 29% of the agent's CPU at 30,000
 * requests/s. The encoder below knows the handful of OTLP messages it writes. A span is
 * measured and written as it ends (otlp_batch__add, on the thread that built it), appended to
 * its process's group; finishing a batch measures the resources and wraps each group in its
 * ResourceSpans. protobuf-c stays the reference: tests/unit/test_otlp.c decodes this output
 * with it field by field.
 * Field numbers are those of opentelemetry/proto/trace/v1/trace.proto and common/v1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export/encode.h"
#include "export/pbwire.h"
#include "trace/proc.h"
#include "trace/span.h"
#include "base/version.h"

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

/* kv_size: key_value_size(a), measured before */
static uint8_t *put_key_value(uint8_t *p, uint32_t field, const struct attr *a, size_t kv_size)
{
	p = pb_put_len_prefix(p, field, kv_size);
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

/* proto3: fields holding their default are left out, as every encoder does. The size of each
 * attribute goes to kv_sizes, for put_span. */
static size_t span_size(const struct span *s, size_t *kv_sizes)
{
	size_t n = pb_len_field_size(SPAN_TRACE_ID, sizeof(s->ctx.trace_id)) +
		   pb_len_field_size(SPAN_SPAN_ID, sizeof(s->ctx.span_id)) +
		   pb_len_field_size(SPAN_STATUS, status_size(s));

	if (s->trace_state && *s->trace_state)
		n += pb_len_field_size(SPAN_TRACE_STATE, strlen(s->trace_state));
	if (s->has_parent)
		n += pb_len_field_size(SPAN_PARENT_SPAN_ID, sizeof(s->parent_id));
	if (s->name_len)
		n += pb_len_field_size(SPAN_NAME, s->name_len);
	if (s->kind)
		n += pb_tag_size(SPAN_KIND) + pb_varint_size(s->kind);
	if (s->start_ns)
		n += pb_tag_size(SPAN_START_TIME) + 8;
	if (s->end_ns)
		n += pb_tag_size(SPAN_END_TIME) + 8;
	for (int i = 0; i < s->nattrs; i++) {
		kv_sizes[i] = key_value_size(&s->attrs[i]);
		n += pb_len_field_size(SPAN_ATTRIBUTES, kv_sizes[i]);
	}
	if (s->trace_flags)
		n += pb_tag_size(SPAN_FLAGS) + 4;
	return n;
}

static uint8_t *put_span(uint8_t *p, const struct span *s, size_t size, const size_t *kv_sizes)
{
	p = pb_put_len_prefix(p, SCOPE_SPANS_SPANS, size);
	p = pb_put_bytes(p, SPAN_TRACE_ID, s->ctx.trace_id, sizeof(s->ctx.trace_id));
	p = pb_put_bytes(p, SPAN_SPAN_ID, s->ctx.span_id, sizeof(s->ctx.span_id));
	if (s->trace_state && *s->trace_state)
		p = pb_put_bytes(p, SPAN_TRACE_STATE, s->trace_state, strlen(s->trace_state));
	if (s->has_parent)
		p = pb_put_bytes(p, SPAN_PARENT_SPAN_ID, s->parent_id, sizeof(s->parent_id));
	if (s->name_len)
		p = pb_put_bytes(p, SPAN_NAME, s->name, s->name_len);
	if (s->kind)
		p = pb_put_uint(p, SPAN_KIND, s->kind);
	if (s->start_ns)
		p = pb_put_fixed64(p, SPAN_START_TIME, s->start_ns);
	if (s->end_ns)
		p = pb_put_fixed64(p, SPAN_END_TIME, s->end_ns);
	for (int i = 0; i < s->nattrs; i++)
		p = put_key_value(p, SPAN_ATTRIBUTES, &s->attrs[i], kv_sizes[i]);
	p = pb_put_len_prefix(p, SPAN_STATUS, status_size(s));
	if (s->status)
		p = pb_put_uint(p, STATUS_CODE, s->status);
	if (s->trace_flags)
		p = pb_put_fixed32(p, SPAN_FLAGS, s->trace_flags);
	return p;
}

/* The spans of one process in a batch, already written as ScopeSpans.spans fields. */
struct pb_group {
	struct process *proc; /* holds a reference */
	uint8_t *buf;
	size_t len, cap;
};

struct otlp_batch {
	struct pb_group *groups;
	int ngroups, cap;
	int last; /* the group of the previous span: spans come in runs of one process */
	uint32_t nspans;
};

struct otlp_batch *otlp_batch__new(void)
{
	return calloc(1, sizeof(struct otlp_batch));
}

void otlp_batch__free(struct otlp_batch *b)
{
	if (!b)
		return;
	for (int g = 0; g < b->ngroups; g++) {
		process__put(b->groups[g].proc);
		free(b->groups[g].buf);
	}
	free(b->groups);
	free(b);
}

uint32_t otlp_batch__spans(const struct otlp_batch *b)
{
	return b ? b->nspans : 0;
}

static struct pb_group *group_of(struct otlp_batch *b, struct process *proc)
{
	struct pb_group *g;

	if (b->last < b->ngroups && b->groups[b->last].proc == proc)
		return &b->groups[b->last];
	/* a batch holds the processes that ended spans in the last batch_delay: a handful */
	for (int i = 0; i < b->ngroups; i++) {
		if (b->groups[i].proc == proc) {
			b->last = i;
			return &b->groups[i];
		}
	}
	if (b->ngroups == b->cap) {
		int cap = b->cap ? 2 * b->cap : 8;
		struct pb_group *ng = realloc(b->groups, cap * sizeof(*ng));

		if (!ng)
			return NULL;
		b->groups = ng;
		b->cap = cap;
	}
	g = &b->groups[b->ngroups];
	memset(g, 0, sizeof(*g));
	g->proc = process__get(proc);
	b->last = b->ngroups++;
	return g;
}

int otlp_batch__add(struct otlp_batch *b, const struct span *s)
{
	struct pb_group *g = group_of(b, s->proc);
	size_t kv_sizes[SPAN_MAX_ATTRS];
	size_t size = span_size(s, kv_sizes), need = pb_len_field_size(SCOPE_SPANS_SPANS, size);

	if (!g)
		return -ENOMEM;
	if (g->len + need > g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 4096;
		uint8_t *nb;

		while (cap < g->len + need)
			cap *= 2;
		nb = realloc(g->buf, cap);
		if (!nb)
			return -ENOMEM;
		g->buf = nb;
		g->cap = cap;
	}
	g->len = put_span(g->buf + g->len, s, size, kv_sizes) - g->buf;
	b->nspans++;
	return 0;
}

/* One ResourceSpans: a group's resource and its sizes. */
struct group_sizes {
	struct resource res;
	struct attr attrs[RES_MAX_ATTRS]; /* res as span attributes, measured */
	size_t res_size, scope_spans_size, size;
};

static size_t scope_size(void)
{
	return pb_len_field_size(SCOPE_NAME, sizeof(scope_name) - 1) +
	       pb_len_field_size(SCOPE_VERSION, strlen(zt_version));
}

static int measure_group(struct group_sizes *m, const struct pb_group *g, const char *global_attrs,
			 const char *host_name)
{
	int err = resource__build(&m->res, g->proc, global_attrs, host_name);

	if (err)
		return err;
	m->res_size = 0;
	for (int k = 0; k < m->res.n; k++) {
		struct attr *a = &m->attrs[k];
		const struct res_attr *r = &m->res.attrs[k];

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
		m->res_size += pb_len_field_size(RESOURCE_ATTRIBUTES, key_value_size(a));
	}
	m->scope_spans_size = pb_len_field_size(SCOPE_SPANS_SCOPE, scope_size()) + g->len;
	m->size = pb_len_field_size(RESOURCE_SPANS_RESOURCE, m->res_size) +
		  pb_len_field_size(RESOURCE_SPANS_SCOPE_SPANS, m->scope_spans_size);
	return 0;
}

static uint8_t *put_group(uint8_t *p, const struct group_sizes *m, const struct pb_group *g)
{
	p = pb_put_len_prefix(p, REQUEST_RESOURCE_SPANS, m->size);
	p = pb_put_len_prefix(p, RESOURCE_SPANS_RESOURCE, m->res_size);
	for (int k = 0; k < m->res.n; k++)
		p = put_key_value(p, RESOURCE_ATTRIBUTES, &m->attrs[k],
				  key_value_size(&m->attrs[k]));
	p = pb_put_len_prefix(p, RESOURCE_SPANS_SCOPE_SPANS, m->scope_spans_size);
	p = pb_put_len_prefix(p, SCOPE_SPANS_SCOPE, scope_size());
	p = pb_put_bytes(p, SCOPE_NAME, scope_name, sizeof(scope_name) - 1);
	p = pb_put_bytes(p, SCOPE_VERSION, zt_version, strlen(zt_version));
	memcpy(p, g->buf, g->len);
	return p + g->len;
}

int otlp_batch__finish(const struct otlp_batch *b, const char *global_attrs, const char *host_name,
		       uint8_t **out, size_t *out_len)
{
	struct group_sizes *sizes = calloc(b->ngroups ? b->ngroups : 1, sizeof(*sizes));
	int built = 0, err = -ENOMEM;
	size_t total = 0;
	uint8_t *p;

	*out = NULL;
	*out_len = 0;
	if (!sizes)
		return err;
	for (; built < b->ngroups; built++) {
		err = measure_group(&sizes[built], &b->groups[built], global_attrs, host_name);
		if (err)
			goto cleanup;
		total += pb_len_field_size(REQUEST_RESOURCE_SPANS, sizes[built].size);
	}
	err = -ENOMEM;
	*out = malloc(total ? total : 1);
	if (!*out)
		goto cleanup;
	p = *out;
	for (int g = 0; g < b->ngroups; g++)
		p = put_group(p, &sizes[g], &b->groups[g]);
	*out_len = p - *out;
	err = *out_len == total ? 0 : -EFAULT; /* measured and written must agree */
	if (err) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
cleanup:
	for (int g = 0; g < built; g++)
		resource__free(&sizes[g].res);
	free(sizes);
	return err;
}

int otlp_pb_encode(struct span **spans, int n, const char *global_attrs, const char *host_name,
		   uint8_t **out, size_t *out_len)
{
	struct otlp_batch *b = otlp_batch__new();
	int err = b ? 0 : -ENOMEM;

	*out = NULL;
	*out_len = 0;
	for (int i = 0; i < n && !err; i++)
		err = otlp_batch__add(b, spans[i]);
	if (!err)
		err = otlp_batch__finish(b, global_attrs, host_name, out, out_len);
	otlp_batch__free(b);
	return err;
}
