# zerotrace — build, test, package.
#   make            build/zerotrace (BPF object embedded through a bpftool skeleton)
#   make deps       install the Debian packages the build and the tests need, build Jaeger
#   make run        deps, build, run the agent (traces on the terminal unless an OTLP
#                   endpoint is set: OTEL_EXPORTER_OTLP_ENDPOINT=http://host:4318)
#   make test       deps, unit tests (cmocka), integration tests (pytest, as root, real Jaeger),
#                   the kernel matrix (test-vm: 6.1 under qemu, both capture paths)
#   make check      format check, then test
#   make accuracy   exact-trace share and duration error on a 3-runtime topology (as root)
#   make bench      overhead, agent off vs on side by side (as root; PAIRS=15 SECONDS=3)
#   make fuzz       every libFuzzer target (ASan + UBSan) for FUZZ_SECONDS each (default 60);
#                   make test runs each for 15 s and its regression inputs
#   make deb        build/zerotrace_VERSION_amd64.deb (binary, systemd unit, config)
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
ARCH       ?= $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
BUILD      := build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
PROTOC_C   ?= protoc-c

CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	      -D_GNU_SOURCE -I$(BUILD) -Iuser -Ibpf
LDLIBS     := -lbpf -lelf -lz -lcurl -lyaml -lmicrohttpd -lnghttp2 -ldl -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Wno-unused-parameter \
	      -Werror -Ivmlinux/$(ARCH) -Ibpf

BPF_SRCS   := bpf/socktrace.bpf.c bpf/tracepoint.bpf.c bpf/kprobe.bpf.c bpf/process.bpf.c \
	      bpf/gouprobe.bpf.c
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS   := $(wildcard bpf/*.h)
PROTO      := user/export/otlp_trace.proto
PROTO_GEN  := $(BUILD)/otlp_trace.pb-c.c
CORE_SRCS  := $(filter-out user/main.c,$(wildcard user/*.c user/*/*.c))
CORE_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRCS))
HDRS       := $(wildcard user/*.h user/*/*.h) bpf/events.h
# the one object that needs the BPF skeleton (and so clang and bpftool); every other one, and
# the tests that do not run the tracer, build without it
SKEL_OBJ   := $(BUILD)/user/capture/probe.o
LIB_OBJS   := $(filter-out $(SKEL_OBJ),$(CORE_OBJS))

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps run test test-unit test-integration test-vm test-fuzz fuzz check format clean \
	accuracy bench deb
all: $(BUILD)/zerotrace

$(BUILD):
	mkdir -p $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# one object, one skeleton: the entry-point files share their maps (__weak) through the linker
$(BUILD)/zerotrace.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $^

# the syscall paths alone, for verifying every program on kernels older than the socket path
$(BUILD)/zerotrace-syscalls.bpf.o: $(filter-out $(BUILD)/bpf/socktrace.bpf.o,$(BPF_OBJS))
	$(BPFTOOL) gen object $@ $^

$(BUILD)/zerotrace.skel.h: $(BUILD)/zerotrace.bpf.o
	$(BPFTOOL) gen skeleton $< name zerotrace_bpf > $@

$(PROTO_GEN): $(PROTO) | $(BUILD)
	$(PROTOC_C) --proto_path=user/export --c_out=$(BUILD) $<

$(BUILD)/otlp_trace.pb-c.o: $(PROTO_GEN)
	$(CC) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

$(BUILD)/user/%.o: user/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(SKEL_OBJ): $(BUILD)/zerotrace.skel.h

# the agent but its skeleton, as an archive: a test links only the objects it uses
$(BUILD)/libzt.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

# only version.o sees the version, so a new commit does not rebuild everything
$(BUILD)/user/base/version.o: user/base/version.c $(HDRS) FORCE
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DZT_VERSION='"$(VERSION)"' -c $< -o $@

FORCE:

$(BUILD)/zerotrace: $(BUILD)/user/main.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# protobuf-c decodes what the agent's own encoder wrote (tests/unit/test_otlp.c). The tests
# that run the tracer reach the probe (its Go uprobes): they link the skeleton's object too.
TRACER_TESTS := $(patsubst %,$(BUILD)/tests/test_%,goroutines http2 join redis spans)
$(TRACER_TESTS): $(SKEL_OBJ)
$(TRACER_TESTS): TEST_OBJS := $(SKEL_OBJ)
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libzt.a $(HDRS) $(BUILD)/otlp_trace.pb-c.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter $< $(TEST_OBJS) $(BUILD)/libzt.a \
		$(BUILD)/otlp_trace.pb-c.o $(LDLIBS) -lprotobuf-c -lcmocka -o $@

deps:
	tests/install-deps.sh

# a real Go executable for the tests of Go binary reading and goroutine context, plain and
# stripped, built with this machine's Go
GO_UNIT_APP := tests/integration/apps/go_fanout
$(BUILD)/tests/go_fanout: $(GO_UNIT_APP)/main.go $(GO_UNIT_APP)/go.mod
	@mkdir -p $(dir $@)
	cd $(GO_UNIT_APP) && CGO_ENABLED=0 go build -o $(CURDIR)/$@ .

