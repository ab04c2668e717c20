// SPDX-License-Identifier: BSD-2-Clause
/* Configuration: file < environment < flags, and every bad value refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static char yaml_path[] = "/tmp/zt-config-XXXXXX";

static void write_yaml(const char *text)
{
	int fd = mkstemp(yaml_path);
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
}

static int load(struct config *c, char **argv, char **envp)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return config_load(c, argc, argv, envp);
}

static void test_precedence(void **state)
{
	struct config c;
	char *argv[] = {"zerotrace", "-c",	yaml_path,    "--port",
			"8080",	     "--hooks", "tracepoint", NULL};
	char *envp[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=http://env:4318/", "ZEROTRACE_HOOKS=kprobe",
			"ZEROTRACE_CAPTURE_BYTES=512", NULL};

	(void)state;
	strcpy(yaml_path, "/tmp/zt-config-XXXXXX");
	write_yaml("exporter:\n  endpoint: http://file:4318\n  compression: gzip\n"
		   "capture:\n  payload_bytes: 1024\n  hooks: auto\n"
		   "select:\n  exes: ['*/nginx', python3]\n");
	assert_int_equal(load(&c, argv, envp), 0);
	assert_string_equal(c.endpoint, "http://env:4318/v1/traces"); /* env over file */
	assert_true(c.gzip);					      /* file */
	assert_int_equal(c.capture_bytes, 512);			      /* env over file */
	assert_int_equal(c.hooks, HOOKS_TRACEPOINT);		      /* flag over env */
	assert_int_equal(c.filter.nports, 1);
	assert_int_equal(c.filter.ports[0], 8080);
	assert_int_equal(c.filter.nglobs, 2);
	assert_string_equal(c.filter.exe_globs[1], "python3");
	config_free(&c);
	unlink(yaml_path);
}

static void test_traces_endpoint_wins(void **state)
{
	struct config c;
	char *argv[] = {"zerotrace", NULL};
	char *envp[] = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://t:1/custom",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://base:4318", NULL};

	(void)state;
	assert_int_equal(load(&c, argv, envp), 0);
	assert_string_equal(c.endpoint, "http://t:1/custom");
	config_free(&c);
}

static void test_bad_values(void **state)
{
	static const char *const bad[][3] = {
	    {"--port", "0", NULL},
	    {"--port", "65536", NULL},
	    {"--pid", "-3", NULL},
	    {"--hooks", "fentry", NULL},
	    {"--capture-bytes", "9000", NULL},
	    {"--bogus", NULL, NULL},
	    {"stray-argument", NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config c;
		char *argv[] = {"zerotrace", (char *)bad[i][0], (char *)bad[i][1], NULL};
		char *envp[] = {NULL};

		assert_int_equal(load(&c, argv, envp), -EINVAL);
		config_free(&c);
	}
}

static void test_bad_env_and_file(void **state)
{
	struct config c;
	char *argv[] = {"zerotrace", NULL};
	char *grpc[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", NULL};
	char *url[] = {"OTEL_EXPORTER_OTLP_ENDPOINT=localhost:4318", NULL};
	char *argv_file[] = {"zerotrace", "-c", yaml_path, NULL};
	char *none[] = {NULL};

	(void)state;
	assert_int_equal(load(&c, argv, grpc), -EINVAL);
	config_free(&c);
	assert_int_equal(load(&c, argv, url), -EINVAL);
	config_free(&c);
	strcpy(yaml_path, "/tmp/zt-config-XXXXXX");
	write_yaml("exporter:\n  endpoint: http://x:4318\n  colour: blue\n");
	assert_int_equal(load(&c, argv_file, none), -EINVAL);
	config_free(&c);
	unlink(yaml_path);
	strcpy(yaml_path, "/tmp/zt-config-XXXXXX");
	write_yaml("capture: {payload_bytes: 1024\n");
	assert_int_equal(load(&c, argv_file, none), -EINVAL);
	config_free(&c);
	unlink(yaml_path);
}

/* table-driven: each YAML document either loads or is refused */
static void test_yaml_table(void **state)
{
	static const struct {
		const char *yaml;
		int want;
	} cases[] = {
	    {"metrics:\n  enabled: yes\n  address: 127.0.0.1:9999\n", 0},
	    {"metrics:\n  enabled: perhaps\n", -EINVAL},
	    {"metrics:\n  address: nocolon\n", -EINVAL},
	    {"service_names: ['*/java=orders', 'python3=billing']\n", 0},
	    {"service_names: ['=orders']\n", -EINVAL},
	    {"service_names: ['java=']\n", -EINVAL},
	    {"select:\n  cgroups: ['/system.slice/*']\n", 0},
	    {"select:\n  cgroups: ['system.slice']\n", -EINVAL},
	    {"capture:\n  ringbuf_bytes: 12345\n", -EINVAL},
	    {"capture:\n  btf: /sys/kernel/btf/vmlinux\n", 0},
	    {"exporter:\n  compression: brotli\n", -EINVAL},
	    {"exporter:\n  timeout_ms: 0\n", -EINVAL},
	    {"log:\n  level: chatty\n", -EINVAL},
	    {"nonsense: 1\n", -EINVAL},
	    {"", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"zerotrace", "-c", yaml_path, NULL};
		char *envp[] = {NULL};
		struct config c;

		strcpy(yaml_path, "/tmp/zt-config-XXXXXX");
		write_yaml(cases[i].yaml);
		if (load(&c, argv, envp) != cases[i].want)
			fail_msg("case %zu (%s): want %d", i, cases[i].yaml, cases[i].want);
		config_free(&c);
		unlink(yaml_path);
	}
}

static void test_operations_flags(void **state)
{
	struct config c;
	char *argv[] = {"zerotrace", "--metrics", "127.0.0.1:9500", "--check-config", NULL};
	char *envp[] = {"ZEROTRACE_METRICS=false", NULL};

	(void)state;
	assert_int_equal(load(&c, argv, envp), 0);
	assert_true(c.metrics_enabled); /* the flag over the environment */
	assert_string_equal(c.metrics_addr, "127.0.0.1:9500");
	assert_true(c.check_config);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_precedence), cmocka_unit_test(test_traces_endpoint_wins),
	    cmocka_unit_test(test_bad_values), cmocka_unit_test(test_bad_env_and_file),
	    cmocka_unit_test(test_yaml_table), cmocka_unit_test(test_operations_flags),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
