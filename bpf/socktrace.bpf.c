// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket-tracepoint capture path (Linux 6.16+: sock_recv_length and tcp_sendmsg_locked): BTF
 * tracepoints inside the socket layer instead of syscall tracepoints. Attaching any syscall
 * tracepoint sends every syscall of every process through the kernel's slow syscall path;
 * these fire only for socket I/O and are handed the sock. make bench measures empty programs
 * on each set: nginx loses 6-12% of its throughput with the syscall ones, 2% with these.
 *
 * What a syscall path learns from the syscall's arguments comes here from the user registers
 * the syscall saved, or a send's iterator: the fd and where the bytes are.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "sk_conn.bpf.h"

static __always_inline bool sk_is_tcp(struct sock *sk)
{
	return sk->sk_protocol == ZT_IPPROTO_TCP && sk->sk_type == ZT_SOCK_STREAM;
}

/* read_start_seq's twin on a typed pointer: plain loads instead of a probed read per field */
static __always_inline __u32 tcp_read_start_seq(struct tcp_sock *tp, long ret)
{
	__u32 copied = tp->copied_seq;

	if ((tp->inet_conn.icsk_inet.sk.sk_shutdown & ZT_RCV_SHUTDOWN) && tp->rcv_nxt == copied)
		copied--;
	return copied - (__u32)ret;
}

/* After the protocol's recvmsg, for every socket: the bytes are in the buffer and copied_seq
 * has moved past them. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(sk_recv, struct sock *sk, int ret, int flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct syscall_buf b;
	struct tcp_sock *tp;
	struct sk_conn *sc;
	struct scratch *s;

	/* EAGAIN and friends are not data; a peek leaves the bytes to be read again */
	if (ret <= 0 || (flags & ZT_MSG_PEEK) || !sk_is_tcp(sk) || !pid_is_watched(tgid))
		return 0;
	/* where the bytes went: reads the syscall paths do not see either (recvmmsg, io_uring)
	 * are left out, a seq gap to the agent */
	if (!syscall_buf_of(syscall_regs(), &b) || !b.payload)
		return 0;
	sc = sk_conn_lookup(sk, tgid) ?: sk_conn_adopt(sk, tgid, b.fd);
	if (!sc || sc->cs.proto == ZT_PROTO_OTHER)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	s = scratch_get();
	if (!tp || !s)
		return 0;
	emit_data(s, &sc->cs, pid_tgid, sc->fd, ZT_DIR_READ, tcp_read_start_seq(tp, ret), ret,
		  b.buf, b.iovcnt, true);
	return 0;
}

/* Where a send's bytes are. A single buffer (write, send, a one-vector writev) is in the
 * iterator itself; a vector's array was copied into the kernel, so the user's is taken from
 * the registers; pages (sendfile) and kernel buffers have no user bytes. */
static __always_inline void send_buf(struct msghdr *msg, struct syscall_buf *b)
{
	__u8 type = msg->msg_iter.iter_type;

	b->iovcnt = 0;
	b->payload = true;
	if (type == bpf_core_enum_value(enum iter_type, ITER_UBUF)) {
		b->buf = (__u64)msg->msg_iter.ubuf + msg->msg_iter.iov_offset;
		return;
	}
	if (type == bpf_core_enum_value(enum iter_type, ITER_IOVEC) &&
	    syscall_buf_of(syscall_regs(), b) && b->iovcnt)
		return;
	b->payload = false;
}

/*
 * Once per piece of a send that goes into the queue, before it is copied: the first time for a
 * syscall, nothing of it has left yet, so the peer cannot have read it. A send longer than one
 * piece comes back here with write_seq moved on and as much less left: its end is the end
 * already shipped, and so is that of a retried partial write. sendfile comes here too (its
 * pages spliced into the queue), without user bytes.
 */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(sk_send, struct sock *sk, struct msghdr *msg, struct sk_buff *skb, int size_goal)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u32 seq, end, left;
	struct syscall_buf b;
	struct tcp_sock *tp;
	struct sk_conn *sc;
	struct scratch *s;

	if (tgid == self_tgid && tgid) {
		note_self_sock(sk);
		return 0;
	}
	if (!pid_is_watched(tgid))
		return 0;
	sc = sk_conn_lookup(sk, tgid);
	if (!sc && syscall_buf_of(syscall_regs(), &b))
		sc = sk_conn_adopt(sk, tgid, b.fd);
	tp = bpf_skc_to_tcp_sock(sk);
	if (!sc || sc->cs.proto == ZT_PROTO_OTHER || !tp)
		return 0;
	left = msg->msg_iter.count;
	seq = tp->write_seq;
	end = seq + left;
	if (sc->send_end_set && (__s32)(end - sc->send_end) <= 0)
		return 0;
	sc->send_end = end;
	sc->send_end_set = 1;
	send_buf(msg, &b);
	/* without the bytes an unclassified connection cannot be told, nor frames walked */
	if (!b.payload && sc->cs.proto != ZT_PROTO_HTTP1)
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	emit_data(s, &sc->cs, pid_tgid, sc->fd, ZT_DIR_WRITE, seq, left, b.buf, b.iovcnt,
		  b.payload);
	return 0;
}

/*
 * connect() moves the sock to SYN_SENT in the caller's context, before its local port is
 * chosen: the agent learns there who connected (an event loop may write the first request
 * while handling another message), the addresses are read again once established. An
 * accepted connection becomes established in softirq: no owner yet, but its role is known.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sk_state, struct sock *sk, int oldstate, int newstate)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct syscall_buf b;
	struct pt_regs *regs;
	struct sk_conn *sc;

	if (sk->sk_protocol != ZT_IPPROTO_TCP)
		return 0;
	if (newstate == ZT_TCP_ESTABLISHED && oldstate == ZT_TCP_SYN_RECV) {
		sk_conn_new(sk, ZT_ROLE_SERVER, 0, -1, true);
		return 0;
	}
	if (newstate == ZT_TCP_ESTABLISHED && oldstate == ZT_TCP_SYN_SENT) {
		sc = bpf_sk_storage_get(&sk_conns, sk, NULL, 0);
		if (sc) {
			sock_tuple(sk, &sc->cs.tuple);
			sc->cs.info_sent = 0; /* data in the SYN (Fast Open) had no local port */
		}
		return 0;
	}
	if (newstate != ZT_TCP_SYN_SENT || !pid_is_watched(pid_tgid >> 32))
		return 0;
	regs = syscall_regs();
	if (SYSCALL_NR(regs) != ZT_NR_CONNECT || !syscall_buf_of(regs, &b))
		return 0;
	sc = sk_conn_new(sk, ZT_ROLE_CLIENT, pid_tgid >> 32, b.fd, false);
	if (sc)
		emit_conn_event(ZT_EV_CONN_OPEN, pid_tgid, b.fd, &sc->cs);
	return 0;
}

/* The sock's end, in whatever context frees it: the connection's close for the agent. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(sk_destroy, struct sock *sk)
{
	struct sk_conn *sc = bpf_sk_storage_get(&sk_conns, sk, NULL, 0);

	if (!sc)
		return 0;
	if (sc->tgid && proto_traced(sc->cs.proto))
		emit_conn_event(ZT_EV_CONN_CLOSE, (__u64)sc->tgid << 32, sc->fd, &sc->cs);
	bpf_sk_storage_delete(&sk_conns, sk);
	return 0;
}
