// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ingest/conn.h"
#include "base/log.h"

/* Chained hash for lookup plus an LRU list for eviction: the table is bounded, and the
 * connection least recently active is the one to give up. */
struct conn_table {
	struct span_builder *b;
	uint64_t *seq_gaps, *evicted;
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

struct conn_table *conn_table__new(struct span_builder *b, uint32_t capacity, uint64_t *seq_gaps,
				   uint64_t *evicted)
{
	struct conn_table *ct = calloc(1, sizeof(*ct));
	uint32_t n = 64;

	if (!ct)
		return NULL;
	while (n < capacity)
		n <<= 1;
	ct->b = b;
	ct->seq_gaps = seq_gaps;
	ct->evicted = evicted;
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
	struct conn **pp = &ct->buckets[id_hash(&c->flow.id, ct->nbuckets)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	lru_unlink(c);
	ct->count--;
}

static void conn_free(struct conn *c)
{
	if (c->ops)
		c->ops->free(c->session);
	free(c);
}

void conn_table__close(struct conn_table *ct, struct conn *c, uint64_t ts)
{
	if (c->ops)
		c->ops->close(c->session, ts);
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

	while (c && !id_eq(&c->flow.id, id))
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

		(*ct->evicted)++;
		conn_table__close(ct, old, old->flow.last_ts);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->flow.id = *id;
	c->flow.role = role;
	b = id_hash(id, ct->nbuckets);
	c->hnext = ct->buckets[b];
	ct->buckets[b] = c;
	lru_push_front(ct, c);
	ct->count++;
	return c;
}

void conn_table__close_pid(struct conn_table *ct, uint32_t pid, uint64_t ts,
			   void (*forget)(void *ctx, uint32_t pid, int32_t fd), void *ctx)
{
	struct conn *c = ct->lru.lru_next, *next;

	for (; c != &ct->lru; c = next) {
		next = c->lru_next;
		if (c->flow.id.pid != pid)
			continue;
		if (forget)
			forget(ctx, pid, c->flow.id.fd);
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

/* The session the event's protocol needs. A connection whose protocol changes (an HTTP/1
 * upgrade to h2c) ends what its old session had in flight. */
static bool has_session(struct conn_table *ct, struct conn *c, const struct zt_data_event *ev)
{
	const struct session_ops *ops = session__for(ev->proto, ev->flags);

	if (c->ops == ops)
		return true;
	if (c->ops) {
		c->ops->close(c->session, ev->hdr.ts);
		c->ops->free(c->session);
		c->ops = NULL;
	}
	c->session = ops->open(&c->flow, ct->b);
	if (!c->session)
		return false;
	c->ops = ops;
	return true;
}

void conn__feed(struct conn_table *ct, struct conn *c, const struct zt_data_event *ev,
		const uint8_t *payload, uint64_t task)
{
	uint8_t d = ev->dir & 1;
	struct conn_dir *cd = &c->dir[d];
	uint32_t seq = (uint32_t)ev->seq;
	size_t total = ev->bytes, captured = ev->captured, skip = 0;

	c->flow.task = task;
	c->flow.g = ev->hdr.g;
	c->flow.last_ts = ev->hdr.ts;
	if (!has_session(ct, c, ev))
		return;
	if (captured > total && !(ev->flags & ZT_DATA_F_SEGMENTS))
		captured = total;
	if (cd->seq_valid) {
		int32_t delta = (int32_t)(seq - cd->next_seq);

		if (delta > 0) {
			pr_debug("pid %u fd %d: %u bytes missing before seq %u (%s)",
				 c->flow.id.pid, c->flow.id.fd, (uint32_t)delta, seq,
				 d == ZT_DIR_READ ? "read" : "write");
			(*ct->seq_gaps)++;
			c->ops->gap(c->session, d);
		} else if (delta < 0) {
			/* a retried partial write, or a peek: what was already parsed is skipped */
			skip = (size_t) - (int64_t)delta;
			if (skip >= total)
				return;
		}
	}
	cd->seq_valid = true;
	cd->next_seq = seq + total;
	if (skip && !(ev->flags & ZT_DATA_F_SEGMENTS)) {
		/* a prefix of the bytes: what was fed before is cut off here. Segment records
		 * place themselves in the syscall's bytes, so their session skips instead. */
		payload += skip < captured ? skip : captured;
		captured = skip < captured ? captured - skip : 0;
		total -= skip;
		seq += skip;
		skip = 0;
	}
	c->ops->feed(c->session, d, payload, captured, total, skip, seq, ev->hdr.ts);
}
