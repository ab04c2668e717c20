/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finished spans leave the reader thread through a bounded queue and are exported on a thread
 * of their own, so a slow or dead backend never stalls event processing. A full queue drops
 * the span and counts it. For OTLP/HTTP what crosses is bytes: the submitting thread encodes
 * each span into the batch it is building, while the span is still in its cache.
 */
#ifndef ZT_EXPORTER_H
#define ZT_EXPORTER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct span;
struct process;

enum exporter_kind {
	EXPORTER_CONSOLE,   /* trace trees on stdout */
	EXPORTER_OTLP_HTTP, /* OTLP/HTTP protobuf */
	EXPORTER_OTLP_FILE, /* OTLP/JSON, one ExportTraceServiceRequest per line */
};

struct exporter_opts {
	enum exporter_kind kind;
	const char *endpoint; /* full URL of the traces endpoint */
	const char *headers;  /* OTEL_EXPORTER_OTLP_HEADERS syntax: k=v,k2=v2 (URL-encoded) */
	const char *file_path;
	const char *resource_attrs; /* OTEL_RESOURCE_ATTRIBUTES syntax, added to every resource */
	bool gzip;
	uint32_t queue_size;
	uint32_t batch_size;
	uint32_t batch_delay_ms;   /* longest a span waits for its batch to fill */
	uint32_t timeout_ms;	   /* one export request */
	uint32_t max_retry_ms;	   /* give a batch up after retrying this long */
	uint32_t console_quiet_ms; /* console: print a trace after this long without new spans */
	FILE *console_out;
};

struct exporter_stats {
	uint64_t queued;
	uint64_t exported;
	uint64_t dropped_queue_full;
	uint64_t dropped_export_failed;
	uint64_t export_errors; /* failed attempts, retried or not */
	uint64_t retries;
};

struct exporter;

struct exporter *exporter__new(const struct exporter_opts *opts);
int exporter__start(struct exporter *e);
/* Takes ownership of s. Never blocks. */
void exporter__submit(struct exporter *e, struct span *s);
/* New settings, applied by the exporter thread between batches: nothing queued is lost. The
 * strings are copied. */
int exporter__reconfigure(struct exporter *e, const struct exporter_opts *opts);
/* Export what is queued (giving up after deadline_ms), stop the thread. */
void exporter__stop(struct exporter *e, uint32_t deadline_ms);
void exporter__free(struct exporter *e);
void exporter__stats(struct exporter *e, struct exporter_stats *out);
uint32_t exporter__queue_depth(struct exporter *e);

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
