// SPDX-License-Identifier: BSD-2-Clause
#include "session/session.h"

const struct session_ops *session__for(uint8_t proto, uint32_t flags)
{
	if (flags & ZT_DATA_F_SEGMENTS)
		return &http2_session_ops;
	if (proto == ZT_PROTO_REDIS)
		return &redis_session_ops;
	/* HTTP/1, or not yet known: the HTTP/1 parser waits for a message start */
	return &http1_session_ops;
}
