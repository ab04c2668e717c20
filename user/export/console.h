/* SPDX-License-Identifier: BSD-2-Clause */
/* With no exporter configured: each finished trace as an indented tree on the terminal. */
#ifndef ZT_CONSOLE_H
#define ZT_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct span;
struct console;

struct console *console__new(FILE *out, uint32_t quiet_ms, uint32_t max_traces);
/* Takes ownership of s. */
void console__add(struct console *c, struct span *s, uint64_t now_ms);
/* Print (and free) traces that got no span for quiet_ms, or all of them. */
void console__flush(struct console *c, bool all, uint64_t now_ms);
void console__free(struct console *c);

#endif
