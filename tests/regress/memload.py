#!/usr/bin/env python3
"""memload.py PORT TOKEN COUNT [tls]: COUNT authenticated requests to
portwing, cycling through the three token headers (Authorization Bearer,
X-Portwing-Token, X-Dd-Agent-Secret), through proxied calls and the
worker's own routes, half on keep-alive connections and half on fresh
ones.  Prints a TAP line; the caller then scans memory for the token."""
import http.client
import ssl
import sys

port, token, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
tls = len(sys.argv) > 4 and sys.argv[4] == "tls"
headers = [
    {"Authorization": "Bearer " + token},
    {"X-Portwing-Token": token},
    {"X-Dd-Agent-Secret": token},
]
# (method, path, body, expected status): proxied calls, an own route, and
# a proxied call with a request body that Docker refuses.
calls = [
    ("GET", "/_ping", None, 200),
    ("GET", "/containers/json", None, 200),
    ("GET", "/api/watchers", None, 200),
    ("POST", "/containers/create", b'{"Image":"pwtest-no-such-image"}', 404),
    ("GET", "/version", None, 200),
]


def connect():
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=10,
                                           context=ctx)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)


bad = 0
conn = None
for i in range(count):
    if conn is None or i % 2 == 0:
        if conn is not None:
            conn.close()
        conn = connect()
    method, path, body, want = calls[i % len(calls)]
    h = dict(headers[i % 3])
    if body is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    r.read()
    if r.status != want:
        bad += 1
        conn.close()
        conn = None
if conn is not None:
    conn.close()
kind = "TLS" if tls else "plain"
print(("ok" if bad == 0 else "not ok") +
      f" - {count} {kind} requests with the token in each header kind"
      f" ({bad} with an unexpected status)")
