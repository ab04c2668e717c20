/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP/2 over one direction of a captured connection: frames rebuilt from the kernel's
 * segments (events.h), header blocks gathered over CONTINUATION and decoded with nghttp2's
 * HPACK inflater. Pure: bytes in, callbacks out, no I/O.
 *
 * HPACK is stateful for the whole connection. A direction seen from its first frame decodes
 * every block; one joined mid-stream, or one that lost bytes, cannot know its dynamic table:
 * it decodes each block with a fresh table and stops at the first field that refers to an
 * entry it never saw, so what it reports is right, only incomplete (fields_complete false).
 */
#ifndef ZT_PROTO_HTTP2_H
#define ZT_PROTO_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H2_MAX_BLOCK  65536 /* a header block larger than this is not decoded */
#define H2_MAX_FIELDS 64

enum h2_frame_type {
	H2_DATA = 0,
	H2_HEADERS = 1,
	H2_PRIORITY = 2,
	H2_RST_STREAM = 3,
	H2_SETTINGS = 4,
	H2_PUSH_PROMISE = 5,
	H2_PING = 6,
	H2_GOAWAY = 7,
	H2_WINDOW_UPDATE = 8,
	H2_CONTINUATION = 9,
};

#define H2_F_END_STREAM	 0x1
#define H2_F_ACK	 0x1
#define H2_F_END_HEADERS 0x4
#define H2_F_PADDED	 0x8
#define H2_F_PRIORITY	 0x20

#define H2_SETTINGS_HEADER_TABLE_SIZE 1

struct h2_str {
	const char *p;
	size_t len;
};

struct h2_field {
	struct h2_str name, value;
};

/* One decoded header block (request, response or trailers). Strings valid during the
 * callback only. */
struct h2_headers {
	uint32_t stream;
	bool end_stream;
	bool
	    fields_complete; /* every field decoded; false: those present are right, some missing */
	uint64_t ts;	     /* event that held the HEADERS frame */
	uint64_t pos;	     /* stream offset of the HEADERS frame header */
	uint32_t hash;	     /* of the HEADERS frame's first bytes: same at both ends */
	int nfields;
	struct h2_field fields[H2_MAX_FIELDS];
	/* the ones spans need, picked out of fields */
	struct h2_str method, path, authority, scheme, content_type, user_agent;
	struct h2_str traceparent, tracestate, grpc_message;
	int status;	 /* :status, 0 when absent */
	int grpc_status; /* -1 when absent */
};

struct h2_callbacks {
	void (*on_headers)(void *ctx, const struct h2_headers *h);
	/* prefix: the first shipped bytes of the payload (after the pad length) */
	void (*on_data)(void *ctx, uint32_t stream, uint32_t len, bool end_stream,
			const uint8_t *prefix, size_t prefix_len, uint64_t ts);
	void (*on_rst_stream)(void *ctx, uint32_t stream, uint32_t error_code, uint64_t ts);
	void (*on_goaway)(void *ctx, uint32_t last_stream, uint32_t error_code, uint64_t ts);
	/* the sender's SETTINGS_HEADER_TABLE_SIZE: bounds the other direction's table */
	void (*on_table_size)(void *ctx, uint32_t size);
	/* bytes of this direction were lost: frames in them, and HPACK state, are gone */
	void (*on_lost)(void *ctx);
};

struct h2_parser {
	const struct h2_callbacks *cb;
	void *ctx;
	void *inflater;	  /* nghttp2_hd_inflater; NULL until the first block */
	bool hpack_known; /* every header block of this direction went through inflater */
	bool started;	  /* a frame was seen */
	bool synced;	  /* next_frame is where the next frame header is */
	uint64_t pos;	  /* stream bytes fed so far */
	uint64_t next_frame;
	uint32_t table_size; /* SETTINGS_HEADER_TABLE_SIZE the receiver of this direction set */
	/* frame being assembled */
	bool assembling;
	uint64_t frame_pos, frame_ts;
	uint32_t have, need;
	uint8_t *frame;
	uint32_t frame_cap;
	/* header block being gathered over CONTINUATION */
	uint32_t block_stream; /* 0: none */
	uint8_t block_flags;
	bool block_ok;
	uint64_t block_ts, block_pos;
	uint32_t block_hash;
	uint8_t *block;
	uint32_t block_len, block_cap;
};

/* from_start: the direction is seen from the connection's first byte, so HPACK state can be
 * followed (it is dropped if the first frame is not the SETTINGS every connection starts with). */
void h2_parser__init(struct h2_parser *p, const struct h2_callbacks *cb, void *ctx,
		     bool from_start);
void h2_parser__free(struct h2_parser *p);
/* One event: `captured` bytes of struct zt_segment records for `total` stream bytes, the first
 * `skip` of which were fed before (a write retried after a partial one). */
void h2_parser__feed(struct h2_parser *p, const uint8_t *segments, size_t captured, size_t total,
		     size_t skip, uint64_t ts);
/* Bytes are missing before the next feed. */
void h2_parser__gap(struct h2_parser *p);
/* The peer's SETTINGS_HEADER_TABLE_SIZE for the blocks this direction carries. */
void h2_parser__set_table_size(struct h2_parser *p, uint32_t size);

/* Decode one complete header block with inflater (nghttp2_hd_inflater *), appending to h's
 * fields; their strings live in strbuf. 0, or -EPROTO if decoding stopped early (the fields
 * so far are right), -ENOSPC if strbuf is full. */
int h2_hpack_decode(void *inflater, const uint8_t *block, size_t len, struct h2_headers *h,
		    char *strbuf, size_t strbuf_len);

#endif
