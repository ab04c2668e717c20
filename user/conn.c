// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "conn.h"
#include "log.h"
#include "span.h"
#include "tracer.h"

/* Chained hash for lookup plus an LRU list for eviction: the table is bounded, and the
 * connection least recently active is the one to give up. */
struct conn_table {
	struct tracer *tracer;
	struct conn **buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t count;
	uint32_t capacity;
	struct conn lru; /* sentinel: lru.lru_next is the most recent */
};

static uint32_t id_hash(const struct zt_conn_id *id, uint32_t n)
{
	uint64_t h = ((uint64_t)id->pid << 32 | (uint32_t)id->fd) ^ id->gen * 0x9E3779B97F4A7C15ull;

	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (uint32_t)h & (n - 1);
}

static bool id_eq(const struct zt_conn_id *a, const struct zt_conn_id *b)
{
	return a->pid == b->pid && a->fd == b->fd && a->gen == b->gen;
}

struct conn_table *conn_table__new(struct tracer *t, uint32_t capacity)
{
	struct conn_table *ct = calloc(1, sizeof(*ct));
	uint32_t n = 64;

	if (!ct)
		return NULL;
	while (n < capacity)
		n <<= 1;
	ct->tracer = t;
	ct->nbuckets = n;
	ct->capacity = capacity;
	ct->buckets = calloc(n, sizeof(*ct->buckets));
	if (!ct->buckets) {
		free(ct);
		errno = ENOMEM;
		return NULL;
	}
	ct->lru.lru_next = ct->lru.lru_prev = &ct->lru;
	return ct;
}

static void lru_unlink(struct conn *c)
{
	c->lru_prev->lru_next = c->lru_next;
	c->lru_next->lru_prev = c->lru_prev;
}

static void lru_push_front(struct conn_table *ct, struct conn *c)
{
	c->lru_next = ct->lru.lru_next;
	c->lru_prev = &ct->lru;
	ct->lru.lru_next->lru_prev = c;
	ct->lru.lru_next = c;
}

