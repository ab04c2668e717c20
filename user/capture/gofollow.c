// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/clock.h"
#include "capture/gofollow.h"
#include "capture/goelf.h"
#include "base/log.h"
#include "capture/probe.h"
#include "base/u64map.h"

/* An executable, by inode: what it is, and for a followed Go one its uprobes. */
struct gobin {
	uint64_t dev, ino;
	enum go_state state;
	struct go_binary info;
	struct go_links *links;	 /* net/http's, from the start */
	struct go_links *births; /* goroutine creation's, once a process of it calls out */
	bool births_tried;
	uint32_t nprocs;
	uint64_t idle_since; /* monotonic ns when its last process left; 0 while it has some */
	struct gobin *next;
};

struct gofollow {
	struct probe *probe;
	const char *proc_root;
	bool follow;
	struct gobin *bins;    /* followed and unfollowed Go executables */
	struct u64map *not_go; /* dev ^ ino → 1: executables already found not to be Go */
	struct u64map *pids;   /* pid → struct gobin */
	struct gofollow_stats stats;
};

/* How long a Go executable keeps its uprobes after its last process exits. */
#define IDLE_DETACH_NS (10ull * 1000000000ull)
#define MAX_NOT_GO     4096

struct gofollow *gofollow__new(struct probe *probe, const char *proc_root, bool follow)
{
	struct gofollow *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->probe = probe;
	g->follow = follow;
	g->proc_root = proc_root ? proc_root : "/proc";
	g->not_go = u64map__new(64);
	g->pids = u64map__new(64);
	if (!g->not_go || !g->pids) {
		gofollow__free(g);
		errno = ENOMEM;
		return NULL;
	}
	return g;
}

void gofollow__free(struct gofollow *g)
{
	if (!g)
		return;
	while (g->bins) {
		struct gobin *b = g->bins;

		g->bins = b->next;
		probe__detach_go(b->links);
		probe__detach_go(b->births);
		free(b);
	}
	u64map__free(g->not_go);
	u64map__free(g->pids);
	free(g);
}

static struct gobin *find_bin(struct gofollow *g, uint64_t dev, uint64_t ino)
{
	for (struct gobin *b = g->bins; b; b = b->next)
		if (b->dev == dev && b->ino == ino)
			return b;
	return NULL;
}

