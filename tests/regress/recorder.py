#!/usr/bin/env python3
"""recorder.py SOCKET LOG: a recording HTTP peer on a unix socket.

Used only to check the bytes portwing's proxy emits (request hygiene):
it logs every request head and body it receives as JSON lines and
answers 200 "OK". Docker behaviour is always tested against a real
dockerd; this stands in for nothing but a wire tap."""
import json, os, socket, sys, threading

path, log = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(64)
lock = threading.Lock()


def read_exact(f, n):
    b = b""
    while len(b) < n:
        c = f.read(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def serve(conn):
    f = conn.makefile("rb")
    try:
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                c = f.read(1)
                if not c:
                    return
                head += c
            lines = head.decode("latin-1").split("\r\n")[:-2]
            hdrs = [l.split(":", 1) for l in lines[1:]]
            low = {k.strip().lower(): v.strip() for k, v in hdrs}
            body = b""
            if "content-length" in low:
                body = read_exact(f, int(low["content-length"]))
            elif low.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(f.readline().split(b";")[0], 16)
                    if size == 0:
                        f.readline()
                        break
                    body += read_exact(f, size)
                    f.readline()
            # The proxy's own calls (inventory refresh, its /events
            # subscription, metrics) name themselves; they are not what
            # a test relays, and they come at times no test controls.
            if low.get("user-agent") == "portwing":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK")
                continue
            with lock, open(log, "a") as fp:
                fp.write(json.dumps({"line": lines[0], "headers": [[k, v.strip()] for k, v in hdrs],
                                     "body": body.decode("latin-1")}) + "\n")
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK")
    except (EOFError, ConnectionError, ValueError):
        pass
    finally:
        conn.close()


while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
