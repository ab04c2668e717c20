/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * HTTP/2 in the kernel: recognise a connection, then walk the frames of every read and write
 * and ship only what the agent's parser needs of each (zt_h2_ship_len in events.h) — frame
 * headers, header blocks, the gRPC message prefix — never a body. One syscall can hold dozens
 * of frames (gRPC batches them); each gets its own segment, so later frames are not lost behind
 * a large DATA frame the way a payload prefix would lose them.
 */
#ifndef ZEROTRACE_HTTP2_BPF_H
#define ZEROTRACE_HTTP2_BPF_H

#include "maps.bpf.h"

#define ZT_H2_PREFACE_LEN 24	/* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" */
#define ZT_H2_MAX_FRAMES  256	/* frames walked per round */
#define ZT_H2_ROUNDS	  4	/* of ZT_H2_MAX_FRAMES per syscall (h2_walk), events as needed */
#define ZT_H2_MAX_FRAME	  16384 /* SETTINGS_MAX_FRAME_SIZE default: the bound for classifying */

static __always_inline bool h2_is_preface(const __u8 *p, __u32 len)
{
	return len >= 16 && p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ' &&
	       p[4] == '*' && p[5] == ' ' && p[6] == 'H' && p[7] == 'T' && p[8] == 'T' &&
	       p[9] == 'P' && p[10] == '/' && p[11] == '2' && p[12] == '.' && p[13] == '0' &&
	       p[14] == '\r' && p[15] == '\n';
}

/* A frame header no other protocol is likely to produce: length within the default maximum,
 * a known type, only that type's flags, and the stream id and length that type requires. */
static __always_inline bool h2_header_plausible(const __u8 *p)
{
	__u32 len = (__u32)p[0] << 16 | (__u32)p[1] << 8 | p[2];
	__u32 stream = ((__u32)p[5] << 24 | (__u32)p[6] << 16 | (__u32)p[7] << 8 | p[8]);
	__u8 type = p[3], flags = p[4];

	if (len > ZT_H2_MAX_FRAME || (stream & 0x80000000))
		return false;
	switch (type) {
	case 0: return stream && !(flags & ~0x09);		    /* DATA */
	case 1: return stream && !(flags & ~0x2d);		    /* HEADERS */
	case 2: return stream && len == 5 && !flags;		    /* PRIORITY */
	case 3: return stream && len == 4 && !flags;		    /* RST_STREAM */
	case 4: return !stream && len % 6 == 0 && !(flags & ~0x01); /* SETTINGS */
	case 5: return stream && !(flags & ~0x0c);		    /* PUSH_PROMISE */
	case 6: return !stream && len == 8 && !(flags & ~0x01);	    /* PING */
	case 7: return !stream && len >= 8 && !flags;		    /* GOAWAY */
	case 8: return len == 4 && !flags;			    /* WINDOW_UPDATE */
	case 9: return stream && !(flags & ~0x04);		    /* CONTINUATION */
	}
	return false;
}

/* Do the first captured bytes start HTTP/2: the client preface, or a frame header (and the
 * next one too, when it was captured)? */
static __always_inline bool looks_like_http2(const __u8 *p, __u32 captured)
{
	__u32 next;

	if (h2_is_preface(p, captured))
		return true;
	if (captured < ZT_H2_FRAME_HEADER || !h2_header_plausible(p))
		return false;
	next = ZT_H2_FRAME_HEADER + ((__u32)p[0] << 16 | (__u32)p[1] << 8 | p[2]);
	if (next + ZT_H2_FRAME_HEADER > captured || next > ZT_MAX_CAPTURE)
		return true;
	return h2_header_plausible(p + (next & ZT_CAPTURE_MASK));
}

enum h2_dest { H2_TO_HDR, H2_TO_PART, H2_TO_PAYLOAD };

/*
 * Copy n bytes at offset off of the syscall's data to s->walk.hdr, s->walk.part or s->payload,
 * at offset `at` there. Global (not inlined): the verifier checks it once per program instead
 * of once per call site — the iovec loop at every call made loading take seconds.
 */
