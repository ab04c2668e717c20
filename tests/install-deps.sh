#!/bin/sh
# Installs everything the build and the tests need on Debian bookworm, as root, and builds the
# Jaeger the integration tests run. Idempotent: what is there already is not fetched again.
set -eu
cd "$(dirname "$0")/.."

PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libprotobuf-c-dev
protobuf-c-compiler libcapstone-dev golang-1.19 libclang-rt-14-dev libcurl4-openssl-dev libnghttp2-dev libyaml-dev libcmocka-dev clang-format pkg-config
nginx-light curl util-linux iproute2 golang-go python3 python3-pytest
nodejs default-jdk-headless wrk libmicrohttpd-dev
qemu-system-x86 busybox-static cpio linux-perf redis-server"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# a newer Go or pytest from elsewhere on PATH is fine too
command -v go >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ golang-go//')
python3 -m pytest --version >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ python3-pytest//')
if [ -n "$missing" ]; then
	echo "installing:$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# nginx-light's and redis-server's packages start servers on their ports; the tests run their own
systemctl disable --now nginx >/dev/null 2>&1 || true
systemctl disable --now redis-server >/dev/null 2>&1 || true

# Jaeger v2 (all-in-one: OTLP on 4317/4318, query API on 16686, in-memory storage), built from
# the Go module proxy. Its go.mod carries a replace directive, so `go install pkg@version`
# refuses it; tests/tools/jaeger is a wrapper module with the same replace and a go.sum.
if [ ! -x build/tools/jaeger ]; then
	echo "building jaeger (first time only: a few minutes)"
	mkdir -p build/tools
	(cd tests/tools/jaeger && GOFLAGS=-mod=mod go build -o ../../../build/tools/jaeger \
		github.com/jaegertracing/jaeger/cmd/jaeger)
fi

# Redis's Python client (tests/integration/apps/redis_service.py)
python3 -c "import redis" 2>/dev/null ||
	python3 -m pip install --quiet --root-user-action=ignore "redis==5.2.1"
# gRPC test peers: Python grpcio, a Go grpc-go binary, Node @grpc/grpc-js (tests/integration/apps)
python3 -c "import grpc, google.protobuf" 2>/dev/null ||
	python3 -m pip install --quiet --root-user-action=ignore "grpcio==1.85.1" "protobuf==7.36.2"
if [ ! -x build/tools/grpc_go ] || [ -n "$(find tests/integration/apps/grpc_go -newer build/tools/grpc_go)" ]; then
	mkdir -p build/tools
	(cd tests/integration/apps/grpc_go && go build -o ../../../../build/tools/grpc_go .)
fi
if [ ! -d tests/integration/apps/grpc_node/node_modules/@grpc/grpc-js ]; then
	(cd tests/integration/apps/grpc_node && npm ci --silent --no-audit --no-fund)
fi
