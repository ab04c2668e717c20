// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer: the HTTP/2 frame parser and HPACK. The input is one direction's bytes; the first
 * byte picks the events' sizes, whether the direction is seen from its start, and whether the
 * bytes are turned into the segments the kernel ships (bpf/http2.bpf.h) or fed as segment
 * records as they are. HPACK also decodes the whole input as one header block. */
#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "events.h"
#include "h2_segments.h"
#include "proto/http2.h"

static volatile uint8_t sink;

static void touch(struct h2_str s)
{
	for (size_t i = 0; i < s.len; i++)
		sink ^= (uint8_t)s.p[i];
}

static void on_headers(void *ctx, const struct h2_headers *h)
{
	(void)ctx;
	for (int i = 0; i < h->nfields; i++) {
		touch(h->fields[i].name);
		touch(h->fields[i].value);
	}
	touch(h->path);
	touch(h->traceparent);
	touch(h->grpc_message);
}

static void on_data(void *ctx, uint32_t stream, uint32_t len, bool end_stream,
		    const uint8_t *prefix, size_t prefix_len, uint64_t ts)
{
	(void)ctx, (void)stream, (void)len, (void)end_stream, (void)ts;
	for (size_t i = 0; i < prefix_len; i++)
		sink ^= prefix[i];
}

static void on_rst_stream(void *ctx, uint32_t stream, uint32_t code, uint64_t ts)
{
	(void)ctx, (void)stream, (void)code, (void)ts;
}

static void on_goaway(void *ctx, uint32_t last, uint32_t code, uint64_t ts)
{
	(void)ctx, (void)last, (void)code, (void)ts;
}

static void on_table_size(void *ctx, uint32_t size)
{
	(void)ctx, (void)size;
}

static void on_lost(void *ctx)
{
	(void)ctx;
}

static const struct h2_callbacks cb = {on_headers, on_data,	  on_rst_stream,
				       on_goaway,  on_table_size, on_lost};

static uint8_t segs[1 << 20];
static char strbuf[8192];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nghttp2_hd_inflater *inf;
	struct h2_headers h = {.grpc_status = -1};
	struct h2_parser p;
	uint8_t plan;

	if (!size || size > 65536)
		return 0;
	plan = data[0];
	data++, size--;
	if (!nghttp2_hd_inflate_new(&inf)) {
		h2_hpack_decode(inf, data, size, &h, strbuf, sizeof(strbuf));
		nghttp2_hd_inflate_del(inf);
	}
	h2_parser__init(&p, &cb, NULL, plan & 1);
	if (plan & 2) {
		/* segment records as they come: what a broken or hostile ring would hold */
		h2_parser__feed(&p, data, size, size, 0, 1);
	} else {
		size_t chunk = 1 + (plan >> 2) * 5;

		for (size_t a = 0, ts = 1; a < size; a += chunk, ts++) {
			size_t b = a + chunk < size ? a + chunk : size;
			size_t n = h2_segments_for(data, 0, size, a, b, segs);

			h2_parser__feed(&p, segs, n, b - a, 0, ts);
			if ((plan & 0x80) && ts % 5 == 0)
				h2_parser__gap(&p);
		}
	}
	h2_parser__free(&p);
	return 0;
}
