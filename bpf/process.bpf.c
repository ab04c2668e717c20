// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process lifetime, for either capture path: the agent's process table follows exec (a new
 * program, a new service name) and exit (fds closed without close(), state to drop). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "capture.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

volatile __u64 go_pids[ZT_GO_PID_WORDS]; /* goroutine.bpf.h */

static __always_inline struct zt_proc_event *proc_event(__u16 type)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct zt_proc_event *ev;
	struct scratch *s;

	if (!pid_is_watched(pid_tgid >> 32))
		return NULL;
	s = scratch_get(); /* 168 bytes: kept off the stack */
	if (!s)
		return NULL;
	ev = (struct zt_proc_event *)&s->ev;
	fill_header(&ev->hdr, type, pid_tgid);
	ev->hdr.len = sizeof(*ev);
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->filename[0] = '\0';
	return ev;
}

SEC("tracepoint/sched/sched_process_exec")
int tp_sched_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct zt_proc_event *ev = proc_event(ZT_EV_PROC_EXEC);
	unsigned int off;

	if (!ev)
		return 0;
	off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), (void *)ctx + off);
	ringbuf_send(ev, sizeof(*ev), true);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int tp_sched_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct zt_proc_event *ev;

	/* threads exit too; only the last one ends the process */
	if ((__u32)pid_tgid != pid_tgid >> 32)
		return 0;
	ev = proc_event(ZT_EV_PROC_EXIT);
	if (ev)
		ringbuf_output(ev, sizeof(*ev));
	return 0;
}
