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
#define ZT_H2_MAX_FRAMES  256	/* frames walked per syscall; later ones cost sync, counted */
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

/* Copy n bytes at offset off of the syscall's data (plain buffer or iovecs) to dst. */
static __always_inline int h2_read(struct h2_walk *w, __u64 off, __u8 *dst, __u32 n)
{
	__u32 done = 0;

	if (!w->iovcnt)
		return bpf_probe_read_user(dst, n & ZT_CAPTURE_MASK, (void *)(w->buf + off));
	for (__u32 i = 0; i < ZT_H2_MAX_IOV; i++) {
		__u64 at = off + done, k;

		if (i >= w->iovcnt || done >= n)
			break;
		if (at >= w->iov_start[i] + w->iov_len[i] || at < w->iov_start[i])
			continue;
		k = w->iov_start[i] + w->iov_len[i] - at;
		if (k > n - done)
			k = n - done;
		k &= ZT_CAPTURE_MASK;
		if (bpf_probe_read_user(dst + (done & ZT_CAPTURE_MASK), k,
					(void *)(w->iov_base[i] + at - w->iov_start[i])))
			return -1;
		done += k;
	}
	return done == n ? 0 : -1;
}

enum h2_dest { H2_TO_HDR, H2_TO_PART, H2_TO_PAYLOAD };

/*
 * Copy n bytes at offset off of the syscall's data to s->walk.hdr, s->walk.part or s->payload,
 * at offset `at` there. Global (not inlined): the verifier checks it once per program instead
 * of once per call site — the iovec loop at every call made loading take seconds.
 */
__weak __noinline int zt_h2_copy(struct scratch *s, __u64 off, __u32 n, __u32 to, __u32 at)
{
	__u8 *dst;

	if (!s)
		return -1;
	switch (to) {
	case H2_TO_HDR:
		dst = &s->walk.hdr[at & 15];
		n &= 31; /* 16 to look for the preface */
		break;
	case H2_TO_PART:
		dst = &s->walk.part[at & 7];
		n &= 15;
		break;
	default: dst = &s->payload[at & ZT_CAPTURE_MASK]; n &= ZT_CAPTURE_MASK;
	}
	return h2_read(&s->walk, off, dst, n);
}

/* The iovec array of the syscall, with each one's offset, for h2_read. 0 or -1. */
__weak __noinline int zt_h2_load_iov(struct scratch *s)
{
	struct h2_walk *w;
	__u64 start = 0;

	if (!s)
		return -1;
	w = &s->walk;
	for (__u32 i = 0; i < ZT_H2_MAX_IOV; i++) {
		struct iovec_user v;

		if (i >= w->iovcnt)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(w->buf + i * sizeof(v))))
			return -1;
		w->iov_base[i] = v.base;
		w->iov_len[i] = v.len;
		w->iov_start[i] = start;
		start += v.len;
	}
	return 0;
}

/* Ship bytes [from, to) of the syscall as one segment, as much as the budget allows. */
static __always_inline void h2_ship(struct scratch *s, __s64 from, __s64 to, __u16 flags)
{
	struct h2_walk *w = &s->walk;
	struct zt_segment seg = {.off = from, .flags = flags};
	__u32 room, n;

	if (to <= from)
		return;
	n = to - from;
	room = w->limit > w->out + sizeof(seg) ? w->limit - w->out - sizeof(seg) : 0;
	if (n > room) {
		count_drop(ZT_DROP_PAYLOAD_TRUNCATED);
		n = room;
	}
	if (!n)
		return;
	seg.len = n;
	if (zt_h2_copy(s, from, n, H2_TO_PAYLOAD, w->out + sizeof(seg))) {
		count_drop(ZT_DROP_PAYLOAD_READ_FAILED);
		return;
	}
	__builtin_memcpy(&s->payload[w->out & ZT_CAPTURE_MASK], &seg, sizeof(seg));
	w->out += sizeof(seg) + n;
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
		if (zt_h2_copy(s, off + k, w->total - off - k, H2_TO_PART, k))
			return false;
		w->part_len = w->total - off;
		h2_ship(s, off + k, w->total, k ? 0 : ZT_SEG_F_FRAME);
		w->ship_end = w->total;
		return false;
	}
	if (zt_h2_copy(s, off + k, ZT_H2_FRAME_HEADER - k, H2_TO_HDR, k))
		return false;
	w->part_len = 0;
	len = (__u32)w->hdr[0] << 16 | (__u32)w->hdr[1] << 8 | w->hdr[2];
	end = off + ZT_H2_FRAME_HEADER + zt_h2_ship_len(w->hdr[3], w->hdr[4], len);
	h2_ship(s, off < 0 ? 0 : off, end < w->total ? end : w->total,
		off < 0 ? 0 : ZT_SEG_F_FRAME);
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

