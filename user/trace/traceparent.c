// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include "trace/traceparent.h"
#include "trace/span.h"

/* lower-case hex only: the spec forbids upper case */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	bool nonzero = false;

	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = hi << 4 | lo;
		nonzero |= out[i] != 0;
	}
	return nonzero ? 0 : -ENOENT;
}

int traceparent_parse(const char *s, size_t len, struct traceparent *out)
{
	uint8_t v;

	/* optional whitespace around a header value */
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len < TRACEPARENT_LEN)
		return -EINVAL;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -EINVAL;
	if (hexval(s[0]) < 0 || hexval(s[1]) < 0)
		return -EINVAL;
	v = hexval(s[0]) << 4 | hexval(s[1]);
	if (v == 0xff)
		return -EINVAL;
	/* version 00 is exactly 55 characters; later versions may append "-…" fields */
	if (v == 0 && len != TRACEPARENT_LEN)
		return -EINVAL;
	if (v != 0 && len > TRACEPARENT_LEN && s[TRACEPARENT_LEN] != '-')
		return -EINVAL;
	if (hex_decode(s + 3, out->trace_id, 16) || hex_decode(s + 36, out->parent_id, 8))
		return -EINVAL;
	if (hexval(s[53]) < 0 || hexval(s[54]) < 0)
		return -EINVAL;
	out->flags = hexval(s[53]) << 4 | hexval(s[54]);
	out->version = v;
	return 0;
}

void traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8], uint8_t flags,
			char out[TRACEPARENT_LEN + 1])
{
	char tid[33], sid[17];

	hex_encode(trace_id, 16, tid);
	hex_encode(span_id, 8, sid);
	snprintf(out, TRACEPARENT_LEN + 1, "00-%s-%s-%02x", tid, sid, flags);
}
