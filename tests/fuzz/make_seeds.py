"""Writes tests/fuzz/seeds/: starting inputs for each fuzz target, made from real traffic (the
captures in tests/unit/data) and the record layout of bpf/events.h. Run from the repository
root when those change: python3 tests/fuzz/make_seeds.py"""
import os
import struct

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SEEDS = os.path.join(ROOT, "tests", "fuzz", "seeds")
DATA = os.path.join(ROOT, "tests", "unit", "data")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

REQ = b"GET /users/17?x=1 HTTP/1.1\r\nHost: users\r\nUser-Agent: curl\r\ntraceparent: " \
      b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n"
RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
POST = b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + REQ


def write(target, name, data):
    os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    with open(os.path.join(SEEDS, target, name), "wb") as f:
        f.write(data)


def header(typ, length, pid=100, tid=101, ts=1, g=0):
    return struct.pack("<HHIIIQQ", typ, length, pid, tid, 0, ts, g)


def tuple_(sport, dport):
    lo = bytes([127, 0, 0, 1]) + bytes(12)
    return lo + lo + struct.pack("<HHHH", sport, dport, 2, 0)


def conn_info(fd, role, sport, dport):
    body = struct.pack("<IiQ", 100, fd, 7) + tuple_(sport, dport) + bytes([role]) + bytes(7)
    return header(6, 32 + len(body)) + body


def data(fd, direction, role, proto, seq, payload, flags=0, ts=2):
    body = struct.pack("<IiQIIIBBBB", 100, fd, 7, seq, len(payload), len(payload), direction,
                       role, proto, flags) + payload
    return header(1, 32 + len(body), ts=ts) + body


def records(*recs):
    return b"".join(struct.pack("<H", len(r)) + r for r in recs)


def main():
    write("http1", "request", b"\x05" + REQ)
    write("http1", "response", b"\x07" + RESP)
    write("http1", "chunked", b"\x21" + CHUNKED)
    write("http1", "pipelined", b"\x03" + POST + REQ)
    write("config", "default", open(os.path.join(ROOT, "configs", "zerotrace.yaml"), "rb").read())
    write("config", "small", b"exporter:\n  endpoint: http://127.0.0.1:4318\nselect:\n  ports: [80, 443]\n"
          b"service_names:\n  - \"*/java=orders\"\ncapture:\n  go_goroutines: false\n")
    for name in sorted(os.listdir(DATA)):
        if name.startswith("redis_") and name.endswith(".bin"):
            # low bit of the plan byte: commands (what the client wrote) or replies
            commands = name.endswith(".c2s.bin")
            write("resp", name[:-4], bytes([0x10 | commands]) + open(
                os.path.join(DATA, name), "rb").read()[:60000])
            continue
        if not name.endswith(".bin"):
            continue
        stream = open(os.path.join(DATA, name), "rb").read()
        if stream.startswith(PREFACE):
            stream = stream[len(PREFACE):]
        write("http2", name[:-4], b"\x11" + stream[:60000])
    # one HTTP/1 exchange seen from the client and from the server, as the ring carries it
    write("records", "http1_exchange", records(
        conn_info(5, 1, 51000, 8080), data(5, 1, 1, 1, 1000, REQ),
        conn_info(7, 2, 8080, 51000), data(7, 0, 2, 1, 1000, REQ, ts=3),
        data(7, 1, 2, 1, 9000, RESP, ts=4), data(5, 0, 1, 1, 9000, RESP, ts=5),
        header(3, 96) + struct.pack("<IiQ", 100, 5, 7) + tuple_(51000, 8080) + bytes(8)))

    # a Redis client's command and its reply
    write("records", "redis_exchange", records(
        conn_info(5, 1, 51000, 6379), data(5, 1, 1, 4, 1000, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"),
        data(5, 0, 1, 4, 9000, b"$1\r\nv\r\n", ts=3)))


if __name__ == "__main__":
    main()
