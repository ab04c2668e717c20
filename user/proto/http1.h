/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * HTTP/1.x message framing over one direction of a captured TCP stream. A pure function of the
 * bytes it is fed: no I/O, no BPF. It survives what capture does to a stream — heads split over
 * several reads, bodies that were never captured, gaps — and when it loses framing it says so
 * and waits for the next message start instead of guessing.
 */
#ifndef ZT_PROTO_HTTP1_H
#define ZT_PROTO_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD 16384 /* a head larger than this is not parsed */

struct http1_str {
	const char *p;
	size_t len;
};

/* A parsed message head. Strings point into parser memory, valid during the callback only. */
struct http1_head {
	bool request;
	int minor_version; /* 0 or 1 */
	struct http1_str method;
	struct http1_str target;
	int status;
	struct http1_str host;
	struct http1_str user_agent;
	struct http1_str traceparent;
	struct http1_str tracestate;
	int64_t content_length; /* -1 when absent */
	bool chunked;
	bool conn_close;
	bool upgrade;
	uint64_t stream_pos; /* offset of the head's first byte in this direction's stream */
	uint32_t head_hash;  /* hash of the head's first HTTP1_HASH_BYTES bytes */
};

/* Both ends of a connection see the same head bytes: with the TCP sequence number they
 * identify one request on the node whichever end looks at it. */
#define HTTP1_HASH_BYTES 64

enum http1_body {
	HTTP1_BODY_NONE,
	HTTP1_BODY_LENGTH,
	HTTP1_BODY_CHUNKED,
	HTTP1_BODY_UNTIL_CLOSE, /* response without length: ends when the connection closes */
	HTTP1_BODY_TUNNEL, /* 101 Switching Protocols / CONNECT: the stream is no longer HTTP/1 */
};

struct http1_callbacks {
	/* A head is complete. *body holds the framing the headers imply; the callback may change
	 * it (a response to HEAD has no body, whatever its Content-Length says). start_ts is the
	 * timestamp of the event that held the head's first byte. */
	void (*on_head)(void *ctx, const struct http1_head *h, uint64_t start_ts,
			enum http1_body *body);
	/* The message's last byte was in the event with timestamp end_ts. */
	void (*on_complete)(void *ctx, uint64_t end_ts);
	/* Framing was lost in the middle of a message (gap, uncaptured framing bytes, garbage):
	 * that message will not complete. */
	void (*on_lost)(void *ctx);
};

enum http1_state {
	HTTP1_S_HEAD, /* waiting for or inside a head */
	HTTP1_S_BODY_LENGTH,
	HTTP1_S_BODY_CHUNKED,
	HTTP1_S_BODY_UNTIL_CLOSE,
	HTTP1_S_TUNNEL,
	HTTP1_S_LOST, /* waiting for an event that starts with a message */
};

struct http1_parser {
	enum http1_state state;
	uint8_t chunk_state;
	bool mid_message;   /* bytes of the current message were consumed */
	uint64_t remaining; /* body bytes left (length, or current chunk) */
	uint64_t head_ts;   /* ts of the event holding the head's first byte */
	uint64_t pos;	    /* stream bytes fed so far, captured or not */
	uint64_t cur_pos;   /* stream offset of the byte being parsed */
	uint64_t head_pos;  /* stream offset of the current head's first byte */
	char *head;	    /* head bytes carried over between events */
	size_t head_len;
	size_t head_cap;
	size_t line_len; /* chunked trailer: bytes on the current line */
	const struct http1_callbacks *cb;
	void *ctx;
};

void http1_parser__init(struct http1_parser *p, const struct http1_callbacks *cb, void *ctx);
void http1_parser__free(struct http1_parser *p);
/* One captured event: `captured` bytes of data, then total - captured bytes not captured. */
void http1_parser__feed(struct http1_parser *p, const uint8_t *data, size_t captured, size_t total,
			uint64_t ts);
/* Bytes are missing before the next feed (sequence gap, dropped event). */
void http1_parser__gap(struct http1_parser *p);
/* The connection closed at ts: a body delimited by close is complete. */
void http1_parser__close(struct http1_parser *p, uint64_t ts);

/* Does this look like the first bytes of an HTTP/1 request or response? */
bool http1_is_message_start(const uint8_t *data, size_t len);
/* Parse a complete head (up to and including the blank line). 0 or -EINVAL. */
int http1_parse_head(const char *buf, size_t len, struct http1_head *h);
/* Parse the head at the start of buf, which may hold more (a body) or less: 0 and its length
 * in *head_len, -EAGAIN when the blank line is not in buf yet, -EINVAL when it is no head. */
int http1_scan_head(const char *buf, size_t len, struct http1_head *h, size_t *head_len);
uint32_t http1_head_hash(const char *buf, size_t len);

#endif
