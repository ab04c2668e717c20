/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* From a file descriptor to a TCP sock and what the agent needs of it, through CO-RE reads.
 * Kernel layout differences are handled here and nowhere else. */
#ifndef ZEROTRACE_SOCK_BPF_H
#define ZEROTRACE_SOCK_BPF_H

#include <bpf/bpf_core_read.h>
#include "events.h"

#define ZT_AF_INET     2
#define ZT_AF_INET6    10
#define ZT_SOCK_STREAM 1
#define ZT_IPPROTO_TCP 6
#define ZT_S_IFMT      00170000
#define ZT_S_IFSOCK    0140000

/* fd of the current task → its struct file, or NULL: cheap enough for every read/write on
 * the system, and enough to tell whether a connection seen before is still the one behind
 * this fd. */
static __always_inline struct file *fd_to_file(int fd)
{
	/* a BTF task pointer: its fields load directly (exception-table protected), no helper
	 * call per hop; only the variable-index slot needs bpf_probe_read_kernel */
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	struct file *file = NULL;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]))
		return NULL;
	return file;
}

/* file → struct sock, or NULL unless it is a TCP socket over IPv4/IPv6. Everything read from
 * the sock later is trusted only because of these checks. */
static __always_inline struct sock *file_to_tcp_sock(struct file *file)
{
	struct socket *sock;
	struct sock *sk;
	__u16 family, type, protocol;
	umode_t mode;

	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & ZT_S_IFMT) != ZT_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != ZT_AF_INET && family != ZT_AF_INET6)
		return NULL;
	/* bitfields before 5.6, plain u16 after: the probed read handles both */
	type = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);
	protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	if (type != ZT_SOCK_STREAM || protocol != ZT_IPPROTO_TCP)
		return NULL;
	return sk;
}

static __always_inline struct sock *fd_to_tcp_sock(int fd)
{
	struct file *file = fd_to_file(fd);

	return file ? file_to_tcp_sock(file) : NULL;
}

static __always_inline void sock_tuple(struct sock *sk, struct zt_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	/* t may be reused scratch memory: an IPv4 address fills only 4 of the 16 bytes */
	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == ZT_AF_INET) {
		/* the destination pointer's type sets how many bytes are read */
		BPF_CORE_READ_INTO((__be32 *)t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)t->daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)t->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)t->daddr, sk, __sk_common.skc_v6_daddr);
	}
}

/* Sequence number of the next byte this socket will send / hand to the application. */
static __always_inline __u32 sock_write_seq(struct sock *sk)
{
	return BPF_CORE_READ((struct tcp_sock *)sk, write_seq);
}

static __always_inline __u32 sock_copied_seq(struct sock *sk)
{
	return BPF_CORE_READ((struct tcp_sock *)sk, copied_seq);
}

#define ZT_RCV_SHUTDOWN 1

/* Sequence number of the first byte a read just returned (ret bytes), from copied_seq after
 * it. A read that also consumed the peer's FIN moved copied_seq one further (the FIN takes a
 * sequence number): that is when the receive side is shut down and nothing is left unread. */
static __always_inline __u32 read_start_seq(struct sock *sk, long ret)
{
	__u32 copied = sock_copied_seq(sk);

	if ((BPF_CORE_READ_BITFIELD_PROBED(sk, sk_shutdown) & ZT_RCV_SHUTDOWN) &&
	    BPF_CORE_READ((struct tcp_sock *)sk, rcv_nxt) == copied)
		copied--;
	return copied - (__u32)ret;
}

#endif /* ZEROTRACE_SOCK_BPF_H */
