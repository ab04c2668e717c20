// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "trace/span.h"
#include "trace/proc.h"

struct span_chunk {
	struct span_chunk *next;
	char data[];
};

/*
 * Freed spans wait here to be reused. A span is ~1.8 KB: past malloc's per-thread caches, and
 * when allocated on the reader thread but freed on the exporter's (console, OTLP files), each
 * one went through the shared arena's locks and consolidation — more CPU than building the
 * span. Bounded: past SPAN_POOL_MAX they go back to malloc.
 */
#define SPAN_POOL_MAX 512

static struct {
	pthread_mutex_t mu;
	struct span *free;
	uint32_t n;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* This thread's share of the pool. A thread that allocates spans keeps the ones it frees
 * itself (OTLP/HTTP encodes and frees them on the reader): last freed, first reused, still
 * in this CPU's cache, and no lock. */
static __thread struct span *reuse;
static __thread uint32_t nreuse;
static __thread bool allocates;

struct span *span__new(void)
{
	struct span *s;

	/* the reader takes the whole list at once: one lock per refill, not per span */
	allocates = true;
	if (!reuse) {
		pthread_mutex_lock(&pool.mu);
		reuse = pool.free;
		nreuse = pool.n;
		pool.free = NULL;
		pool.n = 0;
		pthread_mutex_unlock(&pool.mu);
	}
	s = reuse;
	if (s) {
		reuse = s->next;
		nreuse--;
	} else
		s = malloc(sizeof(struct span));
	/* attributes and strings need no zeroing: only what is written is read */
	if (s)
		memset(s, 0, offsetof(struct span, attrs));
	return s;
}

void span__free(struct span *s)
{
	struct span_chunk *c, *next;

	if (!s)
		return;
	for (c = s->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(s->trace_state);
	process__put(s->proc);
	if (allocates && nreuse < SPAN_POOL_MAX) {
		s->next = reuse;
		reuse = s;
		nreuse++;
		return;
	}
	pthread_mutex_lock(&pool.mu);
	if (pool.n < SPAN_POOL_MAX) {
		s->next = pool.free;
		pool.free = s;
		pool.n++;
		s = NULL;
	}
	pthread_mutex_unlock(&pool.mu);
	free(s);
}

/* A NUL-terminated copy of v[0..len) owned by the span. */
static char *span_strndup(struct span *s, const char *v, size_t len)
{
	struct span_chunk *c;
	char *dst;

	if (len < SPAN_INLINE_STRINGS - s->strings_used) {
		dst = s->strings + s->strings_used;
		s->strings_used += len + 1;
	} else {
		c = malloc(sizeof(*c) + len + 1);
		if (!c)
			return NULL;
		c->next = s->chunks;
		s->chunks = c;
		dst = c->data;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return dst;
}

int span__set_name(struct span *s, const char *name, size_t len)
{
	char *n = span_strndup(s, name, len);

	if (!n)
		return -ENOMEM;
	s->name = n;
	s->name_len = len;
	return 0;
}

static struct attr *slot(struct span *s, const char *key, uint16_t key_len)
{
	struct attr *a;

	if (s->nattrs >= SPAN_MAX_ATTRS)
		return NULL;
	a = &s->attrs[s->nattrs++];
	a->key = key;
	a->key_len = key_len;
	return a;
}

int span__set_str_kl(struct span *s, const char *key, uint16_t key_len, const char *val, size_t len)
{
	char *copy = span_strndup(s, val, len);
	struct attr *a;

	if (!copy)
		return -ENOMEM;
	a = slot(s, key, key_len);
	if (!a)
		return -ENOSPC;
	a->type = ATTR_STR;
	a->str = copy;
	a->str_len = len;
	return 0;
}

int span__set_int_kl(struct span *s, const char *key, uint16_t key_len, int64_t val)
{
	struct attr *a = slot(s, key, key_len);

	if (!a)
		return -ENOSPC;
	a->type = ATTR_INT;
	a->i = val;
	return 0;
}

int span__set_bool_kl(struct span *s, const char *key, uint16_t key_len, bool val)
{
	struct attr *a = slot(s, key, key_len);

	if (!a)
		return -ENOSPC;
	a->type = ATTR_BOOL;
	a->b = val;
	return 0;
}

const struct attr *span__attr(const struct span *s, const char *key)
{
	for (int i = 0; i < s->nattrs; i++)
		if (!strcmp(s->attrs[i].key, key))
			return &s->attrs[i];
	return NULL;
}

void span__set_process(struct span *s, struct process *p)
{
	process__put(s->proc);
	s->proc = process__get(p);
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}
