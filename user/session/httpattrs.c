// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>
#include "session/httpattrs.h"
#include "proto/route.h"

#define ROUTE_MAX 256
#define QUERY_MAX 512 /* also holds the span name: ROUTE_MAX + a method */

/* "host:port", "[v6]:port" or "host" → host; *len 0 when there is none */
static const char *host_only(const char *h, size_t *len)
{
	const char *colon;

	if (!*len)
		return h; /* no Host header: h is NULL (fuzzed) */
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', *len);

		if (rb) {
			*len = rb - h - 1;
			return h + 1;
		}
	}
	colon = memchr(h, ':', *len);
	if (colon)
		*len = colon - h;
	return h;
}

void http_request_attrs(struct flow *f, struct span *s, const struct http_request_fields *r)
{
	const char *path, *query, *host;
	size_t path_len, query_len, route_len, n, host_len = r->host_len;
	char route[ROUTE_MAX], buf[QUERY_MAX];

	host = host_only(r->host, &host_len);
	http_target_split(r->target, r->target_len, &path, &path_len, &query, &query_len);
	route_len = http_route_template(path, path_len, route, sizeof(route));
	/* name: "METHOD route" */
	n = r->method_len < 32 ? r->method_len : 32;
	memcpy(buf, r->method, n);
	buf[n++] = ' ';
	memcpy(buf + n, route, route_len);
	span__set_name(s, buf, n + route_len);
	span__set_str(s, "http.request.method", r->method, r->method_len);
	span__set_str(s, "url.path", path_len ? path : "/", path_len ? path_len : 1);
	if (query_len) {
		n = url_query_redact(query, query_len, buf, sizeof(buf));
		span__set_str(s, "url.query", buf, n);
	}
	span__set_str(s, "url.scheme", "http", 4);
	span__set_str(s, "network.protocol.version", r->version, strlen(r->version));
	if (r->user_agent_len)
		span__set_str(s, "user_agent.original", r->user_agent, r->user_agent_len);
	if (s->kind == SPAN_KIND_SERVER)
		span__set_str(s, "http.route", route, route_len);
	spanbuild__peer(f, s, host, host_len);
}

void http_response_status(struct span *s, int status)
{
	span__set_int(s, "http.response.status_code", status);
	if (status >= 500 || (status >= 400 && s->kind == SPAN_KIND_CLIENT))
		s->status = SPAN_STATUS_ERROR;
}
