/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef ZT_LOG_H
#define ZT_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Decide again whether stderr is the journal (after stderr was redirected). */
void log_reopen(void);
int log_level_parse(const char *name, enum log_level *out);
void zt_log(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...)   zt_log(LOG_LVL_ERROR, __VA_ARGS__)
#define pr_warn(...)  zt_log(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  zt_log(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) zt_log(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
