/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps and load-time configuration shared by every capture path. */
#ifndef ZEROTRACE_MAPS_BPF_H
#define ZEROTRACE_MAPS_BPF_H

#include "events.h"

/* Set by the agent before load (struct zerotrace_bpf::rodata). Everything here is __weak: each
 * entry-point object (tracepoint.bpf.c, kprobe.bpf.c, process.bpf.c) carries it and the
 * linker (bpftool gen object) keeps one. */
const volatile __u32 self_tgid __weak = 0;			/* the agent: never traced */
const volatile __u32 capture_bytes __weak = ZT_DEFAULT_CAPTURE; /* payload prefix per event */
const volatile __u64 wakeup_bytes __weak = 0; /* 0: wake the reader on every event */

/* Only pids in watched_pids: a writable global (.bss), so the agent can change the selection
 * on reload without reloading the programs. */
volatile bool filter_pids __weak;

/* Raised by the agent when it meets a connection whose addresses it does not have (it evicted
 * it, or the ring dropped its ZT_EV_CONN_INFO): every connection ships them again with its next
 * data event. */
volatile __u32 tuple_epoch __weak;

/* Connection state per (tgid, fd). Written by every socket hook, read by them too; the agent
 * deletes entries of processes that exit (their fds close without close()). LRU so a leak can
 * never fill it; capacity set by the agent. */
struct conn_key {
	__u32 tgid;
	__s32 fd;
};

/* Where the HTTP/2 frames of one direction are, by TCP sequence number: a retried partial
 * write or an event the ring dropped does not move them. */
struct h2_framing {
	__u32 next_seq; /* the next frame header starts here */
	__u32 ship_end; /* the current frame's shipped part ends here */
	__u8 part[8];	/* a frame header cut by the end of the last event: its first bytes */
	__u8 part_len;
	__u8 synced; /* next_seq is known */
	__u8 pad[6];
};

struct conn_state {
	__u64 gen;  /* bpf_ktime_get_ns() when first seen: unique per connection lifetime */
	__u64 file; /* struct file address: the fd still names this connection while it matches */
	__u64 sk;   /* struct sock address */
	struct zt_tuple tuple; /* read once: a connection's addresses do not change */
	__u8 role;	       /* enum zt_role */
	__u8 proto;	       /* enum zt_proto */
	__u8 tries;	       /* data events left to classify a connection joined mid-stream */
	__u8 pad;
	__u32 info_sent; /* tuple_epoch + 1 when the addresses were last shipped; 0: not yet */
	struct h2_framing h2[2]; /* by enum zt_direction */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn_state);
} conns SEC(".maps") __weak;

/* Local endpoints of the agent's own sockets (its exporter connections). A connection whose
 * remote end is one of these is the backend receiving our export: never traced. Written by the
 * agent's own writes, read when a connection is classified. */
struct endpoint {
	__u8 addr[16];
	__u16 port;
	__u16 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct endpoint);
	__type(value, __u8);
} self_endpoints SEC(".maps") __weak;

/* Processes to trace when filter_pids is set; written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} watched_pids SEC(".maps") __weak;

/* Events to the agent; size set by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps") __weak;

/* Drops by enum zt_drop_reason; written here, summed over CPUs by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZT_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps") __weak;

/* Per-CPU scratch for building a data event: too big for the 512-byte stack. Three times the
 * capture size so that an offset masked below it plus a length masked below twice it always
 * stays inside, whatever a verifier can prove about them. */
/* iovecs an HTTP/1 prefix is copied from; later ones are counted, not shipped */
#define ZT_MAX_IOV 8
/* iovecs an HTTP/2 frame walk reads: all a syscall can take (UIO_MAXIOV); gRPC stacks and
 * Node write a buffer per frame part, hundreds at once */
#define ZT_H2_MAX_IOV 1024
/* iovecs added up for a write's byte count (UIO_MAXIOV): a short count reads as lost bytes */
#define ZT_MAX_IOV_COUNTED 1024

