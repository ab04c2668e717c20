// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "base/log.h"
#include "proto/http1.h"
#include "proto/http2.h"

#define H2_MAX_FRAME_KEPT (ZT_H2_FRAME_HEADER + H2_MAX_BLOCK)
/* A table that joined mid-stream must accept whatever size update a block starts with. */
#define H2_FRESH_TABLE_MAX (1u << 20)

/* One reader thread parses every connection: blocks are decoded one at a time. */
static struct h2_headers headers_out;
static char headers_strings[2 * H2_MAX_BLOCK];

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool name_is(const struct h2_str *n, const char *lit, size_t len)
{
	return n->len == len && !memcmp(n->p, lit, len);
}

static int parse_int(struct h2_str v)
{
	int n = 0;

	if (!v.len || v.len > 9)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		n = n * 10 + (v.p[i] - '0');
	}
	return n;
}

/* The fields spans are made of. Names arrive lower-case (HTTP/2 requires it). */
static void pick(struct h2_headers *h, const struct h2_field *f)
{
	const struct h2_str *n = &f->name;

	if (n->len && n->p[0] == ':') {
		if (name_is(n, ":method", 7))
			h->method = f->value;
		else if (name_is(n, ":path", 5))
			h->path = f->value;
		else if (name_is(n, ":authority", 10))
			h->authority = f->value;
		else if (name_is(n, ":scheme", 7))
			h->scheme = f->value;
		else if (name_is(n, ":status", 7))
			h->status = parse_int(f->value) > 0 ? parse_int(f->value) : 0;
	} else if (name_is(n, "content-type", 12)) {
		h->content_type = f->value;
	} else if (name_is(n, "user-agent", 10)) {
		h->user_agent = f->value;
	} else if (name_is(n, "traceparent", 11)) {
		h->traceparent = f->value;
	} else if (name_is(n, "tracestate", 10)) {
		h->tracestate = f->value;
	} else if (name_is(n, "grpc-status", 11)) {
		h->grpc_status = parse_int(f->value);
	} else if (name_is(n, "grpc-message", 12)) {
		h->grpc_message = f->value;
	}
}

int h2_hpack_decode(void *inflater, const uint8_t *in, size_t len, struct h2_headers *h,
		    char *strbuf, size_t strbuf_len)
{
	nghttp2_hd_inflater *inf = inflater;
	static const uint8_t empty;
	size_t used = 0;

	if (!in)
		in = &empty; /* an empty block never had a buffer (fuzzed) */
	for (;;) {
		int flags = 0;
		nghttp2_nv nv;
		ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in, len, 1);

		if (rv < 0)
			return -EPROTO;
		in += rv;
		len -= rv;
		if (flags & NGHTTP2_HD_INFLATE_EMIT) {
			struct h2_field *f;

			if (nv.namelen + nv.valuelen > strbuf_len - used)
				return -ENOSPC;
			if (h->nfields < H2_MAX_FIELDS) {
				f = &h->fields[h->nfields++];
				/* nghttp2's buffers live until the next call: keep a copy */
				memcpy(strbuf + used, nv.name, nv.namelen);
				f->name = (struct h2_str){strbuf + used, nv.namelen};
				used += nv.namelen;
				memcpy(strbuf + used, nv.value, nv.valuelen);
				f->value = (struct h2_str){strbuf + used, nv.valuelen};
				used += nv.valuelen;
				pick(h, f);
			}
		}
		if (flags & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(inf);
			return 0;
		}
		if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && !len)
			return -EPROTO; /* the block ended inside a field */
	}
}

void h2_parser__init(struct h2_parser *p, const struct h2_callbacks *cb, void *ctx, bool from_start)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->ctx = ctx;
	p->hpack_known = from_start;
	p->table_size = 4096; /* SETTINGS_HEADER_TABLE_SIZE's initial value */
}

void h2_parser__free(struct h2_parser *p)
{
	if (p->inflater)
		nghttp2_hd_inflate_del(p->inflater);
	p->inflater = NULL;
	free(p->frame);
	free(p->block);
	p->frame = p->block = NULL;
}

void h2_parser__set_table_size(struct h2_parser *p, uint32_t size)
{
	/* Only the bound changes, and only upward: a smaller setting takes effect at the
	 * encoder's own size update, which the decoder follows anyway, while lowering the bound
	 * here would reject blocks the encoder sent before it saw the SETTINGS. */
	if (size <= p->table_size)
		return;
	p->table_size = size;
	if (p->inflater && !p->block_stream)
		nghttp2_hd_inflate_change_table_size(p->inflater, size);
}

/* The dynamic table of this direction can no longer be followed. */
static void hpack_lost(struct h2_parser *p)
{
	p->hpack_known = false;
	if (p->inflater)
		nghttp2_hd_inflate_del(p->inflater);
	p->inflater = NULL;
}

