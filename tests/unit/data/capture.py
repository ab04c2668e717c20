"""Records the bytes of one TCP connection, both directions, for the HTTP/2 unit tests.

  python3 capture.py LISTEN_PORT TARGET_PORT NAME   (then point a client at LISTEN_PORT)

Writes NAME.c2s.bin (what the client sent) and NAME.s2c.bin (what the server sent) when the
connection closes. The files in this directory were made with it from real clients and servers:
  curl_nginx   curl --http2-prior-knowledge, two URLs on one connection, nginx 1.22 `http2`
  grpcpy_go    tests/integration/apps/grpc_py.py client 4 3 → grpc_go server
  grpcgo_py    grpc_go client 4 3 → grpc_py.py server
"""
import socket
import sys
import threading


def pump(src, dst, out):
    while True:
        data = src.recv(65536)
        if not data:
            break
        out.extend(data)
        dst.sendall(data)
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main():
    listen_port, target_port, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(1)
    client, _ = ls.accept()
    server = socket.create_connection(("127.0.0.1", target_port))
    c2s, s2c = bytearray(), bytearray()
    threads = [threading.Thread(target=pump, args=(client, server, c2s)),
               threading.Thread(target=pump, args=(server, client, s2c))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(name + ".c2s.bin", "wb") as f:
        f.write(c2s)
    with open(name + ".s2c.bin", "wb") as f:
        f.write(s2c)


if __name__ == "__main__":
    main()
