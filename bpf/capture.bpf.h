/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The bodies of every socket hook, shared by the tracepoint and kprobe entry points (the
 * libbpf-tools twin pattern): an entry point only pulls its arguments out of its context.
 */
#ifndef ZEROTRACE_CAPTURE_BPF_H
#define ZEROTRACE_CAPTURE_BPF_H

#include "conn.bpf.h"
#include "http2.bpf.h"
#include "goroutine.bpf.h"

#define ZT_EINPROGRESS 115

/* Copy up to `want` bytes from a user buffer or iovec array into the event. */
static __always_inline __u32 copy_payload(struct scratch *s, __u64 buf, __u32 iovcnt, __u64 want)
{
	__u64 limit = capture_bytes;
	__u64 off = 0;

	if (limit > ZT_MAX_CAPTURE)
		limit = ZT_MAX_CAPTURE;
	if (want < limit)
		limit = want;
	/* a no-op (limit <= ZT_MAX_CAPTURE) for 6.1's verifier, which loses the bound when the
	 * compiler spills `want` (a sum from a bpf_loop) before comparing it */
	barrier_var(limit);
	limit &= 2 * ZT_MAX_CAPTURE - 1;
	if (!iovcnt) {
		if (bpf_probe_read_user(s->payload, limit, (void *)buf)) {
			count_drop(ZT_DROP_PAYLOAD_READ_FAILED);
			return 0;
		}
		return limit;
	}
	for (__u32 i = 0; i < ZT_MAX_IOV; i++) {
		struct iovec_user iov;
		__u64 n;

		if (i >= iovcnt || off >= limit)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(buf + i * sizeof(iov))))
			break;
		n = iov.len > limit - off ? limit - off : iov.len;
		/* a no-op (n <= limit - off <= ZT_MAX_CAPTURE) that bounds n for every verifier,
		 * including 6.1's, which loses off < limit across the loop */
		n &= 2 * ZT_MAX_CAPTURE - 1;
		barrier_var(n);
		if (bpf_probe_read_user(&s->payload[off & ZT_CAPTURE_MASK], n, (void *)iov.base)) {
			count_drop(ZT_DROP_PAYLOAD_READ_FAILED);
			break;
		}
		off += n;
	}
	return off;
}

static __always_inline struct scratch *scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void fill_header(struct zt_event_header *h, __u16 type, __u64 pid_tgid)
{
	h->type = type;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->pad = 0;
	h->ts = bpf_ktime_get_ns();
	h->g = current_goroutine(h->pid);
}

/* Ship a connection's open, close or addresses. pid_tgid: whom the header names (a close seen
 * outside the owner's context has no thread). */
static __always_inline long emit_conn_event(__u16 type, __u64 pid_tgid, int fd,
					    const struct conn_state *cs)
{
	struct zt_conn_event ev = {};

	fill_header(&ev.hdr, type, pid_tgid);
	ev.hdr.len = sizeof(ev);
	ev.conn.pid = pid_tgid >> 32;
	ev.conn.fd = fd;
	ev.conn.gen = cs->gen;
	ev.role = cs->role;
	ev.tuple = cs->tuple;
	return ringbuf_output(&ev, sizeof(ev));
}

/* The addresses go ahead of a connection's first data event, in the same ring from the same
 * CPU, so the agent has them first; again after the agent asked (tuple_epoch). Marked sent
 * only once in the ring: a dropped one is retried with the next event. */
static __always_inline void ship_conn_info(struct conn_state *cs, __u64 pid_tgid, int fd)
{
	__u32 want = tuple_epoch + 1;

	if (cs->info_sent == want)
		return;
	if (!emit_conn_event(ZT_EV_CONN_INFO, pid_tgid, fd, cs))
		cs->info_sent = want;
}

/* Build and, if the connection is of interest, ship one data event. */
static __always_inline void emit_data(struct scratch *s, struct conn_state *cs, __u64 pid_tgid,
				      int fd, __u8 dir, __u64 seq, __u64 bytes, __u64 buf,
				      __u32 iovcnt, bool with_payload)
{
	struct zt_data_event *ev = &s->ev;
	__u64 size;

	fill_header(&ev->hdr, ZT_EV_DATA, pid_tgid);
	ev->conn.pid = pid_tgid >> 32;
	ev->conn.fd = fd;
	ev->conn.gen = cs->gen;
	ev->seq = seq;
	ev->bytes = bytes > 0xffffffffULL ? 0xffffffff : bytes;
	ev->dir = dir;
	ev->role = cs->role;
	ev->flags = with_payload ? 0 : ZT_DATA_F_NO_PAYLOAD;
	if (cs->proto != ZT_PROTO_HTTP2) {
		ev->captured = with_payload ? copy_payload(s, buf, iovcnt, bytes) : 0;
		if (!classify(cs, s->payload, ev->captured, dir))
			return;
	}
	ev->proto = cs->proto;
	ship_conn_info(cs, pid_tgid, fd);
	if (cs->proto == ZT_PROTO_HTTP2) {
		/* frames, not a prefix: the walk starts over on the classifying event too */
		ev->flags = ZT_DATA_F_SEGMENTS;
		if (with_payload)
			h2_walk(s, &cs->h2[dir & 1], seq, bytes, buf, iovcnt);
		return;
	}
	if (ev->captured < bytes && with_payload)
		count_drop(ZT_DROP_PAYLOAD_TRUNCATED);
	size = sizeof(*ev) + (ev->captured & (2 * ZT_MAX_CAPTURE - 1));
	if (size > sizeof(*s))
		return;
	ev->hdr.len = size;
	ringbuf_output(ev, size);
}

