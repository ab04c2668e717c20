/* SPDX-License-Identifier: BSD-2-Clause */
/* OTLP encoding: resources, protobuf and JSON bodies, gzip, and the key=value lists of the
 * OpenTelemetry environment variables (resource.c, otlp_pb.c, otlp_json.c, gzip.c). */
#ifndef ZT_EXPORT_ENCODE_H
#define ZT_EXPORT_ENCODE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct span;
struct process;

/* Resource attributes of a process's spans (encoders share them). */
#define RES_MAX_ATTRS 32
struct res_attr {
	char *key;
	char *str; /* NULL for integers */
	int64_t i;
};
struct resource {
	struct res_attr attrs[RES_MAX_ATTRS];
	int n;
};
int resource__build(struct resource *r, const struct process *p, const char *global_attrs,
		    const char *host_name);
void resource__free(struct resource *r);
/* Parse OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS syntax, calling fn per pair with
 * percent-decoded key and value. -EINVAL on a malformed list. */
int kv_list_parse(const char *list, int (*fn)(void *ctx, const char *k, const char *v), void *ctx);

/*
 * OTLP/HTTP protobuf, built span by span: otlp_batch__add writes a span's bytes into its
 * process's group at once (the span can be freed), otlp_batch__finish wraps the groups in
 * ResourceSpans — one per process — and returns the request body.
 */
struct otlp_batch;
struct otlp_batch *otlp_batch__new(void);
int otlp_batch__add(struct otlp_batch *b, const struct span *s);
uint32_t otlp_batch__spans(const struct otlp_batch *b);
int otlp_batch__finish(const struct otlp_batch *b, const char *global_attrs, const char *host_name,
		       uint8_t **out, size_t *out_len);
void otlp_batch__free(struct otlp_batch *b);

/* Encoders, also used by the tests. Spans are grouped into one ResourceSpans per process. */
int otlp_pb_encode(struct span **spans, int n, const char *global_attrs, const char *host_name,
		   uint8_t **out, size_t *out_len);
int otlp_json_write(struct span **spans, int n, const char *global_attrs, const char *host_name,
		    FILE *f);
int gzip_compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len);

#endif
