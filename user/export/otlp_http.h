/* SPDX-License-Identifier: BSD-2-Clause */
/* One OTLP/HTTP endpoint: a libcurl handle with the request headers, and the POST of an
 * ExportTraceServiceRequest with its retries. */
#ifndef ZT_OTLP_HTTP_H
#define ZT_OTLP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/options.h"

struct otlp_http;

/* How the caller waits between attempts, and where it counts them. wait sleeps ms and
 * returns false to give up (the agent is stopping and its deadline passed). The counters are
 * added to atomically: another thread reads them. */
struct otlp_http_retry {
	bool (*wait)(void *ctx, uint64_t ms);
	void *ctx;
	uint64_t *errors;  /* failed attempts, retried or not */
	uint64_t *retries; /* attempts made again */
};

/* Endpoint, headers, gzip, timeouts from o. NULL and errno set on failure (EINVAL: headers
 * that are not a key=value list). */
struct otlp_http *otlp_http__new(const struct exporter_opts *o);
void otlp_http__free(struct otlp_http *h);
/* POST body (n spans), retrying 429/502/503/504 and network errors with exponential backoff
 * (0.5 s doubling to 5 s, Retry-After honoured) for up to max_retry_ms. 0, -EIO when the
 * backend refused it or retries ran out, -ETIMEDOUT when r->wait gave up. */
int otlp_http__post(struct otlp_http *h, const uint8_t *body, size_t len, int n,
		    const struct otlp_http_retry *r);

#endif