/* A Go executable met for the first time (or again after it was detached). */
static struct gobin *inspect(struct gofollow *g, const char *exe, uint32_t pid, uint64_t dev,
			     uint64_t ino)
{
	struct go_binary info;
	struct gobin *b;
	char why[160];
	int err = go_binary__inspect(exe, &info, why, sizeof(why));

	if (err == -ENOEXEC || (err && err != -ENOTSUP)) {
		if (err == -ENOEXEC && u64map__size(g->not_go) < MAX_NOT_GO)
			u64map__put(g->not_go, u64map__key2(ino, dev), (void *)1);
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->dev = dev;
	b->ino = ino;
	b->state = GO_UNFOLLOWED;
	b->info = info;
	if (!err && !g->follow) {
		snprintf(why, sizeof(why), "following goroutines is off (capture.go_goroutines)");
	} else if (!err && g->probe) {
		b->links = probe__attach_go(g->probe, exe, &info, GO_PROBES_CALLS);
		if (b->links) {
			b->state = GO_FOLLOWED;
		} else {
			g->stats.attach_failed++;
			snprintf(why, sizeof(why), "the kernel refused its uprobes: %s",
				 strerror(errno));
			err = -errno;
		}
	} else if (!err) {
		b->state = GO_FOLLOWED; /* classification only */
	}
	if (b->state == GO_FOLLOWED) {
		g->stats.binaries_followed++;
		pr_info("go: following %s (pid %u, %s)", exe, pid, info.version);
		if (info.grpc_minor >= 0 && !info.grpc_client_headers)
			pr_info("go: %s: the client calls of its grpc-go v1.%d are not followed (a "
				"layout the agent does not know): they start new traces",
				exe, info.grpc_minor);
	} else {
		g->stats.binaries_unfollowed++;
		/* once per executable: its processes get no in-process links, counted */
		zt_log(g->follow ? LOG_LVL_WARN : LOG_LVL_INFO,
		       "go: cannot follow the goroutines of pid %u (%s): %s; its client spans "
		       "start new traces",
		       pid, info.version[0] ? info.version : "Go", why);
	}
	b->next = g->bins;
	g->bins = b;
	return b;
}

void gofollow__exec(struct gofollow *g, uint32_t pid)
{
	struct gobin *b;
	char exe[64];
	struct stat st;

	if (!g)
		return;
	gofollow__exit(g, pid); /* the image it replaces */
	snprintf(exe, sizeof(exe), "%s/%u/exe", g->proc_root, pid);
	if (stat(exe, &st))
		return; /* gone already, or a kernel thread */
	if (u64map__get(g->not_go, u64map__key2(st.st_ino, st.st_dev)))
		return;
	b = find_bin(g, st.st_dev, st.st_ino);
	if (!b)
		b = inspect(g, exe, pid, st.st_dev, st.st_ino);
	if (!b)
		return;
	if (u64map__put(g->pids, pid, b))
		return;
	b->nprocs++;
	b->idle_since = 0;
	if (b->state == GO_FOLLOWED) {
		g->stats.pids_followed++;
		if (g->probe)
			probe__follow_go_pid(g->probe, pid, true);
	} else {
		g->stats.pids_unfollowed++;
	}
}

void gofollow__exit(struct gofollow *g, uint32_t pid)
{
	struct gobin *b = g ? u64map__del(g->pids, pid) : NULL;

	if (!b)
		return;
	if (b->state == GO_FOLLOWED) {
		g->stats.pids_followed--;
		if (g->probe)
			probe__follow_go_pid(g->probe, pid, false);
	} else {
		g->stats.pids_unfollowed--;
	}
	if (!--b->nprocs)
		b->idle_since = now_ns();
}

enum go_state gofollow__state(const struct gofollow *g, uint32_t pid)
{
	const struct gobin *b = g ? u64map__get(g->pids, pid) : NULL;

	return b ? b->state : GO_NONE;
}

void gofollow__tick(struct gofollow *g, uint64_t now)
{
	struct gobin **pp = g ? &g->bins : NULL;

	while (pp && *pp) {
		struct gobin *b = *pp;

		if (b->nprocs || !b->idle_since || now - b->idle_since < IDLE_DETACH_NS) {
			pp = &b->next;
			continue;
		}
		*pp = b->next;
		if (b->state == GO_FOLLOWED)
			g->stats.binaries_followed--;
		else
			g->stats.binaries_unfollowed--;
		probe__detach_go(b->links);
		probe__detach_go(b->births);
		free(b);
	}
}

void gofollow__calls_out(struct gofollow *g, uint32_t pid)
{
	struct gobin *b = g ? u64map__get(g->pids, pid) : NULL;
	char exe[64];

	if (!b || b->births_tried || b->state != GO_FOLLOWED)
		return;
	b->births_tried = true;
	if (!g->probe)
		return;
	snprintf(exe, sizeof(exe), "%s/%u/exe", g->proc_root, pid);
	b->births = probe__attach_go(g->probe, exe, &b->info, GO_PROBES_CREATION);
	if (b->births) {
		pr_info("go: pid %u calls out: following its goroutines' creation", pid);
		return;
	}
	if (errno == ENOENT) {
		b->births_tried = false; /* the process is gone already: the next one will do */
		return;
	}
	/* calls from goroutines other than the request's own then start new traces */
	g->stats.attach_failed++;
	pr_warn("go: pid %u: the kernel refused the goroutine creation uprobes: %s", pid,
		strerror(errno));
}

void gofollow__scan(struct gofollow *g)
{
	DIR *d = g ? opendir(g->proc_root) : NULL;
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (isdigit((unsigned char)e->d_name[0]))
			gofollow__exec(g, strtoul(e->d_name, NULL, 10));
	}
	closedir(d);
}

void gofollow__stats(const struct gofollow *g, struct gofollow_stats *out)
{
	*out = g ? g->stats : (struct gofollow_stats){0};
}
