"""A small threaded HTTP/1.1 service (keep-alive), as an uninstrumented user would run one.
Listens on $BIND (default 127.0.0.1).

Routes (PREFIX is argv[2]):
  GET  PREFIX/items/<n>     200 with a JSON body (head and body written separately)
  HEAD PREFIX/items/<n>     200 head only
  POST PREFIX/items         201, reads the request body
  GET  PREFIX/missing       404
  GET  PREFIX/boom          500
  GET  PREFIX/chunked       200 with a chunked body
  GET  PREFIX/blob/<n>      200 with an n-byte body sent in one write
  GET  PREFIX/front         calls http://127.0.0.1:<backend>/PREFIX/items/7 on the same
                            thread, then answers 200 (argv[3] = backend port)
"""
import http.client
import http.server
import json
import os
import socket
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", head_only=False):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head_only:
            self.wfile.write(body)

    def do_HEAD(self):
        self._reply(200, b'{"id": 1}', head_only=True)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        self._reply(201, b'{"created": true}')

    def do_GET(self):
        prefix = self.server.prefix
        path = self.path.split("?")[0]
        if path.startswith(prefix + "/items/"):
            self._reply(200, json.dumps({"id": path.rsplit("/", 1)[1]}).encode())
        elif path == prefix + "/missing":
            self._reply(404, b"{}")
        elif path == prefix + "/boom":
            self._reply(500, b'{"error": "boom"}')
        elif path.startswith(prefix + "/blob/"):
            self._reply(200, b"x" * int(path.rsplit("/", 1)[1]))
        elif path == prefix + "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"first", b"second"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path == prefix + "/front":
            conn = http.client.HTTPConnection("127.0.0.1", self.server.backend, timeout=10)
            conn.request("GET", prefix + "/items/7")
            conn.getresponse().read()
            conn.close()
            self._reply(200, b'{"front": true}')
        else:
            self._reply(404)


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def main():
    port, prefix = int(sys.argv[1]), sys.argv[2]
    host = os.environ.get("BIND", "127.0.0.1")  # an IPv6 address binds an IPv6 socket
    cls = Server6 if ":" in host else http.server.ThreadingHTTPServer
    server = cls((host, port), Handler)
    server.prefix = prefix
    server.backend = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    server.daemon_threads = True
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
