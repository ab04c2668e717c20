// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "proto/http1.h"

enum chunk_state {
	CH_SIZE, /* hex digits of a chunk size */
	CH_EXT,	 /* rest of the size line (extensions, CR) */
	CH_DATA, /* chunk payload */
	CH_DATA_END /* CRLF after the payload */,
	CH_TRAILER, /* trailer lines until an empty one */
};

static const char *const methods[] = {
    "GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "PATCH ", "OPTIONS ", "CONNECT ", "TRACE ",
};

bool http1_is_message_start(const uint8_t *data, size_t len)
{
	if (len >= 7 && !memcmp(data, "HTTP/1.", 7))
		return true;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);

		if (len >= n && !memcmp(data, methods[i], n))
			return true;
	}
	return false;
}

uint32_t http1_head_hash(const char *buf, size_t len)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
	size_t n = len < HTTP1_HASH_BYTES ? len : HTTP1_HASH_BYTES, i = 0;

	/* eight bytes a step; identity, not security: the sequence number does the rest */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, buf + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ h >> 29);
}

/* lit: lower-case letters and '-'; callers compare lengths first (the names are fixed).
 * Setting bit 5 lower-cases a letter and leaves '-' alone: no locale, no call. */
static bool str_ieq(struct http1_str s, const char *lit)
{
	for (size_t i = 0; i < s.len; i++)
		if ((s.p[i] | 0x20) != lit[i])
			return false;
	return true;
}

/* tok: lower-case letters, as for str_ieq. Every request and response of a keep-alive
 * connection says "Connection: keep-alive": no libc call per position. */
static bool str_has_token(struct http1_str s, const char *tok)
{
	size_t n = strlen(tok);

	for (size_t i = 0; i + n <= s.len; i++) {
		size_t k = 0;

		while (k < n && (s.p[i + k] | 0x20) == tok[k])
			k++;
		if (k == n)
			return true;
	}
	return false;
}

static struct http1_str trim(const char *p, size_t len)
{
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	return (struct http1_str){p, len};
}

static int parse_version(const char *p, size_t len, int *minor)
{
	if (len != 8 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1'))
		return -EINVAL;
	*minor = p[7] - '0';
	return 0;
}

static int parse_start_line(const char *line, size_t len, struct http1_head *h)
{
	const char *sp1 = memchr(line, ' ', len), *sp2;

	if (!sp1)
		return -EINVAL;
	if (len >= 5 && !memcmp(line, "HTTP/", 5)) {
		h->request = false;
		if (parse_version(line, sp1 - line, &h->minor_version))
			return -EINVAL;
		if (line + len - sp1 < 4)
			return -EINVAL;
		h->status = 0;
		for (int i = 1; i <= 3; i++) {
			if (sp1[i] < '0' || sp1[i] > '9')
				return -EINVAL;
			h->status = h->status * 10 + (sp1[i] - '0');
		}
		return 0;
	}
	h->request = true;
	h->method = (struct http1_str){line, sp1 - line};
	sp2 = memchr(sp1 + 1, ' ', line + len - sp1 - 1);
	if (!sp2 || sp2 == sp1 + 1)
		return -EINVAL;
	h->target = (struct http1_str){sp1 + 1, sp2 - sp1 - 1};
	return parse_version(sp2 + 1, line + len - sp2 - 1, &h->minor_version);
}

static int parse_content_length(struct http1_str v, int64_t *out)
{
	int64_t n = 0;

	if (!v.len)
		return -EINVAL;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9' || n > (INT64_MAX - 9) / 10)
			return -EINVAL;
		n = n * 10 + (v.p[i] - '0');
	}
	*out = n;
	return 0;
}

