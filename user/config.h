/* SPDX-License-Identifier: BSD-2-Clause */
/* Configuration: YAML file < environment < flags. Every key is documented in
 * configs/zerotrace.yaml. */
#ifndef ZT_CONFIG_H
#define ZT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "base/log.h"
#include "capture/probe.h"
#include "trace/filter.h"
#include "trace/proc.h"

struct config {
	char *config_file;
	/* exporter */
	char *endpoint; /* traces URL; NULL: console (or file) */
	char *headers;
	char *otlp_file;
	char *resource_attrs;
	bool gzip;
	uint32_t timeout_ms;
	uint32_t queue_size;
	uint32_t batch_size;
	uint32_t batch_delay_ms;
	/* selection */
	uint32_t pids[FILTER_MAX];
	int npids;
	struct filter filter;
	/* capture */
	enum hooks_mode hooks;
	char *btf_path; /* external vmlinux BTF, for kernels that do not expose their own */
	uint32_t capture_bytes;
	uint32_t max_conns;
	uint32_t ringbuf_bytes;
	uint32_t stats_interval_s;
	enum log_level log_level;
	/* operations */
	bool metrics_enabled;
	bool go_goroutines; /* follow goroutines in Go processes (gofollow.h) */
	char *metrics_addr;
	struct name_rule service_names[FILTER_MAX];
	int nservice_names;
	bool show_help;
	bool show_version;
	bool check_config;
	char *strings[FILTER_MAX * 4]; /* owned copies behind filter globs and name rules */
	int nstrings;
};

/* Fills cfg from defaults, the YAML file (-c), the environment and argv, in that order of
 * precedence (last wins). On error prints one sentence naming what is wrong and returns
 * -EINVAL. */
int config_load(struct config *cfg, int argc, char **argv, char **envp);
int config_load_yaml(struct config *cfg, const char *path);
void config_free(struct config *cfg);
void config_usage(FILE *f);

#endif
