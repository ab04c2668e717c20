// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/u64map.h"

#define EMPTY 0

struct slot {
	uint64_t key;
	void *val;
};

/* Linear probing with backward-shift deletion: no tombstones, so a table whose keys come and
 * go (a span per request) keeps its probe runs as short as its live keys make them. */
struct u64map {
	struct slot *slots;
	uint32_t cap;  /* power of two */
	uint32_t live; /* keys present */
};

static uint32_t hash(uint64_t k, uint32_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k & (cap - 1);
}

struct u64map *u64map__new(uint32_t initial)
{
	struct u64map *m = calloc(1, sizeof(*m));
	uint32_t cap = 16;

	if (!m)
		return NULL;
	while (cap < initial * 2)
		cap <<= 1;
	m->cap = cap;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void u64map__free(struct u64map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

/* the slot holding key, or the empty slot where it would go */
static struct slot *find(const struct u64map *m, uint64_t key)
{
	uint32_t i = hash(key, m->cap);

	while (m->slots[i].key != key && m->slots[i].key != EMPTY)
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

/* twice the size, keeping the load under half */
static int grow(struct u64map *m)
{
	uint32_t cap = m->cap * 2;
	struct slot *old = m->slots;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = cap;
	for (uint32_t i = 0; i < cap / 2; i++)
		if (old[i].key != EMPTY)
			*find(m, old[i].key) = old[i];
	free(old);
	return 0;
}

int u64map__put(struct u64map *m, uint64_t key, void *val)
{
	struct slot *s = find(m, key);

	if (s->key == EMPTY) {
		if ((m->live + 1) * 2 > m->cap) {
			if (grow(m))
				return -ENOMEM;
			s = find(m, key);
		}
		s->key = key;
		m->live++;
	}
	s->val = val;
	return 0;
}

void *u64map__get(const struct u64map *m, uint64_t key)
{
	struct slot *s = find(m, key);

	return s->key == key ? s->val : NULL;
}

void *u64map__del(struct u64map *m, uint64_t key)
{
	uint32_t mask = m->cap - 1, hole, j;
	struct slot *s = find(m, key);
	void *v;

	if (s->key != key)
		return NULL;
	v = s->val;
	m->live--;
	/* pull back every later key of the run that may sit in the hole: one whose home slot is
	 * not cyclically within (hole, j] */
	hole = s - m->slots;
	for (j = (hole + 1) & mask; m->slots[j].key != EMPTY; j = (j + 1) & mask) {
		uint32_t home = hash(m->slots[j].key, m->cap);

		if (((j - home) & mask) >= ((j - hole) & mask)) {
			m->slots[hole] = m->slots[j];
			hole = j;
		}
	}
	m->slots[hole].key = EMPTY;
	m->slots[hole].val = NULL;
	return v;
}

uint32_t u64map__size(const struct u64map *m)
{
	return m->live;
}

void u64map__clear(struct u64map *m)
{
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->live = 0;
}

void u64map__for_each(const struct u64map *m, void (*fn)(void *ctx, uint64_t key, void *val),
		      void *ctx)
{
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != EMPTY)
			fn(ctx, m->slots[i].key, m->slots[i].val);
}
