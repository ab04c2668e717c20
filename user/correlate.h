/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Trace identity for new spans (DESIGN §4). Every span gets its ids when its request starts so
 * its children can point at it at once:
 *   1. a server request carrying a valid traceparent joins that trace, child of the caller;
 *   3. a client request written by a thread that is serving a request is that server span's
 *      child (the thread's active server span);
 *   5. otherwise a new trace.
 * Rule 2 (same-node join by TCP sequence) plugs in between 1 and 3.
 */
#ifndef ZT_CORRELATE_H
#define ZT_CORRELATE_H

#include <stdbool.h>
#include <stdint.h>
#include "span.h"

struct correlator;

struct correlator *correlator__new(uint32_t capacity);
void correlator__free(struct correlator *c);

/* Fresh random ids (span ids never zero). */
void correlator__new_trace_id(struct correlator *c, uint8_t id[16]);
void correlator__new_span_id(struct correlator *c, uint8_t id[8]);

/* A server span started on (pid, tid). traceparent may be NULL/empty. Assigns ids and parent,
 * and makes the span the thread's active one. */
void correlator__server_start(struct correlator *c, struct span *s, uint32_t pid, uint32_t tid,
			      const char *traceparent, size_t tp_len, const char *tracestate,
			      size_t ts_len);
/* A client span started by a write on (pid, tid): child of that thread's active server span,
 * or the root of a new trace. */
void correlator__client_start(struct correlator *c, struct span *s, uint32_t pid, uint32_t tid);
/* A server span ended or is being dropped: no thread may hand it out as a parent any more. */
void correlator__server_end(struct correlator *c, const struct span *s);

uint64_t correlator__evictions(const struct correlator *c);

#endif
