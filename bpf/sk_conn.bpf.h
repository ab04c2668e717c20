/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Connection state of the socket-tracepoint path (socktrace.bpf.c), stored in the struct sock
 * itself: its hooks are handed the sock, so the fd → file → sock walk of the syscall paths is
 * needed once per connection and owner, not once per event, and no hash lookup at all.
 */
#ifndef ZEROTRACE_SK_CONN_BPF_H
#define ZEROTRACE_SK_CONN_BPF_H

#include "capture.bpf.h"

/* The syscall being served, from its number in the user registers: its arguments say where
 * the bytes are in user memory. Only x86-64 is built (vmlinux/x86). */
#if defined(__TARGET_ARCH_x86)
#define ZT_NR_READ	 0
#define ZT_NR_WRITE	 1
#define ZT_NR_READV	 19
#define ZT_NR_WRITEV	 20
#define ZT_NR_SENDFILE	 40
#define ZT_NR_CONNECT	 42
#define ZT_NR_SENDTO	 44
#define ZT_NR_RECVFROM	 45
#define ZT_NR_SENDMSG	 46
#define ZT_NR_RECVMSG	 47
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#else
#error "socktrace: syscall numbers are only defined for x86-64"
#endif

#define ZT_TCP_ESTABLISHED 1
#define ZT_TCP_SYN_SENT	   2
#define ZT_TCP_SYN_RECV	   3

/* cs.file stays 0: the sock holds it, no fd is looked up per event */
struct sk_conn {
	struct conn_state cs;
	__u32 tgid;	/* owner: the process using it through fd; 0 until seen in a syscall */
	__s32 fd;	/* -1 until then */
	__u32 send_end; /* write_seq after the last write shipped */
	__u8 send_end_set;
	__u8 pad[3];
};

/* Kept in the sock itself: found from the pointer each hook is handed without hashing it, freed
 * with the sock, and as many as there are socks, no table to fill up. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_conn);
} sk_conns SEC(".maps") __weak;

/* Where a read or write syscall keeps its bytes. */
struct syscall_buf {
	int fd;
	__u64 buf; /* buffer, or iovec array when iovcnt */
	__u32 iovcnt;
	bool payload; /* false: the bytes are not in user memory (sendfile) or not known */
};

/* The socket syscalls whose first argument is the fd; false for any other (io_uring, a kernel
 * socket used from a worker thread): nothing in the registers then describes the sock. */
static __always_inline bool syscall_buf_of(struct pt_regs *regs, struct syscall_buf *b)
{
	long nr = SYSCALL_NR(regs);

	b->fd = PT_REGS_PARM1_SYSCALL(regs);
	b->buf = PT_REGS_PARM2_SYSCALL(regs);
	b->iovcnt = 0;
	b->payload = true;
	switch (nr) {
	case ZT_NR_READ:
	case ZT_NR_WRITE:
	case ZT_NR_RECVFROM:
	case ZT_NR_SENDTO: return true;
	case ZT_NR_READV:
	case ZT_NR_WRITEV: b->iovcnt = PT_REGS_PARM3_SYSCALL(regs) ?: 1; return true;
	case ZT_NR_RECVMSG:
	case ZT_NR_SENDMSG:
		if (!msghdr_iov(b->buf, &b->buf, &b->iovcnt))
			b->payload = false;
		return true;
	case ZT_NR_SENDFILE:
	case ZT_NR_CONNECT: b->payload = false; return true;
	}
	return false;
}

/* The state of sk as used by the current process, if it was seen in its hands before: one
 * lookup, the common case. */
static __always_inline struct sk_conn *sk_conn_lookup(struct sock *sk, __u32 tgid)
{
	struct sk_conn *sc = bpf_sk_storage_get(&sk_conns, sk, NULL, 0);

	return sc && sc->tgid == tgid ? sc : NULL;
}

/*
 * A sock seen for the first time, by connect(), accept()'s handshake, or a process already
 * using it. A connection seen from its start shows its first message in its first bytes, so
 * one event classifies it; one joined mid-stream gets a few (conn_state_init). keep: what is
 * there stays (a TCP Fast Open child, read before it was established).
 */
static __always_inline struct sk_conn *sk_conn_new(struct sock *sk, __u8 role, __u32 tgid, int fd,
						   bool keep)
{
	struct sk_conn *sc = bpf_sk_storage_get(&sk_conns, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);

	/* the sock's option memory (net.core.optmem_max) is full, or no memory at all */
	if (!sc) {
		count_drop(ZT_DROP_CONN_MAP_FULL);
		return NULL;
	}
	if (keep && sc->cs.gen)
		return sc;
	__builtin_memset(sc, 0, sizeof(*sc));
	conn_state_init(&sc->cs, sk, role);
	sc->tgid = tgid;
	sc->fd = fd;
	return sc;
}

/*
 * Otherwise the fd the syscall's registers name must be this very sock (one reached from a
 * kernel thread, or through io_uring, has none and is left alone): the current process owns it
 * from now on — a new connection to the agent unless it was unowned (accepted, not used yet),
 * with the role and classification it had.
 */
static __always_inline struct sk_conn *sk_conn_adopt(struct sock *sk, __u32 tgid, int fd)
{
	struct sk_conn *sc = bpf_sk_storage_get(&sk_conns, sk, NULL, 0);
	struct file *file = fd_to_file(fd);

	if (!file || file_to_tcp_sock(file) != sk)
		return NULL;
	if (!sc)
		return sk_conn_new(sk, ZT_ROLE_UNKNOWN, tgid, fd, false);
	if (sc->tgid) {
		sc->cs.gen = bpf_ktime_get_ns();
		sc->cs.info_sent = 0; /* a new connection to the agent */
	}
	sc->tgid = tgid;
	sc->fd = fd;
	return sc;
}

#endif /* ZEROTRACE_SK_CONN_BPF_H */
