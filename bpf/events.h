/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ABI between the BPF programs and the agent: every record in the ring buffer starts with
 * struct event_header. Fixed-width types only, explicit padding, sizes asserted, so that the
 * BPF object and the agent cannot silently disagree.
 */
#ifndef ZEROTRACE_EVENTS_H
#define ZEROTRACE_EVENTS_H

#ifdef __bpf__
/* vmlinux.h already provides the __u* types */
#else
#include <linux/types.h>
#endif

/* Largest payload prefix one data event can carry; the runtime limit (rodata capture_bytes)
 * may be lower. A power of two so that BPF code can bound lengths with a mask. */
#define ZT_MAX_CAPTURE	   8192
#define ZT_CAPTURE_MASK	   (ZT_MAX_CAPTURE - 1)
#define ZT_DEFAULT_CAPTURE 4096

enum zt_event_type {
	ZT_EV_DATA = 1,	      /* socket read or write on a connection of interest */
	ZT_EV_CONN_OPEN = 2,  /* connect(): which request a connection was opened for */
	ZT_EV_CONN_CLOSE = 3, /* close() of a connection the agent was shown */
	ZT_EV_PROC_EXEC = 4,
	ZT_EV_PROC_EXIT = 5,
	ZT_EV_CONN_INFO = 6,	 /* a connection's addresses, before its first data event */
	ZT_EV_GO_NEWG = 7,	 /* Go: goroutine `object` created by goroutine `subject` */
	ZT_EV_GO_HTTP_RT = 8,	 /* Go: goroutine `subject` makes net/http Request `object` */
	ZT_EV_GO_HTTP_WRITE = 9, /* Go: goroutine `subject` writes net/http Request `object` */
	ZT_EV_GO_H2_HANDLER =
	    10,			/* Go: goroutine `subject` handles HTTP/2 server stream `object` */
	ZT_EV_GO_H2_CALL = 11,	/* Go: goroutine `subject` made the header list `object` of a
				 * grpc-go call */
	ZT_EV_GO_H2_WRITE = 12, /* Go: goroutine `subject` writes header list `object` as HTTP/2
				 * client stream `stream` */
};

enum zt_direction {
	ZT_DIR_READ = 0,  /* bytes this process received */
	ZT_DIR_WRITE = 1, /* bytes this process sent */
};

enum zt_role {
	ZT_ROLE_UNKNOWN = 0, /* connection predates the agent: decided from the traffic */
	ZT_ROLE_CLIENT = 1,  /* this process called connect() */
	ZT_ROLE_SERVER = 2,  /* this process got it from accept() */
};

enum zt_proto {
	ZT_PROTO_UNKNOWN = 0,
	ZT_PROTO_HTTP1 = 1,
	ZT_PROTO_OTHER = 2, /* classified and not of interest: nothing more is shipped */
	ZT_PROTO_HTTP2 = 3, /* h2c or prior knowledge: payload shipped as frame segments */
	ZT_PROTO_REDIS = 4, /* RESP, seen from the client: commands written, replies read */
};

/* Data event flags */
#define ZT_DATA_F_NO_PAYLOAD (1u << 0) /* payload not readable (sendfile, fault) */
#define ZT_DATA_F_SEGMENTS   (1u << 1) /* payload is struct zt_segment records (HTTP/2) */

/*
 * HTTP/2 events do not carry a prefix of the bytes but what the parser needs of every frame in
 * them: the 9-byte frame header and zt_h2_ship_len() bytes of its payload, as segments. A
 * segment never crosses an event; a frame whose shipped part does continues at offset 0 of
 * the next event in that direction, without ZT_SEG_F_FRAME.
 */
struct zt_segment {
	__u32 off;   /* offset of the first byte in the syscall's bytes */
	__u16 len;   /* bytes that follow this record */
	__u16 flags; /* ZT_SEG_F_* */
};

#define ZT_SEG_F_FRAME (1u << 0) /* the segment starts with a frame header */

#define ZT_H2_FRAME_HEADER 9
#define ZT_H2_DATA	   0
#define ZT_H2_HEADERS	   1
#define ZT_H2_PUSH_PROMISE 5
#define ZT_H2_CONTINUATION 9
#define ZT_H2_F_PADDED	   0x8
#define ZT_H2_CONTROL_SHIP 64 /* SETTINGS, RST_STREAM, GOAWAY, ...: their fixed fields */
#define ZT_H2_GRPC_PREFIX  5  /* gRPC message prefix: compressed flag, 4-byte length */

/* Payload bytes of a frame that are shipped: header blocks whole, the gRPC message prefix of
 * DATA (after the pad length when padded) and never the body, the fields of control frames. */
