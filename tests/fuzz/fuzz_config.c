// SPDX-License-Identifier: BSD-2-Clause
/* libFuzzer: the configuration file (YAML through libyaml, then every key's parser), loaded the
 * way the agent loads it: defaults, then `-c FILE`. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	char *argv[] = {"zerotrace", "-c", path, NULL};
	char *envp[] = {NULL};
	struct config cfg = {};
	int fd = memfd_create("zt-fuzz-config", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		config_load(&cfg, 3, argv, envp);
		config_free(&cfg);
	}
	close(fd);
	return 0;
}
