/* SPDX-License-Identifier: BSD-2-Clause */
/* Which traffic becomes spans: --port and --exe (pids are filtered in the kernel). */
#ifndef ZT_FILTER_H
#define ZT_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#define FILTER_MAX 64

struct process;

struct filter {
	uint16_t ports[FILTER_MAX];
	int nports;
	const char *exe_globs[FILTER_MAX]; /* matched against the executable's path and name */
	int nglobs;
	const char *cgroup_globs[FILTER_MAX]; /* matched against the process's cgroup v2 path */
	int ncgroups;
};

/* A NULL or empty filter accepts everything. With ports, a connection qualifies when either
 * end's port is listed; with exe globs, the process's executable must match one; with cgroup
 * globs, its cgroup (e.g. /system.slice/nginx.service) must. */
bool filter__accepts(const struct filter *f, const struct process *p, uint16_t local_port,
		     uint16_t remote_port);

#endif
