// SPDX-License-Identifier: BSD-2-Clause
/* W3C Trace Context traceparent, including the cases the spec says to ignore. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "trace/traceparent.h"

static int parse(const char *s, struct traceparent *tp)
{
	return traceparent_parse(s, strlen(s), tp);
}

static void test_valid(void **state)
{
	static const uint8_t trace[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
					  0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
	static const uint8_t parent[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
	struct traceparent tp;

	(void)state;
	assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp), 0);
	assert_memory_equal(tp.trace_id, trace, 16);
	assert_memory_equal(tp.parent_id, parent, 8);
	assert_int_equal(tp.flags, 1);
	assert_int_equal(tp.version, 0);
	/* surrounding whitespace of a header value */
	assert_int_equal(parse(" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 ", &tp),
			 0);
	assert_int_equal(tp.flags, 0);
	/* a future version may append fields */
	assert_int_equal(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what", &tp),
			 0);
	assert_int_equal(tp.version, 0xcc);
}

static void test_invalid(void **state)
{
	struct traceparent tp;

	(void)state;
	/* version ff is forbidden */
	assert_int_equal(parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp),
			 -EINVAL);
	/* all-zero trace id or parent id */
	assert_int_equal(parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01", &tp),
			 -EINVAL);
	assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", &tp),
			 -EINVAL);
	/* upper case, wrong separators, wrong lengths */
	assert_int_equal(parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", &tp),
			 -EINVAL);
	assert_int_equal(parse("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &tp),
			 -EINVAL);
	assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", &tp),
			 -EINVAL);
	assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", &tp),
			 -EINVAL);
	assert_int_equal(parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", &tp),
			 -EINVAL);
	assert_int_equal(parse("", &tp), -EINVAL);
}

static void test_format_roundtrip(void **state)
{
	const char *s = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	char out[TRACEPARENT_LEN + 1];
	struct traceparent tp;

	(void)state;
	assert_int_equal(parse(s, &tp), 0);
	traceparent_format(tp.trace_id, tp.parent_id, tp.flags, out);
	assert_string_equal(out, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_format_roundtrip),
	};

	return cmocka_run_group_tests_name("traceparent", tests, NULL, NULL);
}