int http1_scan_head(const char *buf, size_t len, struct http1_head *h, size_t *head_len)
{
	const char *p = buf, *end = buf + len, *eol;
	bool first = true;

	memset(h, 0, sizeof(*h));
	h->content_length = -1;
	while (p < end) {
		struct http1_str name, value;
		const char *colon;
		size_t llen;

		eol = memchr(p, '\n', end - p);
		if (!eol)
			return -EAGAIN;
		llen = eol - p;
		if (llen && p[llen - 1] == '\r')
			llen--;
		if (first) {
			if (parse_start_line(p, llen, h))
				return -EINVAL;
			first = false;
		} else if (llen == 0) {
			*head_len = eol + 1 - buf; /* the blank line ends the head */
			return 0;
		} else {
			colon = memchr(p, ':', llen);
			if (!colon || colon == p)
				return -EINVAL;
			name = (struct http1_str){p, colon - p};
			value = trim(colon + 1, p + llen - colon - 1);
			/* only the headers spans use; dispatch on length so most cost nothing */
			switch (name.len) {
			case 4:
				if (str_ieq(name, "host"))
					h->host = value;
				break;
			case 10:
				if (str_ieq(name, "user-agent")) {
					h->user_agent = value;
				} else if (str_ieq(name, "tracestate")) {
					h->tracestate = value;
				} else if (str_ieq(name, "connection")) {
					h->conn_close = str_has_token(value, "close");
					h->upgrade = str_has_token(value, "upgrade");
				}
				break;
			case 11:
				if (str_ieq(name, "traceparent"))
					h->traceparent = value;
				break;
			case 14:
				if (str_ieq(name, "content-length") &&
				    parse_content_length(value, &h->content_length))
					return -EINVAL;
				break;
			case 17:
				if (str_ieq(name, "transfer-encoding"))
					h->chunked = str_has_token(value, "chunked");
				break;
			}
		}
		p = eol + 1;
	}
	return -EAGAIN;
}

int http1_parse_head(const char *buf, size_t len, struct http1_head *h)
{
	size_t head_len;
	int err = http1_scan_head(buf, len, h, &head_len);

	return err == -EAGAIN ? -EINVAL : err;
}

void http1_parser__init(struct http1_parser *p, const struct http1_callbacks *cb, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->state = HTTP1_S_HEAD;
	p->cb = cb;
	p->ctx = ctx;
}

void http1_parser__free(struct http1_parser *p)
{
	if (!p)
		return;
	free(p->head);
	p->head = NULL;
	p->head_len = p->head_cap = 0;
}

static void complete(struct http1_parser *p, uint64_t ts)
{
	p->state = HTTP1_S_HEAD;
	p->mid_message = false;
	p->head_len = 0;
	p->cb->on_complete(p->ctx, ts);
}

static void lose(struct http1_parser *p)
{
	bool was_mid = p->mid_message;

	p->state = HTTP1_S_LOST;
	p->mid_message = false;
	p->head_len = 0;
	if (was_mid && p->cb->on_lost)
		p->cb->on_lost(p->ctx);
}

static enum http1_body default_body(const struct http1_head *h)
{
	if (h->request) {
		if (h->chunked)
			return HTTP1_BODY_CHUNKED;
		return h->content_length > 0 ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
	}
	if (h->status == 101)
		return HTTP1_BODY_TUNNEL;
	if (h->status == 204 || h->status == 304)
		return HTTP1_BODY_NONE;
	if (h->chunked)
		return HTTP1_BODY_CHUNKED;
	if (h->content_length >= 0)
		return h->content_length > 0 ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
	return HTTP1_BODY_UNTIL_CLOSE;
}

/* Parse the head at the start of buf and set up body framing. Returns its length, 0 when buf
 * does not hold all of it yet, -1 when it is not an HTTP/1 head. One pass: the line walk that
 * parses the head is the one that finds its end. */
static ssize_t dispatch_head(struct http1_parser *p, const char *buf, size_t len, uint64_t ts)
{
	struct http1_head h;
	enum http1_body body;
	size_t head_len;
	int err = http1_scan_head(buf, len, &h, &head_len);

	if (err == -EAGAIN)
		return 0;
	if (err)
		return -1;
	h.stream_pos = p->head_pos;
	h.head_hash = http1_head_hash(buf, head_len);
	p->head_len = 0;
	/* interim responses (100 Continue, 103 Early Hints) precede the real one */
	if (!h.request && h.status >= 100 && h.status < 200 && h.status != 101) {
		p->mid_message = false;
		p->state = HTTP1_S_HEAD;
		return head_len;
	}
	body = default_body(&h);
	p->cb->on_head(p->ctx, &h, p->head_ts, &body);
	switch (body) {
	case HTTP1_BODY_NONE: complete(p, ts); break;
	case HTTP1_BODY_LENGTH:
		p->remaining = h.content_length > 0 ? h.content_length : 0;
		p->state = HTTP1_S_BODY_LENGTH;
		if (!p->remaining)
			complete(p, ts);
		break;
	case HTTP1_BODY_CHUNKED:
		p->state = HTTP1_S_BODY_CHUNKED;
		p->chunk_state = CH_SIZE;
		p->remaining = 0;
		p->line_len = 0;
		break;
	case HTTP1_BODY_UNTIL_CLOSE: p->state = HTTP1_S_BODY_UNTIL_CLOSE; break;
	case HTTP1_BODY_TUNNEL:
		complete(p, ts);
		p->state = HTTP1_S_TUNNEL;
		break;
	}
	return head_len;
}