/* The agent's own sockets: remember their local end so the backend side is never traced. */
static __always_inline void note_self_sock(struct sock *sk)
{
	struct zt_tuple t = {};
	struct endpoint ep = {};
	__u8 one = 1;

	sock_tuple(sk, &t);
	__builtin_memcpy(ep.addr, t.saddr, sizeof(ep.addr));
	ep.port = t.sport;
	ep.family = t.family;
	bpf_map_update_elem(&self_endpoints, &ep, &one, BPF_ANY);
}

static __always_inline void note_self_endpoint(int fd)
{
	struct sock *sk = fd_to_tcp_sock(fd);

	if (sk)
		note_self_sock(sk);
}

/* write, writev, sendto, sendmsg: shipped at entry, while the bytes exist and before the peer
 * can possibly read them. */
static __always_inline void handle_write(int fd, __u64 buf, __u32 iovcnt, __u64 count);

struct iov_sum {
	__u64 iov;
	__u64 total;
	__u32 iovcnt;
	bool fault;
};

static long iov_sum_cb(__u32 i, struct iov_sum *sum)
{
	struct iovec_user v;

	if (i >= sum->iovcnt)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(sum->iov + i * sizeof(v)))) {
		sum->fault = true;
		return 1;
	}
	sum->total += v.len;
	return 0;
}

/* The byte count of a writev is the sum of its iovecs, all of them: a short count would look
 * like lost bytes at the next write. */
static __always_inline __u64 iov_total(__u64 iov, __u32 iovcnt)
{
	struct iov_sum sum = {.iov = iov, .iovcnt = iovcnt};
	struct iovec_user v[2];

	/* the common writev, a header and maybe a body, in one read instead of a bpf_loop */
	if (iovcnt == 1)
		return bpf_probe_read_user(v, sizeof(v[0]), (void *)iov) ? 0 : v[0].len;
	if (iovcnt == 2)
		return bpf_probe_read_user(v, sizeof(v), (void *)iov) ? 0 : v[0].len + v[1].len;

	bpf_loop(iovcnt < ZT_MAX_IOV_COUNTED ? iovcnt : ZT_MAX_IOV_COUNTED, iov_sum_cb, &sum, 0);
	return sum.fault ? 0 : sum.total;
}

static __always_inline void handle_writev(int fd, __u64 iov, __u32 iovcnt)
{
	handle_write(fd, iov, iovcnt ?: 1, iov_total(iov, iovcnt));
}

static __always_inline bool msghdr_iov(__u64 msg, __u64 *iov, __u32 *iovcnt);

static __always_inline void handle_sendmsg(int fd, __u64 msg)
{
	__u64 iov;
	__u32 iovcnt;

	if (msghdr_iov(msg, &iov, &iovcnt))
		handle_write(fd, iov, iovcnt, iov_total(iov, iovcnt));
}

static __always_inline void handle_write(int fd, __u64 buf, __u32 iovcnt, __u64 count)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct conn_state *cs;
	struct scratch *s;

	if (tgid == self_tgid && tgid) {
		note_self_endpoint(fd);
		return;
	}
	if (!pid_is_watched(tgid) || !count)
		return;
	cs = conn_get(tgid, fd, ZT_ROLE_UNKNOWN, false);
	if (!cs || cs->proto == ZT_PROTO_OTHER)
		return;
	s = scratch_get();
	if (!s)
		return;
	emit_data(s, cs, pid_tgid, fd, ZT_DIR_WRITE, sock_write_seq((struct sock *)cs->sk), count,
		  buf, iovcnt, true);
}

/* struct user_msghdr: the iovec array and its length */
static __always_inline bool msghdr_iov(__u64 msg, __u64 *iov, __u32 *iovcnt)
{
	struct user_msghdr m;

	if (bpf_probe_read_user(&m, sizeof(m), (void *)msg))
		return false;
	*iov = (__u64)m.msg_iov;
	*iovcnt = m.msg_iovlen;
	return *iovcnt > 0;
}

