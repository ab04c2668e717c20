/* SPDX-License-Identifier: BSD-2-Clause */
/* Open-addressed hash map from non-zero 64-bit keys to pointers, for the agent's hot paths:
 * no allocation per entry, one cache line per probe. */
#ifndef ZT_U64MAP_H
#define ZT_U64MAP_H

#include <stdint.h>

struct u64map;

struct u64map *u64map__new(uint32_t initial);
void u64map__free(struct u64map *m);
/* Insert or replace. -ENOMEM when the table could not grow. */
int u64map__put(struct u64map *m, uint64_t key, void *val);
void *u64map__get(const struct u64map *m, uint64_t key);
void *u64map__del(struct u64map *m, uint64_t key);
uint32_t u64map__size(const struct u64map *m);
void u64map__clear(struct u64map *m);
/* fn for every key, in no order; fn must not change the map */
void u64map__for_each(const struct u64map *m, void (*fn)(void *ctx, uint64_t key, void *val),
		      void *ctx);

/* A key made of two words (a pointer and its pid, an inode and its device, ...): mixed so that
 * similar pairs spread, and never one of the map's reserved keys (0, UINT64_MAX). */
static inline uint64_t u64map__key2(uint64_t a, uint64_t b)
{
	uint64_t k = a ^ b * 0x9E3779B97F4A7C15ull;

	return k && k != UINT64_MAX ? k : 1;
}

#endif
