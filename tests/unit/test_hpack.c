// SPDX-License-Identifier: BSD-2-Clause
/* HPACK as the HTTP/2 parser decodes it (h2_hpack_decode), against RFC 7541 Appendix C: the
 * same requests literal and Huffman-coded across one dynamic table, and responses through a
 * 256-byte table that evicts on the way. */
#include <nghttp2/nghttp2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "h2_segments.h"
#include "proto/http2.h"

static char strbuf[8192];

static void decode_expect(nghttp2_hd_inflater *inf, const char *hex, const char *const *want)
{
	struct h2_headers h = {.grpc_status = -1};
	uint8_t block[512];
	size_t n = unhex(hex, block);
	int i = 0;

	assert_int_equal(h2_hpack_decode(inf, block, n, &h, strbuf, sizeof(strbuf)), 0);
	for (; want[2 * i]; i++) {
		assert_true(i < h.nfields);
		assert_int_equal(h.fields[i].name.len, strlen(want[2 * i]));
		assert_memory_equal(h.fields[i].name.p, want[2 * i], h.fields[i].name.len);
		assert_int_equal(h.fields[i].value.len, strlen(want[2 * i + 1]));
		assert_memory_equal(h.fields[i].value.p, want[2 * i + 1], h.fields[i].value.len);
	}
	assert_int_equal(h.nfields, i);
}

static const char *const c3_1[] = {":method", "GET",	    ":scheme",	       "http", ":path",
				   "/",	      ":authority", "www.example.com", NULL};
static const char *const c3_2[] = {":method",	    "GET",	":scheme",    "http",
				   ":path",	    "/",	":authority", "www.example.com",
				   "cache-control", "no-cache", NULL};
static const char *const c3_3[] = {":method",	 "GET",		 ":scheme",    "https",
				   ":path",	 "/index.html",	 ":authority", "www.example.com",
				   "custom-key", "custom-value", NULL};

/* C.3 and C.4: the same three requests, literal and Huffman-coded, one table across them */
static void test_rfc7541_requests(void **state)
{
	static const char *const plain[] = {
	    "828684410f7777772e6578616d706c652e636f6d",
	    "828684be58086e6f2d6361636865",
	    "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
	};
	static const char *const huff[] = {
	    "828684418cf1e3c2e5f23a6ba0ab90f4ff",
	    "828684be5886a8eb10649cbf",
	    "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
	};
	const char *const *want[] = {c3_1, c3_2, c3_3};

	for (int v = 0; v < 2; v++) {
		nghttp2_hd_inflater *inf;

		assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
		for (int i = 0; i < 3; i++)
			decode_expect(inf, v ? huff[i] : plain[i], want[i]);
		nghttp2_hd_inflate_del(inf);
	}
}

/* C.6: responses with a 256-byte table, so entries are evicted on the way */
static void test_rfc7541_responses_eviction(void **state)
{
	static const char *const r1[] = {":status",
					 "302",
					 "cache-control",
					 "private",
					 "date",
					 "Mon, 21 Oct 2013 20:13:21 GMT",
					 "location",
					 "https://www.example.com",
					 NULL};
	static const char *const r2[] = {":status",
					 "307",
					 "cache-control",
					 "private",
					 "date",
					 "Mon, 21 Oct 2013 20:13:21 GMT",
					 "location",
					 "https://www.example.com",
					 NULL};
	static const char *const r3[] = {":status",
					 "200",
					 "cache-control",
					 "private",
					 "date",
					 "Mon, 21 Oct 2013 20:13:22 GMT",
					 "location",
					 "https://www.example.com",
					 "content-encoding",
					 "gzip",
					 "set-cookie",
					 "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
					 NULL};
	nghttp2_hd_inflater *inf;

	assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
	/* the examples assume both ends start at 256; a connection gets there by SETTINGS and
	 * a size update (3fe101: 256) at the head of the next block, which nghttp2 insists on */
	assert_int_equal(nghttp2_hd_inflate_change_table_size(inf, 256), 0);
	decode_expect(inf,
		      "3fe101"
		      "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e9"
		      "19d29ad171863c78f0b97c8e9ae82ae43d3",
		      r1);
	decode_expect(inf, "4883640effc1c0bf", r2);
	decode_expect(inf,
		      "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e78"
		      "21dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee"
		      "5b1063d5007",
		      r3);
	nghttp2_hd_inflate_del(inf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc7541_requests),
	    cmocka_unit_test(test_rfc7541_responses_eviction),
	};

	return cmocka_run_group_tests_name("hpack", tests, NULL, NULL);
}
