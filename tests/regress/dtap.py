#!/usr/bin/python3
"""dtap.py SOCKET_IN DOCKER_SOCK LOG: a transparent tap on the Docker socket.

Listens on the unix socket SOCKET_IN; every connection is joined to a new
connection to DOCKER_SOCK and bytes are copied both ways unchanged.  In
the client -> Docker direction the HTTP/1.1 request heads are parsed and
each request line ("METHOD TARGET") is appended to LOG, one per line, as
soon as its head is complete.  Bodies are skipped by Content-Length or
chunked framing.  After a request that asks for an upgrade, or one for an
/events stream, that connection is only copied, no longer parsed.
Bodies sent with a Content-Length (up to 1 MiB) are appended to LOG.bodies
as "TARGET<TAB>base64 of the body", one per line, so a test can assert
the exact bytes Docker received.  Runs until killed."""
import base64
import os
import socket
import sys
import threading

log_lock = threading.Lock()


def log_line(path, text):
    with log_lock:
        with open(path, "a") as f:
            f.write(text + "\n")


class RequestParser:
    """Incremental parser of a client's request stream; logs request lines."""

    def __init__(self, logpath):
        self.logpath = logpath
        self.buf = b""
        self.state = "head"     # head, body, chunk-size, chunk-data, trailer, raw
        self.left = 0
        self.raw_after = False

    def feed(self, data):
        if self.state == "raw":
            return
        self.buf += data
        while self.step():
            pass

    def step(self):
        if self.state == "head":
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = self.buf[:end].decode("latin-1")
            self.buf = self.buf[end + 4:]
            lines = head.split("\r\n")
            while lines and lines[0] == "":     # tolerate stray CRLFs
                lines.pop(0)
            if not lines:
                return True
            parts = lines[0].split(" ")
            target = parts[1] if len(parts) > 1 else ""
            log_line(self.logpath, "%s %s" % (parts[0], target))
            self.target = target
            self.body = b""
            hdrs = {}
            for l in lines[1:]:
                if ":" in l:
                    k, v = l.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
            path = target.split("?", 1)[0]
            self.raw_after = ("upgrade" in hdrs or
                              "upgrade" in hdrs.get("connection", "").lower() or
                              path.endswith("/events"))
            if "chunked" in hdrs.get("transfer-encoding", "").lower():
                self.state = "chunk-size"
            elif int(hdrs.get("content-length", "0") or 0) > 0:
                self.state = "body"
                self.left = int(hdrs["content-length"])
            else:
                self.end_request()
            return True
        if self.state == "body":
            k = min(self.left, len(self.buf))
            if len(self.body) < 1024 * 1024:
                self.body += self.buf[:k]
            self.buf = self.buf[k:]
            self.left -= k
            if self.left > 0:
                return False
            log_line(self.logpath + ".bodies", "%s\t%s" % (
                self.target, base64.b64encode(self.body).decode()))
            self.end_request()
            return True
        if self.state == "chunk-size":
            end = self.buf.find(b"\r\n")
            if end < 0:
                return False
            size = int(self.buf[:end].split(b";")[0].strip() or b"0", 16)
            self.buf = self.buf[end + 2:]
            if size == 0:
                self.state = "trailer"
            else:
                self.state = "chunk-data"
                self.left = size + 2            # data and its CRLF
            return True
        if self.state == "chunk-data":
            k = min(self.left, len(self.buf))
            self.buf = self.buf[k:]
            self.left -= k
            if self.left > 0:
                return False
            self.state = "chunk-size"
            return True
        if self.state == "trailer":
            end = self.buf.find(b"\r\n")
            if end < 0:
                return False
            line = self.buf[:end]
            self.buf = self.buf[end + 2:]
            if line == b"":
                self.end_request()
            return True
        return False

    def end_request(self):
        if self.raw_after:
            self.state = "raw"
            self.buf = b""
        else:
            self.state = "head"


def pump(src, dst, parser):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if parser is not None:
                parser.feed(data)
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(client, docker_sock, logpath):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(docker_sock)
    except OSError:
        client.close()
        return
    t = threading.Thread(target=pump, args=(up, client, None), daemon=True)
    t.start()
    pump(client, up, RequestParser(logpath))
    t.join()
    client.close()
    up.close()


def main():
    sock_in, docker_sock, logpath = sys.argv[1:4]
    try:
        os.unlink(sock_in)
    except FileNotFoundError:
        pass
    open(logpath, "a").close()
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(sock_in)
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, docker_sock, logpath),
                         daemon=True).start()


if __name__ == "__main__":
    main()
