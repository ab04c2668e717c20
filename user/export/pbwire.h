/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Protocol Buffers wire format, the few primitives an encoder that knows its messages needs:
 * base-128 varints, tags, fixed-width fields, length-delimited fields. The caller measures a
 * message before writing it (its length prefix comes first), and writes into a buffer it sized
 * from those measurements, so nothing here checks bounds.
 */
#ifndef ZT_PBWIRE_H
#define ZT_PBWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pb_wire_type { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

static inline size_t pb_varint_size(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline size_t pb_tag_size(uint32_t field)
{
	return pb_varint_size((uint64_t)field << 3);
}

/* A length-delimited field of `len` bytes: tag, length, bytes. */
static inline size_t pb_len_field_size(uint32_t field, size_t len)
{
	return pb_tag_size(field) + pb_varint_size(len) + len;
}

static inline uint8_t *pb_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint8_t *pb_put_tag(uint8_t *p, uint32_t field, enum pb_wire_type type)
{
	return pb_put_varint(p, (uint64_t)field << 3 | type);
}

/* Tag and length of a length-delimited field; its `len` bytes are written next. */
static inline uint8_t *pb_put_len_prefix(uint8_t *p, uint32_t field, size_t len)
{
	return pb_put_varint(pb_put_tag(p, field, PB_LEN), len);
}

static inline uint8_t *pb_put_bytes(uint8_t *p, uint32_t field, const void *data, size_t len)
{
	p = pb_put_len_prefix(p, field, len);
	memcpy(p, data, len);
	return p + len;
}

static inline uint8_t *pb_put_fixed64(uint8_t *p, uint32_t field, uint64_t v)
{
	p = pb_put_tag(p, field, PB_FIXED64);
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(v >> (8 * i)); /* little-endian on the wire */
	return p;
}

static inline uint8_t *pb_put_fixed32(uint8_t *p, uint32_t field, uint32_t v)
{
	p = pb_put_tag(p, field, PB_FIXED32);
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static inline uint8_t *pb_put_uint(uint8_t *p, uint32_t field, uint64_t v)
{
	return pb_put_varint(pb_put_tag(p, field, PB_VARINT), v);
}

#endif
