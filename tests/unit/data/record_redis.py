#!/usr/bin/env python3
"""Records what redis-py and a real redis-server (Debian's) say to each other on one connection,
through capture.py, for the Redis unit tests (tests/unit/test_redis.c):
  redis_resp2   RESP2: SET/GET, a null, a pipeline, a transaction, an error, a 10 KB value,
                SELECT, an empty array
  redis_resp3   RESP3 (HELLO 3): a map reply, an unknown command's error

  python3 record_redis.py   (writes them next to itself)"""
import os
import socket
import subprocess
import sys
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def resp2(r):
    r.set("user:1", "alice")
    r.get("user:1")
    r.get("missing")
    p = r.pipeline(transaction=False)
    p.incr("visits")
    p.incr("visits")
    p.get("user:1")
    p.execute()
    t = r.pipeline(transaction=True)
    t.set("a", "1")
    t.incr("a")
    t.execute()
    try:
        r.incr("user:1")
    except redis.ResponseError:
        pass
    r.set("big", "x" * 10000)
    r.get("big")
    r.execute_command("SELECT", 2)
    r.set("in-db-2", "v")
    r.lrange("nothing", 0, -1)


def resp3(r):
    r.hset("h", mapping={"f1": "v1", "f2": "v2"})
    r.hgetall("h")
    r.get("user:1")
    try:
        r.execute_command("NOSUCHCOMMAND")
    except redis.ResponseError:
        pass


def main():
    port = free_port()
    data = tempfile.mkdtemp(prefix="zt-redis-")
    srv = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--dir", data],
                           stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        for name, scenario, protocol in (("redis_resp2", resp2, 2), ("redis_resp3", resp3, 3)):
            relay = free_port()
            cap = subprocess.Popen([sys.executable, os.path.join(HERE, "capture.py"), str(relay),
                                    str(port), os.path.join(HERE, name)])
            time.sleep(0.5)  # capture.py relays the first connection it takes: the client's
            # one connection for everything, pipelines too
            r = redis.Redis(connection_pool=redis.BlockingConnectionPool(
                host="127.0.0.1", port=relay, protocol=protocol, max_connections=1))
            scenario(r)
            r.close()
            r.connection_pool.disconnect()
            cap.wait(timeout=10)
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
