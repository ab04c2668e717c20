/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Go processes, found and followed: at start-up (gofollow__scan) and on every exec, the
 * executable behind /proc/PID/exe (so a container's binary too) is inspected once per inode
 * (goelf.h); a Go one gets its net/http uprobes once, shared by every process running it, and
 * its processes' events carry their goroutine. The goroutine creation uprobes, which fire for
 * every goroutine (net/http's server makes one per request) and so cost the most, go on only
 * once a process of the binary calls out: a service that calls nothing needs no goroutine
 * tree. The uprobes go when the binary's last process has been gone for a while (a build runs
 * the same Go tool over and over).
 */
#ifndef ZT_GOFOLLOW_H
#define ZT_GOFOLLOW_H

#include <stdbool.h>
#include <stdint.h>

struct probe;

enum go_state {
	GO_NONE = 0,   /* not Go (or not known): thread context */
	GO_FOLLOWED,   /* goroutine context */
	GO_UNFOLLOWED, /* Go the agent cannot follow: no in-process links at all */
};

struct gofollow_stats {
	uint64_t binaries_followed;   /* Go executables with uprobes now */
	uint64_t binaries_unfollowed; /* Go executables that cannot be followed (logged once) */
	uint64_t attach_failed;	      /* of those: the kernel refused the uprobes */
	uint64_t pids_followed;	      /* processes followed now */
	uint64_t pids_unfollowed;     /* Go processes not followed now */
};

struct gofollow;

/* follow false: Go processes are found but not followed (GO_UNFOLLOWED, no uprobes); probe
 * NULL: inspect and classify only (tests). */
struct gofollow *gofollow__new(struct probe *probe, const char *proc_root, bool follow);
void gofollow__free(struct gofollow *g);
/* Every process now running. */
void gofollow__scan(struct gofollow *g);
void gofollow__exec(struct gofollow *g, uint32_t pid);
void gofollow__exit(struct gofollow *g, uint32_t pid);
enum go_state gofollow__state(const struct gofollow *g, uint32_t pid);
/* pid, followed, made an outgoing connection's request: follow its goroutines' creation. */
void gofollow__calls_out(struct gofollow *g, uint32_t pid);
/* Detach binaries whose processes are all gone; called about once a second. */
void gofollow__tick(struct gofollow *g, uint64_t now_ns);
void gofollow__stats(const struct gofollow *g, struct gofollow_stats *out);

#endif
