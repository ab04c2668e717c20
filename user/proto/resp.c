// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>
#include "proto/resp.h"

void resp_parser__init(struct resp_parser *p, bool commands, const struct resp_callbacks *cb,
		       void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->commands = commands;
	p->cb = cb;
	p->ctx = ctx;
}

void resp_parser__restart(struct resp_parser *p)
{
	p->state = RESP_S_LINE;
	p->depth = 0;
	p->line_len = 0;
	p->in_message = false;
	p->element = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->reply, 0, sizeof(p->reply));
}

static void lost(struct resp_parser *p)
{
	bool was = p->in_message || p->depth;

	p->state = RESP_S_LOST;
	p->in_message = false;
	p->depth = 0;
	if (was && p->cb->on_lost)
		p->cb->on_lost(p->ctx);
}

void resp_parser__gap(struct resp_parser *p)
{
	if (p->state != RESP_S_LOST)
		lost(p);
}

bool resp_is_command_start(const uint8_t *d, size_t len)
{
	size_t i = 1;

	if (len < 4 || d[0] != '*')
		return false;
	while (i < len && i < 4 && d[i] >= '0' && d[i] <= '9')
		i++;
	return i > 1 && i + 2 < len && d[i] == '\r' && d[i + 1] == '\n' && d[i + 2] == '$';
}

static void message_done(struct resp_parser *p, uint64_t ts)
{
	if (p->commands && p->cmd.name.len && p->cb->on_command)
		p->cb->on_command(p->ctx, &p->cmd, ts);
	else if (!p->commands && p->cb->on_reply)
		p->cb->on_reply(p->ctx, &p->reply, ts);
	p->in_message = false;
	p->element = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->reply, 0, sizeof(p->reply));
}

/* A value ended: it completes its aggregates, and the message when it is the outermost. */
static void element_done(struct resp_parser *p, uint64_t ts)
{
	for (;;) {
		bool attribute;

		if (!p->depth) {
			message_done(p, ts);
			return;
		}
		if (p->depth == 1)
			p->element++;
		if (--p->left[p->depth - 1])
			return;
		attribute = p->attribute[p->depth - 1];
		p->depth--;
		if (attribute)
			return; /* the value it annotates follows */
	}
}

static bool push(struct resp_parser *p, int64_t n, bool attribute)
{
	if (p->depth == RESP_MAX_DEPTH || n > UINT32_MAX) {
		lost(p);
		return false;
	}
	p->left[p->depth] = (uint32_t)n;
	p->attribute[p->depth] = attribute;
	p->depth++;
	return true;
}

