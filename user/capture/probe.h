/* SPDX-License-Identifier: BSD-2-Clause */
/* BPF skeleton lifecycle: check the host, open, configure, load, attach, read the ring. */
#ifndef ZT_PROBE_H
#define ZT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "events.h"

enum hooks_mode { HOOKS_AUTO, HOOKS_SOCKET, HOOKS_TRACEPOINT, HOOKS_KPROBE };

struct features {
	bool btf;		 /* /sys/kernel/btf/vmlinux */
	bool tracefs;		 /* tracing events reachable (mounted, or mounted by us) */
	bool socket_tracepoints; /* sock_recv_length, tcp_sendmsg_locked, ... (6.16+) */
	bool syscall_tracepoints;
	bool kprobes;
	bool ringbuf;
};

struct probe_opts {
	uint32_t capture_bytes;
	uint32_t max_conns;
	uint32_t ringbuf_bytes;
	const uint32_t *pids;
	int npids;
	enum hooks_mode hooks;
	const char *btf_path; /* NULL: the kernel's own */
};

typedef int (*event_fn)(void *ctx, void *data, size_t len);

struct probe;

/* Privileges, BTF, tracefs (mounted when missing), lockdown: 0, or -errno after logging one
 * sentence that says what is wrong and what to do. */
int probe__check_host(struct features *f, const char *btf_path);
struct probe *probe__new(const struct probe_opts *opts, const struct features *f, event_fn fn,
			 void *ctx);
/* Handle what the ring holds, waiting up to timeout_ms for more. >= 0 records, or -errno. */
int probe__poll(struct probe *p, int timeout_ms);
void probe__drops(struct probe *p, uint64_t out[ZT_DROP_MAX]);
void probe__forget_conn(void *probe, uint32_t pid, int32_t fd);
/* Every connection ships its addresses again with its next data event. */
void probe__resend_addrs(void *probe);
/* Trace only these pids (n > 0) or every process (n == 0); takes effect at once. */
void probe__set_pids(struct probe *p, const uint32_t *pids, int n);
/* Per loaded program: run time and runs, counted while kernel.bpf_stats_enabled=1. */
typedef void (*prog_stats_fn)(void *ctx, const char *name, uint64_t run_time_ns, uint64_t run_cnt);
void probe__prog_stats(struct probe *p, prog_stats_fn fn, void *ctx);
const char *probe__path(const struct probe *p);

/* Go uprobes on one executable (every process that maps it): NULL and errno on failure.
 * GO_PROBES_CALLS: who makes and who writes each net/http request and each grpc-go call's
 * HEADERS (nothing for a binary with neither client); GO_PROBES_CREATION: who creates each
 * goroutine. */
struct go_binary;
struct go_links;
enum go_probes { GO_PROBES_CALLS, GO_PROBES_CREATION };
struct go_links *probe__attach_go(struct probe *p, const char *path, const struct go_binary *b,
				  enum go_probes which);
void probe__detach_go(struct go_links *l);
/* Events of pid carry its running goroutine (bpf/goroutine.bpf.h), or stop doing so. */
void probe__follow_go_pid(struct probe *p, uint32_t pid, bool on);
void probe__free(struct probe *p);

extern const char *const drop_reason_names[ZT_DROP_MAX];

#endif
