// SPDX-License-Identifier: BSD-2-Clause
/* Go executables read from the file alone: the Makefile builds tests/integration/apps/go_fanout
 * with this machine's Go, plain and stripped (ZT_TEST_GO_BINARY, ZT_TEST_GO_STRIPPED, and the
 * version `go env GOVERSION` gave in ZT_TEST_GO_VERSION). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "capture/goelf.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v)
		fail_msg("%s is not set: run the unit tests through make test-unit", name);
	return v;
}

static uint8_t byte_at(const char *path, uint64_t off)
{
	uint8_t b = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	close(fd);
	return b;
}

static void test_reads_version_functions_and_rets(void **state)
{
	const char *path = env("ZT_TEST_GO_BINARY");
	struct go_binary b;
	char why[160];

	assert_int_equal(go_binary__inspect(path, &b, why, sizeof(why)), 0);
	assert_string_equal(b.version, env("ZT_TEST_GO_VERSION"));
	assert_int_equal(b.major, 1);
	assert_true(b.minor >= 18);
	assert_true(b.newproc1 > 0 && b.http_roundtrip > 0 && b.http_write > 0);
	assert_true(b.nrets >= 1);
	for (int i = 0; i < b.nrets; i++) {
		/* each a real RET, inside the function */
		assert_int_equal(byte_at(path, b.newproc1_rets[i]), 0xc3);
		assert_true(b.newproc1_rets[i] > b.newproc1);
		assert_true(b.newproc1_rets[i] - b.newproc1 < 4096);
	}
	/* Go functions start with the stack check: mov 0x10(%r14),... / cmp ...,0x10(%r14) */
	assert_int_equal(byte_at(path, b.newproc1) & 0xf0, 0x40); /* a REX prefix */
}

/* -ldflags='-s -w' drops the symbols and DWARF, not what the agent reads */
static void test_stripped_reads_the_same(void **state)
{
	struct go_binary plain, stripped;

	assert_int_equal(go_binary__inspect(env("ZT_TEST_GO_BINARY"), &plain, NULL, 0), 0);
	assert_int_equal(go_binary__inspect(env("ZT_TEST_GO_STRIPPED"), &stripped, NULL, 0), 0);
	assert_string_equal(plain.version, stripped.version);
	assert_int_equal(plain.nrets, stripped.nrets);
	/* the same code at the same place: only sections after the text differ */
	assert_int_equal(plain.newproc1, stripped.newproc1);
	assert_int_equal(plain.newproc1_rets[0], stripped.newproc1_rets[0]);
	assert_int_equal(plain.http_roundtrip, stripped.http_roundtrip);
	assert_int_equal(plain.http_write, stripped.http_write);
}

static void test_not_go_and_broken_files(void **state)
{
	char tmp[] = "/tmp/zt-goelf-XXXXXX", why[160];
	struct go_binary b;
	int fd = mkstemp(tmp);
	FILE *in;
	char buf[65536];
	size_t n;

	/* a C program */
	assert_int_equal(go_binary__inspect("/bin/sh", &b, why, sizeof(why)), -ENOEXEC);
	assert_int_equal(go_binary__inspect("/nonexistent/zt", &b, why, sizeof(why)), -ENOENT);
	/* the first 64 KiB of a Go binary: an ELF whose sections lie past its end */
	in = fopen(env("ZT_TEST_GO_BINARY"), "rb");
	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);
	assert_true(go_binary__inspect(tmp, &b, why, sizeof(why)) < 0);
	unlink(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reads_version_functions_and_rets),
	    cmocka_unit_test(test_stripped_reads_the_same),
	    cmocka_unit_test(test_not_go_and_broken_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
