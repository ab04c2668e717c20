// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "base/clock.h"
#include "trace/correlate.h"
#include "trace/traceparent.h"
#include "base/u64map.h"

struct correlator {
	uint64_t rng[4];
	struct u64map *live;	/* span id → open server span */
	struct u64map *context; /* task (correlate.h) → span id of its context */
	struct u64map *index;	/* (seq, head hash) → chain of client spans awaiting a server */
	struct u64map *opens;	/* connection → span id of the context that connected it */
	struct u64map *parents; /* goroutine task → the task that created it */
	struct u64map *streams; /* (reader task, HTTP/2 stream) → span id of its server span */
	uint32_t max_contexts;
	/* Client spans that ended before their server side read the request (a client that
	 * gives up and closes): their entries kept, indexed, for HOLD_NS, so the join still
	 * happens. */
	struct waiting *held_head, *held_tail;
	uint32_t nheld;
	struct correlator_stats stats;
};

/* A client span waiting for its server side on this node to claim it: its join key, and what
 * the server span inherits from it. Indexed by (seq, head hash) until claimed; kept HOLD_NS after
 * its span ended, held. The span points to it (span->waiting) while both live. */
struct waiting {
	uint32_t seq, hash;
	uint8_t local[16]; /* the client's end of the connection */
	uint16_t port;
	bool indexed;
	uint8_t trace_flags;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	char *trace_state; /* owned */
	struct span *span; /* NULL once it ended */
	uint64_t held_until;
	struct waiting *next;	   /* index chain */
	struct waiting *held_next; /* held ones, oldest first */
};

#define HOLD_NS	 (2ull * 1000000000ull)
#define MAX_HELD 4096

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: ids must be unique and unpredictable enough, not cryptographic; seeded from
 * getrandom() so two agents never share a sequence. */
