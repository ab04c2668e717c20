// SPDX-License-Identifier: BSD-2-Clause
/* Attaches tests/bench/floor.bpf.c's empty programs of one capture path (argv[1]: socket or
 * tracepoint) and waits for SIGTERM; prints "ready" once attached. make bench runs nginx with
 * and without it, as it does with the agent. */
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

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_program *prog;
	struct floor_bpf *skel;
	bool socket_path;
	struct stat st;
	int err;

	if (argc != 2 || (strcmp(argv[1], "socket") && strcmp(argv[1], "tracepoint"))) {
		fprintf(stderr, "usage: floor socket|tracepoint\n");
		return 2;
	}
	socket_path = !strcmp(argv[1], "socket");
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
	/* the path's own hooks; the process ones serve both */
	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *sec = bpf_program__section_name(prog);

		if ((!strncmp(sec, "tp_btf/", 7) && !socket_path) ||
		    (!strncmp(sec, "tracepoint/syscalls/", 20) && socket_path))
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
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		pause();
	floor_bpf__destroy(skel);
	return 0;
}
