// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer: the HTTP/1 parser on untrusted bytes. The first byte picks how the rest is cut
 * into events (sizes, bytes left uncaptured, gaps), as captures cut real streams; the head
 * parsers also run on the whole input. Every string the parser hands out is read in full, so
 * AddressSanitizer sees a pointer or length that leaves the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "proto/http1.h"

static volatile uint8_t sink;

static void touch(struct http1_str s)
{
	for (size_t i = 0; i < s.len; i++)
		sink ^= (uint8_t)s.p[i];
}

static void touch_head(const struct http1_head *h)
{
	touch(h->method);
	touch(h->target);
	touch(h->host);
	touch(h->user_agent);
	touch(h->traceparent);
	touch(h->tracestate);
}

static void on_head(void *ctx, const struct http1_head *h, uint64_t start_ts, enum http1_body *body)
{
	(void)ctx;
	(void)start_ts;
	touch_head(h);
	if (h->request && h->method.len == 4 && !memcmp(h->method.p, "HEAD", 4))
		*body = HTTP1_BODY_NONE;
}

static void on_complete(void *ctx, uint64_t end_ts)
{
	(void)ctx;
	(void)end_ts;
}

static void on_lost(void *ctx)
{
	(void)ctx;
}

static const struct http1_callbacks cb = {on_head, on_complete, on_lost};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_parser p;
	struct http1_head h;
	size_t head_len, off = 1;
	uint8_t plan;

	if (!size)
		return 0;
	plan = data[0];
	if (!http1_parse_head((const char *)data + 1, size - 1, &h))
		touch_head(&h);
	if (!http1_scan_head((const char *)data + 1, size - 1, &h, &head_len))
		touch_head(&h);
	http1_is_message_start(data + 1, size - 1);
	http1_head_hash((const char *)data + 1, size - 1);

	http1_parser__init(&p, &cb, NULL);
	for (uint64_t ts = 1; off < size; ts++) {
		size_t chunk = 1 + (plan & 0x1f) * (ts % 3 + 1), captured, total;

		if (chunk > size - off)
			chunk = size - off;
		/* some events keep only a prefix of their bytes, as capture_bytes does */
		captured = (plan & 0x20) && ts % 4 == 0 ? chunk / 2 : chunk;
		total = chunk + ((plan & 0x40) && ts % 5 == 0 ? 100 : 0);
		http1_parser__feed(&p, data + off, captured, total, ts);
		if ((plan & 0x80) && ts % 7 == 0)
			http1_parser__gap(&p);
		off += chunk;
	}
	http1_parser__close(&p, 1000000);
	http1_parser__free(&p);
	return 0;
}