$(BUILD)/tests/go_fanout-stripped: $(GO_UNIT_APP)/main.go $(GO_UNIT_APP)/go.mod
	@mkdir -p $(dir $@)
	cd $(GO_UNIT_APP) && CGO_ENABLED=0 go build -ldflags='-s -w' -o $(CURDIR)/$@ .

test-unit: $(UNIT_BINS) $(BUILD)/tests/go_fanout $(BUILD)/tests/go_fanout-stripped
	@set -e; export ZT_TEST_GO_BINARY=$(CURDIR)/$(BUILD)/tests/go_fanout \
		ZT_TEST_GO_STRIPPED=$(CURDIR)/$(BUILD)/tests/go_fanout-stripped \
		ZT_TEST_GO_VERSION=$$(cd $(GO_UNIT_APP) && go env GOVERSION); \
	for t in $(UNIT_BINS); do echo "== $$t"; $$t; done
	python3 tests/layout/check_layout.py

test-integration: $(BUILD)/zerotrace
	python3 -m pytest -v -p no:cacheprovider tests/integration

run:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	./$(BUILD)/zerotrace $(ARGS)

# the kernel matrix: Debian's stock 6.1 (kprobes on) under qemu, plus this kernel's verifier
test-vm: $(BUILD)/zerotrace $(BUILD)/zerotrace-syscalls.bpf.o $(BUILD)/tests/go_fanout
	python3 -m pytest -v -p no:cacheprovider tests/vm

# libFuzzer targets (tests/fuzz): the agent's sources built again by clang with AddressSanitizer
# and UndefinedBehaviorSanitizer, seeded from tests/fuzz/seeds and the captures in tests/unit/data
FUZZ_TARGETS := http1 http2 resp records config
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -D_GNU_SOURCE -I$(BUILD) -Iuser -Ibpf -fno-omit-frame-pointer \
		-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(CORE_SRCS))
FUZZ_SKEL    := $(BUILD)/fuzz/obj/user/capture/probe.o
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DZT_VERSION='"fuzz"' -c $< -o $@

$(FUZZ_SKEL): $(BUILD)/zerotrace.skel.h

$(BUILD)/fuzz/libzt.a: $(filter-out $(FUZZ_SKEL),$(FUZZ_OBJS))
	$(AR) rcs $@ $^

# the records target runs the tracer, which reaches the probe
$(BUILD)/fuzz/fuzz_records: $(FUZZ_SKEL)
$(BUILD)/fuzz/fuzz_records: FUZZ_EXTRA := $(FUZZ_SKEL)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libzt.a tests/unit/h2_segments.h
	$(CLANG) $(FUZZ_CFLAGS) -Itests/unit -fsanitize=fuzzer $< $(FUZZ_EXTRA) \
		$(BUILD)/fuzz/libzt.a $(LDLIBS) -o $@

fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test-fuzz:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=15

test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-fuzz
	@$(MAKE) --no-print-directory test-integration
	@$(MAKE) --no-print-directory test-vm

check: format test

$(BUILD)/bench/otlp_sink: tests/bench/otlp_sink.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -lmicrohttpd -o $@

# empty programs on the agent's hooks, and minimal capture on them: the floors make bench
# compares against
$(BUILD)/bench/floor.bpf.o: tests/bench/floor.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/floor.skel.h: $(BUILD)/bench/floor.bpf.o
	$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(BUILD)/bench/floor: tests/bench/floor.c $(BUILD)/bench/floor.skel.h
	$(CC) $(CFLAGS) -I$(BUILD)/bench $< -lbpf -lelf -lz -o $@

# one thread playing both ends of nginx's exchange: BPF time per exchange, quieter than nginx's
$(BUILD)/bench/pingpong: tests/bench/pingpong.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@

$(BUILD)/bench/work_server: tests/bench/work_server/main.go tests/bench/work_server/go.mod
	@mkdir -p $(dir $@)
	cd tests/bench/work_server && go build -o ../../../$@ .

# Debian package: binary, systemd unit, default config (a conffile), maintainer scripts
DEB_VERSION ?= 0.1.0+g$(shell git rev-parse --short HEAD 2>/dev/null || echo 0)
deb: $(BUILD)/zerotrace
	rm -rf $(BUILD)/zerotrace_*.deb
	packaging/build-deb.sh $(DEB_VERSION) $(BUILD)

# overhead: agent off vs on, side by side (tests/bench/bench.py); prints numbers, never fails
bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/otlp_sink $(BUILD)/bench/work_server \
		$(BUILD)/bench/floor $(BUILD)/bench/pingpong
	python3 tests/bench/bench.py $(PAIRS) $(SECONDS)

# share of requests whose trace in Jaeger is exactly the expected tree (tests/integration/topology.py)
accuracy:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	cd tests/integration && python3 accuracy.py

format:
	clang-format --dry-run -Werror $(wildcard user/*.[ch] user/*/*.[ch] bpf/*.[ch] tests/unit/*.[ch] tests/bench/*.[ch] tests/fuzz/*.[ch])

clean:
	rm -rf $(BUILD)