struct iovec_user {
	__u64 base;
	__u64 len;
};

/* State of one HTTP/2 frame walk (http2.bpf.h), kept here so the bpf_loop callback finds it. */
struct h2_walk {
	__u64 buf;	/* user buffer, or iovec array when iovcnt */
	__u32 iovcnt;	/* 0: buf is a plain buffer */
	__u32 total;	/* bytes of the syscall */
	__s64 off;	/* offset of the next frame header; negative: it began earlier */
	__s64 ship_end; /* offset where the current frame's shipped part ends */
	__u32 out;	/* payload bytes written */
	__u32 limit;	/* payload budget */
	__u8 hdr[16];	/* the frame header being looked at */
	__u8 part[8];	/* carried in/out: a header cut by the event's end */
	__u32 part_len;
	__u32 base;    /* offset where the event being filled starts */
	__u32 full;    /* the next frame did not fit: this event goes, a new one starts */
	__u32 iov_cur; /* iovec the last read ended in */
	__u64 rd_off;  /* the read in progress (http2.bpf.h, zt_h2_copy) */
	__u32 rd_n, rd_to, rd_at, rd_done, rd_last, rd_pad;
};

/* The iovecs of the syscall being walked, with each one's offset: a map of its own, since with
 * the scratch buffer it would pass the 32 KiB a per-CPU value may have. Written and read by the
 * walk only. */
struct h2_iov_table {
	__u64 base[ZT_H2_MAX_IOV];
	__u64 start[ZT_H2_MAX_IOV]; /* offset of each iovec's first byte */
	__u64 len[ZT_H2_MAX_IOV];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_iov_table);
} h2_iovs SEC(".maps") __weak;

struct scratch {
	struct h2_walk walk;
	struct zt_data_event ev;
	__u8 payload[3 * ZT_MAX_CAPTURE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps") __weak;

static __always_inline void count_drop(__u32 reason)
{
	__u64 *cnt = bpf_map_lookup_elem(&drops, &reason);

	if (cnt)
		*cnt += 1;
}

static __always_inline bool pid_is_watched(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (!filter_pids)
		return true;
	return bpf_map_lookup_elem(&watched_pids, &tgid) != NULL;
}

/* Bytes this CPU put in the ring since it last woke the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unwoken_bytes SEC(".maps") __weak;

/* Ring-buffer output that batches wake-ups: the agent polls with a short timeout anyway, so
 * waking it for every event only burns CPU on both sides. Each CPU counts what it wrote since
 * its last wake-up (wakeup_bytes is the agent's budget per CPU): asking the ring how much is
 * unread instead reads the agent's consumer position, a cache line the other CPU owns, on
 * every event. now: wake the agent at once, for the rare event it must act on while it is
 * fresh — an exec, whose /proc/PID (environ: OTEL_SERVICE_NAME) a short-lived process takes
 * away within milliseconds, sooner than the agent's poll timeout. */
static __always_inline long ringbuf_send(void *data, __u64 size, bool now)
{
	__u64 flags = 0, *unwoken;
	__u32 zero = 0;

	if (wakeup_bytes || now) {
		unwoken = bpf_map_lookup_elem(&unwoken_bytes, &zero);
		if (unwoken && (now || (*unwoken += size) >= wakeup_bytes)) {
			*unwoken = 0;
			flags = BPF_RB_FORCE_WAKEUP;
		} else {
			flags = now ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
		}
	}
	if (bpf_ringbuf_output(&events, data, size, flags)) {
		count_drop(ZT_DROP_RINGBUF_FULL);
		return -1;
	}
	return 0;
}

static __always_inline long ringbuf_output(void *data, __u64 size)
{
	return ringbuf_send(data, size, false);
}

#endif /* ZEROTRACE_MAPS_BPF_H */
