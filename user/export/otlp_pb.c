// SPDX-License-Identifier: BSD-2-Clause
/* Spans → OTLP ExportTraceServiceRequest (protobuf), through protobuf-c. Each span is packed
 * once on its own; the envelope (ExportTraceServiceRequestPacked, wire-identical to the real
 * one) carries the packed spans as bytes, so nothing is measured or packed twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "otlp_trace.pb-c.h"
#include "exporter.h"
#include "span.h"
#include "version.h"

typedef Opentelemetry__Proto__AnyValue AnyValue;
typedef Opentelemetry__Proto__KeyValue KeyValue;

/* Grows; holds the packed spans back to back. */
struct pool {
	uint8_t *buf;
	size_t len, cap;
};

static uint8_t *pool_reserve(struct pool *p, size_t n)
{
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap : 16384;
		uint8_t *nb;

		while (cap < p->len + n)
			cap *= 2;
		nb = realloc(p->buf, cap);
		if (!nb)
			return NULL;
		p->buf = nb;
		p->cap = cap;
	}
	return p->buf + p->len;
}

static void fill_kv(KeyValue *kv, AnyValue *v, const struct attr *a)
{
	opentelemetry__proto__key_value__init(kv);
	opentelemetry__proto__any_value__init(v);
	kv->key = (char *)a->key;
	kv->value = v;
	switch (a->type) {
	case ATTR_STR:
		v->value_case = OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = a->str;
		break;
	case ATTR_INT:
		v->value_case = OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = a->i;
		break;
	case ATTR_BOOL:
		v->value_case = OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = a->b;
		break;
	}
}

/* Pack one span into the pool; its bytes are pool->buf[*off, *off + *len). */
static int pack_span(const struct span *s, struct pool *pool, size_t *off, size_t *len)
{
	Opentelemetry__Proto__Span p = OPENTELEMETRY__PROTO__SPAN__INIT;
	Opentelemetry__Proto__Status st = OPENTELEMETRY__PROTO__STATUS__INIT;
	KeyValue kvs[SPAN_MAX_ATTRS], *kv_ptrs[SPAN_MAX_ATTRS];
	AnyValue vals[SPAN_MAX_ATTRS];
	uint8_t *dst;

	p.trace_id = (ProtobufCBinaryData){16, (uint8_t *)s->ctx.trace_id};
	p.span_id = (ProtobufCBinaryData){8, (uint8_t *)s->ctx.span_id};
	if (s->has_parent)
		p.parent_span_id = (ProtobufCBinaryData){8, (uint8_t *)s->parent_id};
	p.trace_state = s->trace_state ? s->trace_state : "";
	p.name = s->name ? s->name : "";
	p.kind = (Opentelemetry__Proto__Span__SpanKind)s->kind;
	p.start_time_unix_nano = s->start_ns;
	p.end_time_unix_nano = s->end_ns;
	p.flags = s->trace_flags;
	st.code = (Opentelemetry__Proto__Status__StatusCode)s->status;
	p.status = &st;
	for (int k = 0; k < s->nattrs; k++) {
		fill_kv(&kvs[k], &vals[k], &s->attrs[k]);
		kv_ptrs[k] = &kvs[k];
	}
	p.attributes = kv_ptrs;
	p.n_attributes = s->nattrs;
	*len = opentelemetry__proto__span__get_packed_size(&p);
	dst = pool_reserve(pool, *len);
	if (!dst)
		return -ENOMEM;
	opentelemetry__proto__span__pack(&p, dst);
	*off = pool->len;
	pool->len += *len;
	return 0;
}

static int cmp_proc(const void *x, const void *y)
{
	const struct span *a = *(struct span *const *)x, *b = *(struct span *const *)y;

	return a->proc < b->proc ? -1 : a->proc > b->proc;
}

