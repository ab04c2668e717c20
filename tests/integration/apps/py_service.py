"""A thread-per-connection Python service whose handlers share one small pool of keep-alive
connections to the next hop, so one connection carries calls of different requests made by
different threads.

usage: py_service.py PORT UPSTREAM_PORT PREFIX
"""
import http.client
import http.server
import queue
import sys

POOL_SIZE = 4


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # head and body go out in two writes: without TCP_NODELAY, Nagle holds the body until the
    # peer's delayed ACK (40 ms), which the caller sees and this server does not
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        rid = self.path.rsplit("/", 1)[1]
        pool = self.server.pool
        conn = pool.get()
        try:
            conn.request("GET", f"{self.server.prefix}/java/{rid}")
            resp = conn.getresponse()
            body = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            conn.close()
            body, status = b"", 502
        finally:
            pool.put(conn)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    port, upstream, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.prefix = prefix
    server.pool = queue.Queue()
    for _ in range(POOL_SIZE):
        server.pool.put(http.client.HTTPConnection("127.0.0.1", upstream, timeout=30))
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
