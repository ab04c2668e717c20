// SPDX-License-Identifier: BSD-2-Clause
/* The agent's hash map against a plain array doing the same operations: keys that collide,
 * tables that grow, and deletions in the middle of probe runs (backward shift). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "base/u64map.h"

#define KEYS 3000

static void *val_of(uint64_t key)
{
	return (void *)(uintptr_t)(key * 2 + 1);
}

/* a few thousand random puts, gets and deletes over a small key space, so that runs form,
 * grow, and get holes punched in them */
static void test_matches_reference(void **state)
{
	static uint8_t present[KEYS];
	struct u64map *m = u64map__new(8);
	uint32_t live = 0, seed = 12345;

	(void)state;
	assert_non_null(m);
	for (int op = 0; op < 200000; op++) {
		uint64_t key;
		uint32_t r;

		seed = seed * 1103515245 + 12345;
		r = seed >> 8;
		/* keys 1..KEYS, and the same keys shifted into the high bits */
		key = 1 + r % KEYS;
		switch ((r >> 16) % 3) {
		case 0:
			assert_int_equal(u64map__put(m, key, val_of(key)), 0);
			live += !present[key - 1];
			present[key - 1] = 1;
			break;
		case 1:
			assert_ptr_equal(u64map__del(m, key),
					 present[key - 1] ? val_of(key) : NULL);
			live -= present[key - 1];
			present[key - 1] = 0;
			break;
		default:
			assert_ptr_equal(u64map__get(m, key),
					 present[key - 1] ? val_of(key) : NULL);
		}
		assert_int_equal(u64map__size(m), live);
	}
	for (uint64_t key = 1; key <= KEYS; key++)
		assert_ptr_equal(u64map__get(m, key), present[key - 1] ? val_of(key) : NULL);
	u64map__clear(m);
	assert_int_equal(u64map__size(m), 0);
	assert_null(u64map__get(m, 1));
	u64map__free(m);
}

/* a key's value is replaced, not duplicated; a deleted key is gone even when others that
 * probed past it remain */
static void test_replace_and_delete_in_run(void **state)
{
	struct u64map *m = u64map__new(4);
	int a, b;

	(void)state;
	for (uint64_t k = 1; k <= 64; k++)
		assert_int_equal(u64map__put(m, k << 40, val_of(k)), 0);
	assert_int_equal(u64map__put(m, 5ull << 40, &a), 0);
	assert_int_equal(u64map__put(m, 5ull << 40, &b), 0);
	assert_int_equal(u64map__size(m), 64);
	assert_ptr_equal(u64map__get(m, 5ull << 40), &b);
	for (uint64_t k = 1; k <= 64; k += 2)
		assert_non_null(u64map__del(m, k << 40));
	for (uint64_t k = 1; k <= 64; k++)
		assert_ptr_equal(u64map__get(m, k << 40),
				 k % 2 ? NULL : (k == 5 ? (void *)&b : val_of(k)));
	assert_int_equal(u64map__size(m), 32);
	u64map__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_matches_reference),
	    cmocka_unit_test(test_replace_and_delete_in_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