static uint64_t next_random(struct correlator *c)
{
	uint64_t *s = c->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

#define CORRELATOR_INITIAL_KEYS 128

struct correlator *correlator__new(uint32_t capacity)
{
	struct correlator *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->max_contexts = capacity * 4;
	/* small at first, grown as keys come: a busy service has a few hundred requests in
	 * flight, and a lookup of a fresh key in a sparse 128 KB table was a cache miss */
	c->live = u64map__new(CORRELATOR_INITIAL_KEYS);
	c->context = u64map__new(CORRELATOR_INITIAL_KEYS);
	c->index = u64map__new(CORRELATOR_INITIAL_KEYS);
	c->opens = u64map__new(CORRELATOR_INITIAL_KEYS);
	c->parents = u64map__new(CORRELATOR_INITIAL_KEYS);
	c->streams = u64map__new(CORRELATOR_INITIAL_KEYS);
	if (!c->live || !c->context || !c->index || !c->opens || !c->parents || !c->streams ||
	    getrandom(c->rng, sizeof(c->rng), 0) != sizeof(c->rng)) {
		correlator__free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

static void drop_held(struct correlator *c, bool all, uint64_t now);
static void waiting_free(struct waiting *w);

static void free_chain(void *ctx, uint64_t key, void *val)
{
	struct waiting *w = val, *next;

	(void)ctx;
	(void)key;
	/* their spans may be gone already (the connection table goes first): not touched */
	for (; w; w = next) {
		next = w->next;
		waiting_free(w);
	}
}

void correlator__free(struct correlator *c)
{
	if (!c)
		return;
	drop_held(c, true, 0);
	/* what is left indexed belongs to client spans still open */
	u64map__for_each(c->index, free_chain, NULL);
	u64map__free(c->live);
	u64map__free(c->context);
	u64map__free(c->index);
	u64map__free(c->opens);
	u64map__free(c->parents);
	u64map__free(c->streams);
	free(c);
}

void correlator__new_trace_id(struct correlator *c, uint8_t id[16])
{
	uint64_t a = next_random(c), b = next_random(c);

	if (!a && !b)
		b = 1;
	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

void correlator__new_span_id(struct correlator *c, uint8_t id[8])
{
	uint64_t a;

	do
		a = next_random(c);
	while (!a || a == UINT64_MAX); /* both are reserved keys of the live map */
	memcpy(id, &a, 8);
}

static uint64_t id64(const uint8_t id[8])
{
	uint64_t v;

	memcpy(&v, id, 8);
	return v;
}

/* One spelling per address: IPv4 as ::ffff:a.b.c.d, as a dual-stack socket (Java, Node) sees
 * an IPv4 peer, so both ends of a connection compare equal whichever family they use. */
static void canon_addr(const uint8_t *addr, uint16_t family, uint8_t out[16])
{
	if (family == 2 /* AF_INET */) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

/* A peer on this node: loopback, or the connection's own address at both ends. */
static bool peer_is_local(const struct zt_tuple *t)
{
	uint8_t local[16], remote[16];

	if (!t->family)
		return false; /* addresses not shipped yet (conns_without_addrs) */
	canon_addr(t->saddr, t->family, local);
	canon_addr(t->daddr, t->family, remote);
	if (!memcmp(local, remote, 16))
		return true;
	if (remote[10] == 0xff && remote[11] == 0xff && remote[12] == 127)
		return true;
	return !memcmp(remote, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
}

static uint64_t index_key(uint32_t seq, uint32_t hash)
{
	uint64_t k = (uint64_t)seq << 32 | hash;

	return k && k != UINT64_MAX ? k : 1;
}

static void inherit(struct span *s, const uint8_t trace_id[16], const uint8_t span_id[8],
		    uint8_t flags, const char *trace_state)
{
	memcpy(s->ctx.trace_id, trace_id, 16);
	memcpy(s->parent_id, span_id, 8);
	s->has_parent = true;
	s->trace_flags = flags;
	if (trace_state)
		s->trace_state = strdup(trace_state);
}

static void inherit_span(struct span *s, const struct span *parent)
{
	inherit(s, parent->ctx.trace_id, parent->ctx.span_id, parent->trace_flags,
		parent->trace_state);
}

static void unindex(struct correlator *c, struct waiting *w)
{
	uint64_t key = index_key(w->seq, w->hash);
	struct waiting *head = u64map__get(c->index, key), **pp = &head;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	if (head)
		u64map__put(c->index, key, head);
	else
		u64map__del(c->index, key);
	w->indexed = false;
	w->next = NULL;
}

static void waiting_free(struct waiting *w)
{
	free(w->trace_state);
	free(w);
}

/* The client span that wrote this request, if it was written on this node. */
static struct waiting *find_client(struct correlator *c, const struct join_key *k, bool *nat)
{
	struct waiting *w = u64map__get(c->index, index_key(k->seq, k->head_hash));
	struct waiting *candidate = NULL;
	uint8_t remote[16];
	int n = 0;

	canon_addr(k->tuple->daddr, k->tuple->family, remote);
	for (; w; w = w->next) {
		if (w->seq != k->seq || w->hash != k->head_hash)
			continue;
		/* the server's remote end is the client's local end */
		if (!memcmp(w->local, remote, 16) && w->port == k->tuple->dport) {
			*nat = false;
			return w;
		}
		candidate = w;
		n++;
	}
	/* behind NAT the two ends see different tuples; the sequence number and bytes are the
	 * same, and a single candidate is unambiguous */
	*nat = true;
	return n == 1 ? candidate : NULL;
}

uint64_t task_of_goroutine(uint32_t pid, uint64_t g)
{
	uint64_t k = u64map__key2(g, pid) | TASK_GOROUTINE;

	return k != UINT64_MAX ? k : TASK_GOROUTINE;
}

/* Threads, goroutines, streams and connections come and go without a word to us: a full table
 * is emptied (and counted) rather than grown without bound, which costs links of requests in
 * flight, never a wrong one. */
static void put_bounded(struct correlator *c, struct u64map *m, uint64_t key, uint64_t val)
{
	if (u64map__size(m) >= c->max_contexts) {
		u64map__clear(m);
		c->stats.context_resets++;
	}
	u64map__put(m, key, (void *)(uintptr_t)val);
}

static void set_context(struct correlator *c, uint64_t task, const uint8_t id[8])
{
	if (task)
		put_bounded(c, c->context, task, id64(id));
}

static struct span *context_of(struct correlator *c, uint64_t task)
{
	uint64_t id = task ? (uintptr_t)u64map__get(c->context, task) : 0;

	return id ? u64map__get(c->live, id) : NULL;
}

void correlator__inherit(struct correlator *c, uint64_t parent, uint64_t child)
{
	struct span *ctx = context_of(c, parent);

	put_bounded(c, c->parents, child, parent);
	/* a recycled goroutine structure must not keep its previous life's context */
	u64map__del(c->context, child);
	if (ctx) {
		set_context(c, child, ctx->ctx.span_id);
		c->stats.inherited++;
	}
}

void correlator__server_start(struct correlator *c, struct span *s, uint64_t task,
			      const struct join_key *k, const char *traceparent, size_t tp_len,
			      const char *tracestate, size_t ts_len)
{
	struct traceparent tp;
	struct waiting *client;
	bool nat;

	client = k ? find_client(c, k, &nat) : NULL;
	if (client) {
		inherit(s, client->trace_id, client->span_id, client->trace_flags,
			client->trace_state);
		unindex(c, client);
		c->stats.joined_same_node++;
		c->stats.joined_nat += nat;
		c->stats.joined_held += client->held_until != 0;
		if (client->span) {
			/* claimed while its span is open: a held one goes when its time is up */
			client->span->waiting = NULL;
			waiting_free(client);
		}
	} else if (traceparent && tp_len && !traceparent_parse(traceparent, tp_len, &tp)) {
		memcpy(s->ctx.trace_id, tp.trace_id, 16);
		memcpy(s->parent_id, tp.parent_id, 8);
		s->has_parent = true;
		s->trace_flags = tp.flags;
		if (tracestate && ts_len)
			s->trace_state = strndup(tracestate, ts_len);
		c->stats.joined_traceparent++;
	} else {
		correlator__new_trace_id(c, s->ctx.trace_id);
		s->trace_flags = 1;
	}
	/* a caller on this node whose client span we never saw: filtered, lost, or not HTTP
	 * when it wrote; visible, since it is a link we could not make */
	if (!client && !s->has_parent && k && peer_is_local(k->tuple))
		c->stats.server_local_unjoined++;
	correlator__new_span_id(c, s->ctx.span_id);
	u64map__put(c->live, id64(s->ctx.span_id), s);
	set_context(c, task, s->ctx.span_id);
}

static bool is_live(const struct correlator *c, const struct span *s)
{
	return u64map__get(c->live, id64(s->ctx.span_id)) == s;
}

void correlator__h2_stream_read(struct correlator *c, uint64_t reader, uint32_t stream,
				const struct span *s)
{
	if (reader && is_live(c, s))
		put_bounded(c, c->streams, u64map__key2(reader, stream), id64(s->ctx.span_id));
}

void correlator__h2_stream_handler(struct correlator *c, uint64_t handler, uint32_t stream)
{
	uint64_t reader = (uintptr_t)u64map__get(c->parents, handler), id = 0;
	struct span *s = NULL;

	if (reader)
		id = (uintptr_t)u64map__del(c->streams, u64map__key2(reader, stream));
	if (id)
		s = u64map__get(c->live, id);
	if (!s) {
		/* made by another goroutine than the stream's reader (a worker pool: grpc-go's
		 * NumStreamWorkers), or its request already answered */
		c->stats.h2_handlers_unlinked++;
		return;
	}
	set_context(c, handler, s->ctx.span_id);
	c->stats.h2_handlers_linked++;
}

uint64_t conn_key_of(const struct zt_conn_id *id)
{
	return u64map__key2(id->gen, (uint64_t)id->pid << 32 | (uint32_t)id->fd);
}

void correlator__conn_open(struct correlator *c, uint64_t conn_key, uint64_t task)
{
	struct span *ctx;

	/* Go's dialer goroutine may hand the connection to another caller than the one it dialed
	 * for: goroutines follow the request that writes (correlator__client_start) instead */
	if (task & TASK_GOROUTINE)
		return;
	ctx = context_of(c, task);
	if (!ctx)
		return;
	/* connections that never carried HTTP leave entries behind */
	put_bounded(c, c->opens, conn_key, id64(ctx->ctx.span_id));
}

/* The server span a new client request belongs to, if any can be known. */
static struct span *client_parent(struct correlator *c, uint64_t task, uint64_t first_on_conn)
{
	uint64_t opener = first_on_conn ? (uintptr_t)u64map__del(c->opens, first_on_conn) : 0;

	if (opener) {
		/* the connection was opened for a request: its first request is that one's, even
		 * when an event loop writes it while handling something else */
		struct span *p = u64map__get(c->live, opener);

		if (p)
			c->stats.joined_connect++;
		return p;
	}
	return context_of(c, task);
}

/* Index client span s by its request's join key until a server span on this node claims it. */
static void wait_for_server(struct correlator *c, struct span *s, const struct join_key *k)
{
	struct waiting *w = calloc(1, sizeof(*w));
	uint64_t key = index_key(k->seq, k->head_hash);

	if (!w)
		return;
	w->seq = k->seq;
	w->hash = k->head_hash;
	canon_addr(k->tuple->saddr, k->tuple->family, w->local);
	w->port = k->tuple->sport;
	memcpy(w->trace_id, s->ctx.trace_id, 16);
	memcpy(w->span_id, s->ctx.span_id, 8);
	w->trace_flags = s->trace_flags;
	w->trace_state = s->trace_state ? strdup(s->trace_state) : NULL;
	w->next = u64map__get(c->index, key);
	if (u64map__put(c->index, key, w)) {
		waiting_free(w);
		return;
	}
	w->indexed = true;
	w->span = s;
	s->waiting = w;
}

bool correlator__client_start(struct correlator *c, struct span *s, uint64_t task,
			      uint64_t first_on_conn, const struct join_key *k,
			      const char *traceparent, size_t tp_len)
{
	struct span *parent = client_parent(c, task, first_on_conn);
	struct traceparent tp;

	if (traceparent && tp_len && !traceparent_parse(traceparent, tp_len, &tp)) {
		bool forwarded = parent && parent->has_parent &&
				 !memcmp(tp.trace_id, parent->ctx.trace_id, 16) &&
				 !memcmp(tp.parent_id, parent->parent_id, 8);

		if (!forwarded) {
			c->stats.client_adopted++;
			return false;
		}
	}
	if (parent) {
		inherit_span(s, parent);
		c->stats.joined_thread++;
	} else {
		/* work handed to goroutines that no request created (a worker pool fed by a
		 * channel): the link is not followed, and says so */
		c->stats.goroutine_unlinked += (task & TASK_GOROUTINE) != 0;
		correlator__new_trace_id(c, s->ctx.trace_id);
		s->trace_flags = 1;
	}
	correlator__new_span_id(c, s->ctx.span_id);
	if (k)
		wait_for_server(c, s, k);
	return true;
}

void correlator__client_response(struct correlator *c, const struct span *s, uint64_t task)
{
	struct span *parent;

	/* a goroutine that reads a response (net/http's readLoop) is not its caller */
	if (!s->has_parent || (task & TASK_GOROUTINE))
		return;
	parent = u64map__get(c->live, id64(s->parent_id));
	if (parent && parent->proc == s->proc)
		set_context(c, task, parent->ctx.span_id);
}

void correlator__forget_context(struct correlator *c, uint64_t task)
{
	if (task)
		u64map__del(c->context, task);
}

/* Expire held entries: all of them, or those past their time. An expired one that is still
 * indexed was never claimed. */
static void drop_held(struct correlator *c, bool all, uint64_t now)
{
	while (c->held_head && (all || c->held_head->held_until <= now || c->nheld > MAX_HELD)) {
		struct waiting *w = c->held_head;

		c->held_head = w->held_next;
		if (!c->held_head)
			c->held_tail = NULL;
		c->nheld--;
		if (w->indexed) {
			unindex(c, w);
			c->stats.client_unjoined++;
		}
		waiting_free(w);
	}
}

void correlator__span_end(struct correlator *c, struct span *s)
{
	struct waiting *w = s->waiting;

	if (is_live(c, s))
		u64map__del(c->live, id64(s->ctx.span_id));
	if (!w)
		return;
	/* its server side may not have read the request yet (the client gave up early): its
	 * entry stays indexed for HOLD_NS without the span */
	s->waiting = NULL;
	w->span = NULL;
	w->held_until = now_ns() + HOLD_NS;
	if (c->held_tail)
		c->held_tail->held_next = w;
	else
		c->held_head = w;
	c->held_tail = w;
	c->nheld++;
}

void correlator__expire(struct correlator *c, bool all)
{
	drop_held(c, all, now_ns());
}

void correlator__stats(const struct correlator *c, struct correlator_stats *out)
{
	*out = c->stats;
}
