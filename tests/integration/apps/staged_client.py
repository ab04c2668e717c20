"""One keep-alive connection used in two phases: FIRST requests, then (after a line on stdin)
SECOND more on the same connection. Lets a test start the agent in between, so the second
phase rides a connection that was opened before the agent existed.

usage: staged_client.py HOST PORT PREFIX FIRST SECOND
"""
import http.client
import sys


def send(conn, prefix, ids):
    for i in ids:
        conn.request("GET", f"{prefix}/items/{i}")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status


def main():
    host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    first, second = int(sys.argv[4]), int(sys.argv[5])
    conn = http.client.HTTPConnection(host, port, timeout=30)
    send(conn, prefix, range(first))
    print("phase 1 done", flush=True)
    sys.stdin.readline()
    send(conn, prefix, range(first, first + second))
    print("phase 2 done", flush=True)


if __name__ == "__main__":
    main()