int otlp_pb_encode(struct span **in, int n, const char *global_attrs, const char *host_name,
		   uint8_t **out, size_t *out_len)
{
	Opentelemetry__Proto__ExportTraceServiceRequestPacked req =
	    OPENTELEMETRY__PROTO__EXPORT_TRACE_SERVICE_REQUEST_PACKED__INIT;
	Opentelemetry__Proto__InstrumentationScope scope =
	    OPENTELEMETRY__PROTO__INSTRUMENTATION_SCOPE__INIT;
	Opentelemetry__Proto__ResourceSpansPacked *rs = NULL, **rs_ptrs = NULL;
	Opentelemetry__Proto__ScopeSpansPacked *ss = NULL, **ss_ptrs = NULL;
	Opentelemetry__Proto__Resource *res = NULL;
	KeyValue *rkv = NULL, **rkv_ptrs = NULL;
	AnyValue *rvals = NULL;
	ProtobufCBinaryData *bins = NULL;
	struct resource *built = NULL;
	struct span **spans = NULL;
	struct pool pool = {};
	size_t *offs = NULL;
	int ngroups = 0, err = -ENOMEM;

	*out = NULL;
	*out_len = 0;
	spans = malloc(n * sizeof(*spans));
	offs = malloc(n * sizeof(*offs));
	bins = malloc(n * sizeof(*bins));
	if (!spans || !offs || !bins)
		goto cleanup;
	memcpy(spans, in, n * sizeof(*spans));
	/* one ResourceSpans per process */
	qsort(spans, n, sizeof(*spans), cmp_proc);
	for (int i = 0; i < n; i++) {
		ngroups += i == 0 || spans[i]->proc != spans[i - 1]->proc;
		if (pack_span(spans[i], &pool, &offs[i], &bins[i].len))
			goto cleanup;
	}
	/* the pool may have moved while growing: point at the spans only now */
	for (int i = 0; i < n; i++)
		bins[i].data = pool.buf + offs[i];

	rs = calloc(ngroups, sizeof(*rs));
	rs_ptrs = calloc(ngroups, sizeof(*rs_ptrs));
	ss = calloc(ngroups, sizeof(*ss));
	ss_ptrs = calloc(ngroups, sizeof(*ss_ptrs));
	res = calloc(ngroups, sizeof(*res));
	built = calloc(ngroups, sizeof(*built));
	rkv = calloc((size_t)ngroups * RES_MAX_ATTRS, sizeof(*rkv));
	rkv_ptrs = calloc((size_t)ngroups * RES_MAX_ATTRS, sizeof(*rkv_ptrs));
	rvals = calloc((size_t)ngroups * RES_MAX_ATTRS, sizeof(*rvals));
	if (!rs || !rs_ptrs || !ss || !ss_ptrs || !res || !built || !rkv || !rkv_ptrs || !rvals)
		goto cleanup;

	scope.name = "zerotrace";
	scope.version = (char *)zt_version;
	for (int i = 0, g = -1; i < n; i++) {
		if (i == 0 || spans[i]->proc != spans[i - 1]->proc) {
			struct resource *r = &built[++g];
			size_t base = (size_t)g * RES_MAX_ATTRS;

			resource__build(r, spans[i]->proc, global_attrs, host_name);
			opentelemetry__proto__resource_spans_packed__init(&rs[g]);
			opentelemetry__proto__resource__init(&res[g]);
			opentelemetry__proto__scope_spans_packed__init(&ss[g]);
			for (int k = 0; k < r->n; k++) {
				struct attr a = {.key = r->attrs[k].key};

				if (r->attrs[k].str) {
					a.type = ATTR_STR;
					a.str = r->attrs[k].str;
				} else {
					a.type = ATTR_INT;
					a.i = r->attrs[k].i;
				}
				fill_kv(&rkv[base + k], &rvals[base + k], &a);
				rkv_ptrs[base + k] = &rkv[base + k];
			}
			res[g].attributes = &rkv_ptrs[base];
			res[g].n_attributes = r->n;
			rs[g].resource = &res[g];
			ss[g].scope = &scope;
			ss[g].spans = &bins[i];
			ss_ptrs[g] = &ss[g];
			rs[g].scope_spans = &ss_ptrs[g];
			rs[g].n_scope_spans = 1;
			rs_ptrs[g] = &rs[g];
		}
		ss[g].n_spans++;
	}
	req.resource_spans = rs_ptrs;
	req.n_resource_spans = ngroups;
	*out_len = opentelemetry__proto__export_trace_service_request_packed__get_packed_size(&req);
	*out = malloc(*out_len ? *out_len : 1);
	if (!*out)
		goto cleanup;
	opentelemetry__proto__export_trace_service_request_packed__pack(&req, *out);
	err = 0;
cleanup:
	for (int g = 0; built && g < ngroups; g++)
		resource__free(&built[g]);
	free(rvals);
	free(rkv_ptrs);
	free(rkv);
	free(built);
	free(res);
	free(ss_ptrs);
	free(ss);
	free(rs_ptrs);
	free(rs);
	free(pool.buf);
	free(bins);
	free(offs);
	free(spans);
	return err;
}
