#!/usr/bin/python3
"""framing.py PORT TOKEN CASE NAME: one request through the test build's
dishonest worker (portwingd-hooks); prints the status of the answer, or
CLOSED when the connection was cut without one.

Cases: longer (declares the JSON, sends it and a second request), shorter
(declares 10 bytes more than it sends), chunked (an empty DATA frame before
a chunked body), hijack (an upgrade whose body carries a second request),
after-end (an upgrade followed by bytes after its END), raw-longer (a
300 KiB body sent unframed, PXF_RAWBODY, declared without the second request
that follows it)."""
import json
import socket
import sys

port, token, case, name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
create = json.dumps({"Image": "pwtest-bb", "Cmd": ["true"],
                     "HostConfig": {"Binds": ["/:/host"], "Privileged": True}})
smuggled = ("POST /containers/create?name=%s-smuggled HTTP/1.1\r\n"
            "Host: docker\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n%s" % (name, len(create), create))


def head(method, target, extra):
    h = "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n" % (
        method, target, token)
    for k, v in extra:
        h += "%s: %s\r\n" % (k, v)
    return h + "\r\n"


body = b""
if case == "longer":
    first = json.dumps({"Image": "pwtest-bb", "Cmd": ["true"]})
    body = (first + smuggled).encode()
    req = head("POST", "/containers/create?name=" + name, [
        ("Content-Type", "application/json"),
        ("Content-Length", len(body)),
        ("X-Portwing-Test-Declare", len(first))]).encode() + body
elif case == "shorter":
    body = json.dumps({"Image": "pwtest-bb", "Cmd": ["true"]}).encode()
    req = head("POST", "/containers/create?name=" + name, [
        ("Content-Type", "application/json"),
        ("Content-Length", len(body)),
        ("X-Portwing-Test-Declare", len(body) + 10)]).encode() + body
elif case == "chunked":
    body = json.dumps({"Image": "pwtest-bb", "Cmd": ["true"]}).encode()
    req = head("POST", "/containers/create?name=" + name, [
        ("Content-Type", "application/json"),
        ("Transfer-Encoding", "chunked"),
        ("X-Portwing-Test-Frame", "empty")]).encode()
    req += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
elif case == "hijack":
    body = ("{}" + smuggled).encode()
    req = head("POST", "/exec/%s/start" % ("0" * 64), [
        ("Content-Type", "application/json"),
        ("Connection", "Upgrade"), ("Upgrade", "tcp"),
        ("Content-Length", len(body)),
        ("X-Portwing-Test-Declare", 2)]).encode() + body
elif case == "after-end":
    req = head("POST", "/containers/%s/attach?stream=1&stdin=1&stdout=1" % name, [
        ("Connection", "Upgrade"), ("Upgrade", "tcp"),
        ("X-Portwing-Test-Frame", "after-end")]).encode()
elif case == "raw-longer":
    first = json.dumps({"Image": "pwtest-bb", "Cmd": ["true"],
                        "Labels": {"pad": "a" * 300000}})
    body = (first + smuggled).encode()
    req = head("POST", "/containers/create?name=" + name, [
        ("Content-Type", "application/json"),
        ("Content-Length", len(body)),
        ("X-Portwing-Test-Frame", "raw"),
        ("X-Portwing-Test-Declare", len(first))]).encode() + body
else:
    sys.exit("unknown case " + case)

s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(req)
data = b""
try:
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except (socket.timeout, ConnectionResetError):
    pass
if b"\r\n" in data:
    print(data.split(b"\r\n")[0].decode("latin-1").split(" ")[1])
else:
    print("CLOSED")
