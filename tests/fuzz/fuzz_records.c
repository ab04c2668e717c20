// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer: ring-buffer records as the agent decodes them (tracer__handle), in sequences: the
 * input is records, each a 2-byte length then its bytes, handed to a fresh tracer (no /proc:
 * an empty fake root), then the tracer is flushed and freed so leaks show. Covers the record
 * decoder, connections, HTTP/1 and HTTP/2 sessions, the correlator and span building. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "trace/span.h"
#include "ingest/tracer.h"

static char root[] = "/tmp/zt-fuzz-proc-XXXXXX";
static uint8_t rec[65536] __attribute__((aligned(8)));

static void drop(void *ctx, struct span *s)
{
	(void)ctx;
	span__free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	return mkdtemp(root) ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tracer_opts o = {.proc_root = root, .max_conns = 16, .sink = drop};
	struct tracer *t = tracer__new(&o);

	if (!t)
		return 0;
	while (size >= 2) {
		size_t len = data[0] | (size_t)data[1] << 8;

		data += 2, size -= 2;
		if (len > size)
			len = size;
		/* aligned, as the ring hands records out */
		memcpy(rec, data, len);
		tracer__handle(t, rec, len);
		data += len, size -= len;
	}
	tracer__tick(t);
	tracer__flush(t);
	tracer__free(t);
	return 0;
}
