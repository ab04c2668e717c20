// SPDX-License-Identifier: BSD-2-Clause
/* Spans → OTLP ExportTraceServiceRequest (protobuf), through protobuf-c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "otlp_trace.pb-c.h"
#include "exporter.h"
#include "version.h"
#include "span.h"

typedef Opentelemetry__Proto__AnyValue AnyValue;
typedef Opentelemetry__Proto__KeyValue KeyValue;

/* Everything one request needs, allocated in a few arrays and freed together. */
struct pb_arena {
	KeyValue *kvs;
	KeyValue **kv_ptrs;
	AnyValue *vals;
	size_t nkv, cap;
};

static KeyValue **arena_take(struct pb_arena *a, int n)
{
	KeyValue **ptrs;

	if (a->nkv + n > a->cap)
		return NULL;
	ptrs = &a->kv_ptrs[a->nkv];
	a->nkv += n;
	return ptrs;
}

static void set_kv(struct pb_arena *a, KeyValue **slot, char *key)
{
	size_t i = slot - a->kv_ptrs;

	opentelemetry__proto__key_value__init(&a->kvs[i]);
	opentelemetry__proto__any_value__init(&a->vals[i]);
	a->kvs[i].key = key;
	a->kvs[i].value = &a->vals[i];
	*slot = &a->kvs[i];
}

static int cmp_proc(const void *x, const void *y)
{
	const struct span *a = *(struct span *const *)x, *b = *(struct span *const *)y;

	return a->proc < b->proc ? -1 : a->proc > b->proc;
}

