// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Redis session: a client's commands → CLIENT spans by the OpenTelemetry database
 * conventions, each from its command's first byte written to its reply's last byte read.
 * Redis answers in order, pipelined or not, so replies pair with commands first in, first out;
 * RESP3 push messages answer none. A queued command of a transaction (MULTI ... EXEC) is its
 * own span, answered QUEUED. Values are never kept: the query text is the command with every
 * argument replaced by "?".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "proto/resp.h"
#include "session/session.h"

/* Commands one connection may have waiting for a reply: far more than any pipeline a client
 * keeps in flight on one connection; a reply that went by unseen must not keep every later
 * command waiting, in memory, until the connection closes. */
#define REDIS_MAX_PENDING 1024
#define QUERY_ARGS_SHOWN  8 /* "?" per argument up to this many, then "..." */

struct redis_call {
	struct span *span; /* NULL: not selected */
	int db_before;	   /* SELECT: the database before it, -1 for any other command */
	struct redis_call *next;
};

struct redis_session {
	struct flow *flow;
	struct span_builder *b;
	struct resp_parser commands; /* what this client writes */
	struct resp_parser replies;  /* what it reads */
	struct redis_call *head, *tail;
	uint32_t npending;
	int db; /* the database the commands written go to: SELECT's, 0 until then */
};

static void finish(struct redis_session *r, uint64_t ts, bool incomplete)
{
	struct redis_call *c = r->head;

	r->head = c->next;
	if (!r->head)
		r->tail = NULL;
	r->npending--;
	if (c->span)
		spanbuild__end(r->b, c->span, ts, incomplete);
	free(c);
}

static void finish_all(struct redis_session *r, uint64_t ts)
{
	while (r->head)
		finish(r, ts, true);
}

static void name_attrs(struct redis_session *r, struct span *s, const struct resp_command *cmd)
{
	char op[RESP_WORD_MAX + 1], query[RESP_WORD_MAX + 2 * QUERY_ARGS_SHOWN + 8], ns[12];
	size_t n = cmd->name.len, q;

	for (size_t i = 0; i < n; i++)
		op[i] = (char)toupper((unsigned char)cmd->name.s[i]);
	op[n] = '\0';
	memcpy(query, op, n);
	q = n;
	for (uint32_t i = 0; i < cmd->nargs && i < QUERY_ARGS_SHOWN; i++) {
		memcpy(query + q, " ?", 2);
		q += 2;
	}
	if (cmd->nargs > QUERY_ARGS_SHOWN) {
		memcpy(query + q, " ...", 4);
		q += 4;
	}
	span__set_name(s, op, n);
	span__set_str(s, "db.system.name", "redis", 5);
	span__set_str(s, "db.operation.name", op, n);
	span__set_str(s, "db.query.text", query, q);
	n = (size_t)snprintf(ns, sizeof(ns), "%d", r->db);
	span__set_str(s, "db.namespace", ns, n);
	spanbuild__peer(r->flow, s, NULL, 0);
}

static int select_arg(const struct resp_command *cmd)
{
	char buf[RESP_WORD_MAX + 1];
	char *end;
	long v;

	if (cmd->name.len != 6 || strncasecmp(cmd->name.s, "SELECT", 6) || !cmd->arg1.len)
		return -1;
	memcpy(buf, cmd->arg1.s, cmd->arg1.len);
	buf[cmd->arg1.len] = '\0';
	v = strtol(buf, &end, 10);
	return *end || v < 0 || v > 1000000 ? -1 : (int)v;
}

