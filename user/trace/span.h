/* SPDX-License-Identifier: BSD-2-Clause */
/* The span model: what the agent exports, named and attributed by OTel semantic conventions. */
#ifndef ZT_SPAN_H
#define ZT_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPAN_MAX_ATTRS 24
/* Strings of one span (name, attribute values) live in the span itself: one allocation per
 * span instead of one per attribute. Longer ones spill to chunks. */
#define SPAN_INLINE_STRINGS 768

/* Values are OTLP's SpanKind and StatusCode enums, so they are exported as they are. */
enum span_kind { SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3 };
enum span_status { SPAN_STATUS_UNSET = 0, SPAN_STATUS_OK = 1, SPAN_STATUS_ERROR = 2 };

enum attr_type { ATTR_STR, ATTR_INT, ATTR_BOOL };

struct attr {
	const char *key; /* a string literal: keys are the semantic conventions' names */
	enum attr_type type;
	uint16_t key_len; /* strlen(key), and of str: measured once, when set */
	uint32_t str_len;
	union {
		char *str;
		int64_t i;
		bool b;
	};
};

struct span_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
};

struct process;

struct span {
	struct span_ctx ctx;
	uint8_t parent_id[8];
	bool has_parent;
	bool incomplete; /* a capture gap or an early close: timing or fields may be partial */
	uint8_t trace_flags;
	char *trace_state;
	enum span_kind kind;
	char *name;
	uint32_t name_len;
	uint64_t start_ns; /* unix ns */
	uint64_t end_ns;
	enum span_status status;
	int nattrs;
	struct process *proc;	   /* holds a reference */
	struct waiting *waiting;   /* client span: the correlator's entry for its join */
	struct span_chunk *chunks; /* strings that did not fit inline */
	uint32_t strings_used;
	/* from here on, span__new does not zero: only what nattrs/strings_used cover is read */
	struct attr attrs[SPAN_MAX_ATTRS];
	char strings[SPAN_INLINE_STRINGS];
	struct span *next; /* queue link */
};

struct span *span__new(void);
void span__free(struct span *s);
int span__set_name(struct span *s, const char *name, size_t len);
/*
 * Attributes are appended: each key is set once per span. Keys are the conventions' names, string
 * literals (`key ""` refuses anything else), so their length is known when compiling: the
 * encoder needs it for every attribute of every span.
 */
#define span__set_str(s, key, val, len) span__set_str_kl(s, key "", sizeof(key) - 1, val, len)
#define span__set_int(s, key, val)	span__set_int_kl(s, key "", sizeof(key) - 1, val)
#define span__set_bool(s, key, val)	span__set_bool_kl(s, key "", sizeof(key) - 1, val)
int span__set_str_kl(struct span *s, const char *key, uint16_t key_len, const char *val,
		     size_t len);
int span__set_int_kl(struct span *s, const char *key, uint16_t key_len, int64_t val);
int span__set_bool_kl(struct span *s, const char *key, uint16_t key_len, bool val);
const struct attr *span__attr(const struct span *s, const char *key);
void span__set_process(struct span *s, struct process *p);

void hex_encode(const uint8_t *in, size_t n, char *out);

#endif
