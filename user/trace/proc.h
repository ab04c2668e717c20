/* SPDX-License-Identifier: BSD-2-Clause */
/* Process table: who a pid is, as OTel resource attributes. */
#ifndef ZT_PROC_H
#define ZT_PROC_H

#include <stdint.h>

struct process {
	int refcnt; /* atomic: spans on the exporter thread hold references */
	uint32_t pid;
	char *service_name;
	char *exe_name; /* basename of /proc/PID/exe */
	char *exe_path;
	char *command_line;
	char *container_id;   /* NULL outside containers */
	char *cgroup;	      /* cgroup v2 path, e.g. /system.slice/nginx.service, or NULL */
	char *resource_attrs; /* the target's own OTEL_RESOURCE_ATTRIBUTES, raw, or NULL */
};

/* A configured service name: processes whose executable (path or name) matches glob. */
struct name_rule {
	const char *glob;
	const char *name;
};

struct process *process__get(struct process *p);
void process__put(struct process *p);

/* Reads /proc/PID (root: environ needs it). NULL and errno set when the process is gone. */
struct process *process__load(const char *proc_root, uint32_t pid, const struct name_rule *rules,
			      int nrules);
/* A process known only by the names the kernel gave (it exited before /proc was read). */
struct process *process__from_names(uint32_t pid, const char *comm, const char *filename);

/* Service name from an environ blob (NUL-separated): OTEL_SERVICE_NAME, else service.name in
 * OTEL_RESOURCE_ATTRIBUTES; NULL when neither is set. Returned string is malloc'd. */
char *service_name_from_environ(const char *env, size_t len);

struct proc_table;

struct proc_table *proc_table__new(const char *proc_root, uint32_t capacity);
/* Rules apply to processes loaded from now on; the table is emptied so that every process is
 * named again (references held by spans stay valid). rules must outlive their use. */
void proc_table__set_rules(struct proc_table *t, const struct name_rule *rules, int n);
void proc_table__free(struct proc_table *t);
/* Borrowed reference, valid until the next call that changes the table. */
struct process *proc_table__lookup(struct proc_table *t, uint32_t pid);
void proc_table__forget(struct proc_table *t, uint32_t pid);
/* A process exec'd: read it now, while it surely exists; fall back to the names the kernel
 * reported when it is already gone. */
void proc_table__exec(struct proc_table *t, uint32_t pid, const char *comm, const char *filename);
uint32_t proc_table__size(const struct proc_table *t);

#endif
