// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "span.h"
#include "proc.h"

struct span *span__new(void)
{
	return calloc(1, sizeof(struct span));
}

void span__free(struct span *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nattrs; i++)
		if (s->attrs[i].type == ATTR_STR)
			free(s->attrs[i].str);
	free(s->name);
	free(s->trace_state);
	process__put(s->proc);
	free(s);
}

int span__set_name(struct span *s, const char *name)
{
	char *n = strdup(name);

	if (!n)
		return -ENOMEM;
	free(s->name);
	s->name = n;
	return 0;
}

static struct attr *slot(struct span *s, const char *key)
{
	for (int i = 0; i < s->nattrs; i++) {
		if (!strcmp(s->attrs[i].key, key)) {
			if (s->attrs[i].type == ATTR_STR)
				free(s->attrs[i].str);
			return &s->attrs[i];
		}
	}
	if (s->nattrs >= SPAN_MAX_ATTRS)
		return NULL;
	return &s->attrs[s->nattrs++];
}

int span__set_str(struct span *s, const char *key, const char *val, size_t len)
{
	char *copy = strndup(val, len);
	struct attr *a;

	if (!copy)
		return -ENOMEM;
	a = slot(s, key);
	if (!a) {
		free(copy);
		return -ENOSPC;
	}
	a->key = key;
	a->type = ATTR_STR;
	a->str = copy;
	return 0;
}

int span__set_int(struct span *s, const char *key, int64_t val)
{
	struct attr *a = slot(s, key);

	if (!a)
		return -ENOSPC;
	a->key = key;
	a->type = ATTR_INT;
	a->i = val;
	return 0;
}

int span__set_bool(struct span *s, const char *key, bool val)
{
	struct attr *a = slot(s, key);

	if (!a)
		return -ENOSPC;
	a->key = key;
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