int otlp_pb_encode(struct span **in, int n, const char *global_attrs, const char *host_name,
		   uint8_t **out, size_t *out_len)
{
	Opentelemetry__Proto__ExportTraceServiceRequest req =
	    OPENTELEMETRY__PROTO__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Opentelemetry__Proto__InstrumentationScope scope =
	    OPENTELEMETRY__PROTO__INSTRUMENTATION_SCOPE__INIT;
	Opentelemetry__Proto__ResourceSpans *rs = NULL, **rs_ptrs = NULL;
	Opentelemetry__Proto__Resource *res = NULL;
	Opentelemetry__Proto__ScopeSpans *ss = NULL, **ss_ptrs = NULL;
	Opentelemetry__Proto__Span *ps = NULL, **ps_ptrs = NULL;
	Opentelemetry__Proto__Status *st = NULL;
	struct resource *built = NULL;
	struct span **spans = NULL;
	struct pb_arena a = {};
	int ngroups = 0, err = -ENOMEM;

	*out = NULL;
	*out_len = 0;
	spans = malloc(n * sizeof(*spans));
	if (!spans)
		goto cleanup;
	memcpy(spans, in, n * sizeof(*spans));
	/* one ResourceSpans per process */
	qsort(spans, n, sizeof(*spans), cmp_proc);
	for (int i = 0; i < n; i++)
		ngroups += i == 0 || spans[i]->proc != spans[i - 1]->proc;

	a.cap = (size_t)n * SPAN_MAX_ATTRS + (size_t)ngroups * RES_MAX_ATTRS;
	a.kvs = calloc(a.cap, sizeof(*a.kvs));
	a.kv_ptrs = calloc(a.cap, sizeof(*a.kv_ptrs));
	a.vals = calloc(a.cap, sizeof(*a.vals));
	rs = calloc(ngroups, sizeof(*rs));
	rs_ptrs = calloc(ngroups, sizeof(*rs_ptrs));
	res = calloc(ngroups, sizeof(*res));
	ss = calloc(ngroups, sizeof(*ss));
	ss_ptrs = calloc(ngroups, sizeof(*ss_ptrs));
	built = calloc(ngroups, sizeof(*built));
	ps = calloc(n, sizeof(*ps));
	ps_ptrs = calloc(n, sizeof(*ps_ptrs));
	st = calloc(n, sizeof(*st));
	if (!a.kvs || !a.kv_ptrs || !a.vals || !rs || !rs_ptrs || !res || !ss || !ss_ptrs ||
	    !built || !ps || !ps_ptrs || !st)
		goto cleanup;

	scope.name = "zerotrace";
	scope.version = (char *)zt_version;
	for (int i = 0, g = -1; i < n; i++) {
		struct span *s = spans[i];
		Opentelemetry__Proto__Span *p = &ps[i];

		if (i == 0 || s->proc != spans[i - 1]->proc) {
			struct resource *r = &built[++g];

			resource__build(r, s->proc, global_attrs, host_name);
			opentelemetry__proto__resource_spans__init(&rs[g]);
			opentelemetry__proto__resource__init(&res[g]);
			opentelemetry__proto__scope_spans__init(&ss[g]);
			res[g].attributes = arena_take(&a, r->n);
			res[g].n_attributes = r->n;
			for (int k = 0; k < r->n; k++) {
				KeyValue **slot = &res[g].attributes[k];

				set_kv(&a, slot, r->attrs[k].key);
				if (r->attrs[k].str) {
					(*slot)->value->value_case =
					    OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_STRING_VALUE;
					(*slot)->value->string_value = r->attrs[k].str;
				} else {
					(*slot)->value->value_case =
					    OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_INT_VALUE;
					(*slot)->value->int_value = r->attrs[k].i;
				}
			}
			rs[g].resource = &res[g];
			ss[g].scope = &scope;
			ss[g].spans = &ps_ptrs[i];
			ss_ptrs[g] = &ss[g];
			rs[g].scope_spans = &ss_ptrs[g];
			rs[g].n_scope_spans = 1;
			rs_ptrs[g] = &rs[g];
		}
		ss[g].n_spans++;
		opentelemetry__proto__span__init(p);
		ps_ptrs[i] = p;
		p->trace_id = (ProtobufCBinaryData){16, s->ctx.trace_id};
		p->span_id = (ProtobufCBinaryData){8, s->ctx.span_id};
		if (s->has_parent)
			p->parent_span_id = (ProtobufCBinaryData){8, s->parent_id};
		p->trace_state = s->trace_state ? s->trace_state : "";
		p->name = s->name ? s->name : "";
		p->kind = (Opentelemetry__Proto__Span__SpanKind)s->kind;
		p->start_time_unix_nano = s->start_ns;
		p->end_time_unix_nano = s->end_ns;
		p->flags = s->trace_flags;
		opentelemetry__proto__status__init(&st[i]);
		st[i].code = (Opentelemetry__Proto__Status__StatusCode)s->status;
		p->status = &st[i];
		p->attributes = arena_take(&a, s->nattrs);
		p->n_attributes = s->nattrs;
		for (int k = 0; k < s->nattrs; k++) {
			const struct attr *at = &s->attrs[k];
			AnyValue *v;

			set_kv(&a, &p->attributes[k], (char *)at->key);
			v = p->attributes[k]->value;
			switch (at->type) {
			case ATTR_STR:
				v->value_case = OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_STRING_VALUE;
				v->string_value = at->str;
				break;
			case ATTR_INT:
				v->value_case = OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_INT_VALUE;
				v->int_value = at->i;
				break;
			case ATTR_BOOL:
				v->value_case = OPENTELEMETRY__PROTO__ANY_VALUE__VALUE_BOOL_VALUE;
				v->bool_value = at->b;
				break;
			}
		}
	}
	req.resource_spans = rs_ptrs;
	req.n_resource_spans = ngroups;
	*out_len = opentelemetry__proto__export_trace_service_request__get_packed_size(&req);
	*out = malloc(*out_len ? *out_len : 1);
	if (!*out)
		goto cleanup;
	opentelemetry__proto__export_trace_service_request__pack(&req, *out);
	err = 0;
cleanup:
	for (int g = 0; built && g < ngroups; g++)
		resource__free(&built[g]);
	free(built);
	free(st);
	free(ps_ptrs);
	free(ps);
	free(ss_ptrs);
	free(ss);
	free(res);
	free(rs_ptrs);
	free(rs);
	free(a.vals);
	free(a.kv_ptrs);
	free(a.kvs);
	free(spans);
	return err;
}