/* Does buf hold the end of a line followed by an empty one ("\n\n" or "\n\r\n"), as
 * http1_scan_head ends a head? */
static bool has_blank_line(const char *buf, size_t len)
{
	const char *end = buf + len, *lf = buf;

	while ((lf = memchr(lf, '\n', end - lf))) {
		if (lf + 1 < end && lf[1] == '\n')
			return true;
		if (lf + 2 < end && lf[1] == '\r' && lf[2] == '\n')
			return true;
		lf++;
	}
	return false;
}

static int head_append(struct http1_parser *p, const uint8_t *d, size_t n)
{
	if (p->head_len + n > HTTP1_MAX_HEAD)
		return -E2BIG;
	if (p->head_len + n > p->head_cap) {
		size_t cap = p->head_cap ? p->head_cap * 2 : 1024;
		char *nb;

		while (cap < p->head_len + n)
			cap *= 2;
		nb = realloc(p->head, cap);
		if (!nb)
			return -ENOMEM;
		p->head = nb;
		p->head_cap = cap;
	}
	memcpy(p->head + p->head_len, d, n);
	p->head_len += n;
	return 0;
}

/*
 * A head cut short — longer than the capture, or than HTTP1_MAX_HEAD — whose first bytes are
 * carried in p->head: its complete lines (request or status line, the headers before the cut)
 * still make a head, and a request its span, a response the answer to its request. Parsed as if
 * it ended there; the caller then loses framing, since where it really ended and what body
 * followed went by unseen.
 */
static void dispatch_cut_head(struct http1_parser *p)
{
	const char *lf = memrchr(p->head, '\n', p->head_len);
	enum http1_body body = HTTP1_BODY_NONE;
	struct http1_head h;
	size_t len, head_len;

	if (!lf)
		return;
	p->head_len = lf + 1 - p->head;
	len = p->head_len;
	if (head_append(p, (const uint8_t *)"\r\n", 2) ||
	    http1_scan_head(p->head, len + 2, &h, &head_len))
		return;
	h.stream_pos = p->head_pos;
	h.head_hash = http1_head_hash(p->head, len);
	p->cb->on_head(p->ctx, &h, p->head_ts, &body);
}

/* Returns bytes consumed, or -1 when framing is lost. */
static ssize_t consume_head(struct http1_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
	ssize_t used;
	size_t old, from;

	if (!p->mid_message) {
		/* skip stray CRLFs between messages (allowed by RFC 9112 §2.2) */
		size_t skip = 0;

		while (skip < n && (d[skip] == '\r' || d[skip] == '\n'))
			skip++;
		if (skip)
			return skip;
		if (n >= 8 && !http1_is_message_start(d, n))
			return -1;
		p->mid_message = true;
		p->head_ts = ts;
		p->head_pos = p->cur_pos;
	}
	if (!p->head_len) {
		used = dispatch_head(p, (const char *)d, n, ts);
		if (used)
			return used;
		return head_append(p, d, n) ? -1 : (ssize_t)n;
	}
	/* carried-over head: parsed again whole once its blank line is in. Looking for that in
	 * the new bytes only (two back: it may straddle the pieces) keeps a head sent a byte per
	 * write linear instead of parsed again per byte. */
	old = p->head_len;
	from = old >= 2 ? old - 2 : 0;
	if (head_append(p, d, n > HTTP1_MAX_HEAD - old ? HTTP1_MAX_HEAD - old : n))
		return -1;
	if (!has_blank_line(p->head + from, p->head_len - from))
		return p->head_len == HTTP1_MAX_HEAD ? -1 : (ssize_t)n;
	used = dispatch_head(p, p->head, p->head_len, ts);
	if (used < 0)
		return -1;
	if (!used)
		return p->head_len == HTTP1_MAX_HEAD ? -1 : (ssize_t)n;
	return used - old;
}

