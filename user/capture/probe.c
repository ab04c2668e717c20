// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "capture/goelf.h"
#include "base/log.h"
#include "capture/probe.h"
#include "zerotrace.skel.h"

#define TRACEFS		"/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"

const char *const drop_reason_names[ZT_DROP_MAX] = {
    [ZT_DROP_RINGBUF_FULL] = "ringbuf_full",
    [ZT_DROP_PAYLOAD_TRUNCATED] = "payload_truncated",
    [ZT_DROP_CONN_MAP_FULL] = "conn_map_full",
    [ZT_DROP_PAYLOAD_READ_FAILED] = "payload_read_failed",
};

enum capture_path { PATH_SOCKET, PATH_TRACEPOINT, PATH_KPROBE };

struct probe {
	struct zerotrace_bpf *skel;
	struct ring_buffer *rb;
	enum capture_path path;
};

static const char *const path_names[] = {
    [PATH_SOCKET] = "socket",
    [PATH_TRACEPOINT] = "tracepoint",
    [PATH_KPROBE] = "kprobe",
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* the verifier log comes at WARN; it is what a user needs when a load fails */
	if (level == LIBBPF_DEBUG && log_get_level() < LOG_LVL_DEBUG)
		return 0;
	if (level == LIBBPF_INFO && log_get_level() < LOG_LVL_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static bool has_caps(void)
{
	unsigned long long eff = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	/* CAP_SYS_ADMIN (21), or CAP_BPF (39) with CAP_PERFMON (38) */
	return (eff >> 21 & 1) || ((eff >> 39 & 1) && (eff >> 38 & 1));
}

static bool tracing_events_present(void)
{
	return exists(TRACEFS "/events/syscalls") || exists(DEBUGFS_TRACING "/events/syscalls");
}

/* The socket path's hooks are BTF tracepoints: the kernel's own types say whether they exist,
 * and without them (--btf) the kernel cannot attach such programs at all. */
static bool has_socket_tracepoints(void)
{
	static const char *const names[] = {
	    "btf_trace_sock_recv_length", "btf_trace_tcp_sendmsg_locked",
	    "btf_trace_inet_sock_set_state", "btf_trace_tcp_destroy_sock"};
	struct btf *btf = btf__load_vmlinux_btf();
	bool all = btf != NULL;

	for (size_t i = 0; all && i < sizeof(names) / sizeof(names[0]); i++)
		all = btf__find_by_name_kind(btf, names[i], BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return all;
}

int probe__check_host(struct features *f, const char *btf_path)
{
	char lockdown[128] = "";
	FILE *lf;

	memset(f, 0, sizeof(*f));
	if (!has_caps()) {
		pr_err(
		    "zerotrace needs root, or CAP_BPF and CAP_PERFMON (plus CAP_SYS_PTRACE and "
		    "CAP_DAC_READ_SEARCH to read /proc); run it with sudo or as the systemd unit");
		return -EPERM;
	}
	f->btf = exists("/sys/kernel/btf/vmlinux");
	if (btf_path) {
		struct btf *btf = btf__parse(btf_path, NULL);

		if (!btf) {
			pr_err("--btf %s: not a readable BTF file (raw BTF or an ELF with a .BTF "
			       "section)",
			       btf_path);
			return -ENOENT;
		}
		btf__free(btf);
		pr_info("using the kernel types in %s", btf_path);
	} else if (!f->btf) {
		pr_err("this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing; it needs "
		       "CONFIG_DEBUG_INFO_BTF=y), so CO-RE programs cannot be loaded; give one "
		       "with --btf PATH (BTFHub publishes them per distribution kernel)");
		return -ENOENT;
	}
	lf = fopen("/sys/kernel/security/lockdown", "r");
	if (lf) {
		if (!fgets(lockdown, sizeof(lockdown), lf))
			lockdown[0] = '\0';
		fclose(lf);
	}
	if (strstr(lockdown, "[confidentiality]")) {
		pr_err("the kernel is locked down in confidentiality mode, which forbids BPF "
		       "programs from reading kernel memory; boot with lockdown=integrity or none");
		return -EPERM;
	}
	if (!tracing_events_present()) {
		/* tracefs not mounted (minimal images, some containers): mount it ourselves */
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
			pr_err("tracefs is not mounted and mounting it on " TRACEFS " failed: %s",
			       strerror(errno));
			return -errno;
		}
		pr_info("mounted tracefs on " TRACEFS);
	}
	f->tracefs = true;
	f->syscall_tracepoints = exists(TRACEFS "/events/syscalls/sys_enter_write") ||
				 exists(DEBUGFS_TRACING "/events/syscalls/sys_enter_write");
	f->socket_tracepoints = f->btf && has_socket_tracepoints();
	f->kprobes = exists(TRACEFS "/kprobe_events") || exists(DEBUGFS_TRACING "/kprobe_events");
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	if (!f->ringbuf) {
		pr_err("this kernel has no BPF ring buffer (needs Linux 5.8 or later)");
		return -ENOTSUP;
	}
	return 0;
}

/* Where a kernel has both syscall paths, which one auto takes: see README "Capture paths". */
#define AUTO_PREFERS_KPROBES false

static int choose_path(const struct probe_opts *o, const struct features *f,
		       enum capture_path *path)
{
	switch (o->hooks) {
	case HOOKS_SOCKET:
		if (!f->socket_tracepoints) {
			pr_err("--hooks socket: this kernel lacks the socket tracepoints "
			       "(sock_recv_length and tcp_sendmsg_locked came in Linux 6.16); use "
			       "--hooks auto");
			return -ENOTSUP;
		}
		*path = PATH_SOCKET;
		pr_info("capture path: socket tracepoints (--hooks socket)");
		return 0;
	case HOOKS_KPROBE:
		if (!f->kprobes) {
			pr_err("--hooks kprobe: this kernel has no kprobes (no kprobe_events in "
			       "tracefs); use --hooks tracepoint or auto");
			return -ENOTSUP;
		}
		*path = PATH_KPROBE;
		pr_info("capture path: kprobes on the syscall functions (--hooks kprobe)");
		return 0;
	case HOOKS_TRACEPOINT:
		if (!f->syscall_tracepoints) {
			pr_err("--hooks tracepoint: this kernel has no syscall tracepoints "
			       "(CONFIG_FTRACE_SYSCALLS)");
			return -ENOTSUP;
		}
		*path = PATH_TRACEPOINT;
		pr_info("capture path: syscall tracepoints (--hooks tracepoint)");
		return 0;
	case HOOKS_AUTO:
		if (f->socket_tracepoints) {
			/* no syscall hook: the node's syscalls all stay on the fast path */
			*path = PATH_SOCKET;
			pr_info("capture path: socket tracepoints (auto: the cheapest, on this "
				"kernel)");
			return 0;
		}
		if (!f->syscall_tracepoints && !f->kprobes) {
			pr_err(
			    "this kernel has neither syscall tracepoints nor kprobes: nothing to "
			    "capture socket I/O with");
			return -ENOTSUP;
		}
		*path = f->kprobes && (AUTO_PREFERS_KPROBES || !f->syscall_tracepoints)
			    ? PATH_KPROBE
			    : PATH_TRACEPOINT;
		if (*path == PATH_KPROBE)
			pr_info("capture path: kprobes (auto: %s)",
				f->syscall_tracepoints ? "the cheaper path on this kernel"
						       : "no syscall tracepoints on this kernel");
		else
			pr_info("capture path: syscall tracepoints (auto: %s)",
				f->kprobes ? "the cheaper path where both exist"
					   : "this kernel has no kprobes");
		return 0;
	}
	return -EINVAL;
}

/* Load only the chosen path's programs; the process-lifetime ones serve all three. */
static void select_programs(struct bpf_object *obj, enum capture_path path)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);
		enum capture_path of;

		if (!strncmp(sec, "ksyscall/", 9) || !strncmp(sec, "kretsyscall/", 12))
			of = PATH_KPROBE;
		else if (!strncmp(sec, "tracepoint/syscalls/", 20))
			of = PATH_TRACEPOINT;
		else if (!strncmp(sec, "tp_btf/", 7))
			of = PATH_SOCKET;
		else
			continue;
		if (of != path)
			bpf_program__set_autoload(prog, false);
	}
}

