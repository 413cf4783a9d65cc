#!/bin/bash
# t-proxy-reuse.sh: streams to the proxy outlive client connections.  A
# client opening a connection per request (Connection: close) reuses the
# worker's pooled stream instead of a new socketpair each time; a stream
# whose request was cut off is closed, never reused; after the proxy
# restarts, the pool is emptied and requests still succeed.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; [ -n "${st_pid:-}" ] && kill $st_pid 2>/dev/null' EXIT
pw_start WORKERS=1 || { fail "portwingd starts"; exit 1; }
worker=$(pw_children worker)
trace=$PW_TMP/reuse.$$.strace
strace -f -e trace=socketpair -o "$trace" -p "$worker" 2>/dev/null &
st_pid=$!
sleep 0.5

codes() {	# codes N: N requests, each on its own connection
	local i out=
	for i in $(seq 1 "$1"); do
		out="$out$(curl -s -m 10 -o /dev/null -w '%{http_code}' \
		    -H "Authorization: Bearer $PW_TOKEN" -H 'Connection: close' \
		    "$(pw_url /_ping)") "
	done
	echo "$out"
}
pairs() { grep -c 'socketpair(' "$trace" 2>/dev/null; }

out=$(codes 20)
check "20 connections, one request each, all answered ($out)" \
    [ "$out" = "$(printf '200 %.0s' $(seq 1 20))" ]
# The readiness probe may have opened the stream already.
n1=$(pairs)
check "they share one stream to the proxy ($n1 socketpairs)" [ "$n1" -le 1 ]

# A body cut off mid-way: that stream carried half an exchange and must
# not serve the next connection.
python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(("POST /containers/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n" % sys.argv[2]).encode())
s.sendall(b"{" + b" " * 100000)
time.sleep(0.5)
s.close()
PY
sleep 0.5
out=$(codes 5)
check "after a cut-off upload, new connections are answered ($out)" \
    [ "$out" = "200 200 200 200 200 " ]
n=$(pairs)
check "the cut-off stream was replaced, not reused ($n socketpairs)" \
    [ "$n" = $((n1 + 1)) ]

# The proxy restarts: pooled streams to the old one are dropped.
kill -9 "$(pw_children proxy)"
for _ in $(seq 1 100); do
	[ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$(pw_url /ready)")" = 200 ] && break
	sleep 0.1
done
out=$(codes 3)
check "after the proxy restarts, new connections are answered ($out)" \
    [ "$out" = "200 200 200 " ]
kill $st_pid 2>/dev/null; wait $st_pid 2>/dev/null; st_pid=
pw_stop

# A body policyd judged and refused: the next request on the same
# connection (and so on the same stream) is read and answered.
pw_start WORKERS=1 POLICY=portwing-with-compose ||
    { fail "portwingd starts with a policy"; exit 1; }
out=$(PYTHONPATH=$(cd "$(dirname "$0")" && pwd) python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import socket, sys
from pwhttp import answer
port, tok = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(8)
def req(method, path, body=b""):
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (method, path, tok, len(body))).encode() + body)
    st, _ = answer(s)
    return "EOF" if st == "CLOSED" else st
try:
    print(req("POST", "/containers/create", b'{"Image":"x","HostConfig":{"Privileged":true}}'),
          req("GET", "/_ping"))
except OSError as e:
    print("error:", e)
PY
)
check "keep-alive: a create refused on its body, then /_ping answered ($out)" \
    [ "$out" = "403 200" ]
pw_done
