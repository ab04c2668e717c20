// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tracepoint capture path: syscall tracepoints only, so it runs on kernels built without
 * kprobes. Each program pulls its arguments out of the tracepoint record and calls the shared
 * body in capture.bpf.h; kprobe.bpf.c has the twins.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "capture.bpf.h"

#define ARG(ctx, n) ((ctx)->args[n])

SEC("tracepoint/syscalls/sys_enter_write")
int tp_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	handle_write(ARG(ctx, 0), ARG(ctx, 1), 0, ARG(ctx, 2));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_writev")
int tp_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	handle_writev(ARG(ctx, 0), ARG(ctx, 1), ARG(ctx, 2));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int tp_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	handle_write(ARG(ctx, 0), ARG(ctx, 1), 0, ARG(ctx, 2));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tp_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	handle_sendmsg(ARG(ctx, 0), ARG(ctx, 1));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int tp_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_PLAIN);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_readv")
int tp_exit_readv(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_IOV);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_FROM);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_MSG);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendfile64")
int tp_exit_sendfile(struct trace_event_raw_sys_exit *ctx)
{
	handle_sendfile_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	handle_connect_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	handle_accept_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	handle_accept_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	handle_close(ARG(ctx, 0));
	return 0;
}
