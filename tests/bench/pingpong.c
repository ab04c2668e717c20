// SPDX-License-Identifier: BSD-2-Clause
/*
 * One thread plays both ends of an nginx-shaped HTTP/1.1 exchange over loopback, again and
 * again for SECONDS: the client writes an 86-byte request, the server receives it, writes its
 * 231-byte head with a one-vector writev and its 3-byte body with sendfile, the client reads
 * both. The syscalls, order and about the sizes of nginx serving make bench's tiny file to wrk,
 * without the two processes and the scheduler between them: make bench reads the kernel's
 * BPF time per exchange around it, a figure about twice as steady from run to run as the same
 * one taken under nginx and wrk.
 *
 * usage: pingpong SECONDS      prints "EXCHANGES exchanges in NANOSECONDS ns"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

static const char request[] = "GET /tiny.txt HTTP/1.1\r\n"
			      "Host: 127.0.0.1:18080\r\n"
			      "User-Agent: pingpong/1\r\n"
			      "Accept: */*\r\n"
			      "\r\n";

static const char head[] = "HTTP/1.1 200 OK\r\n"
			   "Server: nginx/1.22.1\r\n"
			   "Date: Sun, 22 Nov 2026 10:00:00 GMT\r\n"
			   "Content-Type: text/plain\r\n"
			   "Content-Length: 3\r\n"
			   "Last-Modified: Sun, 22 Nov 2026 09:00:00 GMT\r\n"
			   "Connection: keep-alive\r\n"
			   "ETag: \"6543-3\"\r\n"
			   "Accept-Ranges: bytes\r\n"
			   "\r\n";

#define BODY_LEN 3

static unsigned long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A connected client and server socket over loopback, Nagle off on both as nginx and wrk do. */
static void connect_pair(int *client, int *server)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int one = 1;
	int lfd;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		die("listen on 127.0.0.1");
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || connect(*client, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");
	*server = accept(lfd, NULL, NULL);
	if (*server < 0)
		die("accept");
	close(lfd);
	if (setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("TCP_NODELAY");
}

/* The body sendfile serves: an unlinked temporary file, as nginx serves a file. */
static int body_file(void)
{
	char path[] = "/tmp/zt-pingpong-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		die("mkstemp");
	unlink(path);
	if (write(fd, "ok\n", BODY_LEN) != BODY_LEN)
		die("write the body file");
	return fd;
}

static void exchange(int client, int server, int body)
{
	struct iovec v = {.iov_base = (void *)head, .iov_len = sizeof(head) - 1};
	size_t want = sizeof(head) - 1 + BODY_LEN, got = 0;
	char buf[4096];
	off_t off = 0;

	if (write(client, request, sizeof(request) - 1) != sizeof(request) - 1)
		die("client write");
	if (recv(server, buf, sizeof(buf), 0) != sizeof(request) - 1)
		die("server recv");
	if (writev(server, &v, 1) != (ssize_t)v.iov_len)
		die("server writev");
	if (sendfile(server, body, &off, BODY_LEN) != BODY_LEN)
		die("server sendfile");
	while (got < want) {
		ssize_t n = read(client, buf, sizeof(buf));

		if (n <= 0)
			die("client read");
		got += n;
	}
}

int main(int argc, char **argv)
{
	unsigned long long start, elapsed, count = 0;
	int client, server, body;
	double seconds;

	if (argc != 2 || (seconds = atof(argv[1])) <= 0) {
		fprintf(stderr, "usage: pingpong SECONDS\n");
		return 2;
	}
	connect_pair(&client, &server);
	body = body_file();
	start = now_ns();
	do {
		for (int i = 0; i < 1000; i++)
			exchange(client, server, body);
		count += 1000;
		elapsed = now_ns() - start;
	} while (elapsed < seconds * 1e9);
	printf("%llu exchanges in %llu ns\n", count, elapsed);
	return 0;
}
