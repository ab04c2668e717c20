// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include "export/encode.h"

int gzip_compress(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream zs = {};
	size_t cap;
	int ret;

	/* windowBits 15 + 16: gzip framing, which OTLP receivers expect with Content-Encoding */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY))
		return -ENOMEM;
	cap = deflateBound(&zs, len);
	*out = malloc(cap);
	if (!*out) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	zs.next_out = *out;
	zs.avail_out = cap;
	ret = deflate(&zs, Z_FINISH);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	if (ret != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -EIO;
	}
	return 0;
}