enum read_kind {
	READ_PLAIN, /* read: (fd, buf, len) */
	READ_FROM,  /* recvfrom: (fd, buf, len, flags, ...) */
	READ_IOV,   /* readv: (fd, iov, iovcnt) */
	READ_MSG,   /* recvmsg: (fd, msghdr, flags) */
};

#define ZT_MSG_PEEK 2

/* The syscall's arguments, from the user registers saved at entry. Exit hooks read them there
 * instead of keeping an entry record per call: one hook per read instead of two and no map
 * update, and a read already blocked when the agent attached is seen too. */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* read, readv, recvfrom, recvmsg, at exit: the bytes are in the buffer, and copied_seq has
 * moved past them. */
static __always_inline void handle_read_exit(long ret, enum read_kind kind)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pt_regs *regs;
	struct conn_state *cs;
	struct scratch *s;
	__u64 buf, flags;
	__u32 iovcnt = 0;
	int fd;

	/* EAGAIN and friends on non-blocking sockets are not data */
	if (ret <= 0 || !pid_is_watched(pid_tgid >> 32))
		return;
	regs = syscall_regs();
	fd = PT_REGS_PARM1_SYSCALL(regs);
	buf = PT_REGS_PARM2_SYSCALL(regs);
	/* only recvfrom and recvmsg take flags; the other registers hold whatever was there */
	flags = kind == READ_FROM  ? PT_REGS_PARM4_SYSCALL(regs)
		: kind == READ_MSG ? PT_REGS_PARM3_SYSCALL(regs)
				   : 0;
	if (flags & ZT_MSG_PEEK)
		return; /* the bytes stay queued and will be read again */
	cs = conn_get(pid_tgid >> 32, fd, ZT_ROLE_UNKNOWN, false);
	if (!cs || cs->proto == ZT_PROTO_OTHER)
		return;
	if (kind == READ_IOV)
		iovcnt = PT_REGS_PARM3_SYSCALL(regs) ?: 1;
	else if (kind == READ_MSG && !msghdr_iov(buf, &buf, &iovcnt))
		return;
	s = scratch_get();
	if (!s)
		return;
	emit_data(s, cs, pid_tgid, fd, ZT_DIR_READ, read_start_seq((struct sock *)cs->sk, ret), ret,
		  buf, iovcnt, true);
}

/* sendfile, at exit: the end of a response is its last byte, even when the body never passes
 * through user memory (nginx serves static files this way). No payload. */
static __always_inline void handle_sendfile_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct conn_state *cs;
	struct scratch *s;
	int fd;

	if (ret <= 0 || !pid_is_watched(pid_tgid >> 32))
		return;
	fd = PT_REGS_PARM1_SYSCALL(syscall_regs());
	cs = conn_get(pid_tgid >> 32, fd, ZT_ROLE_UNKNOWN, false);
	if (!cs || cs->proto != ZT_PROTO_HTTP1)
		return;
	s = scratch_get();
	if (!s)
		return;
	emit_data(s, cs, pid_tgid, fd, ZT_DIR_WRITE,
		  (__u32)(sock_write_seq((struct sock *)cs->sk) - (__u32)ret), ret, 0, 0, false);
}

static __always_inline void handle_connect_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct conn_state *cs;
	int fd;

	/* non-blocking connects (Go, Node, curl) return EINPROGRESS and succeed later */
	if ((ret != 0 && ret != -ZT_EINPROGRESS) || !pid_is_watched(pid_tgid >> 32))
		return;
	fd = PT_REGS_PARM1_SYSCALL(syscall_regs());
	cs = conn_get(pid_tgid >> 32, fd, ZT_ROLE_CLIENT, true);
	if (!cs)
		return;
	/* an event loop writes the first request when the connect completes, maybe while
	 * handling another message: the agent needs to know who connected */
	emit_conn_event(ZT_EV_CONN_OPEN, pid_tgid, fd, cs);
}

static __always_inline void handle_accept_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (ret < 0 || !pid_is_watched(pid_tgid >> 32))
		return;
	conn_get(pid_tgid >> 32, ret, ZT_ROLE_SERVER, true);
}

static __always_inline void handle_close(int fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct conn_key key = {.tgid = pid_tgid >> 32, .fd = fd};
	struct conn_state *cs = bpf_map_lookup_elem(&conns, &key);

	if (!cs)
		return;
	if (proto_traced(cs->proto))
		emit_conn_event(ZT_EV_CONN_CLOSE, pid_tgid, fd, cs);
	bpf_map_delete_elem(&conns, &key);
}

#endif /* ZEROTRACE_CAPTURE_BPF_H */
