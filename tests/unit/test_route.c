// SPDX-License-Identifier: BSD-2-Clause
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "proto/route.h"

static void expect_route(const char *target, const char *want)
{
	const char *path, *query;
	size_t plen, qlen;
	char out[256];

	http_target_split(target, strlen(target), &path, &plen, &query, &qlen);
	http_route_template(path, plen, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_route_template(void **state)
{
	(void)state;
	expect_route("/orders/1017/items?x=3", "/orders/{id}/items");
	expect_route("/users/550e8400-e29b-41d4-a716-446655440000", "/users/{id}");
	expect_route("/blobs/0123456789abcdef0123", "/blobs/{id}");
	expect_route("/blobs/deadbeef", "/blobs/deadbeef"); /* short hex is a word */
	expect_route("/v1/traces", "/v1/traces");
	expect_route("/a/2/b/3/", "/a/{id}/b/{id}/");
	expect_route("/", "/");
	expect_route("", "/");
	expect_route("http://example.com:8080/p/42?q=1", "/p/{id}");
	expect_route("/x?", "/x");
}

static void test_route_truncates(void **state)
{
	char out[8];

	(void)state;
	http_route_template("/abcdefghij", 11, out, sizeof(out));
	assert_string_equal(out, "/abcdef");
}

static void expect_query(const char *q, const char *want)
{
	char out[256];

	url_query_redact(q, strlen(q), out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_query_redaction(void **state)
{
	(void)state;
	expect_query("x=3", "x=3");
	expect_query("x=3&token=abc&y=4", "x=3&token=REDACTED&y=4");
	expect_query("api_key=k&Password=p&sig=s&AWSAccessKeyId=a",
		     "api_key=REDACTED&Password=REDACTED&sig=REDACTED&AWSAccessKeyId=REDACTED");
	expect_query("flag&name=bob", "flag&name=bob");
	expect_query("", "");
}

static void test_target_split(void **state)
{
	const char *path, *query;
	size_t plen, qlen;

	(void)state;
	http_target_split("/a/b?c=d#frag", 13, &path, &plen, &query, &qlen);
	assert_int_equal(plen, 4);
	assert_memory_equal(path, "/a/b", 4);
	assert_int_equal(qlen, 3);
	assert_memory_equal(query, "c=d", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_template),
	    cmocka_unit_test(test_route_truncates),
	    cmocka_unit_test(test_query_redaction),
	    cmocka_unit_test(test_target_split),
	};

	return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