static inline __u32 zt_h2_ship_len(__u8 type, __u8 flags, __u32 len)
{
	__u32 want;

	switch (type) {
	case ZT_H2_HEADERS:
	case ZT_H2_CONTINUATION:
	case ZT_H2_PUSH_PROMISE: return len;
	case ZT_H2_DATA: want = ZT_H2_GRPC_PREFIX + (flags & ZT_H2_F_PADDED ? 1 : 0); break;
	default: want = ZT_H2_CONTROL_SHIP;
	}
	return len < want ? len : want;
}

/* Why something was not delivered; indexes the per-CPU drop counters. */
enum zt_drop_reason {
	ZT_DROP_RINGBUF_FULL = 0,    /* an event did not fit in the ring buffer */
	ZT_DROP_PAYLOAD_TRUNCATED,   /* payload longer than capture_bytes: tail not shipped */
	ZT_DROP_CONN_MAP_FULL,	     /* connection table (socket path: sock storage) full */
	ZT_DROP_PAYLOAD_READ_FAILED, /* user memory could not be read */
	ZT_DROP_MAX,
};

struct zt_tuple {
	__u8 saddr[16]; /* local address: IPv4 in the first 4 bytes when family is AF_INET */
	__u8 daddr[16]; /* remote address */
	__u16 sport;	/* local port, host order */
	__u16 dport;	/* remote port, host order */
	__u16 family;	/* AF_INET or AF_INET6 */
	__u16 pad;
};

struct zt_event_header {
	__u16 type; /* enum zt_event_type */
	__u16 len;  /* bytes in this record including the header */
	__u32 pid;  /* thread group id */
	__u32 tid;
	__u32 pad;
	__u64 ts; /* CLOCK_MONOTONIC ns: syscall entry for writes, exit for reads */
	__u64 g;  /* the running goroutine (runtime.g address) in a followed Go process, else 0 */
};

struct zt_conn_id {
	__u32 pid;
	__s32 fd;
	__u64 gen; /* unique per (pid, fd) lifetime: a reused fd is a new connection */
};

/* A data event names its connection by id only: the addresses come once per connection in a
 * ZT_EV_CONN_INFO before its first data event (and again when the agent asks, tuple_epoch), not
 * in every record, which would cost each read and write 40 more bytes of ring. Followed by
 * `captured` payload bytes. */
struct zt_data_event {
	struct zt_event_header hdr;
	struct zt_conn_id conn;
	__u32 seq;	/* TCP sequence number of the first byte (write_seq / copied_seq) */
	__u32 bytes;	/* bytes the syscall moved (writes: requested at entry) */
	__u32 captured; /* payload bytes that follow */
	__u8 dir;	/* enum zt_direction */
	__u8 role;	/* enum zt_role */
	__u8 proto;	/* enum zt_proto */
	__u8 flags;	/* ZT_DATA_F_* */
};

/* ZT_EV_CONN_OPEN, ZT_EV_CONN_CLOSE and ZT_EV_CONN_INFO */
struct zt_conn_event {
	struct zt_event_header hdr;
	struct zt_conn_id conn;
	struct zt_tuple tuple;
	__u8 role;
	__u8 pad[7];
};

/* exec carries the names too: a short-lived process can be gone from /proc before the agent
 * reads it, and its spans still need a service name. */
#define ZT_COMM_LEN	16
#define ZT_FILENAME_LEN 128

struct zt_proc_event {
	struct zt_event_header hdr;
	char comm[ZT_COMM_LEN];
	char filename[ZT_FILENAME_LEN]; /* exec only: the path that was executed */
};

/* Pids the agent can follow as Go: PID_MAX_LIMIT, the most any kernel allows. */
#define ZT_GO_PID_MAX (4u * 1024 * 1024)

/* Go runtime events from the uprobes (bpf/gouprobe.bpf.c): two runtime pointers whose meaning
 * the type gives, and a stream id where the type has one. */
struct zt_go_event {
	struct zt_event_header hdr;
	__u64 subject;
	__u64 object;
	__u32 stream;
	__u32 pad;
};

_Static_assert(sizeof(struct zt_tuple) == 40, "zt_tuple ABI");
_Static_assert(sizeof(struct zt_event_header) == 32, "zt_event_header ABI");
_Static_assert(sizeof(struct zt_conn_id) == 16, "zt_conn_id ABI");
_Static_assert(sizeof(struct zt_data_event) == 64, "zt_data_event ABI");
_Static_assert(sizeof(struct zt_conn_event) == 96, "zt_conn_event ABI");
_Static_assert(sizeof(struct zt_proc_event) == 176, "zt_proc_event ABI");
_Static_assert(sizeof(struct zt_go_event) == 56, "zt_go_event ABI");
_Static_assert(sizeof(struct zt_segment) == 8, "zt_segment ABI");
_Static_assert((ZT_MAX_CAPTURE & (ZT_MAX_CAPTURE - 1)) == 0, "capture mask needs a power of 2");

#endif /* ZEROTRACE_EVENTS_H */
