/* SPDX-License-Identifier: BSD-2-Clause */
/* What the kernel ships of an HTTP/2 direction, for the tests and fuzz targets that feed the
 * parser the way the ring does. Header-only: each test binary is one translation unit. */
#ifndef ZT_TEST_H2_SEGMENTS_H
#define ZT_TEST_H2_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "events.h"

/* The segments bpf/http2.bpf.h ships for bytes [a, b) of a direction whose frames start at
 * `start` of p[0, len): for every frame, its header and zt_h2_ship_len() bytes, clipped to the
 * event, flagged where a frame starts. */
static inline size_t h2_segments_for(const uint8_t *p, size_t start, size_t len, size_t a, size_t b,
				     uint8_t *out)
{
	size_t n = 0;

	for (size_t f = start; f + ZT_H2_FRAME_HEADER <= len;) {
		const uint8_t *h = p + f;
		uint32_t flen = (uint32_t)h[0] << 16 | h[1] << 8 | h[2];
		size_t ship_end = f + ZT_H2_FRAME_HEADER + zt_h2_ship_len(h[3], h[4], flen);
		size_t from = f > a ? f : a, to = ship_end < b ? ship_end : b;

		if (from < to) {
			struct zt_segment seg = {.off = from - a,
						 .len = to - from,
						 .flags = f >= a ? ZT_SEG_F_FRAME : 0};

			memcpy(out + n, &seg, sizeof(seg));
			memcpy(out + n + sizeof(seg), p + from, to - from);
			n += sizeof(seg) + to - from;
		}
		f += ZT_H2_FRAME_HEADER + flen;
	}
	return n;
}

/* Bytes from hex ("8286..."): header blocks as the RFCs print them. */
static inline size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2)
		sscanf(hex, "%2hhx", &out[n++]);
	return n;
}

#endif
