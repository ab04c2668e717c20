// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go runtime uprobes, attached by the agent per Go executable (user/capture/gofollow.c) at offsets
 * it read from the binary's pclntab: who created each goroutine, and which goroutine a request that
 * net/http's writer goroutine writes was made by. The agent keys its context by goroutine from
 * these and from each event's g (goroutine.bpf.h).
 *
 * Never a uretprobe on Go code: the runtime moves goroutine stacks, and a return address the
 * kernel patched would be copied to a stack that no longer matches (DESIGN §7). newproc1's
 * result is read by a probe on each of its RET instructions instead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "capture.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* runtime.newproc1(fn, callergp, ...) *g runs on the system stack of the creating thread:
 * its caller goroutine, kept from entry to return per thread. Written and read by the two
 * probes below. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* callergp */
} go_newproc_callers SEC(".maps");

static __always_inline void emit_go_stream(__u16 type, __u64 pid_tgid, __u64 subject, __u64 object,
					   __u32 stream)
{
	struct zt_go_event ev = {};

	fill_header(&ev.hdr, type, pid_tgid);
	ev.hdr.len = sizeof(ev);
	ev.hdr.g = 0; /* the runtime's own g0 here: subject says whom it is about */
	ev.subject = subject;
	ev.object = object;
	ev.stream = stream;
	ringbuf_output(&ev, sizeof(ev));
}

static __always_inline void emit_go(__u16 type, __u64 pid_tgid, __u64 subject, __u64 object)
{
	emit_go_stream(type, pid_tgid, subject, object, 0);
}

/* Register ABI (Go 1.17+, checked by the agent): arguments in RAX, RBX, RCX, ...; results in
 * RAX; the running g in R14. */
SEC("uprobe")
int go_newproc1(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), caller = ctx->bx;

	if (!pid_is_watched(pid_tgid >> 32))
		return 0;
	bpf_map_update_elem(&go_newproc_callers, &pid_tgid, &caller, BPF_ANY);
	return 0;
}

SEC("uprobe")
int go_newproc1_ret(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), *caller;

	caller = bpf_map_lookup_elem(&go_newproc_callers, &pid_tgid);
	if (!caller)
		return 0;
	emit_go(ZT_EV_GO_NEWG, pid_tgid, *caller, ctx->ax);
	bpf_map_delete_elem(&go_newproc_callers, &pid_tgid);
	return 0;
}

/* net/http.(*persistConn).roundTrip(pc, req *transportRequest): on the calling goroutine, which
 * then waits while the connection's writeLoop goroutine writes the request. The *Request is
 * transportRequest's first field (an embedded pointer, Go 1.18 to 1.27). */
SEC("uprobe")
int go_http_roundtrip(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), req = 0;

	if (!pid_is_watched(pid_tgid >> 32) ||
	    bpf_probe_read_user(&req, sizeof(req), (void *)ctx->bx))
		return 0;
	emit_go(ZT_EV_GO_HTTP_RT, pid_tgid, ctx->r14, req);
	return 0;
}

/* net/http.(*Request).write(r, w, ...): on the goroutine that writes the request's bytes, the
 * connection's writeLoop for the Transport's requests */
SEC("uprobe")
int go_http_request_write(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (pid_is_watched(pid_tgid >> 32))
		emit_go(ZT_EV_GO_HTTP_WRITE, pid_tgid, ctx->r14, ctx->ax);
	return 0;
}

/* Where grpc-go's server stream keeps its HTTP/2 stream id, set per executable from its grpc-go
 * version as the attach cookie: the id's offset in the low 32 bits, and bit 32 when the argument
 * points to a struct whose first field points to the one holding it (user/capture/probe.c; bit 33
 * only marks a known layout there). */
#define ZT_GRPC_ID_BEHIND_POINTER (1ull << 32)

/* google.golang.org/grpc.(*Server).handleStream(s, t ServerTransport, stream): on the goroutine
 * that handles the stream, created by the connection's reader goroutine; the interface t takes
 * two registers, so stream is the fourth (RDI). */
SEC("uprobe")
int go_grpc_handle_stream(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), stream = ctx->di;
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 id = 0;

	if (!pid_is_watched(pid_tgid >> 32))
		return 0;
	if ((cookie & ZT_GRPC_ID_BEHIND_POINTER) &&
	    bpf_probe_read_user(&stream, sizeof(stream), (void *)stream))
		return 0;
	if (bpf_probe_read_user(&id, sizeof(id), (void *)(stream + (__u32)cookie)) || !id)
		return 0;
	emit_go(ZT_EV_GO_H2_HANDLER, pid_tgid, ctx->r14, id);
	return 0;
}

/*
 * grpc-go's client writes every call's HEADERS from the connection's loopy writer goroutine.
 * The call's header list is the one thing both ends hold: made on the calling goroutine by
 * (*http2Client).createHeaderFields, it is handed over unchanged (headerFrame.hf) to the
 * loopy goroutine, which gives the stream its id and writes it. Field order from grpc-go's
 * sources, v1.53 to v1.85: the frame starts with `streamID uint32`, then `hf` (a slice: its
 * pointer at byte 8).
 */

/* A RET of createHeaderFields(t, ctx, callHdr) ([]hpack.HeaderField, error): the slice's
 * pointer is the first result; nil with an error */
SEC("uprobe")
int go_grpc_client_headers_ret(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (pid_is_watched(pid_tgid >> 32) && ctx->ax)
		emit_go(ZT_EV_GO_H2_CALL, pid_tgid, ctx->r14, ctx->ax);
	return 0;
}

/* The loopy goroutine opens a client stream: (*loopyWriter).originateStream(l, str, hdr) up to
 * v1.82 (the frame in RCX), (*loopyWriter).clientHeaderHandler(l, hdr) from v1.83 (in RBX,
 * cookie 1). */
SEC("uprobe")
int go_grpc_client_stream(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid(), hf = 0;
	/* both read before choosing: the verifier refuses a context pointer moved by a variable */
	__u64 rbx = ctx->bx, rcx = ctx->cx;
	__u64 frame = bpf_get_attach_cookie(ctx) ? rbx : rcx;
	__u32 id = 0;

	if (!pid_is_watched(pid_tgid >> 32) ||
	    bpf_probe_read_user(&id, sizeof(id), (void *)frame) ||
	    bpf_probe_read_user(&hf, sizeof(hf), (void *)(frame + 8)) || !id || !hf)
		return 0;
	emit_go_stream(ZT_EV_GO_H2_WRITE, pid_tgid, ctx->r14, hf, id);
	return 0;
}
