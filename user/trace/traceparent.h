/* SPDX-License-Identifier: BSD-2-Clause */
/* W3C Trace Context: the traceparent header. */
#ifndef ZT_TRACEPARENT_H
#define ZT_TRACEPARENT_H

#include <stddef.h>
#include <stdint.h>

#define TRACEPARENT_LEN 55

struct traceparent {
	uint8_t version;
	uint8_t trace_id[16];
	uint8_t parent_id[8];
	uint8_t flags;
};

/* 0 on success, -EINVAL for anything the spec says to ignore: bad length or characters,
 * version ff, an all-zero trace id or parent id, upper-case hex. */
int traceparent_parse(const char *s, size_t len, struct traceparent *out);
/* Writes TRACEPARENT_LEN characters and a NUL. */
void traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
			char out[TRACEPARENT_LEN + 1]);

#endif
