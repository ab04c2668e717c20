/* SPDX-License-Identifier: BSD-2-Clause */
/* Low-cardinality routes and safe query strings from raw request targets. */
#ifndef ZT_ROUTE_H
#define ZT_ROUTE_H

#include <stddef.h>

/* Split a request target into path and query (either may be empty; query excludes '?'). An
 * absolute-form target (proxies: "http://host/p") yields its path. */
void http_target_split(const char *target, size_t len, const char **path, size_t *path_len,
		       const char **query, size_t *query_len);

/* Path with identifier-like segments replaced by "{id}": all digits, a UUID, or 16+ hex
 * digits. Writes a NUL-terminated route, truncated to fit; returns its length. */
size_t http_route_template(const char *path, size_t len, char *out, size_t outsz);

/* Query string with the values of secret-looking keys (token, password, key, sig, …)
 * replaced by "REDACTED". Returns the output length (NUL-terminated, truncated to fit). */
size_t url_query_redact(const char *query, size_t len, char *out, size_t outsz);

#endif
