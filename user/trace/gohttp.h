/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Go's net/http client writes each request from the connection's writeLoop goroutine, not from
 * the goroutine that made the call: the call hands the request over (persistConn.roundTrip)
 * and waits. The uprobes report both ends by the request's address (ZT_EV_GO_HTTP_RT,
 * ZT_EV_GO_HTTP_WRITE), in ring order before the write; this table turns the writer's write
 * into the caller's, per request, on pooled keep-alive connections handed from caller to
 * caller and on connections that were open before the agent started alike.
 *
 * grpc-go's client does the same with HTTP/2 streams: the calling goroutine makes the call's
 * header list, and the connection's loopy writer goroutine gives it a stream id and writes it
 * (ZT_EV_GO_H2_CALL, ZT_EV_GO_H2_WRITE); a client stream's span then belongs to the caller.
 */
#ifndef ZT_GOHTTP_H
#define ZT_GOHTTP_H

#include <stdint.h>

struct gohttp;

struct gohttp *gohttp__new(uint32_t capacity);
void gohttp__free(struct gohttp *h);
/* goroutine g of pid makes request req */
void gohttp__round_trip(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t req);
/* goroutine g of pid writes request req */
void gohttp__request_write(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t req);
/* goroutine g of pid ended its life (its structure is being reused) */
void gohttp__forget(struct gohttp *h, uint32_t pid, uint64_t g);
/* The goroutine a socket write by g is made for: the caller of the request g was handed to
 * write, or g itself when it was handed none; 0 when its caller is unknown. The first write
 * after the hand-over spends it. */
uint64_t gohttp__writes_for(struct gohttp *h, uint32_t pid, uint64_t g);
/* grpc-go: goroutine g of pid made the header list of a call (createHeaderFields) */
void gohttp__h2_call(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t header_list);
/* goroutine g of pid (the connection's loopy writer) writes header_list as client stream */
void gohttp__h2_write(struct gohttp *h, uint32_t pid, uint64_t g, uint64_t header_list,
		      uint32_t stream);
/* The goroutine whose call client stream `stream`, written by goroutine g, is; 0 when not
 * known. Spent by the lookup. */
uint64_t gohttp__h2_caller(struct gohttp *h, uint32_t pid, uint64_t g, uint32_t stream);
/* tables emptied because they were full */
uint64_t gohttp__resets(const struct gohttp *h);

#endif
