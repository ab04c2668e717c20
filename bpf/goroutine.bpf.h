/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which goroutine is running, for processes the agent follows as Go (user/capture/gofollow.c): the
 * Go runtime keeps the running g in thread-local storage, 8 bytes below the thread pointer on
 * linux/amd64 (runtime.tlsg in the executable's TLS block, which the agent checked holds
 * nothing else). The thread pointer is the task's fsbase: Go and libc both set it through the
 * kernel (arch_prctl, clone's CLONE_SETTLS), so the kernel's copy is current.
 */
#ifndef ZEROTRACE_GOROUTINE_BPF_H
#define ZEROTRACE_GOROUTINE_BPF_H

#include "maps.bpf.h"

/* One bit per pid (ZT_GO_PID_MAX, events.h) in 512 KiB of .bss, tested without a helper call,
 * so a process that is not Go pays one load per event. */
#define ZT_GO_PID_WORDS (ZT_GO_PID_MAX / 64)
_Static_assert((ZT_GO_PID_WORDS & (ZT_GO_PID_WORDS - 1)) == 0, "go_pids index mask");

/* Pids followed as Go; written by the agent (set on exec or at start-up once the binary's
 * uprobes are attached, cleared on exit), read by every event's header. Defined once, in
 * process.bpf.c: a __weak array would be laid out once per object that includes this. */
extern volatile __u64 go_pids[ZT_GO_PID_WORDS];

static __always_inline __u64 current_goroutine(__u32 tgid)
{
#ifdef __TARGET_ARCH_x86
	struct task_struct *task;
	__u32 word = tgid / 64;
	__u64 g = 0;

	if (tgid >= ZT_GO_PID_MAX)
		return 0;
	/* a no-op after the test above, which the verifier does not carry over to the index */
	barrier_var(word);
	word &= ZT_GO_PID_WORDS - 1;
	if (!(go_pids[word] & (1ull << (tgid % 64))))
		return 0;
	task = bpf_get_current_task_btf();
	if (bpf_probe_read_user(&g, sizeof(g), (void *)(task->thread.fsbase - 8)))
		return 0;
	return g;
#else
	return 0; /* the agent follows no Go process elsewhere */
#endif
}

#endif /* ZEROTRACE_GOROUTINE_BPF_H */
