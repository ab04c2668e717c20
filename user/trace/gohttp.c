// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include "trace/gohttp.h"
#include "base/u64map.h"

struct gohttp {
	struct u64map *writers; /* (pid, writer g) → the request it writes now */
	struct u64map *callers; /* (pid, request) → the goroutine that made it */
	/* grpc-go: (pid, header list) → the goroutine that made it; (pid, loopy g) → that
	 * goroutine's life, numbered; (life, stream) → the goroutine whose call it is */
	struct u64map *h2_calls;
	struct u64map *h2_lives;
	struct u64map *h2_streams;
	uint64_t next_life;
	uint32_t capacity;
	uint64_t resets;
};

struct gohttp *gohttp__new(uint32_t capacity)
{
	struct gohttp *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->capacity = capacity;
	h->writers = u64map__new(64);
	h->callers = u64map__new(64);
	h->h2_calls = u64map__new(64);
	h->h2_lives = u64map__new(64);
	h->h2_streams = u64map__new(64);
	if (!h->writers || !h->callers || !h->h2_calls || !h->h2_lives || !h->h2_streams) {
		gohttp__free(h);
		errno = ENOMEM;
		return NULL;
	}
	return h;
}

void gohttp__free(struct gohttp *h)
{
	if (!h)
		return;
	u64map__free(h->writers);
	u64map__free(h->callers);
	u64map__free(h->h2_calls);
	u64map__free(h->h2_lives);
	u64map__free(h->h2_streams);
	free(h);
}

/* Writer goroutines end without a word to us, and a request's caller is forgotten only when
 * its writer moves on: a full table is emptied (and counted), which costs the links of
 * requests in flight, never a wrong one. */
static void put(struct gohttp *h, struct u64map *m, uint64_t k, uint64_t v)
{
	if (u64map__size(m) >= h->capacity) {
		u64map__clear(h->writers);
		u64map__clear(h->callers);
		u64map__clear(h->h2_calls);
		u64map__clear(h->h2_lives);
		u64map__clear(h->h2_streams);
		h->resets++;
	}
	u64map__put(m, k, (void *)(uintptr_t)v);
}

void gohttp__round_trip(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t req)
{
	if (h && g && req)
		put(h, h->callers, u64map__key2(req, pid), g);
}

void gohttp__request_write(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t req)
{
	if (h && g && req)
		put(h, h->writers, u64map__key2(g, pid), req);
}

void gohttp__forget(struct gohttp *h, uint32_t pid, uint64_t g)
{
	if (!h)
		return;
	u64map__del(h->writers, u64map__key2(g, pid));
	/* the streams a loopy goroutine of this structure's previous life was handed stay
	 * behind, under a life no goroutine has any more */
	u64map__del(h->h2_lives, u64map__key2(g, pid));
}

uint64_t gohttp__writes_for(struct gohttp *h, uint32_t pid, uint64_t g)
{
	uint64_t req, caller;

	if (!h || !(req = (uintptr_t)u64map__del(h->writers, u64map__key2(g, pid))))
		return g;
	/* The first write after Request.write is the request's head (net/http buffers it whole):
	 * the entry is spent on it, so a goroutine structure that a writer leaves behind and
	 * another goroutine reuses never inherits it. A request whose caller we did not see (sent
	 * before the agent started, or by the application's own Request.Write) gets no link: the
	 * writer's own context is that of whoever dialed the connection, not the caller's. */
	caller = (uintptr_t)u64map__del(h->callers, u64map__key2(req, pid));
	return caller ? caller : 0;
}

void gohttp__h2_call(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t header_list)
{
	if (h && g && header_list)
		put(h, h->h2_calls, u64map__key2(header_list, pid), g);
}

/* The key of a stream written by goroutine g in its current life; 0 when it has not been
 * handed one in this life and may not start one (lookups). */
static uint64_t h2_stream_key(struct gohttp *h, uint32_t pid, uint64_t g, uint32_t stream,
			      bool start_life)
{
	uint64_t k = u64map__key2(g, pid), life = (uintptr_t)u64map__get(h->h2_lives, k);

	if (!life && start_life) {
		life = ++h->next_life;
		put(h, h->h2_lives, k, life);
	}
	return life ? u64map__key2(life, stream) : 0;
}

void gohttp__h2_write(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t header_list,
		      uint32_t stream)
{
	uint64_t caller, k;

	if (!h || !g || !header_list)
		return;
	caller = (uintptr_t)u64map__del(h->h2_calls, u64map__key2(header_list, pid));
	if (caller && (k = h2_stream_key(h, pid, g, stream, true)))
		put(h, h->h2_streams, k, caller);
}

uint64_t gohttp__h2_caller(struct gohttp *h, uint32_t pid, uint64_t g, uint32_t stream)
{
	uint64_t k = h && g ? h2_stream_key(h, pid, g, stream, false) : 0;

	return k ? (uintptr_t)u64map__del(h->h2_streams, k) : 0;
}

uint64_t gohttp__resets(const struct gohttp *h)
{
	return h ? h->resets : 0;
}
