// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export/encode.h"
#include "trace/proc.h"

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* trimmed, percent-decoded copy of s[0..n) */
static char *decode(const char *s, size_t n)
{
	char *out, *o;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	out = o = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			*o++ =
			    hexval((unsigned char)s[i + 1]) << 4 | hexval((unsigned char)s[i + 2]);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int kv_list_parse(const char *list, int (*fn)(void *ctx, const char *k, const char *v), void *ctx)
{
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		char *k, *v;
		int err;

		if (!eq) {
			/* an empty member (",,", trailing comma) is harmless; anything else is not
			 */
			for (size_t i = 0; i < n; i++)
				if (!isspace((unsigned char)p[i]))
					return -EINVAL;
		} else {
			k = decode(p, eq - p);
			v = decode(eq + 1, p + n - eq - 1);
			if (!k || !v || !*k) {
				free(k);
				free(v);
				return -EINVAL;
			}
			err = fn(ctx, k, v);
			free(k);
			free(v);
			if (err)
				return err;
		}
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

static struct res_attr *res_slot(struct resource *r, const char *key)
{
	for (int i = 0; i < r->n; i++) {
		if (!strcmp(r->attrs[i].key, key)) {
			free(r->attrs[i].str);
			r->attrs[i].str = NULL;
			return &r->attrs[i];
		}
	}
	if (r->n >= RES_MAX_ATTRS)
		return NULL;
	r->attrs[r->n].key = strdup(key);
	if (!r->attrs[r->n].key)
		return NULL;
	return &r->attrs[r->n++];
}

static int res_set_str(void *ctx, const char *key, const char *val)
{
	struct res_attr *a = res_slot(ctx, key);

	if (!a)
		return 0; /* over the limit: dropped, like an SDK's attribute limit */
	a->str = strdup(val);
	return a->str ? 0 : -ENOMEM;
}

static void res_set_int(struct resource *r, const char *key, int64_t val)
{
	struct res_attr *a = res_slot(r, key);

	if (a)
		a->i = val;
}

int resource__build(struct resource *r, const struct process *p, const char *global_attrs,
		    const char *host_name)
{
	memset(r, 0, sizeof(*r));
	/* precedence, lowest first: the agent's OTEL_RESOURCE_ATTRIBUTES, the target's own,
	 * then what the agent knows of the process */
	if (global_attrs)
		kv_list_parse(global_attrs, res_set_str, r);
	if (p && p->resource_attrs)
		kv_list_parse(p->resource_attrs, res_set_str, r);
	if (p) {
		res_set_str(r, "service.name", p->service_name);
		res_set_int(r, "process.pid", p->pid);
		res_set_str(r, "process.executable.name", p->exe_name);
		res_set_str(r, "process.executable.path", p->exe_path);
		if (p->command_line && *p->command_line)
			res_set_str(r, "process.command_line", p->command_line);
		if (p->container_id)
			res_set_str(r, "container.id", p->container_id);
	} else {
		res_set_str(r, "service.name", "unknown_service");
	}
	if (host_name)
		res_set_str(r, "host.name", host_name);
	res_set_str(r, "telemetry.distro.name", "zerotrace");
	return 0;
}

void resource__free(struct resource *r)
{
	for (int i = 0; i < r->n; i++) {
		free(r->attrs[i].key);
		free(r->attrs[i].str);
	}
	r->n = 0;
}