/*
 * Fill s->payload with the segments of one syscall on an HTTP/2 connection, keeping the
 * direction's framing in f. seq: TCP sequence number of the first byte. false: the framing
 * of this direction is not known (joined mid-stream, not yet at a frame start): ship nothing.
 */
static __always_inline bool h2_walk(struct scratch *s, struct h2_framing *f, __u32 seq, __u64 total,
				    __u64 buf, __u32 iovcnt)
{
	struct h2_walk *w = &s->walk;
	__s64 cont;

	w->buf = buf;
	w->iovcnt = iovcnt > ZT_H2_MAX_IOV ? ZT_H2_MAX_IOV : iovcnt;
	w->total = total > 0x7fffffff ? 0x7fffffff : total;
	w->out = 0;
	/* segments hold nothing the parser can do without (no bodies), so the whole buffer is
	 * theirs whatever the prefix size for HTTP/1 is: gRPC batches many calls in one write */
	w->limit = ZT_MAX_CAPTURE - 1;
	if (w->iovcnt && zt_h2_load_iov(s))
		return false;
	if (!f->synced) {
		/* a direction is picked up where an event starts with the preface or a frame */
		if (zt_h2_copy(s, 0, w->total < 16 ? w->total : 16, H2_TO_HDR, 0))
			return false;
		if (w->total >= ZT_H2_PREFACE_LEN && h2_is_preface(w->hdr, 16))
			f->next_seq = seq + ZT_H2_PREFACE_LEN;
		else if (w->total >= ZT_H2_FRAME_HEADER && h2_header_plausible(w->hdr))
			f->next_seq = seq;
		else
			return false;
		f->ship_end = seq;
		f->part_len = 0;
		f->synced = 1;
	}
	w->off = (__s32)(f->next_seq - seq);
	cont = (__s32)(f->ship_end - seq);
	if (w->off < -(__s64)sizeof(f->part)) {
		f->synced = 0; /* bytes went by that were never seen: find a frame start again */
		return false;
	}
	/* the previous frame's shipped part runs into this event */
	if (cont > 0 && w->off >= 0) {
		__s64 to = cont < w->off ? cont : w->off;

		h2_ship(s, 0, to < w->total ? to : w->total, 0);
	}
	w->part_len = f->part_len;
	__builtin_memcpy(w->part, f->part, sizeof(w->part));
	w->ship_end = cont > 0 ? cont : 0;
	bpf_loop(ZT_H2_MAX_FRAMES, h2_frame_cb, NULL, 0);
	if (w->off < w->total && w->off + ZT_H2_FRAME_HEADER <= w->total) {
		count_drop(ZT_DROP_PAYLOAD_TRUNCATED);
		f->synced = 0; /* more frames than one walk covers */
		return true;
	}
	f->next_seq = seq + w->off;
	f->ship_end = seq + (w->ship_end > 0 ? w->ship_end : 0);
	f->part_len = w->part_len;
	__builtin_memcpy(f->part, w->part, sizeof(f->part));
	return true;
}

#endif /* ZEROTRACE_HTTP2_BPF_H */