static void lost(struct h2_parser *p)
{
	p->synced = false;
	p->assembling = false;
	p->block_stream = 0;
	hpack_lost(p);
	if (p->cb->on_lost)
		p->cb->on_lost(p->ctx);
}

static void decode_block(struct h2_parser *p)
{
	struct h2_headers *h = &headers_out;
	nghttp2_hd_inflater *inf = p->inflater;
	bool fresh = !p->hpack_known;
	int err = -EPROTO;

	memset(h, 0, offsetof(struct h2_headers, fields));
	memset(&h->method, 0, sizeof(*h) - offsetof(struct h2_headers, method));
	h->stream = p->block_stream;
	h->end_stream = p->block_flags & H2_F_END_STREAM;
	h->ts = p->block_ts;
	h->pos = p->block_pos;
	h->hash = p->block_hash;
	h->grpc_status = -1;
	if (!fresh && !inf) {
		if (nghttp2_hd_inflate_new(&inf))
			inf = NULL;
		else
			nghttp2_hd_inflate_change_table_size(inf, p->table_size);
		p->inflater = inf;
	} else if (fresh && nghttp2_hd_inflate_new(&inf)) {
		inf = NULL;
	} else if (fresh) {
		nghttp2_hd_inflate_change_table_size(inf, H2_FRESH_TABLE_MAX);
	}
	if (inf && p->block_ok)
		err = h2_hpack_decode(inf, p->block, p->block_len, h, headers_strings,
				      sizeof(headers_strings));
	h->fields_complete = !fresh && !err;
	pr_debug("h2 block: stream %u, %u bytes, %d fields, %s%s", h->stream, p->block_len,
		 h->nfields, fresh ? "fresh table" : "known table",
		 err ? ", not decoded to the end" : "");
	if (fresh && inf)
		nghttp2_hd_inflate_del(inf);
	else if (err)
		hpack_lost(p);
	p->block_stream = 0;
	if (p->cb->on_headers)
		p->cb->on_headers(p->ctx, h);
}

static void block_append(struct h2_parser *p, const uint8_t *frag, uint32_t len)
{
	if (!len)
		return; /* an empty fragment: no block buffer yet, and nothing to copy (fuzzed) */
	if (p->block_len + len > H2_MAX_BLOCK) {
		p->block_ok = false;
		return;
	}
	if (p->block_len + len > p->block_cap) {
		uint32_t cap = p->block_cap ? p->block_cap : 1024;
		uint8_t *b;

		while (cap < p->block_len + len)
			cap *= 2;
		b = realloc(p->block, cap);
		if (!b) {
			p->block_ok = false;
			return;
		}
		p->block = b;
		p->block_cap = cap;
	}
	memcpy(p->block + p->block_len, frag, len);
	p->block_len += len;
}

/* HEADERS or PUSH_PROMISE: the first fragment of a block. */
static void block_start(struct h2_parser *p, const uint8_t *f, uint32_t len, bool kept)
{
	const uint8_t *pl = f + ZT_H2_FRAME_HEADER;
	uint8_t type = f[3], flags = f[4];
	uint32_t off = 0, pad = 0;

	p->block_stream = be32(f + 5) & 0x7fffffff;
	p->block_flags = flags;
	p->block_ts = p->frame_ts;
	p->block_pos = p->frame_pos;
	p->block_hash = http1_head_hash((const char *)f, ZT_H2_FRAME_HEADER + len);
	p->block_len = 0;
	p->block_ok = kept;
	if (!kept)
		return;
	if (flags & H2_F_PADDED && len) {
		pad = pl[0];
		off = 1;
	}
	if (type == H2_HEADERS && flags & H2_F_PRIORITY)
		off += 5;
	if (type == H2_PUSH_PROMISE)
		off += 4;
	if (off + pad > len) {
		p->block_ok = false;
		return;
	}
	block_append(p, pl + off, len - off - pad);
}