struct probe *probe__new(const struct probe_opts *o, const struct features *f, event_fn fn,
			 void *ctx)
{
	struct probe *p = calloc(1, sizeof(*p));
	enum capture_path path = PATH_TRACEPOINT;
	int err, ncpu;

	if (!p)
		return NULL;
	libbpf_set_print(libbpf_log);
	err = choose_path(o, f, &path);
	if (err)
		goto fail;
	p->path = path;
	{
		LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);

		p->skel = zerotrace_bpf__open_opts(&oo);
	}
	if (!p->skel) {
		err = -errno;
		pr_err("cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	select_programs(p->skel->obj, path);
	p->skel->rodata->self_tgid = getpid();
	p->skel->rodata->capture_bytes = o->capture_bytes;
	/* one wake-up per wakeup_bytes instead of one per event: a wake-up is an interrupt and a
	 * context switch, far dearer than the event. Counted per CPU, so all of them together
	 * wake the agent by 1/16 of the ring: larger batches measured slower (4.1-5.1 µs of agent
	 * CPU per request at 1/4 against 3.2-3.7 at 1/16, make bench's nginx case), the events
	 * no longer in cache when they are read. */
	ncpu = libbpf_num_possible_cpus();
	p->skel->rodata->wakeup_bytes = o->ringbuf_bytes / 16 / (ncpu > 0 ? ncpu : 64);
	bpf_map__set_max_entries(p->skel->maps.events, o->ringbuf_bytes);
	/* the socket path keeps its state in each sock: this table is the other paths' */
	bpf_map__set_max_entries(p->skel->maps.conns, path == PATH_SOCKET ? 1 : o->max_conns);
	err = zerotrace_bpf__load(p->skel);
	if (err) {
		pr_err("the kernel rejected the BPF programs (%s); the verifier log is above",
		       strerror(-err));
		goto fail;
	}
	probe__set_pids(p, o->pids, o->npids);
	err = zerotrace_bpf__attach(p->skel);
	if (err) {
		pr_err("attaching the BPF programs failed: %s", strerror(-err));
		goto fail;
	}
	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), (ring_buffer_sample_fn)fn, ctx,
				 NULL);
	if (!p->rb) {
		err = -errno;
		pr_err("cannot map the ring buffer: %s", strerror(errno));
		goto fail;
	}
	return p;
