/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef ZT_VERSION_H
#define ZT_VERSION_H

/* git describe at build time; one object carries it so a new commit rebuilds only that */
extern const char zt_version[];
extern const char zt_user_agent[];

#endif
