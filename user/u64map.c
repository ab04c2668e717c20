// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "u64map.h"

#define EMPTY 0
#define TOMB  UINT64_MAX

struct slot {
	uint64_t key;
	void *val;
};

struct u64map {
	struct slot *slots;
	uint32_t cap;  /* power of two */
	uint32_t live; /* keys present */
	uint32_t used; /* keys present + tombstones */
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

static struct slot *find(const struct u64map *m, uint64_t key)
{
	uint32_t i = hash(key, m->cap);

	for (uint32_t n = 0; n < m->cap; n++, i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key)
			return &m->slots[i];
		if (m->slots[i].key == EMPTY)
			return NULL;
	}
	return NULL;
}

/* rebuild at a size that keeps the load under half, dropping tombstones */
static int rehash(struct u64map *m)
{
	uint32_t cap = m->cap;
	struct slot *old = m->slots;

	while (m->live * 4 >= cap)
		cap <<= 1;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < m->cap; i++) {
		if (old[i].key != EMPTY && old[i].key != TOMB) {
			uint32_t j = hash(old[i].key, cap);

			while (m->slots[j].key != EMPTY)
				j = (j + 1) & (cap - 1);
			m->slots[j] = old[i];
		}
	}
	free(old);
	m->cap = cap;
	m->used = m->live;
	return 0;
}

int u64map__put(struct u64map *m, uint64_t key, void *val)
{
	struct slot *s = find(m, key);
	uint32_t i;

	if (s) {
		s->val = val;
		return 0;
	}
	if ((m->used + 1) * 2 > m->cap && rehash(m))
		return -ENOMEM;
	i = hash(key, m->cap);
	while (m->slots[i].key != EMPTY && m->slots[i].key != TOMB)
		i = (i + 1) & (m->cap - 1);
	if (m->slots[i].key == EMPTY)
		m->used++;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->live++;
	return 0;
}

void *u64map__get(const struct u64map *m, uint64_t key)
{
	struct slot *s = find(m, key);

	return s ? s->val : NULL;
}

void *u64map__del(struct u64map *m, uint64_t key)
{
	struct slot *s = find(m, key);
	void *v;

	if (!s)
		return NULL;
	v = s->val;
	s->key = TOMB;
	s->val = NULL;
	m->live--;
	return v;
}

uint32_t u64map__size(const struct u64map *m)
{
	return m->live;
}

void u64map__clear(struct u64map *m)
{
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->live = m->used = 0;
}