fail:
	probe__free(p);
	errno = -err;
	return NULL;
}

int probe__poll(struct probe *p, int timeout_ms)
{
	int n = ring_buffer__poll(p->rb, timeout_ms), m;

	/* the kernel side wakes us only past wakeup_bytes; what came in below that is read
	 * when the wait times out */
	if (n < 0 && n != -EINTR)
		return n;
	m = ring_buffer__consume(p->rb);
	return m < 0 ? m : (n > 0 ? n : 0) + m;
}

void probe__drops(struct probe *p, uint64_t out[ZT_DROP_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu > 0 ? ncpu : 1];

	for (uint32_t r = 0; r < ZT_DROP_MAX; r++) {
		out[r] = 0;
		if (ncpu <= 0 ||
		    bpf_map__lookup_elem(p->skel->maps.drops, &r, sizeof(r), vals, sizeof(vals), 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[r] += vals[c];
	}
}

void probe__set_pids(struct probe *p, const uint32_t *pids, int n)
{
	struct bpf_map *map = p->skel->maps.watched_pids;
	__u32 key, next;
	__u8 one = 1;

	/* select nothing while the set changes, never everything */
	p->skel->bss->filter_pids = true;
	while (!bpf_map__get_next_key(map, NULL, &next, sizeof(next))) {
		key = next;
		bpf_map__delete_elem(map, &key, sizeof(key), 0);
	}
	for (int i = 0; i < n; i++)
		bpf_map__update_elem(map, &pids[i], sizeof(pids[i]), &one, sizeof(one), BPF_ANY);
	p->skel->bss->filter_pids = n > 0;
}

void probe__prog_stats(struct probe *p, prog_stats_fn fn, void *ctx)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, p->skel->obj)
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		fn(ctx, bpf_program__name(prog), info.run_time_ns, info.run_cnt);
	}
}

void probe__forget_conn(void *probe, uint32_t pid, int32_t fd)
{
	struct probe *p = probe;
	struct {
		__u32 tgid;
		__s32 fd;
	} key = {pid, fd};

	bpf_map__delete_elem(p->skel->maps.conns, &key, sizeof(key), 0);
}

