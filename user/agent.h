/* SPDX-License-Identifier: BSD-2-Clause */
/* The running agent's parts, for what reports on all of them: the stats log line and the
 * agent's own counters on /metrics. */
#ifndef ZT_AGENT_H
#define ZT_AGENT_H

#include <stdbool.h>
#include <stdio.h>
#include "config.h"

struct agent {
	struct config cfg;
	struct probe *probe;
	struct tracer *tracer;
	struct exporter *exp;
	struct metrics *metrics;
	struct gofollow *go;
};

/* One line with every counter, so that no drop is silent. */
void agent__log_stats(struct agent *a, bool final);
/* Was anything lost (not counting truncated payloads, which bodies always are)? */
bool agent__any_loss(struct agent *a);
/* The agent's counters in the Prometheus text format (metrics_counters_fn). */
void agent__prometheus(void *agent, FILE *out);

#endif