static void on_frame(struct h2_parser *p, const uint8_t *f, uint32_t len, bool kept)
{
	const uint8_t *pl = f + ZT_H2_FRAME_HEADER;
	uint32_t stream = be32(f + 5) & 0x7fffffff;
	uint32_t shipped = zt_h2_ship_len(f[3], f[4], len);
	uint8_t type = f[3], flags = f[4];
	bool first = !p->started;

	p->started = true;
	if (first && type != H2_SETTINGS)
		hpack_lost(p); /* every connection starts with SETTINGS: this one began earlier */
	if (p->block_stream && type != H2_CONTINUATION) {
		/* a block must be continued by the very next frame */
		lost(p);
		return;
	}
	switch (type) {
	case H2_HEADERS:
	case H2_PUSH_PROMISE:
		block_start(p, f, len, kept);
		if (flags & H2_F_END_HEADERS)
			decode_block(p);
		break;
	case H2_CONTINUATION:
		if (!p->block_stream || stream != p->block_stream) {
			lost(p);
			return;
		}
		if (kept)
			block_append(p, pl, len);
		else
			p->block_ok = false;
		if (flags & H2_F_END_HEADERS)
			decode_block(p);
		break;
	case H2_DATA: {
		uint32_t off = flags & H2_F_PADDED && shipped ? 1 : 0;

		if (p->cb->on_data)
			p->cb->on_data(p->ctx, stream, len, flags & H2_F_END_STREAM, pl + off,
				       shipped - off, p->frame_ts);
		break;
	}
	case H2_RST_STREAM:
		if (len >= 4 && p->cb->on_rst_stream)
			p->cb->on_rst_stream(p->ctx, stream, be32(pl), p->frame_ts);
		break;
	case H2_GOAWAY:
		if (len >= 8 && p->cb->on_goaway)
			p->cb->on_goaway(p->ctx, be32(pl) & 0x7fffffff, be32(pl + 4), p->frame_ts);
		break;
	case H2_SETTINGS:
		if (flags & H2_F_ACK)
			break;
		for (uint32_t i = 0; i + 6 <= shipped; i += 6)
			if ((pl[i] << 8 | pl[i + 1]) == H2_SETTINGS_HEADER_TABLE_SIZE &&
			    p->cb->on_table_size)
				p->cb->on_table_size(p->ctx, be32(pl + i + 2));
		break;
	}
}

/* Bytes of the frame being assembled; when its shipped part is complete, handle it. */
static void assemble(struct h2_parser *p, const uint8_t *data, uint32_t n)
{
	uint32_t keep = !p->need		      ? ZT_H2_FRAME_HEADER
			: p->need < H2_MAX_FRAME_KEPT ? p->need
						      : H2_MAX_FRAME_KEPT;

	if (p->have < keep) {
		uint32_t k = n < keep - p->have ? n : keep - p->have;

		if (p->frame_cap < keep) {
			uint32_t cap = keep < 256 ? 256 : keep;
			uint8_t *b = realloc(p->frame, cap);

			if (!b) {
				lost(p);
				return;
			}
			p->frame = b;
			p->frame_cap = cap;
		}
		memcpy(p->frame + p->have, data, k);
	}
	p->have += n;
	if (p->have >= ZT_H2_FRAME_HEADER && !p->need) {
		const uint8_t *f = p->frame;

		p->need = ZT_H2_FRAME_HEADER + zt_h2_ship_len(f[3], f[4], be24(f));
		p->next_frame = p->frame_pos + ZT_H2_FRAME_HEADER + be24(f);
	}
	if (p->need && p->have >= p->need) {
		p->assembling = false;
		on_frame(p, p->frame, be24(p->frame), p->need <= H2_MAX_FRAME_KEPT);
	}
}

static void segment(struct h2_parser *p, uint64_t at, const uint8_t *data, uint32_t n, bool frame,
		    uint64_t ts)
{
	if (p->assembling && at != p->frame_pos + p->have) {
		lost(p); /* the rest of the frame never came */
	}
	if (!p->assembling) {
		if (!frame) {
			if (p->synced)
				lost(p);
			return;
		}
		if (p->synced && at != p->next_frame)
			lost(p); /* frames went by unseen */
		p->synced = true;
		p->assembling = true;
		p->frame_pos = at;
		p->frame_ts = ts;
		p->have = p->need = 0;
	}
	/* the header may arrive a byte at a time; its length is known once all 9 are in */
	while (n && p->assembling) {
		uint32_t k = n;

		if (!p->need && p->have + k > ZT_H2_FRAME_HEADER)
			k = ZT_H2_FRAME_HEADER - p->have;
		else if (p->need && k > p->need - p->have)
			k = p->need - p->have;
		assemble(p, data, k);
		data += k;
		n -= k;
	}
}

void h2_parser__feed(struct h2_parser *p, const uint8_t *segs, size_t captured, size_t total,
		     size_t skip, uint64_t ts)
{
	uint64_t base = p->pos - skip; /* stream offset of the event's first byte */
	size_t off = 0;

	p->pos += total - skip;
	while (off + sizeof(struct zt_segment) <= captured) {
		struct zt_segment seg;
		uint32_t cut = 0;

		memcpy(&seg, segs + off, sizeof(seg));
		off += sizeof(seg);
		if (seg.len > captured - off || seg.off + (uint64_t)seg.len > total) {
			lost(p); /* malformed: the kernel and the agent disagree */
			return;
		}
		if (seg.off < skip)
			cut = skip - seg.off < seg.len ? skip - seg.off : seg.len;
		if (cut < seg.len)
			segment(p, base + seg.off + cut, segs + off + cut, seg.len - cut,
				!cut && seg.flags & ZT_SEG_F_FRAME, ts);
		off += seg.len;
	}
}

void h2_parser__gap(struct h2_parser *p)
{
	if (p->synced || p->assembling || p->started)
		lost(p);
}
