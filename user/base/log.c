// SPDX-License-Identifier: BSD-2-Clause
/* Logs go to stderr, one line each. When stderr is the journal (systemd sets JOURNAL_STREAM to
 * its device:inode, sd_journal_stream_fd(3)), each line starts with a syslog priority prefix
 * (<3>..<7>) that journald turns into the entry's priority and strips; anywhere else (a
 * terminal, a file, a pipe) the prefix would be noise, and the level word says it. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/stat.h>
#include "base/log.h"

static enum log_level current = LOG_LVL_INFO;
static int to_journal = -1; /* unknown until the first line */

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

/* JOURNAL_STREAM is inherited by children whose stderr may go elsewhere: trust it only when it
 * names the very file stderr is. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_reopen(void)
{
	to_journal = stderr_is_journal();
}

void zt_log(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > current)
		return;
	if (to_journal < 0)
		log_reopen();
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one write per line so lines from the exporter thread never interleave */
	if (to_journal)
		fprintf(stderr, "<%d>zerotrace %s: %s\n", levels[level].syslog_prio,
			levels[level].name, line);
	else
		fprintf(stderr, "zerotrace %s: %s\n", levels[level].name, line);
}
