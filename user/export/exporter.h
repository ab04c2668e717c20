/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finished spans leave the reader thread through a bounded queue and are exported on a thread
 * of their own, so a slow or dead backend never stalls event processing. A full queue drops
 * the span and counts it. For OTLP/HTTP what crosses is bytes: the submitting thread encodes
 * each span into the batch it is building, while the span is still in its cache.
 */
#ifndef ZT_EXPORTER_H
#define ZT_EXPORTER_H

#include <stdbool.h>
#include <stdint.h>
#include "export/options.h"

struct span;

struct exporter_stats {
	uint64_t queued;
	uint64_t exported;
	uint64_t dropped_queue_full;
	uint64_t dropped_export_failed;
	uint64_t export_errors; /* failed attempts, retried or not */
	uint64_t retries;
};

struct exporter;

struct exporter *exporter__new(const struct exporter_opts *opts);
int exporter__start(struct exporter *e);
/* Takes ownership of s. Never blocks. */
void exporter__submit(struct exporter *e, struct span *s);
/* New settings, applied by the exporter thread between batches: nothing queued is lost. The
 * strings are copied. */
int exporter__reconfigure(struct exporter *e, const struct exporter_opts *opts);
/* Export what is queued (giving up after deadline_ms), stop the thread. */
void exporter__stop(struct exporter *e, uint32_t deadline_ms);
void exporter__free(struct exporter *e);
void exporter__stats(struct exporter *e, struct exporter_stats *out);
uint32_t exporter__queue_depth(struct exporter *e);

#endif
