/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-connection state in the kernel: identity, cached addresses, protocol classification. */
#ifndef ZEROTRACE_CONN_BPF_H
#define ZEROTRACE_CONN_BPF_H

#include "maps.bpf.h"
#include "sock.bpf.h"
#include "http2.bpf.h"

/* events a connection found mid-stream gets to show a message start */
#define ZT_MIDSTREAM_TRIES 16

/* A connection first seen now: its identity, its addresses, and how many events may classify
 * it — one seen from accept/connect shows its first message in its first bytes. */
static __always_inline void conn_state_init(struct conn_state *cs, struct sock *sk, __u8 role)
{
	cs->gen = bpf_ktime_get_ns();
	cs->sk = (__u64)sk;
	cs->role = role;
	cs->tries = role == ZT_ROLE_UNKNOWN ? ZT_MIDSTREAM_TRIES : 1;
	sock_tuple(sk, &cs->tuple);
}

/*
 * The connection behind (tgid, fd), created on first sight; NULL unless it is a TCP socket.
 * The fast path costs the fd → file walk and one lookup: while the fd names the same struct
 * file it is the same connection, so the sock and its addresses are taken from the map. An fd
 * that names another file was closed and reused without close() (dup2, exit, exec): a new
 * connection. fresh: accept/connect just made it, whatever was there before.
 */
static __always_inline struct conn_state *conn_get(__u32 tgid, int fd, __u8 role, bool fresh)
{
	struct conn_key key = {.tgid = tgid, .fd = fd};
	struct file *file = fd_to_file(fd);
	struct conn_state init = {};
	struct conn_state *cs;
	struct sock *sk;

	if (!file)
		return NULL;
	cs = bpf_map_lookup_elem(&conns, &key);
	if (cs && cs->file == (__u64)file && !fresh)
		return cs;
	sk = file_to_tcp_sock(file);
	if (!sk) {
		if (cs)
			bpf_map_delete_elem(&conns, &key);
		return NULL;
	}
	conn_state_init(&init, sk, role);
	init.file = (__u64)file;
	if (bpf_map_update_elem(&conns, &key, &init, BPF_ANY)) {
		count_drop(ZT_DROP_CONN_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&conns, &key);
}

static __always_inline bool looks_like_http1(const __u8 *p, __u32 len)
{
	if (len < 8)
		return false;
	switch (p[0]) {
	case 'G': return p[1] == 'E' && p[2] == 'T' && p[3] == ' ';
	case 'P':
		return (p[1] == 'O' && p[2] == 'S' && p[3] == 'T' && p[4] == ' ') ||
		       (p[1] == 'U' && p[2] == 'T' && p[3] == ' ') ||
		       (p[1] == 'A' && p[2] == 'T' && p[3] == 'C' && p[4] == 'H' && p[5] == ' ');
	case 'H':
		return (p[1] == 'E' && p[2] == 'A' && p[3] == 'D' && p[4] == ' ') ||
		       (p[1] == 'T' && p[2] == 'T' && p[3] == 'P' && p[4] == '/' && p[5] == '1' &&
			p[6] == '.');
	case 'D': return p[1] == 'E' && p[2] == 'L' && p[3] == 'E' && p[4] == 'T' && p[5] == 'E';
	case 'O': return p[1] == 'P' && p[2] == 'T' && p[3] == 'I' && p[4] == 'O' && p[5] == 'N';
	case 'C': return p[1] == 'O' && p[2] == 'N' && p[3] == 'N' && p[4] == 'E' && p[5] == 'C';
	case 'T': return p[1] == 'R' && p[2] == 'A' && p[3] == 'C' && p[4] == 'E' && p[5] == ' ';
	}
	return false;
}

/* Is the remote end of this connection one of the agent's own exporter sockets? */
static __always_inline bool peer_is_agent(const struct zt_tuple *t)
{
	struct endpoint ep = {};

	__builtin_memcpy(ep.addr, t->daddr, sizeof(ep.addr));
	ep.port = t->dport;
	ep.family = t->family;
	return bpf_map_lookup_elem(&self_endpoints, &ep) != NULL;
}

/* A RESP command array: "*<1-3 digits>\r\n$" */
static __always_inline bool looks_like_resp(const __u8 *p, __u32 len)
{
	if (len < 6 || p[0] != '*' || p[1] < '0' || p[1] > '9')
		return false;
	if (p[2] == '\r')
		return p[3] == '\n' && p[4] == '$';
	if (p[2] < '0' || p[2] > '9')
		return false;
	if (p[3] == '\r')
		return p[4] == '\n' && p[5] == '$';
	return len >= 7 && p[3] >= '0' && p[3] <= '9' && p[4] == '\r' && p[5] == '\n' &&
	       p[6] == '$';
}

static __always_inline bool proto_traced(__u8 proto)
{
	return proto == ZT_PROTO_HTTP1 || proto == ZT_PROTO_HTTP2 || proto == ZT_PROTO_REDIS;
}

/* Decide, once, whether a connection is worth shipping: its first bytes (or, joined
 * mid-stream, one of its first few events) start an HTTP/1 message or HTTP/2 framing, or are a
 * Redis command this process writes (a Redis server's side is not traced: it reads them). */
static __always_inline bool classify(struct conn_state *cs, const __u8 *payload, __u32 captured,
				     __u8 dir)
{
	__u8 proto = ZT_PROTO_UNKNOWN;

	if (proto_traced(cs->proto))
		return true;
	if (cs->proto == ZT_PROTO_OTHER)
		return false;
	if (captured && looks_like_http1(payload, captured))
		proto = ZT_PROTO_HTTP1;
	else if (captured && looks_like_http2(payload, captured))
		proto = ZT_PROTO_HTTP2;
	else if (captured && looks_like_resp(payload, captured))
		proto = dir == ZT_DIR_WRITE ? ZT_PROTO_REDIS : ZT_PROTO_OTHER;
	if (proto != ZT_PROTO_UNKNOWN) {
		cs->proto = peer_is_agent(&cs->tuple) ? ZT_PROTO_OTHER : proto;
		return cs->proto != ZT_PROTO_OTHER;
	}
	if (cs->tries <= 1)
		cs->proto = ZT_PROTO_OTHER;
	else
		cs->tries--;
	return false;
}

#endif /* ZEROTRACE_CONN_BPF_H */
