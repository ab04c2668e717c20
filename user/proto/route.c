// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include "proto/route.h"

void http_target_split(const char *target, size_t len, const char **path, size_t *path_len,
		       const char **query, size_t *query_len)
{
	const char *end = target + len;
	const char *p = target, *q;

	/* absolute-form: skip "scheme://authority" */
	if (len > 7 && (memchr(target, ':', len) != NULL) && target[0] != '/') {
		const char *s = memmem(target, len, "://", 3);

		if (s) {
			p = memchr(s + 3, '/', end - (s + 3));
			if (!p)
				p = end;
		}
	}
	q = memchr(p, '?', end - p);
	*path = p;
	*path_len = (q ? q : end) - p;
	*query = q ? q + 1 : end;
	*query_len = q ? (size_t)(end - q - 1) : 0;
	/* a fragment never belongs on the wire, but do not export one if a client sent it */
	if (q) {
		const char *h = memchr(*query, '#', *query_len);

		if (h)
			*query_len = h - *query;
	}
}

static bool all_of(const char *s, size_t n, int (*pred)(int))
{
	for (size_t i = 0; i < n; i++)
		if (!pred((unsigned char)s[i]))
			return false;
	return n > 0;
}

static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

static bool is_identifier(const char *seg, size_t n)
{
	return all_of(seg, n, isdigit) || is_uuid(seg, n) || (n >= 16 && all_of(seg, n, isxdigit));
}

size_t http_route_template(const char *path, size_t len, char *out, size_t outsz)
{
	size_t o = 0, i = 0;

	if (!outsz)
		return 0;
	if (!len) {
		if (outsz > 1)
			out[o++] = '/';
		out[o] = '\0';
		return o;
	}
	while (i < len) {
		const char *seg, *slash;
		size_t n;

		if (path[i] == '/') {
			if (o + 1 < outsz)
				out[o++] = '/';
			i++;
			continue;
		}
		seg = path + i;
		slash = memchr(seg, '/', len - i);
		n = slash ? (size_t)(slash - seg) : len - i;
		i += n;
		if (is_identifier(seg, n)) {
			seg = "{id}";
			n = 4;
		}
		if (o + n >= outsz)
			n = outsz - 1 - o;
		memcpy(out + o, seg, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

static const char *const secret_words[] = {
    "token", "secret", "passw", "pwd", "key", "auth", "sig", "session", "credential", "code",
};

static bool key_is_secret(const char *k, size_t n)
{
	char lower[64];

	if (n >= sizeof(lower))
		n = sizeof(lower) - 1;
	for (size_t i = 0; i < n; i++)
		lower[i] = tolower((unsigned char)k[i]);
	lower[n] = '\0';
	for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
		if (strstr(lower, secret_words[i]))
			return true;
	return false;
}

static size_t append(char *out, size_t o, size_t outsz, const char *s, size_t n)
{
	if (o + n >= outsz)
		n = outsz - 1 - o;
	memcpy(out + o, s, n);
	return o + n;
}

size_t url_query_redact(const char *query, size_t len, char *out, size_t outsz)
{
	size_t o = 0, i = 0;

	if (!outsz)
		return 0;
	while (i < len) {
		const char *pair = query + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;

		if (eq && key_is_secret(pair, klen)) {
			o = append(out, o, outsz, pair, klen + 1);
			o = append(out, o, outsz, "REDACTED", 8);
		} else {
			o = append(out, o, outsz, pair, plen);
		}
		i += plen;
		if (amp) {
			o = append(out, o, outsz, "&", 1);
			i++;
		}
	}
	out[o] = '\0';
	return o;
}
