#!/bin/bash
# t-parser.sh: every parser rejection, end to end on a live worker.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
pw_start HEADER_TIMEOUT=2 || { fail "portwingd starts"; exit 1; }

expect() {
	local want=$1 desc=$2 raw=$3 got
	got=$(pw_raw "$raw")
	if [ "${got%% *}" = HTTP/1.1 ] && [ "$(echo "$got" | cut -d' ' -f2)" = "$want" ]; then
		ok "$desc -> $want"
	else
		fail "$desc: want $want, got '$got'"
	fi
}
A="Authorization: Bearer $PW_TOKEN\r\n"
expect 400 "Content-Length with Transfer-Encoding" \
    "POST /containers/create HTTP/1.1\r\nHost: x\r\n${A}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
expect 400 "duplicate Content-Length" \
    "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab"
expect 400 "conflicting Content-Length" \
    "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
expect 400 "bad chunk size" \
    "POST /containers/create HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"
expect 400 "chunk without CRLF" \
    "POST /containers/create HTTP/1.1\r\nHost: x\r\n${A}Transfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n"
expect 400 "obsolete line folding" "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"
expect 400 "bare LF" "GET / HTTP/1.1\nHost: x\n\n"
expect 400 "bare CR" "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n"
expect 400 "invalid header name" "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n"
expect 400 "whitespace before colon" "GET / HTTP/1.1\r\nHost : x\r\n\r\n"
expect 400 "missing Host" "GET /health HTTP/1.1\r\n\r\n"
expect 400 "malformed request line" "GET\r\n\r\n"
expect 505 "HTTP/2.0 request line" "GET / HTTP/2.0\r\nHost: x\r\n\r\n"
expect 501 "unsupported transfer coding" "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"
long=$(python3 -c 'print("a"*9000)')
expect 414 "request line over 8 KiB" "GET /$long HTTP/1.1\r\nHost: x\r\n\r\n"
many=$(python3 -c 'print("".join("X-%d: v\\r\\n" % i for i in range(120)))')
expect 431 "more than 100 header fields" "GET / HTTP/1.1\r\nHost: x\r\n$many\r\n"
big=$(python3 -c 'print("X-Big: " + "b"*70000 + "\\r\\n")')
expect 431 "header block over 64 KiB" "GET / HTTP/1.1\r\nHost: x\r\n$big\r\n"

# The connection is closed after a parse error.
out=$(python3 - "$PW_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n b\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
print(data.count(b"HTTP/1.1 "), b"Connection: close" in data, b'"message"' in data)
PY
)
check "parse error: one JSON answer, Connection: close, then closed" [ "$out" = "1 True True" ]

# Header read timeout: 408 after HEADER_TIMEOUT (2 s here).
out=$(python3 - "$PW_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = time.time()
s.sendall(b"GET /health HTTP/1.1\r\nHo")
d = s.recv(4096)
print(d.split(b"\r\n")[0].decode(), round(time.time() - t))
PY
)
check "slow head gets 408 after the header timeout" [ "$out" = "HTTP/1.1 408 Request Timeout 2" ]

# Idle keep-alive connections with no bytes are closed silently.
out=$(python3 - "$PW_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
print(repr(s.recv(4096)))
PY
)
check "idle connection without a request is closed without a response" [ "$out" = "b''" ]

# Connections per worker: at the limit the worker stops accepting when
# every connection is busy; the next client waits in the backlog and is
# served once a slot frees.  When one of them never said a word, it is
# closed to make room instead.
pw_stop
pw_start WORKERS=1 MAX_CONNECTIONS=2 || { fail "portwingd starts (limit)"; exit 1; }
out=$(python3 - "$PW_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port)); b = socket.create_connection(("127.0.0.1", port))
a.sendall(b"GET /health HTTP/1.1\r\nHo"); b.sendall(b"GET /health HTTP/1.1\r\nHo")
time.sleep(0.3)
c = socket.create_connection(("127.0.0.1", port), timeout=1)
c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    first = c.recv(100); waited = "answered-early"
except socket.timeout:
    waited = "waited"
a.close()
c.settimeout(3)
data = c.recv(100)
print(waited, data.split(b"\r\n")[0].decode())
PY
)
check "MAX_CONNECTIONS: third client waits, then is served ($out)" [ "$out" = "waited HTTP/1.1 200 OK" ]
out=$(python3 - "$PW_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port), timeout=3)
time.sleep(0.1)
b = socket.create_connection(("127.0.0.1", port)); b.sendall(b"GET /health HTTP/1.1\r\nHo")
time.sleep(0.3)
c = socket.create_connection(("127.0.0.1", port), timeout=1)
c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    got = c.recv(100).split(b"\r\n")[0].decode()
except socket.timeout:
    got = "waited"
print(got, "|", repr(a.recv(100)))
PY
)
check "MAX_CONNECTIONS: a silent connection is shed for a new client ($out)" \
    [ "$out" = "HTTP/1.1 200 OK | b''" ]
check "the limit is logged" grep -q 'connection limit (2) reached' "$PW_LOG"

# Still serving after all that.
check "worker survives bad input" [ "$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /health)")" = 200 ]
check "no worker died" bash -c "! grep -q 'killed by signal\|exited with status' '$PW_LOG'"
pw_done
