// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer: the RESP parser on untrusted bytes, as commands or as replies (the first byte's
 * low bit), cut into events by the rest of that byte (sizes, bytes left uncaptured, gaps), as
 * captures cut real streams. Every word the parser keeps is read in full, so AddressSanitizer
 * sees a length that leaves its buffer. */
#include <stddef.h>
#include <stdint.h>
#include "proto/resp.h"

static volatile uint8_t sink;

static void touch(const struct resp_word *w)
{
	for (size_t i = 0; i < w->len; i++)
		sink ^= (uint8_t)w->s[i];
}

static void on_command(void *ctx, const struct resp_command *c, uint64_t end_ts)
{
	(void)ctx;
	(void)end_ts;
	touch(&c->name);
	touch(&c->arg1);
	sink ^= (uint8_t)c->nargs;
}

static void on_reply(void *ctx, const struct resp_reply *r, uint64_t end_ts)
{
	struct resp_parser *p = ctx;

	(void)end_ts;
	touch(&r->error);
	sink ^= (uint8_t)r->type;
	/* the session restarts a lost reply stream when the client writes again */
	if (p->state == RESP_S_LOST)
		resp_parser__restart(p);
}

static void on_lost(void *ctx)
{
	(void)ctx;
}

static const struct resp_callbacks cb = {on_command, on_reply, on_lost};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_parser p;
	size_t off = 1;
	uint8_t plan;

	if (!size)
		return 0;
	plan = data[0];
	resp_is_command_start(data + 1, size - 1);
	resp_parser__init(&p, plan & 1, &cb, &p);
	for (uint64_t ts = 1; off < size; ts++) {
		size_t chunk = 1 + ((plan >> 1) & 0xf) * (ts % 3 + 1), captured, total;

		if (chunk > size - off)
			chunk = size - off;
		/* some events keep only a prefix of their bytes, as capture_bytes does */
		captured = (plan & 0x20) && ts % 4 == 0 ? chunk / 2 : chunk;
		total = chunk + ((plan & 0x40) && ts % 5 == 0 ? 100 : 0);
		resp_parser__feed(&p, data + off, captured, total, ts);
		if ((plan & 0x80) && ts % 7 == 0)
			resp_parser__gap(&p);
		if (p.state == RESP_S_LOST && ts % 3 == 0)
			resp_parser__restart(&p);
		off += chunk;
	}
	return 0;
}