/* Returns bytes consumed, or -1 when framing is lost. */
static ssize_t consume_chunked(struct http1_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = d[i];

		switch (p->chunk_state) {
		case CH_SIZE: {
			int v = c >= '0' && c <= '9'			 ? c - '0'
				: (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
									 : -1;

			if (v >= 0) {
				if (p->remaining >> 40)
					return -1;
				p->remaining = p->remaining * 16 + v;
				p->line_len++;
				i++;
				break;
			}
			if (!p->line_len)
				return -1;
			p->chunk_state = CH_EXT;
			break;
		}
		case CH_EXT:
			i++;
			if (c != '\n')
				break;
			p->line_len = 0;
			p->chunk_state = p->remaining ? CH_DATA : CH_TRAILER;
			break;
		case CH_DATA: {
			size_t k = p->remaining < n - i ? p->remaining : n - i;

			i += k;
			p->remaining -= k;
			if (!p->remaining)
				p->chunk_state = CH_DATA_END;
			break;
		}
		case CH_DATA_END:
			i++;
			if (c == '\n') {
				p->chunk_state = CH_SIZE;
				p->line_len = 0;
			} else if (c != '\r') {
				return -1;
			}
			break;
		case CH_TRAILER:
			i++;
			if (c == '\n') {
				if (!p->line_len) {
					complete(p, ts);
					return i;
				}
				p->line_len = 0;
			} else if (c != '\r') {
				p->line_len++;
			}
			break;
		}
	}
	return i;
}

/* total - captured bytes went by without being captured. */
static void skip_uncaptured(struct http1_parser *p, uint64_t n, uint64_t ts)
{
	switch (p->state) {
	case HTTP1_S_HEAD:
		/* a head we cannot read whole, or the start of one */
		p->mid_message = p->mid_message || p->head_len;
		if (p->head_len)
			dispatch_cut_head(p);
		lose(p);
		return;
	case HTTP1_S_BODY_LENGTH:
		if (n <= p->remaining) {
			p->remaining -= n;
			if (!p->remaining)
				complete(p, ts);
			return;
		}
		/* the next message started inside the uncaptured bytes */
		complete(p, ts);
		lose(p);
		return;
	case HTTP1_S_BODY_CHUNKED:
		if (p->chunk_state == CH_DATA && n <= p->remaining) {
			p->remaining -= n;
			if (!p->remaining)
				p->chunk_state = CH_DATA_END;
			return;
		}
		lose(p);
		return;
	case HTTP1_S_BODY_UNTIL_CLOSE:
	case HTTP1_S_TUNNEL:
	case HTTP1_S_LOST: return;
	}
}

void http1_parser__feed(struct http1_parser *p, const uint8_t *data, size_t captured, size_t total,
			uint64_t ts)
{
	uint64_t start = p->pos;
	size_t i = 0;

	p->pos += total;
	if (captured > total)
		captured = total;
	if (p->state == HTTP1_S_LOST) {
		if (!captured || !http1_is_message_start(data, captured))
			return;
		p->state = HTTP1_S_HEAD;
		p->mid_message = false;
		p->head_len = 0;
	}
	while (i < captured) {
		ssize_t used = 0;
		size_t k;

		p->cur_pos = start + i;
		switch (p->state) {
		case HTTP1_S_HEAD: used = consume_head(p, data + i, captured - i, ts); break;
		case HTTP1_S_BODY_LENGTH:
			k = p->remaining < captured - i ? p->remaining : captured - i;
			p->remaining -= k;
			used = k;
			if (!p->remaining)
				complete(p, ts);
			break;
		case HTTP1_S_BODY_CHUNKED:
			used = consume_chunked(p, data + i, captured - i, ts);
			break;
		case HTTP1_S_BODY_UNTIL_CLOSE:
		case HTTP1_S_TUNNEL:
		case HTTP1_S_LOST: return;
		}
		if (used < 0) {
			/* a head over HTTP1_MAX_HEAD: what fitted is worth reading */
			if (p->state == HTTP1_S_HEAD && p->head_len == HTTP1_MAX_HEAD)
				dispatch_cut_head(p);
			lose(p);
			return;
		}
		i += used;
	}
	if (total > captured)
		skip_uncaptured(p, total - captured, ts);
}

void http1_parser__gap(struct http1_parser *p)
{
	if (p->state == HTTP1_S_TUNNEL)
		return;
	p->mid_message = p->mid_message || p->state != HTTP1_S_HEAD;
	lose(p);
}

void http1_parser__close(struct http1_parser *p, uint64_t ts)
{
	if (p->state == HTTP1_S_BODY_UNTIL_CLOSE)
		complete(p, ts);
	else if (p->mid_message)
		lose(p);
}
