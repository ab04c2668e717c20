/* SPDX-License-Identifier: BSD-2-Clause */
/* Where and how spans are exported: the settings the exporter and its transports share. */
#ifndef ZT_EXPORT_OPTIONS_H
#define ZT_EXPORT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

#endif
