// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "trace/proc.h"
#include "base/log.h"

struct process *process__get(struct process *p)
{
	if (p)
		__atomic_add_fetch(&p->refcnt, 1, __ATOMIC_RELAXED);
	return p;
}

void process__put(struct process *p)
{
	if (!p || __atomic_sub_fetch(&p->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	free(p->service_name);
	free(p->exe_name);
	free(p->exe_path);
	free(p->command_line);
	free(p->container_id);
	free(p->cgroup);
	free(p->resource_attrs);
	free(p);
}

/* Whole small /proc file into a malloc'd buffer; *len excludes the added NUL. */
static char *read_file(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0)
			break;
		n += r;
		if (n == cap) {
			char *nb;

			if (cap >= (1 << 20))
				break;
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				break;
			buf = nb;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static const char *env_lookup(const char *env, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < len;) {
		const char *e = env + i;
		size_t elen = strnlen(e, len - i);

		if (elen > nlen && !memcmp(e, name, nlen) && e[nlen] == '=') {
			*vlen = elen - nlen - 1;
			return e + nlen + 1;
		}
		i += elen + 1;
	}
	return NULL;
}

char *service_name_from_environ(const char *env, size_t len)
{
	const char *v, *attrs;
	size_t vlen, alen;

	v = env_lookup(env, len, "OTEL_SERVICE_NAME", &vlen);
	if (v && vlen)
		return strndup(v, vlen);
	attrs = env_lookup(env, len, "OTEL_RESOURCE_ATTRIBUTES", &alen);
	for (size_t i = 0; attrs && i < alen;) {
		const char *kv = attrs + i;
		const char *comma = memchr(kv, ',', alen - i);
		size_t kvlen = comma ? (size_t)(comma - kv) : alen - i;

		if (kvlen > 13 && !memcmp(kv, "service.name=", 13))
			return strndup(kv + 13, kvlen - 13);
		i += kvlen + 1;
	}
	return NULL;
}

/* A container runtime puts the 64-hex container id in the cgroup path. */
static char *container_id_from_cgroup(const char *cg)
{
	for (const char *p = cg; *p; p++) {
		size_t n = 0;

		while (isxdigit((unsigned char)p[n]) && !isupper((unsigned char)p[n]))
			n++;
		if (n == 64 && (p == cg || !isxdigit((unsigned char)p[-1])))
			return strndup(p, 64);
		if (n)
			p += n - 1;
	}
	return NULL;
}

/* cgroup v2's line is "0::/path" */
static char *cgroup_v2_path(const char *cg)
{
	const char *l = strstr(cg, "0::");

	while (l && l != cg && l[-1] != '\n')
		l = strstr(l + 1, "0::");
	return l ? strndup(l + 3, strcspn(l + 3, "\n")) : NULL;
}

static const char *rule_for(const struct process *p, const struct name_rule *rules, int n)
{
	for (int i = 0; i < n; i++)
		if (!fnmatch(rules[i].glob, p->exe_path, 0) ||
		    !fnmatch(rules[i].glob, p->exe_name, 0))
			return rules[i].name;
	return NULL;
}

struct process *process__load(const char *root, uint32_t pid, const struct name_rule *rules,
			      int nrules)
{
	char path[PATH_MAX], exe[PATH_MAX], comm[64] = "";
	struct process *p = calloc(1, sizeof(*p));
	char *env = NULL, *cmd = NULL, *cg = NULL, *c;
	size_t len;
	ssize_t n;

	if (!p)
		return NULL;
	p->refcnt = 1;
	p->pid = pid;
	snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0) {
		int err = errno;

		free(p);
		errno = err == ENOENT ? ESRCH : err;
		return NULL;
	}
	exe[n] = '\0';
	p->exe_path = strdup(exe);
	p->exe_name = strdup(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe);

	snprintf(path, sizeof(path), "%s/%u/comm", root, pid);
	c = read_file(path, &len);
	if (c) {
		snprintf(comm, sizeof(comm), "%.*s", (int)strcspn(c, "\n"), c);
		free(c);
	}
	snprintf(path, sizeof(path), "%s/%u/environ", root, pid);
	env = read_file(path, &len);
	if (env) {
		size_t vlen;
		const char *v = env_lookup(env, len, "OTEL_RESOURCE_ATTRIBUTES", &vlen);

		p->service_name = service_name_from_environ(env, len);
		if (v && vlen)
			p->resource_attrs = strndup(v, vlen);
	}
	/* its own OTEL_SERVICE_NAME first, then a configured rule, then the executable: the
	 * name a user would say, python3 rather than python3.11 (the command as invoked, comm,
	 * when the executable's name extends it) */
	if (!p->service_name && rule_for(p, rules, nrules))
		p->service_name = strdup(rule_for(p, rules, nrules));
	if (!p->service_name)
		p->service_name =
		    strdup(*comm && p->exe_name && !strncmp(p->exe_name, comm, strlen(comm))
			       ? comm
			       : p->exe_name);
	snprintf(path, sizeof(path), "%s/%u/cmdline", root, pid);
	cmd = read_file(path, &len);
	if (cmd) {
		while (len && cmd[len - 1] == '\0')
			len--;
		for (size_t i = 0; i < len; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[len] = '\0';
		p->command_line = cmd;
	}
	snprintf(path, sizeof(path), "%s/%u/cgroup", root, pid);
	cg = read_file(path, &len);
	if (cg) {
		p->container_id = container_id_from_cgroup(cg);
		p->cgroup = cgroup_v2_path(cg);
		free(cg);
	}
	free(env);
	if (!p->exe_name || !p->service_name || !p->exe_path) {
		process__put(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

/* Open-addressed table keyed by pid; small, so lookups stay in cache. */
struct proc_table {
	char *root;
	const struct name_rule *rules;
	int nrules;
	uint32_t cap; /* power of two */
	uint32_t count;
	struct process **slots;
};

struct proc_table *proc_table__new(const char *root, uint32_t capacity)
{
	struct proc_table *t = calloc(1, sizeof(*t));
	uint32_t cap = 64;

	if (!t)
		return NULL;
	while (cap < capacity * 2)
		cap <<= 1;
	t->cap = cap;
	t->root = strdup(root);
	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->root || !t->slots) {
		proc_table__free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void proc_table__free(struct proc_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; t->slots && i < t->cap; i++)
		process__put(t->slots[i]);
	free(t->slots);
	free(t->root);
	free(t);
}

static uint32_t slot_of(const struct proc_table *t, uint32_t pid)
{
	uint32_t i = (pid * 2654435761u) & (t->cap - 1);

	while (t->slots[i] && t->slots[i]->pid != pid)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int grow(struct proc_table *t)
{
	struct process **old = t->slots;
	uint32_t old_cap = t->cap;

	t->slots = calloc(old_cap * 2, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->cap = old_cap * 2;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i])
			t->slots[slot_of(t, old[i]->pid)] = old[i];
	free(old);
	return 0;
}

struct process *proc_table__lookup(struct proc_table *t, uint32_t pid)
{
	uint32_t i = slot_of(t, pid);
	struct process *p;

	if (t->slots[i])
		return t->slots[i];
	if (t->count * 2 >= t->cap) {
		if (grow(t))
			return NULL;
		i = slot_of(t, pid);
	}
	p = process__load(t->root, pid, t->rules, t->nrules);
	if (!p)
		return NULL;
	t->slots[i] = p;
	t->count++;
	return p;
}

void proc_table__forget(struct proc_table *t, uint32_t pid)
{
	uint32_t i = slot_of(t, pid), j;

	if (!t->slots[i])
		return;
	process__put(t->slots[i]);
	t->slots[i] = NULL;
	t->count--;
	/* re-insert the rest of the probe chain (linear-probing deletion) */
	for (j = (i + 1) & (t->cap - 1); t->slots[j]; j = (j + 1) & (t->cap - 1)) {
		struct process *p = t->slots[j];
		uint32_t k;

		t->slots[j] = NULL;
		k = slot_of(t, p->pid);
		t->slots[k] = p;
	}
}

struct process *process__from_names(uint32_t pid, const char *comm, const char *filename)
{
	struct process *p = calloc(1, sizeof(*p));
	const char *base = strrchr(filename, '/') ? strrchr(filename, '/') + 1 : filename;

	if (!p)
		return NULL;
	p->refcnt = 1;
	p->pid = pid;
	p->exe_path = strdup(*filename ? filename : comm);
	p->exe_name = strdup(*base ? base : comm);
	p->service_name = strdup(*comm ? comm : p->exe_name ? p->exe_name : "unknown_service");
	if (!p->exe_path || !p->exe_name || !p->service_name) {
		process__put(p);
		return NULL;
	}
	return p;
}

void proc_table__exec(struct proc_table *t, uint32_t pid, const char *comm, const char *filename)
{
	uint32_t i;
	struct process *p;

	proc_table__forget(t, pid);
	if (t->count * 2 >= t->cap && grow(t))
		return;
	p = process__load(t->root, pid, t->rules, t->nrules);
	if (!p)
		p = process__from_names(pid, comm, filename);
	if (!p)
		return;
	i = slot_of(t, pid);
	t->slots[i] = p;
	t->count++;
}

void proc_table__set_rules(struct proc_table *t, const struct name_rule *rules, int n)
{
	t->rules = rules;
	t->nrules = n;
	for (uint32_t i = 0; i < t->cap; i++) {
		process__put(t->slots[i]);
		t->slots[i] = NULL;
	}
	t->count = 0;
}

uint32_t proc_table__size(const struct proc_table *t)
{
	return t->count;
}
