// SPDX-License-Identifier: BSD-2-Clause
#include "session/session.h"

const struct session_ops *session__for(uint8_t proto, uint32_t flags)
{
	(void)proto; /* HTTP/1, or not yet known: the HTTP/1 parser waits for a message start */
	if (flags & ZT_DATA_F_SEGMENTS)
		return &http2_session_ops;
	return &http1_session_ops;
}
