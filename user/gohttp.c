// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include "gohttp.h"
#include "u64map.h"

struct gohttp {
	struct u64map *writers; /* (pid, writer g) → the request it writes now */
	struct u64map *callers; /* (pid, request) → the goroutine that made it */
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
	if (!h->writers || !h->callers) {
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
	if (h)
		u64map__del(h->writers, u64map__key2(g, pid));
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

uint64_t gohttp__resets(const struct gohttp *h)
{
	return h ? h->resets : 0;
}
