// SPDX-License-Identifier: BSD-2-Clause
/* Logs go to stderr, one line each, with a syslog priority prefix (<3>..<7>) that journald
 * turns into the entry's priority and strips; a terminal user sees the level word too. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include "log.h"

static enum log_level current = LOG_LVL_INFO;

static const struct {
	const char *name;
	int syslog_prio;
} levels[] = {
    [LOG_LVL_ERROR] = {"error", 3},
    [LOG_LVL_WARN] = {"warn", 4},
    [LOG_LVL_INFO] = {"info", 6},
    [LOG_LVL_DEBUG] = {"debug", 7},
};

void log_set_level(enum log_level level)
{
	current = level;
}

enum log_level log_get_level(void)
{
	return current;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!strcasecmp(name, levels[i].name)) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

void zt_log(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > current)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line so lines from the exporter thread never interleave */
	fprintf(stderr, "<%d>zerotrace %s: %s\n", levels[level].syslog_prio, levels[level].name,
		line);
}
