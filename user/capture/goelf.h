/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the agent needs to know of a Go executable before it follows its goroutines, read from
 * the file alone (no symbols: stripped binaries keep .go.buildinfo and .gopclntab):
 *   - the Go version, from .go.buildinfo;
 *   - the file offsets of the runtime, net/http and grpc-go functions the uprobes go on, from
 *     the function table in .gopclntab, and the RET instructions of runtime.newproc1 and
 *     grpc-go's createHeaderFields (decoded with capstone: a byte 0xc3 inside another
 *     instruction is no place for a probe);
 *   - that the running g is where bpf/goroutine.bpf.h reads it (an 8-byte TLS block).
 */
#ifndef ZT_GOELF_H
#define ZT_GOELF_H

#include <stdbool.h>
#include <stdint.h>

#define GO_MAX_RETS 16

struct go_binary {
	char version[32];		     /* "go1.26.8" */
	int major, minor;		     /* 1, 26 */
	uint64_t newproc1;		     /* runtime.newproc1 entry, file offset */
	uint64_t newproc1_rets[GO_MAX_RETS]; /* its RET instructions, file offsets */
	int nrets;
	uint64_t http_roundtrip;     /* net/http.(*persistConn).roundTrip; 0: no net/http client */
	uint64_t http_write;	     /* net/http.(*Request).write */
	uint64_t grpc_handle_stream; /* google.golang.org/grpc.(*Server).handleStream; 0: none */
	int grpc_minor;		     /* grpc-go v1.N from the module list; -1: not known */
	/* grpc-go's client (v1.53 to v1.85; all 0 for others): (*http2Client).createHeaderFields
	 * and its RETs, and the loopy writer's function that opens a client stream */
	uint64_t grpc_client_headers;
	uint64_t grpc_client_headers_rets[GO_MAX_RETS];
	int grpc_client_nrets;
	uint64_t grpc_client_stream;
	bool grpc_client_stream_v83; /* clientHeaderHandler (v1.83+), not originateStream */
};

/* 0 and *out filled; -ENOEXEC: not a Go executable; -ENOTSUP: Go, but one the agent cannot
 * follow, with the reason in why (a sentence); other -errno: the file could not be read. */
int go_binary__inspect(const char *path, struct go_binary *out, char *why, size_t why_len);

#endif
