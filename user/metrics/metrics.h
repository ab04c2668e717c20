/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * /metrics in the Prometheus text format (libmicrohttpd): RED metrics of the traced services —
 * http.server.request.duration and http.client.request.duration histograms per service,
 * method, route and status, db.client.operation.duration per service, database system,
 * operation and error type — and, through a callback, the agent's own counters.
 */
#ifndef ZT_METRICS_H
#define ZT_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct span;
struct metrics;

/* Appends the agent's own counters to out; called on the server's thread at each scrape. */
typedef void (*metrics_counters_fn)(void *ctx, FILE *out);

struct metrics *metrics__new(uint32_t max_series);
void metrics__free(struct metrics *m);
/* A finished span (reader thread). */
void metrics__observe(struct metrics *m, const struct span *s);
/* The histograms, in the text format. */
void metrics__render(struct metrics *m, FILE *out);
/* Serve GET /metrics on addr ("host:port", IPv4 or [IPv6]). 0 or -errno (logged). */
int metrics__serve(struct metrics *m, const char *addr, metrics_counters_fn fn, void *ctx);
/* Prometheus label value escaping (backslash, double quote, newline). */
void metrics_write_label(FILE *out, const char *v);

#endif
