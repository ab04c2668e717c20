// SPDX-License-Identifier: BSD-2-Clause
#include <fnmatch.h>
#include <stddef.h>
#include "trace/filter.h"
#include "trace/proc.h"

bool filter__accepts(const struct filter *f, const struct process *p, uint16_t local_port,
		     uint16_t remote_port)
{
	bool ok;

	if (!f)
		return true;
	if (f->nports) {
		ok = false;
		for (int i = 0; i < f->nports && !ok; i++)
			ok = f->ports[i] == local_port || f->ports[i] == remote_port;
		if (!ok)
			return false;
	}
	if (f->nglobs) {
		ok = false;
		for (int i = 0; p && i < f->nglobs && !ok; i++)
			ok = !fnmatch(f->exe_globs[i], p->exe_path, 0) ||
			     !fnmatch(f->exe_globs[i], p->exe_name, 0);
		if (!ok)
			return false;
	}
	if (f->ncgroups) {
		ok = false;
		for (int i = 0; p && p->cgroup && i < f->ncgroups && !ok; i++)
			ok = !fnmatch(f->cgroup_globs[i], p->cgroup, 0);
		if (!ok)
			return false;
	}
	return true;
}
