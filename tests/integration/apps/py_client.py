"""Drives a server the way real python clients do: urllib (one connection per request) and
http.client keep-alive connections shared by concurrent threads.

usage: py_client.py HOST PORT PREFIX THREADS REQUESTS_PER_THREAD
Each thread keeps one connection alive and cycles through GET items, POST, HEAD, 404 and 500.
Prints the number of responses by status as JSON.
"""
import collections
import http.client
import json
import sys
import threading
import urllib.request

PLAN = [("GET", "/items/{n}"), ("POST", "/items"), ("HEAD", "/items/{n}"),
        ("GET", "/missing"), ("GET", "/boom"), ("GET", "/items/{n}?q=1&token=s3cret")]


def worker(host, port, prefix, count, out, lock):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for i in range(count):
        method, path = PLAN[i % len(PLAN)]
        body = b'{"name": "x"}' if method == "POST" else None
        conn.request(method, prefix + path.format(n=1000 + i), body=body)
        resp = conn.getresponse()
        resp.read()
        with lock:
            out[resp.status] += 1
    conn.close()


def main():
    host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    threads, per_thread = int(sys.argv[4]), int(sys.argv[5])
    out, lock = collections.Counter(), threading.Lock()
    ts = [threading.Thread(target=worker, args=(host, port, prefix, per_thread, out, lock))
          for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # and urllib, which opens a connection per request
    for n in range(4):
        with urllib.request.urlopen(f"http://{host}:{port}{prefix}/items/{n}") as r:
            r.read()
            out[r.status] += 1
    print(json.dumps(out))


if __name__ == "__main__":
    main()
