#!/usr/bin/env python3
"""sdnotify_recv.py SOCKET OUT [PORT TOKENFILE]: play systemd's notify socket.

Binds an AF_UNIX datagram socket at SOCKET and appends one line per
notification to OUT: "<CLOCK_MONOTONIC seconds> <fields joined by |>".
With PORT, every READY=1 is followed at once by probes of the agent,
written as "<t> PROBE health=<code> ready=<code> auth=<code>": what a
client that trusts READY=1 would see.  auth uses the token in TOKENFILE
as it is when READY=1 arrives ("-" when the file is empty).
"""
import http.client
import os
import socket
import sys
import time


def get(port, path, token=None):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        h = {"Authorization": "Bearer " + token} if token else {}
        c.request("GET", path, headers=h)
        r = c.getresponse()
        r.read()
        c.close()
        return str(r.status)
    except OSError as e:
        return "error:" + type(e).__name__


def main():
    path, out = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    tokfile = sys.argv[4] if len(sys.argv) > 4 else None
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(out, "a", buffering=1) as f:
        while True:
            data = s.recv(65536)
            t = time.clock_gettime(time.CLOCK_MONOTONIC)
            msg = data.decode("utf-8", "replace").strip("\n")
            f.write("%.6f %s\n" % (t, msg.replace("\n", "|")))
            if port and "READY=1" in msg.split("\n"):
                tok = None
                if tokfile:
                    with open(tokfile) as tf:
                        tok = tf.read().strip() or None
                f.write("%.6f PROBE health=%s ready=%s auth=%s\n" % (
                    time.clock_gettime(time.CLOCK_MONOTONIC),
                    get(port, "/health"), get(port, "/ready"),
                    get(port, "/_ping", tok) if tok else "-"))


if __name__ == "__main__":
    main()