static __always_inline __u8 *h2_dest(struct scratch *s, __u32 to, __u32 at)
{
	switch (to) {
	case H2_TO_HDR: return &s->walk.hdr[at & 15];
	case H2_TO_PART: return &s->walk.part[at & 7];
	default: return &s->payload[at & ZT_CAPTURE_MASK];
	}
}

/* One iovec of a read in progress (s->walk.rd_*): bpf_loop callback, so that a walk over
 * hundreds of iovecs is checked by the verifier once, not once per iteration. */
static long h2_iov_step(__u32 k, void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct h2_iov_table *t = bpf_map_lookup_elem(&h2_iovs, &zero);
	struct h2_walk *w;
	__u64 at, len, i;

	if (!s || !t)
		return 1;
	w = &s->walk;
	i = w->iov_cur + k;
	if (i >= w->iovcnt || w->rd_done >= w->rd_n)
		return 1;
	i &= ZT_H2_MAX_IOV - 1;
	at = w->rd_off + w->rd_done;
	if (at >= t->start[i] + t->len[i] || at < t->start[i])
		return 0;
	len = t->start[i] + t->len[i] - at;
	if (len > w->rd_n - w->rd_done)
		len = w->rd_n - w->rd_done;
	len &= ZT_CAPTURE_MASK;
	if (bpf_probe_read_user(h2_dest(s, w->rd_to, w->rd_at + w->rd_done), len,
				(void *)(t->base[i] + at - t->start[i])))
		return 1;
	w->rd_done += len;
	w->rd_last = i;
	return 0;
}

__weak __noinline int zt_h2_copy(struct scratch *s, __u64 off, __u32 n, __u32 to, __u32 at)
{
	__u32 zero = 0;
	struct h2_iov_table *t = bpf_map_lookup_elem(&h2_iovs, &zero);
	struct h2_walk *w;

	if (!s || !t)
		return -1;
	w = &s->walk;
	/* the largest copy each destination can take past its offset's mask */
	n &= to == H2_TO_HDR ? 31 : to == H2_TO_PART ? 15 : ZT_CAPTURE_MASK;
	if (!w->iovcnt)
		return bpf_probe_read_user(h2_dest(s, to, at), n, (void *)(w->buf + off));
	/* reads mostly move forward: start at the iovec the last one ended in */
	if (off < t->start[w->iov_cur & (ZT_H2_MAX_IOV - 1)])
		w->iov_cur = 0;
	w->rd_off = off;
	w->rd_n = n;
	w->rd_to = to;
	w->rd_at = at;
	w->rd_done = 0;
	w->rd_last = w->iov_cur;
	bpf_loop(ZT_H2_MAX_IOV, h2_iov_step, NULL, 0);
	w->iov_cur = w->rd_last;
	return w->rd_done == n ? 0 : -1;
}

/* The iovec array of the syscall, with each one's offset, for h2_read. 0 or -1. */
static long h2_load_iov_step(__u32 i, void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	struct h2_iov_table *t = bpf_map_lookup_elem(&h2_iovs, &zero);
	struct iovec_user v;
	struct h2_walk *w;

	if (!s || !t)
		return 1;
	w = &s->walk;
	if (i >= w->iovcnt || i >= ZT_H2_MAX_IOV)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(w->buf + i * sizeof(v)))) {
		w->rd_done = 1; /* fault */
		return 1;
	}
	barrier_var(i);
	i &= ZT_H2_MAX_IOV - 1; /* a no-op the verifier needs */
	t->base[i] = v.base;
	t->len[i] = v.len;
	t->start[i] = w->rd_off;
	w->rd_off += v.len;
	return 0;
}

__weak __noinline int zt_h2_load_iov(struct scratch *s)
{
	if (!s)
		return -1;
	s->walk.rd_off = 0; /* running offset */
	s->walk.rd_done = 0;
	bpf_loop(ZT_H2_MAX_IOV, h2_load_iov_step, NULL, 0);
	return s->walk.rd_done ? -1 : 0;
}

/*
 * Ship bytes [from, to) of the syscall as one segment. A frame that does not fit in what is
 * left of this event's buffer is left for the next event of the same syscall (false: w->full);
 * one that does not fit even in an empty one is cut, and counted.
 */
