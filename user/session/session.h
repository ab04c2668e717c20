/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A protocol session: what one connection's bytes mean, chosen by the protocol the kernel
 * classified. The connection table owns the session and feeds it the bytes of each event in
 * TCP order; the session parses them (user/proto/) and starts and ends its spans through the
 * span builder. Adding a protocol = a parser in user/proto/, a session file, and its line in
 * session__for().
 */
#ifndef ZT_SESSION_H
#define ZT_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include "trace/spanbuild.h"

struct session_ops {
	const char *name;
	/* A session for flow f (which outlives it), or NULL without memory. */
	void *(*open)(struct flow *f, struct span_builder *b);
	/* One event of direction dir: `captured` bytes of `total` moved at TCP sequence number
	 * seq, what was fed before already cut off (skip 0); or, flagged ZT_DATA_F_SEGMENTS,
	 * segment records of that length, whose first skip bytes were fed before (a retried
	 * write: the records place themselves in the syscall's bytes, so only they can skip). */
	void (*feed)(void *s, uint8_t dir, const uint8_t *data, size_t captured, size_t total,
		     size_t skip, uint32_t seq, uint64_t ts);
	/* Bytes are missing in direction dir before the next feed. */
	void (*gap)(void *s, uint8_t dir);
	/* The connection closed at ts: complete what close completes, end the rest incomplete. */
	void (*close)(void *s, uint64_t ts);
	/* Release, ending nothing (the agent is shutting down or the connection was evicted after
	 * close). */
	void (*free)(void *s);
};

extern const struct session_ops http1_session_ops;
extern const struct session_ops http2_session_ops;
extern const struct session_ops redis_session_ops;

/* The session for a data event's protocol and flags. */
const struct session_ops *session__for(uint8_t proto, uint32_t flags);

#endif