static bool parse_int(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;
	bool neg = len && s[0] == '-';
	size_t i = neg;

	if (i == len || len - i > 18)
		return false;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

static void set_word(struct resp_word *w, const char *s, size_t len)
{
	const char *sp = memchr(s, ' ', len);

	if (sp)
		len = sp - s;
	w->len = len < RESP_WORD_MAX ? len : RESP_WORD_MAX;
	memcpy(w->s, s, w->len);
}

/* "GET key": a command sent as a line of words */
static void inline_command(struct resp_parser *p, const char *s, size_t len, uint64_t ts)
{
	size_t i = 0, words = 0;

	while (i < len) {
		size_t j;

		while (i < len && s[i] == ' ')
			i++;
		for (j = i; j < len && s[j] != ' '; j++)
			;
		if (j > i) {
			if (words == 0)
				set_word(&p->cmd.name, s + i, j - i);
			else if (words == 1)
				set_word(&p->cmd.arg1, s + i, j - i);
			words++;
		}
		i = j;
	}
	p->cmd.nargs = words ? words - 1 : 0;
	message_done(p, ts);
}

/* Where the first bytes of the bulk value about to be read go, if anywhere. */
static struct resp_word *bulk_target(struct resp_parser *p, char type)
{
	if (p->commands)
		return p->depth == 1 && p->element == 0	  ? &p->cmd.name
		       : p->depth == 1 && p->element == 1 ? &p->cmd.arg1
							  : NULL;
	return !p->depth && type == '!' ? &p->reply.error : NULL;
}

static void line_done(struct resp_parser *p, uint64_t ts)
{
	size_t len = p->line_len < RESP_LINE_MAX ? p->line_len : RESP_LINE_MAX;
	const char *s = p->line;
	char type = s[0];
	int64_t n = 0;

	p->line_len = 0;
	if (!len) {
		lost(p);
		return;
	}
	if (p->commands && !p->depth && type != '*') {
		inline_command(p, s, len, ts);
		return;
	}
	if (!p->commands && !p->depth && !p->reply.type && type != '|') {
		p->reply.type = type;
		p->reply.push = type == '>';
	}
	switch (type) {
	case '-':
		if (!p->commands && !p->depth)
			set_word(&p->reply.error, s + 1, len - 1);
		/* fall through */
	case '+':
	case ':':
	case ',':
	case '#':
	case '(':
	case '_': element_done(p, ts); return;
	}
	if (!parse_int(s + 1, len - 1, &n)) {
		lost(p);
		return;
	}
	switch (type) {
	case '$':
	case '!':
	case '=':
		if (n < 0) {
			element_done(p, ts);
			return;
		}
		p->bulk_word = bulk_target(p, type);
		if (p->bulk_word)
			p->bulk_word->len = 0;
		p->bulk_left = (uint64_t)n + 2;
		p->state = RESP_S_BULK;
		return;
	case '*':
		if (p->commands && !p->depth)
			p->cmd.nargs = n > 0 ? (uint32_t)(n - 1) : 0;
		/* fall through */
	case '~':
	case '>':
		if (n <= 0)
			element_done(p, ts);
		else
			push(p, n, false);
		return;
	case '%':
	case '|':
		if (n <= 0) {
			if (type == '%')
				element_done(p, ts);
			return; /* an empty attribute annotates the value that follows */
		}
		push(p, 2 * n, type == '|');
		return;
	}
	lost(p);
}

static size_t consume_line(struct resp_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
	const uint8_t *nl = memchr(d, '\n', n);
	size_t take = nl ? (size_t)(nl - d) + 1 : n;

	for (size_t i = 0; i < take; i++, p->line_len++)
		if (p->line_len < RESP_LINE_MAX)
			p->line[p->line_len] = d[i];
	if (nl) {
		/* drop the \r\n (a bare \n is taken as the end too) */
		p->line_len--;
		if (p->line_len && p->line_len <= RESP_LINE_MAX && p->line[p->line_len - 1] == '\r')
			p->line_len--;
		line_done(p, ts);
	}
	return take;
}

static size_t consume_bulk(struct resp_parser *p, const uint8_t *d, size_t n, uint64_t ts)
{
	size_t take = p->bulk_left < n ? p->bulk_left : n;
	struct resp_word *w = p->bulk_word;

	if (w) {
		/* the value's first bytes, not its \r\n */
		size_t value_left = p->bulk_left > 2 ? p->bulk_left - 2 : 0;
		size_t k = take < value_left ? take : value_left;

		if (k > (size_t)(RESP_WORD_MAX - w->len))
			k = RESP_WORD_MAX - w->len;
		memcpy(w->s + w->len, d, k);
		w->len += k;
	}
	p->bulk_left -= take;
	if (!p->bulk_left) {
		p->state = RESP_S_LINE;
		if (w && w == &p->reply.error)
			set_word(w, w->s, w->len);
		p->bulk_word = NULL;
		element_done(p, ts);
	}
	return take;
}

void resp_parser__feed(struct resp_parser *p, const uint8_t *data, size_t captured, size_t total,
		       uint64_t ts)
{
	size_t i = 0, uncaptured;

	p->pos += total;
	if (captured > total)
		captured = total;
	uncaptured = total - captured;
	if (p->state == RESP_S_LOST) {
		/* a client's next write starts a command again */
		if (!p->commands || !resp_is_command_start(data, captured))
			return;
		resp_parser__restart(p);
	}
	while (i < captured && p->state != RESP_S_LOST) {
		if (!p->in_message) {
			p->in_message = true;
			p->cmd.start_ts = ts;
		}
		if (p->state == RESP_S_LINE)
			i += consume_line(p, data + i, captured - i, ts);
		else
			i += consume_bulk(p, data + i, captured - i, ts);
	}
	if (!uncaptured || p->state == RESP_S_LOST)
		return;
	/* only a value's bytes may go uncaptured: they are skipped by its length */
	if (p->state == RESP_S_BULK && uncaptured <= p->bulk_left) {
		p->bulk_word = NULL;
		p->bulk_left -= uncaptured;
		if (!p->bulk_left) {
			p->state = RESP_S_LINE;
			element_done(p, ts);
		}
		return;
	}
	p->in_message = true;
	lost(p);
}