static __always_inline bool h2_ship(struct scratch *s, __s64 from, __s64 to, __u16 flags)
{
	struct h2_walk *w = &s->walk;
	struct zt_segment seg = {.off = from - w->base, .flags = flags};
	__u32 room, n;

	if (to <= from)
		return true;
	n = to - from;
	room = w->limit > w->out + sizeof(seg) ? w->limit - w->out - sizeof(seg) : 0;
	if (n > room && (flags & ZT_SEG_F_FRAME) && w->out) {
		w->full = 1;
		return false;
	}
	if (n > room) {
		count_drop(ZT_DROP_PAYLOAD_TRUNCATED);
		n = room;
	}
	if (!n)
		return true;
	seg.len = n;
	if (zt_h2_copy(s, from, n, H2_TO_PAYLOAD, w->out + sizeof(seg))) {
		count_drop(ZT_DROP_PAYLOAD_READ_FAILED);
		return true;
	}
	__builtin_memcpy(&s->payload[w->out & ZT_CAPTURE_MASK], &seg, sizeof(seg));
	w->out += sizeof(seg) + n;
	return true;
}

/* The frame whose header starts at w->off: ship its segment, step past it. 0: stop. Global
 * for the same reason as zt_h2_copy. */
__weak __noinline int zt_h2_frame(struct scratch *s)
{
	struct h2_walk *w;
	__s64 off, end;
	__u32 len, k = 0;

	if (!s)
		return 0;
	w = &s->walk;
	off = w->off;
	if (off >= w->total)
		return false;
	if (off < 0) {
		/* the header began in the last event: its first bytes were kept */
		k = -off;
		if (k != w->part_len || k >= ZT_H2_FRAME_HEADER)
			return false;
		for (__u32 i = 0; i < sizeof(w->part); i++)
			if (i < k)
				w->hdr[i] = w->part[i];
	}
	if (off + ZT_H2_FRAME_HEADER > w->total) {
		/* cut by the end of this event: keep what is here for the next one */
		if (!h2_ship(s, off + k, w->total, k ? 0 : ZT_SEG_F_FRAME))
			return false;
		if (zt_h2_copy(s, off + k, w->total - off - k, H2_TO_PART, k))
			return false;
		w->part_len = w->total - off;
		w->ship_end = w->total;
		return false;
	}
	if (zt_h2_copy(s, off + k, ZT_H2_FRAME_HEADER - k, H2_TO_HDR, k))
		return false;
	len = (__u32)w->hdr[0] << 16 | (__u32)w->hdr[1] << 8 | w->hdr[2];
	end = off + ZT_H2_FRAME_HEADER + zt_h2_ship_len(w->hdr[3], w->hdr[4], len);
	if (!h2_ship(s, off < 0 ? 0 : off, end < w->total ? end : w->total,
		     off < 0 ? 0 : ZT_SEG_F_FRAME))
		return false; /* the next event of this syscall starts with it */
	w->part_len = 0;
	w->ship_end = end;
	w->off = off + ZT_H2_FRAME_HEADER + len;
	return true;
}

static long h2_frame_cb(__u32 index, void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	return s && zt_h2_frame(s) ? 0 : 1;
}

/* One event for bytes [from, to) of the syscall, holding the segments walked so far. */
static __always_inline void h2_output(struct scratch *s, __u32 seq, __u32 from, __u32 to)
{
	struct zt_data_event *ev = &s->ev;
	__u64 size;

	ev->seq = seq + from;
	ev->bytes = to - from;
	ev->captured = s->walk.out;
	size = sizeof(*ev) + (ev->captured & (2 * ZT_MAX_CAPTURE - 1));
	if (size > sizeof(*ev) + sizeof(s->payload))
		return;
	ev->hdr.len = size;
	ringbuf_output(ev, size);
}

/* Walk up to ZT_H2_MAX_FRAMES frames. true: there is more to walk, in the same event (out of
 * iterations) or in a new one (the buffer filled up at a frame boundary: this one went). */
