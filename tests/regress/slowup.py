"""slowup.py SOCKET: a Docker-like upstream on a unix socket that reads
request bodies slowly and answers with their SHA-256, and sends large
bodies on request.  For t-proxy-bulk.sh: a slow reader keeps portwing's
legs at their high-water marks, so flow control stops and resumes them
many times per request, and the last bytes of a body wait in a buffer
when the client has nothing more to send.

  PUT|POST /slow/sink?pause_ms=N   reads the body (Content-Length or
      chunked) 16 KiB at a time, N ms apart; answers 200 {"sha256": ...,
      "bytes": N}
  GET /slow/source?mib=N[&chunked=1]  N MiB of a fixed pseudo-random
      stream (sha256 in the X-Sha256 trailer-free header), with
      Content-Length or chunked in 32 KiB chunks
  GET /_ping  "OK"; anything else 404 {"message": "..."}; /events is held
      open and never answered (portwingd's event subscription).
"""
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse


def source_bytes(mib):
    seed = hashlib.sha256(b"portwing-bulk").digest()
    block = b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(256)) * 16
    # block is 128 KiB; the stream is block repeated
    total = mib * 1024 * 1024
    h = hashlib.sha256()
    n = 0
    while n < total:
        k = min(len(block), total - n)
        h.update(block[:k])
        n += k
    return block, total, h.hexdigest()


class Conn:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def fill(self, want=65536):
        d = self.s.recv(want)
        if not d:
            raise EOFError
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def take(self, n, h, chunk=16384, pause=0.0):
        """Read n body bytes, chunk at a time and pause apart, into h."""
        got = 0
        while got < n:
            if not self.buf:
                self.buf = self.s.recv(min(chunk, n - got))
                if not self.buf:
                    raise EOFError
            k = min(len(self.buf), n - got)
            h.update(self.buf[:k])
            self.buf = self.buf[k:]
            got += k
            if pause:
                time.sleep(pause)
        return got


def answer(s, status, body, ctype="application/json", extra=""):
    s.sendall(("HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
               % (status, ctype, len(body), extra)).encode() + body)


def serve(s):
    c = Conn(s)
    try:
        while True:
            req = c.line().decode()
            method, target, _ = req.split(" ", 2)
            hdrs = {}
            while True:
                ln = c.line()
                if not ln:
                    break
                k, v = ln.decode().split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
            u = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(u.query))
            path = u.path
            if path.startswith("/v1.") and "/" in path[1:]:
                path = "/" + path.split("/", 2)[2]
            if path == "/events":
                while c.s.recv(4096):
                    pass
                return
            if path == "/slow/sink" and method in ("PUT", "POST"):
                pause = int(q.get("pause_ms", "0")) / 1000.0
                h = hashlib.sha256()
                if hdrs.get("transfer-encoding", "").lower() == "chunked":
                    got = 0
                    while True:
                        size = int(c.line().split(b";")[0], 16)
                        if size == 0:
                            while c.line():
                                pass
                            break
                        got += c.take(size, h, pause=pause)
                        if c.line() != b"":
                            raise ValueError("chunk without CRLF")
                else:
                    got = c.take(int(hdrs.get("content-length", "0")), h, pause=pause)
                answer(s, 200, json.dumps({"sha256": h.hexdigest(), "bytes": got}).encode())
                continue
            if path == "/slow/source" and method == "GET":
                block, total, digest = source_bytes(int(q.get("mib", "1")))
                chunked = q.get("chunked") == "1"
                if chunked:
                    s.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                               "X-Sha256: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % digest).encode())
                else:
                    s.sendall(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                               "X-Sha256: %s\r\nContent-Length: %d\r\n\r\n" % (digest, total)).encode())
                sent = 0
                while sent < total:
                    k = min(32768, total - sent)
                    piece = block[sent % len(block):sent % len(block) + k]
                    if chunked:
                        s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    else:
                        s.sendall(piece)
                    sent += len(piece)
                if chunked:
                    s.sendall(b"0\r\n\r\n")
                continue
            if path == "/_ping":
                answer(s, 200, b"OK", "text/plain")
                continue
            if method not in ("GET", "HEAD", "DELETE"):
                c.take(int(hdrs.get("content-length", "0")), hashlib.sha256())
            answer(s, 404, json.dumps({"message": "no such route: %s %s" % (method, path)}).encode())
    except (EOFError, ConnectionError, ValueError):
        pass
    finally:
        s.close()


def main():
    path = sys.argv[1]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(path)
    os.chmod(path, 0o666)
    ls.listen(64)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