static void unhash(struct conn_table *ct, struct conn *c)
{
	struct conn **pp = &ct->buckets[id_hash(&c->id, ct->nbuckets)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	lru_unlink(c);
	ct->count--;
}

static void conn_free(struct conn *c)
{
	struct pending *p, *next;

	for (p = c->pend_head; p; p = next) {
		next = p->next;
		span__free(p->span);
		pending__free(c, p);
	}
	http1_parser__free(&c->dir[0].parser);
	http1_parser__free(&c->dir[1].parser);
	h2_conn__free(c->h2);
	free(c);
}

void conn_table__close(struct conn_table *ct, struct conn *c, uint64_t ts)
{
	http1_parser__close(&c->dir[ZT_DIR_READ].parser, ts);
	http1_parser__close(&c->dir[ZT_DIR_WRITE].parser, ts);
	httpspan__finish_pending(c, ts);
	if (c->h2)
		h2_conn__close(c->h2, ts);
	unhash(ct, c);
	conn_free(c);
}

void conn_table__free(struct conn_table *ct)
{
	if (!ct)
		return;
	while (ct->lru.lru_next != &ct->lru) {
		struct conn *c = ct->lru.lru_next;

		unhash(ct, c);
		conn_free(c);
	}
	free(ct->buckets);
	free(ct);
}

struct conn *conn_table__find(struct conn_table *ct, const struct zt_conn_id *id)
{
	struct conn *c = ct->buckets[id_hash(id, ct->nbuckets)];

	while (c && !id_eq(&c->id, id))
		c = c->hnext;
	return c;
}

struct conn *conn_table__get(struct conn_table *ct, const struct zt_conn_id *id, uint8_t role)
{
	struct conn *c = conn_table__find(ct, id);
	uint32_t b;

	if (c) {
		if (ct->lru.lru_next != c) {
			lru_unlink(c);
			lru_push_front(ct, c);
		}
		return c;
	}
	if (ct->count >= ct->capacity) {
		struct conn *old = ct->lru.lru_prev;

		ct->tracer->stats.conns_evicted++;
		conn_table__close(ct, old, old->last_ts);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = *id;
	c->role = role;
	c->tracer = ct->tracer;
	for (int d = 0; d < 2; d++) {
		c->dir[d].conn = c;
		c->dir[d].dir = d;
		http1_parser__init(&c->dir[d].parser, &http_span_callbacks, &c->dir[d]);
	}
	b = id_hash(id, ct->nbuckets);
	c->hnext = ct->buckets[b];
	ct->buckets[b] = c;
	lru_push_front(ct, c);
	ct->count++;
	return c;
}

void conn__set_addrs(struct conn *c, const struct zt_tuple *tuple)
{
	if (!memcmp(&c->tuple, tuple, sizeof(*tuple)))
		return;
	c->tuple = *tuple;
	c->local_len = c->peer_len = 0; /* formatted again from these */
}

void conn_table__close_pid(struct conn_table *ct, uint32_t pid, uint64_t ts,
			   void (*forget)(void *ctx, uint32_t pid, int32_t fd), void *ctx)
{
	struct conn *c = ct->lru.lru_next, *next;

	for (; c != &ct->lru; c = next) {
		next = c->lru_next;
		if (c->id.pid != pid)
			continue;
		if (forget)
			forget(ctx, pid, c->id.fd);
		conn_table__close(ct, c, ts);
	}
}

void conn_table__close_all(struct conn_table *ct, uint64_t ts)
{
	while (ct->lru.lru_next != &ct->lru)
		conn_table__close(ct, ct->lru.lru_next, ts);
}

uint32_t conn_table__size(const struct conn_table *ct)
{
	return ct->count;
}

/* Bytes are missing in direction d. What was in flight there cannot be trusted. */
static void handle_gap(struct conn *c, uint8_t d)
{
	struct conn_dir *cd = &c->dir[d];

	c->tracer->stats.seq_gaps++;
	if (cd->head_is_request || !c->pend_head) {
		/* whole requests may have been lost: keep later responses from pairing wrongly */
		if (!cd->in_body)
			httpspan__lost_request(c, d);
	} else {
		/* responses may have been lost: none of the waiting requests can be paired */
		httpspan__finish_pending(c, c->last_ts);
	}
	cd->in_body = false;
	http1_parser__gap(&cd->parser);
}

void conn__feed(struct conn *c, const struct zt_data_event *ev, const uint8_t *payload,
		uint64_t task)
{
	uint8_t d = ev->dir & 1;
	struct conn_dir *cd = &c->dir[d];
	uint32_t seq = (uint32_t)ev->seq;
	size_t total = ev->bytes, captured = ev->captured;
	bool h2 = ev->flags & ZT_DATA_F_SEGMENTS;

	c->cur_task = task;
	c->cur_g = ev->hdr.g;
	c->last_ts = ev->hdr.ts;
	if (h2 && !c->h2 && !(c->h2 = h2_conn__new(c)))
		return;
	if (captured > total && !h2)
		captured = total;
	if (cd->seq_valid) {
		int32_t delta = (int32_t)(seq - cd->next_seq);

		if (delta > 0) {
			pr_debug("pid %u fd %d: %u bytes missing before seq %u (%s)", c->id.pid,
				 c->id.fd, (uint32_t)delta, seq,
				 d == ZT_DIR_READ ? "read" : "write");
			if (h2) {
				c->tracer->stats.seq_gaps++;
				h2_conn__gap(c->h2, d);
			} else {
				handle_gap(c, d);
			}
		} else if (delta < 0 && h2) {
			size_t skip = (size_t) - (int64_t)delta;

			if (skip >= total)
				return;
			cd->next_seq = seq + total;
			h2_conn__feed(c->h2, d, payload, captured, total, skip, seq, ev->hdr.ts);
			return;
		} else if (delta < 0) {
			/* a retried partial write, or a peek: skip what was already parsed */
			size_t skip = (size_t) - (int64_t)delta;

			if (skip >= total)
				return;
			payload += skip < captured ? skip : captured;
			captured = skip < captured ? captured - skip : 0;
			total -= skip;
			seq += skip;
		}
	}
	cd->seq_valid = true;
	cd->next_seq = seq + total;
	if (h2) {
		h2_conn__feed(c->h2, d, payload, captured, total, 0, seq, ev->hdr.ts);
		return;
	}
	cd->seq_base = seq - (uint32_t)cd->parser.pos;
	http1_parser__feed(&cd->parser, payload, captured, total, ev->hdr.ts);
}
