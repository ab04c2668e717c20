/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * RESP, the Redis serialization protocol (RESP2 and RESP3), over one direction of a captured TCP
 * stream: a client's commands (arrays of bulk strings, or inline commands) or a server's replies.
 * A pure function of the bytes it is fed. Values are skipped by their lengths, captured or not;
 * only a command's first two words and an error's first word are kept, never a value. When
 * framing is lost (a type line among bytes the capture did not keep, a gap, garbage) it says so
 * and waits to be restarted.
 */
#ifndef ZT_PROTO_RESP_H
#define ZT_PROTO_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESP_MAX_DEPTH 8 /* nested aggregates followed; deeper loses framing */
#define RESP_WORD_MAX  32
#define RESP_LINE_MAX  64 /* a type line's bytes kept (a longer simple string is cut) */

struct resp_word {
	char s[RESP_WORD_MAX];
	uint8_t len;
};

/* A command: its name and first argument as sent (a subcommand for some: "CLIENT SETINFO"),
 * cut to RESP_WORD_MAX, and how many arguments follow the name. */
struct resp_command {
	struct resp_word name;
	struct resp_word arg1;
	uint32_t nargs;
	uint64_t start_ts; /* the event that held its first byte */
};

struct resp_reply {
	char type;		/* '+', '-', ':', '$', '*', or a RESP3 type */
	bool push;		/* RESP3 '>': out of band, answers no command */
	struct resp_word error; /* '-' or '!': the error's first word ("ERR", "WRONGTYPE") */
};

struct resp_callbacks {
	/* a whole command was read, its last byte in the event with timestamp end_ts */
	void (*on_command)(void *ctx, const struct resp_command *c, uint64_t end_ts);
	/* a whole reply */
	void (*on_reply)(void *ctx, const struct resp_reply *r, uint64_t end_ts);
	/* framing lost: what was being read will not complete */
	void (*on_lost)(void *ctx);
};

enum resp_state {
	RESP_S_LINE, /* reading a type line, up to its \r\n */
	RESP_S_BULK, /* skipping a bulk value and its \r\n */
	RESP_S_LOST, /* waiting for resp_parser__restart */
};

struct resp_parser {
	bool commands; /* this direction carries commands (else replies) */
	enum resp_state state;
	uint8_t depth;
	uint32_t left[RESP_MAX_DEPTH];	/* elements still to come per open aggregate */
	bool attribute[RESP_MAX_DEPTH]; /* a RESP3 attribute: precedes a value, is not one */
	uint64_t bulk_left;		/* bytes of the bulk value and its \r\n still to come */
	uint32_t element;		/* index of the top-level element being read */
	char line[RESP_LINE_MAX];
	uint32_t line_len; /* bytes of the current line seen (kept up to RESP_LINE_MAX) */
	bool in_message;
	struct resp_command cmd;
	struct resp_reply reply;
	struct resp_word *bulk_word; /* where the current bulk value's first bytes go */
	uint64_t pos;		     /* bytes fed so far, captured or not */
	const struct resp_callbacks *cb;
	void *ctx;
};

void resp_parser__init(struct resp_parser *p, bool commands, const struct resp_callbacks *cb,
		       void *ctx);
/* One captured event: `captured` bytes of data, then total - captured bytes not captured. */
void resp_parser__feed(struct resp_parser *p, const uint8_t *data, size_t captured, size_t total,
		       uint64_t ts);
/* Bytes are missing before the next feed. */
void resp_parser__gap(struct resp_parser *p);
/* The next byte fed starts a message (the caller knows: a client writes its next command only
 * after every reply it waits for was read). */
void resp_parser__restart(struct resp_parser *p);

/* Does this look like the start of a command? */
bool resp_is_command_start(const uint8_t *data, size_t len);

#endif
