#!/bin/bash
# t-close.sh: how the worker ends a connection after its last answer.
# A request read whole (no body left, nothing sent after it) is closed as
# soon as the answer is out: the worker lets go of the socket while the
# client still holds its end.  A client that may still be sending (bytes
# after a Connection: close request, an unread body) gets a lingering
# close: the worker keeps the socket and drops what arrives until the
# client's EOF, so the answer is never lost to a reset.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop' EXIT

pw_start WORKERS=1 || { fail "portwingd starts"; exit 1; }

# close_case NAME PYTHON-BYTES: send the bytes in one write, read the
# answer up to the agent's FIN, then, with the client's end still open,
# say who holds the agent's end: "worker" (a worker process still has it:
# lingering) or "released" (closed at once).
close_case() {
	python3 - "$PW_PORT" "$PW_TOKEN" "$2" <<'PY'
import socket, subprocess, sys, time
port, tok, expr = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
A = b"Authorization: Bearer " + tok + b"\r\n"
s = socket.create_connection(("127.0.0.1", port))
s.sendall(eval(expr))
s.settimeout(10)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "none"
me = s.getsockname()[1]
holder = "released"
for _ in range(5):
    out = subprocess.run(["ss", "-tnpH", "dst", "127.0.0.1:%d" % me,
                          "src", "127.0.0.1:%d" % port],
                         capture_output=True, text=True).stdout
    holder = "worker" if "pw-worker" in out or "portwingd" in out else "released"
    if holder == "released":
        break
    time.sleep(0.2)
print(status, holder, data.count(b"HTTP/1.1 "))
s.close()
PY
}

out=$(close_case close 'b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + A + b"\r\n"')
check "Connection: close, request read whole: answered and released at once ($out)" \
    [ "$out" = "200 released 1" ]

out=$(close_case http10 'b"GET /_ping HTTP/1.0\r\nHost: x\r\n" + A + b"\r\n"')
check "HTTP/1.0 request: answered and released at once ($out)" \
    [ "$out" = "200 released 1" ]

# A second request behind a Connection: close one: the worker answers the
# first, ignores the second and lingers.
out=$(close_case pipelined 'b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + A + b"\r\nGET /_ping HTTP/1.1\r\nHost: x\r\n" + A + b"\r\n"')
check "bytes after a Connection: close request: one answer, lingering close ($out)" \
    [ "$out" = "200 worker 1" ]

# An early answer with the body unread (401 before the body): lingering.
out=$(close_case unread 'b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000')
check "401 with the body unread: lingering close ($out)" \
    [ "$out" = "401 worker 1" ]

pw_done
