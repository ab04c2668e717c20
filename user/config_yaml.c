// SPDX-License-Identifier: BSD-2-Clause
/* The YAML configuration file, read with libyaml's event parser. Nested mappings become dotted
 * keys (exporter.endpoint); a sequence gives its key several values. Unknown keys and bad
 * values are errors naming the file, line and key. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>
#include "config.h"

int config_set(struct config *cfg, const char *key, const char *value, const char *where);

#define MAX_DEPTH 4

int config_load_yaml(struct config *cfg, const char *path)
{
	char prefix[MAX_DEPTH][64] = {};
	char key[256] = "", where[512];
	bool have_key = false, in_seq = false;
	int depth = 0, err = -EINVAL;
	yaml_parser_t parser;
	yaml_event_t ev;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "zerotrace: cannot read config file %s: %s\n", path,
			strerror(errno));
		return -EINVAL;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(stderr, "zerotrace: %s:%zu: %s\n", path,
				parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "YAML syntax error");
			goto cleanup;
		}
		snprintf(where, sizeof(where), "%s:%zu", path, ev.start_mark.line + 1);
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			err = 0;
			yaml_event_delete(&ev);
			goto cleanup;
		case YAML_MAPPING_START_EVENT:
			if (in_seq) {
				fprintf(stderr, "zerotrace: %s: %s takes a list of plain values\n",
					where, key);
				goto bad;
			}
			if (have_key) {
				if (depth >= MAX_DEPTH - 1) {
					fprintf(stderr, "zerotrace: %s: nested too deep\n", where);
					goto bad;
				}
				snprintf(prefix[++depth], sizeof(prefix[0]), "%s", key);
				have_key = false;
			} else if (depth == 0 && prefix[0][0] == '\0') {
				prefix[0][0] = '\x01'; /* the document's root mapping */
			}
			break;
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (!have_key || in_seq) {
				fprintf(stderr, "zerotrace: %s: unexpected list\n", where);
				goto bad;
			}
			in_seq = true;
			break;
		case YAML_SEQUENCE_END_EVENT:
			in_seq = false;
			have_key = false;
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;

			if (in_seq) {
				if (config_set(cfg, key, v, where))
					goto bad;
			} else if (!have_key) {
				if (depth)
					snprintf(key, sizeof(key), "%s.%s", prefix[depth], v);
				else
					snprintf(key, sizeof(key), "%s", v);
				have_key = true;
			} else {
				if (config_set(cfg, key, v, where))
					goto bad;
				have_key = false;
			}
			break;
		}
		default: break;
		}
		yaml_event_delete(&ev);
		continue;
	bad:
		yaml_event_delete(&ev);
		goto cleanup;
	}
cleanup:
	yaml_parser_delete(&parser);
	fclose(f);
	return err;
}
