"""Concurrent keep-alive load: THREADS threads, each with its own connection, each sending
PER_THREAD requests to PREFIX/ROUTE/<id> (ROUTE: api unless given). Prints {id: latency_ns} as JSON, the latency measured
by the caller around each request (what the root client span should match).

usage: loadgen.py HOST PORT PREFIX THREADS PER_THREAD [ROUTE]
"""
import http.client
import json
import sys
import threading
import time


def worker(host, port, prefix, t, per_thread, out, errors, route):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    for i in range(per_thread):
        rid = f"{t * 10000 + i}"
        start = time.perf_counter_ns()
        conn.request("GET", f"{prefix}/{route}/{rid}")
        resp = conn.getresponse()
        resp.read()
        out[rid] = time.perf_counter_ns() - start
        if resp.status != 200:
            errors.append((rid, resp.status))
    conn.close()


def main():
    host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    threads, per_thread = int(sys.argv[4]), int(sys.argv[5])
    route = sys.argv[6] if len(sys.argv) > 6 else "api"
    out, errors = {}, []
    ts = [threading.Thread(target=worker, args=(host, port, prefix, t, per_thread, out, errors, route))
          for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit(f"non-200 responses: {errors[:5]}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
