// SPDX-License-Identifier: BSD-2-Clause
/* Attaches tests/bench/floor.bpf.c's empty programs of one capture path (argv[1]: socket or
 * tracepoint), or the socket path's with minimal capture on its read and send hooks (capture:
 * a record per read and write; paired: a record per exchange), and waits for SIGTERM; prints
 * "ready" once attached, and in the capturing modes the records read and lost when it stops.
 * make bench runs nginx with and without it, as it does with the agent. */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;
static unsigned long long records_read;

static int count_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	records_read++;
	return 0;
}

/* Which of the object's programs a mode attaches: its path's hooks, the process ones always. */
static bool wanted(const char *mode, const struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *name = bpf_program__name(prog);
	bool capture_prog = !strncmp(name, "capture_", 8);
	bool paired_prog = !strncmp(name, "paired_", 7);

	if (!strcmp(mode, "tracepoint"))
		return strncmp(sec, "tp_btf/", 7);
	if (!strncmp(sec, "tracepoint/syscalls/", 20))
		return false;
	if (!strcmp(mode, "socket"))
		return !capture_prog && !paired_prog;
	/* capture, paired: the read and send hooks do that instead of nothing */
	if (!strcmp(name, "btf_sock_recv_length") || !strcmp(name, "btf_tcp_sendmsg_locked"))
		return false;
	if (capture_prog || paired_prog)
		return !strcmp(mode, "capture") ? capture_prog : paired_prog;
	return true;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct bpf_program *prog;
	struct floor_bpf *skel;
	bool capture;
	struct stat st;
	int err;

	if (argc != 2 || (strcmp(argv[1], "socket") && strcmp(argv[1], "tracepoint") &&
			  strcmp(argv[1], "capture") && strcmp(argv[1], "paired"))) {
		fprintf(stderr, "usage: floor socket|tracepoint|capture|paired\n");
		return 2;
	}
	capture = !strcmp(argv[1], "capture") || !strcmp(argv[1], "paired");
	/* tracepoint ids come from tracefs, as for the agent */
	if (stat("/sys/kernel/tracing/events", &st) &&
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		fprintf(stderr, "floor: cannot mount tracefs: %s\n", strerror(errno));
		return 1;
	}
	skel = floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "floor: cannot open the programs: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		if (!wanted(argv[1], prog))
			bpf_program__set_autoload(prog, false);
	}
	err = floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "floor: cannot load the programs: %s\n", strerror(-err));
		floor_bpf__destroy(skel);
		return 1;
	}
	err = floor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "floor: cannot attach: %s\n", strerror(-err));
		floor_bpf__destroy(skel);
		return 1;
	}
	if (capture) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.records), count_record, NULL, NULL);
		if (!rb) {
			fprintf(stderr, "floor: cannot map the ring buffer: %s\n", strerror(errno));
			floor_bpf__destroy(skel);
			return 1;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		/* records wake no one (the poll only times out): read them every 10 ms, well
		 * before 2 MB fill up */
		if (rb) {
			ring_buffer__poll(rb, 10);
			ring_buffer__consume(rb);
		} else {
			pause();
		}
	}
	if (rb) {
		ring_buffer__consume(rb);
		printf("records %llu lost %llu\n", records_read, skel->bss->records_lost);
		ring_buffer__free(rb);
	}
	floor_bpf__destroy(skel);
	return 0;
}