void probe__resend_addrs(void *probe)
{
	struct probe *p = probe;

	/* read by every data event's program; a torn view only ships them once more */
	__atomic_add_fetch(&p->skel->bss->tuple_epoch, 1, __ATOMIC_RELAXED);
}

struct go_links {
	int n;
	struct bpf_link *links[2 * GO_MAX_RETS + 4];
};

/* Where grpc-go v1.minor's handleStream finds the stream id in its stream argument, as the
 * cookie bpf/gouprobe.bpf.c reads (offset, and bit 32: behind the first field's pointer); 0
 * for a version whose layout is not known. Read off grpc-go's sources and the DWARF of builds:
 * up to 1.68 a *transport.Stream with `id uint32` first; 1.69-1.76 a *transport.ServerStream
 * whose first field is that *Stream; from 1.77 ServerStream embeds Stream by value, the id at
 * byte 108 (checked up to 1.85). */
static uint64_t grpc_stream_id_cookie(int minor)
{
	if (minor < 0 || minor > 85)
		return 0;
	if (minor <= 68)
		return 1ull << 33; /* offset 0; bit 33 only says "known" */
	if (minor <= 76)
		return 1ull << 33 | 1ull << 32;
	return 1ull << 33 | 108;
}

static int go_attach_one(struct go_links *l, struct bpf_program *prog, const char *path,
			 uint64_t off, uint64_t cookie)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie);
	struct bpf_link *link = bpf_program__attach_uprobe_opts(prog, -1, path, off, &opts);

	if (!link)
		return -errno;
	l->links[l->n++] = link;
	return 0;
}

struct go_links *probe__attach_go(struct probe *p, const char *path, const struct go_binary *b,
				  enum go_probes which)
{
	struct go_links *l = calloc(1, sizeof(*l));
	uint64_t cookie;
	int err = 0;

	if (!l)
		return NULL;
	if (which == GO_PROBES_CREATION) {
		/* the RET probes first: an entry probe alone would leave callers behind in the
		 * map */
		for (int i = 0; i < b->nrets && !err; i++)
			err = go_attach_one(l, p->skel->progs.go_newproc1_ret, path,
					    b->newproc1_rets[i], 0);
		if (!err)
			err = go_attach_one(l, p->skel->progs.go_newproc1, path, b->newproc1, 0);
		/* the goroutine that handles each gRPC server stream (bpf/gouprobe.bpf.c) */
		cookie = grpc_stream_id_cookie(b->grpc_minor);
		if (!err && b->grpc_handle_stream && cookie)
			err = go_attach_one(l, p->skel->progs.go_grpc_handle_stream, path,
					    b->grpc_handle_stream, cookie);
	} else {
		if (b->http_roundtrip)
			err = go_attach_one(l, p->skel->progs.go_http_roundtrip, path,
					    b->http_roundtrip, 0);
		if (!err && b->http_roundtrip)
			err = go_attach_one(l, p->skel->progs.go_http_request_write, path,
					    b->http_write, 0);
		/* the end that spends the hand-overs first, so none is left waiting */
		if (!err && b->grpc_client_headers)
			err = go_attach_one(l, p->skel->progs.go_grpc_client_stream, path,
					    b->grpc_client_stream, b->grpc_client_stream_v83);
		for (int i = 0; i < b->grpc_client_nrets && !err && b->grpc_client_headers; i++)
			err = go_attach_one(l, p->skel->progs.go_grpc_client_headers_ret, path,
					    b->grpc_client_headers_rets[i], 0);
	}
	if (!err)
		return l;
	probe__detach_go(l);
	errno = -err;
	return NULL;
}

void probe__detach_go(struct go_links *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		bpf_link__destroy(l->links[i]);
	free(l);
}

void probe__follow_go_pid(struct probe *p, uint32_t pid, bool on)
{
	volatile __u64 *word;

	if (pid >= ZT_GO_PID_MAX)
		return;
	word = &p->skel->bss->go_pids[pid / 64];
	if (on)
		__atomic_or_fetch(word, 1ull << (pid % 64), __ATOMIC_RELAXED);
	else
		__atomic_and_fetch(word, ~(1ull << (pid % 64)), __ATOMIC_RELAXED);
}

const char *probe__path(const struct probe *p)
{
	return path_names[p->path];
}

void probe__free(struct probe *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	zerotrace_bpf__destroy(p->skel);
	free(p);
}
