// SPDX-License-Identifier: BSD-2-Clause
/* The syslog priority prefix goes only to the journal: stderr redirected to a file, with and
 * without a JOURNAL_STREAM that names that file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "base/log.h"

/* Logs one info line with stderr on a fresh temporary file and returns what was written. */
static void log_line_to_file(const char *journal_stream, char *out, size_t size)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	struct stat st;
	char env[64];
	size_t n;

	assert_non_null(f);
	assert_int_equal(dup2(fileno(f), 2), 2);
	assert_int_equal(fstat(2, &st), 0);
	if (!journal_stream) {
		unsetenv("JOURNAL_STREAM");
	} else if (!strcmp(journal_stream, "self")) {
		snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	} else {
		setenv("JOURNAL_STREAM", journal_stream, 1);
	}
	log_reopen();
	pr_info("ready: %d programs", 3);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void test_terminal_has_no_priority_prefix(void **state)
{
	char line[256];

	log_line_to_file(NULL, line, sizeof(line));
	assert_string_equal(line, "zerotrace info: ready: 3 programs\n");
}

static void test_journal_stream_gets_priority_prefix(void **state)
{
	char line[256];

	log_line_to_file("self", line, sizeof(line));
	assert_string_equal(line, "<6>zerotrace info: ready: 3 programs\n");
}

/* a child of a systemd service inherits JOURNAL_STREAM while its stderr goes elsewhere */
static void test_inherited_journal_stream_elsewhere_is_ignored(void **state)
{
	char line[256];

	log_line_to_file("1:1", line, sizeof(line));
	assert_string_equal(line, "zerotrace info: ready: 3 programs\n");
	log_line_to_file("garbage", line, sizeof(line));
	assert_string_equal(line, "zerotrace info: ready: 3 programs\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_terminal_has_no_priority_prefix),
	    cmocka_unit_test(test_journal_stream_gets_priority_prefix),
	    cmocka_unit_test(test_inherited_journal_stream_elsewhere_is_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
