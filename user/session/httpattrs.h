/* SPDX-License-Identifier: BSD-2-Clause */
/* What HTTP/1 and HTTP/2 spans share: the request's name and attributes, and the response
 * status rule, by the OpenTelemetry HTTP conventions. */
#ifndef ZT_HTTPATTRS_H
#define ZT_HTTPATTRS_H

#include <stddef.h>
#include "trace/spanbuild.h"

/* A request's fields, whichever version carried them (strings not NUL-terminated). */
struct http_request_fields {
	const char *method;
	size_t method_len;
	const char *target; /* path and query */
	size_t target_len;
	const char *host; /* Host, or :authority */
	size_t host_len;
	const char *user_agent;
	size_t user_agent_len;
	const char *version; /* "1.0", "1.1", "2" */
};

void http_request_attrs(struct flow *f, struct span *s, const struct http_request_fields *r);
/* http.response.status_code, and ERROR for a 5xx, or a 4xx seen by the client */
void http_response_status(struct span *s, int status);

#endif
