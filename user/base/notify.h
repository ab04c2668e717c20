/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef ZT_NOTIFY_H
#define ZT_NOTIFY_H

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. No-op (0) when unset. */
int notify_systemd(const char *state);

#endif
