// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "correlate.h"
#include "traceparent.h"

/* One thread's active server span. Keyed by (pid, tid); open addressing with tombstones. */
struct active {
	uint64_t key; /* pid << 32 | tid; 0 = empty, ~0 = deleted */
	const struct span *span;
};

#define SLOT_EMPTY   0
#define SLOT_DELETED UINT64_MAX

struct correlator {
	uint64_t rng[4];
	struct active *slots;
	uint32_t cap; /* power of two */
	uint32_t used;
	uint64_t evictions;
};

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: ids need to be unique and unpredictable enough, not cryptographic; seeded
 * from getrandom() so two agents never share a sequence. */
static uint64_t next_random(struct correlator *c)
{
	uint64_t *s = c->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

struct correlator *correlator__new(uint32_t capacity)
{
	struct correlator *c = calloc(1, sizeof(*c));
	uint32_t cap = 64;

	if (!c)
		return NULL;
	while (cap < capacity * 2)
		cap <<= 1;
	c->cap = cap;
	c->slots = calloc(cap, sizeof(*c->slots));
	if (!c->slots || getrandom(c->rng, sizeof(c->rng), 0) != sizeof(c->rng)) {
		correlator__free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void correlator__free(struct correlator *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c);
}

void correlator__new_trace_id(struct correlator *c, uint8_t id[16])
{
	uint64_t a = next_random(c), b = next_random(c);

	if (!a && !b)
		b = 1;
	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

void correlator__new_span_id(struct correlator *c, uint8_t id[8])
{
	uint64_t a;

	do
		a = next_random(c);
	while (!a);
	memcpy(id, &a, 8);
}

static uint32_t hash(uint64_t key, uint32_t cap)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static struct active *find(struct correlator *c, uint64_t key, bool for_insert)
{
	uint32_t i = hash(key, c->cap);
	struct active *tomb = NULL;

	for (uint32_t n = 0; n < c->cap; n++, i = (i + 1) & (c->cap - 1)) {
		struct active *a = &c->slots[i];

		if (a->key == key)
			return a;
		if (a->key == SLOT_DELETED && !tomb)
			tomb = a;
		if (a->key == SLOT_EMPTY)
			return for_insert ? (tomb ? tomb : a) : NULL;
	}
	return for_insert ? tomb : NULL;
}

static void set_active(struct correlator *c, uint64_t key, const struct span *s)
{
	struct active *a = find(c, key, false);

	if (!a) {
		/* a table this full means threads that never finish a response: start over
		 * rather than link children to stale requests */
		if (c->used * 4 >= c->cap * 3) {
			memset(c->slots, 0, c->cap * sizeof(*c->slots));
			c->evictions += c->used;
			c->used = 0;
		}
		a = find(c, key, true);
		if (a->key != SLOT_DELETED)
			c->used++;
		a->key = key;
	}
	a->span = s;
}

void correlator__server_start(struct correlator *c, struct span *s, uint32_t pid, uint32_t tid,
			      const char *traceparent, size_t tp_len, const char *tracestate,
			      size_t ts_len)
{
	struct traceparent tp;

	if (traceparent && tp_len && !traceparent_parse(traceparent, tp_len, &tp)) {
		memcpy(s->ctx.trace_id, tp.trace_id, 16);
		memcpy(s->parent_id, tp.parent_id, 8);
		s->has_parent = true;
		s->trace_flags = tp.flags;
		if (tracestate && ts_len)
			s->trace_state = strndup(tracestate, ts_len);
	} else {
		correlator__new_trace_id(c, s->ctx.trace_id);
		s->trace_flags = 1;
	}
	correlator__new_span_id(c, s->ctx.span_id);
	s->active_key = (uint64_t)pid << 32 | tid;
	set_active(c, s->active_key, s);
}

void correlator__client_start(struct correlator *c, struct span *s, uint32_t pid, uint32_t tid)
{
	struct active *a = find(c, (uint64_t)pid << 32 | tid, false);

	if (a && a->span) {
		memcpy(s->ctx.trace_id, a->span->ctx.trace_id, 16);
		memcpy(s->parent_id, a->span->ctx.span_id, 8);
		s->has_parent = true;
		s->trace_flags = a->span->trace_flags;
		if (a->span->trace_state)
			s->trace_state = strdup(a->span->trace_state);
	} else {
		correlator__new_trace_id(c, s->ctx.trace_id);
		s->trace_flags = 1;
	}
	correlator__new_span_id(c, s->ctx.span_id);
}

void correlator__server_end(struct correlator *c, const struct span *s)
{
	struct active *a = s->active_key ? find(c, s->active_key, false) : NULL;

	/* the thread may have moved on to a newer request: only clear our own entry */
	if (a && a->span == s) {
		a->key = SLOT_DELETED;
		a->span = NULL;
	}
}

uint64_t correlator__evictions(const struct correlator *c)
{
	return c->evictions;
}