static void on_command(void *ctx, const struct resp_command *cmd, uint64_t end_ts)
{
	struct redis_session *r = ctx;
	struct flow *f = r->flow;
	struct redis_call *c;
	struct span *s;
	int sel;

	(void)end_ts;
	/* a client writes its next command after reading every reply it waits for: where the
	 * reply stream's framing was lost, it starts again at the next read */
	if (r->replies.state == RESP_S_LOST && !r->head)
		resp_parser__restart(&r->replies);
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	if (r->npending >= REDIS_MAX_PENDING) {
		r->b->stats.db_calls_evicted++;
		finish(r, f->last_ts, true);
	}
	if (r->tail)
		r->tail->next = c;
	else
		r->head = c;
	r->tail = c;
	r->npending++;
	s = spanbuild__start(r->b, f, SPAN_KIND_CLIENT, cmd->start_ts);
	if (s) {
		name_attrs(r, s, cmd);
		if (spanbuild__identify(r->b, f, s, f->task, NULL, NULL, 0, NULL, 0))
			c->span = s;
	}
	/* the server switches where SELECT is in the command stream, before its reply is read:
	 * the commands written after it are in that database (unless it fails) */
	c->db_before = -1;
	if ((sel = select_arg(cmd)) >= 0) {
		c->db_before = r->db;
		r->db = sel;
	}
}

static void on_reply(void *ctx, const struct resp_reply *reply, uint64_t end_ts)
{
	struct redis_session *r = ctx;
	struct redis_call *c = r->head;
	bool error = reply->type == '-' || reply->type == '!';

	if (reply->push)
		return; /* pub/sub and client-side caching messages: no command's */
	if (!c) {
		r->b->stats.unmatched_responses++;
		return;
	}
	if (c->db_before >= 0 && error)
		r->db = c->db_before; /* SELECT failed: later commands stay where they were */
	if (c->span && error) {
		struct span *s = c->span;

		s->status = SPAN_STATUS_ERROR;
		if (reply->error.len) {
			span__set_str(s, "db.response.status_code", reply->error.s,
				      reply->error.len);
			span__set_str(s, "error.type", reply->error.s, reply->error.len);
		}
	}
	if (c->span)
		spanbuild__response(r->b, r->flow, c->span);
	finish(r, end_ts, false);
}

/* Replies lost: none of the commands waiting can be paired. */
static void on_replies_lost(void *ctx)
{
	struct redis_session *r = ctx;

	finish_all(r, r->flow->last_ts);
}

/* A command lost: the replies to come cannot be paired with the commands that were waiting
 * either, until the client writes again with nothing waiting. */
static void on_commands_lost(void *ctx)
{
	struct redis_session *r = ctx;

	finish_all(r, r->flow->last_ts);
	resp_parser__gap(&r->replies);
}

static const struct resp_callbacks command_callbacks = {
    .on_command = on_command,
    .on_lost = on_commands_lost,
};

static const struct resp_callbacks reply_callbacks = {
    .on_reply = on_reply,
    .on_lost = on_replies_lost,
};

static void *redis_open(struct flow *f, struct span_builder *b)
{
	struct redis_session *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->flow = f;
	r->b = b;
	resp_parser__init(&r->commands, true, &command_callbacks, r);
	resp_parser__init(&r->replies, false, &reply_callbacks, r);
	return r;
}

static struct resp_parser *parser_of(struct redis_session *r, uint8_t dir)
{
	return dir == ZT_DIR_WRITE ? &r->commands : &r->replies;
}

static void redis_feed(void *session, uint8_t dir, const uint8_t *data, size_t captured,
		       size_t total, size_t skip, uint32_t seq, uint64_t ts)
{
	struct redis_session *r = session;

	(void)seq;
	(void)skip; /* 0: the connection cut what was fed before (session.h) */
	resp_parser__feed(parser_of(r, dir), data, captured, total, ts);
}

static void redis_gap(void *session, uint8_t dir)
{
	resp_parser__gap(parser_of(session, dir));
}

static void redis_close(void *session, uint64_t ts)
{
	finish_all(session, ts);
}

static void redis_free(void *session)
{
	struct redis_session *r = session;

	while (r->head) {
		struct redis_call *c = r->head;

		r->head = c->next;
		span__free(c->span);
		free(c);
	}
	free(r);
}

const struct session_ops redis_session_ops = {
    .name = "redis",
    .open = redis_open,
    .feed = redis_feed,
    .gap = redis_gap,
    .close = redis_close,
    .free = redis_free,
};
