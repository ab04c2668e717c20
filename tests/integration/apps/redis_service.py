"""A thread-per-connection Python web service whose handlers share one small redis-py connection
pool, so one Redis connection carries the commands of different requests made by different
threads. Each GET PREFIX/ROUTE/<id> runs: SET, GET, a pipeline (INCRBY, GET), a transaction
(MULTI, SET, INCRBY, EXEC) and a failing INCRBY (the value is no integer) — 9 commands.

usage: redis_service.py PORT REDIS_PORT
"""
import http.server
import sys

import redis

COMMANDS = ["SET", "GET", "INCRBY", "GET", "MULTI", "SET", "INCRBY", "EXEC", "INCRBY"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        rid = self.path.rsplit("/", 1)[1]
        r = self.server.redis
        key = f"item:{rid}"
        r.set(key, "value")
        r.get(key)
        p = r.pipeline(transaction=False)
        p.incr("visits")
        p.get(key)
        p.execute()
        t = r.pipeline(transaction=True)
        t.set(f"{key}:n", "1")
        t.incr(f"{key}:n")
        t.execute()
        try:
            r.incr(key)
            status = 500  # it must fail: the value is no integer
        except redis.ResponseError:
            status = 200
        body = b"ok\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    port, redis_port = int(sys.argv[1]), int(sys.argv[2])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    # four connections for 16 concurrent requests; no CLIENT SETINFO on connecting (redis 7.0
    # refuses it: an error span per new connection that no request asked for)
    pool = redis.BlockingConnectionPool(host="127.0.0.1", port=redis_port, max_connections=4,
                                        timeout=30, lib_name=None, lib_version=None)
    server.redis = redis.Redis(connection_pool=pool)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