static __always_inline bool h2_round(struct scratch *s, __u32 seq)
{
	struct h2_walk *w = &s->walk;
	long walked;

	w->full = 0;
	walked = bpf_loop(ZT_H2_MAX_FRAMES, h2_frame_cb, NULL, 0);
	if (w->full && w->off > w->base) {
		h2_output(s, seq, w->base, w->off);
		w->base = w->off;
		w->out = 0;
		return true;
	}
	/* Node writes a hundred calls' frames in one writev */
	return walked >= ZT_H2_MAX_FRAMES && !w->full && w->off + ZT_H2_FRAME_HEADER <= w->total;
}

/*
 * Ship the segments of one syscall on an HTTP/2 connection as one event, or as several
 * covering consecutive byte ranges when its frames need more than one event's buffer (gRPC
 * batches a hundred calls into one write). s->ev's other fields are filled by the caller.
 * f: the direction's framing, kept across syscalls; seq: TCP sequence number of the first
 * byte. Ships nothing while the framing of a direction joined mid-stream is not known.
 */
static __always_inline void h2_walk(struct scratch *s, struct h2_framing *f, __u32 seq, __u64 total,
				    __u64 buf, __u32 iovcnt)
{
	struct h2_walk *w = &s->walk;
	__s64 cont;

	w->buf = buf;
	w->iovcnt = iovcnt > ZT_H2_MAX_IOV ? ZT_H2_MAX_IOV : iovcnt;
	w->iov_cur = 0;
	w->total = total > 0x7fffffff ? 0x7fffffff : total;
	w->out = 0;
	w->base = 0;
	w->full = 0;
	/* segments hold nothing the parser can do without (no bodies), so the whole buffer is
	 * theirs whatever the prefix size for HTTP/1 is */
	w->limit = ZT_MAX_CAPTURE - 1;
	if (w->iovcnt && zt_h2_load_iov(s))
		return;
	if (!f->synced) {
		/* a direction is picked up where an event starts with the preface or a frame */
		if (zt_h2_copy(s, 0, w->total < 16 ? w->total : 16, H2_TO_HDR, 0))
			return;
		if (w->total >= ZT_H2_PREFACE_LEN && h2_is_preface(w->hdr, 16))
			f->next_seq = seq + ZT_H2_PREFACE_LEN;
		else if (w->total >= ZT_H2_FRAME_HEADER && h2_header_plausible(w->hdr))
			f->next_seq = seq;
		else
			return;
		f->ship_end = seq;
		f->part_len = 0;
		f->synced = 1;
	}
	w->off = (__s32)(f->next_seq - seq);
	cont = (__s32)(f->ship_end - seq);
	if (w->off < -(__s64)sizeof(f->part)) {
		f->synced = 0; /* bytes went by that were never seen: find a frame start again */
		return;
	}
	/* the previous frame's shipped part runs into this event */
	if (cont > 0 && w->off >= 0) {
		__s64 to = cont < w->off ? cont : w->off;

		h2_ship(s, 0, to < w->total ? to : w->total, 0);
	}
	w->part_len = f->part_len;
	__builtin_memcpy(w->part, f->part, sizeof(w->part));
	w->ship_end = cont > 0 ? cont : 0;
	/* four rounds written out: 6.1's verifier takes no loop whose head follows a call */
	if (h2_round(s, seq) && h2_round(s, seq) && h2_round(s, seq))
		h2_round(s, seq);
	if (w->full || (w->off < w->total && w->off + ZT_H2_FRAME_HEADER <= w->total)) {
		/* more frames than the rounds cover, or unreadable: the rest is lost */
		count_drop(ZT_DROP_PAYLOAD_TRUNCATED);
		f->synced = 0;
		h2_output(s, seq, w->base, w->total);
		return;
	}
	h2_output(s, seq, w->base, w->total);
	f->next_seq = seq + w->off;
	f->ship_end = seq + (w->ship_end > 0 ? w->ship_end : 0);
	f->part_len = w->part_len;
	__builtin_memcpy(f->part, w->part, sizeof(f->part));
}

#endif /* ZEROTRACE_HTTP2_BPF_H */
