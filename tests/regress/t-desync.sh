#!/bin/bash
# t-desync.sh: an answer the worker gives before it has read the request's
# body must never leave that body to be parsed as the next request, and
# every early answer must reach the client (no reset).  Each status the
# worker can produce on its own is probed over a raw socket with a body
# that is itself a complete request; then the HAProxy case: a reused
# backend connection must not let one client's body prefix another
# client's authenticated request.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$here
HP_PID=
trap 'pw_stop; [ -z "$HP_PID" ] || kill "$HP_PID" 2>/dev/null' EXIT

python3 - "$PW_TMP" <<'PY'
import sys, pwsign
d = sys.argv[1]
k = pwsign.new_key(d + "/k1.pem")
open(d + "/authorized_keys", "w").write(pwsign.line(k, "desync") + "\n")
PY
chmod 600 "$PW_TMP/authorized_keys"

# The test build holds authd down for 2 s after it dies (the 503 case).
PW_DAEMON=$PW_BUILD/portwingd-hooks pw_start WORKERS=1 HEADER_TIMEOUT=2 PW_TEST_AUTHD_RESPAWN_MS=2000 LOG_LEVEL=debug \
    AUTHORIZED_KEYS="$PW_TMP/authorized_keys" SIGNED_BODY_LIMIT=4096 ||
    { fail "portwingd starts"; exit 1; }

# probe NAME WANT CLOSE PYTHON-EXPR [SOURCE]: the expression gives
# (head, body[, extra]) for desync.probe; CLOSE=1 also requires that the
# agent closed the connection.
probe() {
	local name=$1 want=$2 close=$3 expr=$4 src=${5:-127.0.0.1} out
	out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$src" "$expr" "$close" "${PW_PROBE_TLS:-}" <<'PY'
import sys
from desync import *
port, tok, src, expr, close = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3], sys.argv[4], sys.argv[5]
A = b"Authorization: Bearer " + tok + b"\r\n"
args = eval(expr)
r = probe(port, *args[:2], source=src, extra=args[2] if len(args) > 2 else b"",
          tls=sys.argv[6] == "1")
# An answer after which the agent closes must say so.
said = b"\r\nConnection: close\r\n" in r["data"].split(b"\r\n\r\n")[0] + b"\r\n"
print(",".join(map(str, r["statuses"])) or "none",
      "closed" if r["closed"] else "open",
      "reset" if r["reset"] else "clean",
      "" if said or not r["closed"] else "unannounced")
PY
)
	local exp="$want closed clean "
	[ "$close" = 1 ] || exp="$want open clean "
	if [ "$out" = "$exp" ] || { [ "$close" = 0 ] &&
	    [ "$out" = "$want closed clean " ]; }; then
		ok "$name: $out"
	else
		fail "$name: want '$exp', got '$out'"
	fi
}

# Authentication refused: 401, with a length-delimited and a chunked body.
probe "401, Content-Length body" 401 1 \
    'cl_head("POST", "/containers/create", len(SMUGGLED)), SMUGGLED' 127.0.0.11
probe "401, chunked body" 401 1 \
    'chunked_head("POST", "/containers/create"), chunked(SMUGGLED)' 127.0.0.12
probe "401, wrong token, body on a GET" 401 1 \
    'cl_head("GET", "/_ping", len(SMUGGLED), b"Authorization: Bearer nope\r\n"), SMUGGLED' 127.0.0.13
probe "401 before 100-continue" 401 1 \
    'cl_head("POST", "/containers/create", len(SMUGGLED), b"Expect: 100-continue\r\n"), SMUGGLED' 127.0.0.14

# Routing answers, public and after authentication.
probe "405 on a public route" 405 1 \
    'cl_head("POST", "/health", len(SMUGGLED)), SMUGGLED'
probe "405 on an own route" 405 1 \
    'cl_head("POST", "/_portwing/info", len(SMUGGLED), A), SMUGGLED'
probe "404 under /_portwing/" 404 1 \
    'cl_head("POST", "/_portwing/nope", len(SMUGGLED), A), SMUGGLED'
probe "404 from an own route" 404 1 \
    'cl_head("GET", "/api/watchers/x/y", len(SMUGGLED), A), SMUGGLED'
probe "200 from a public route that ignores its body" 200 1 \
    'cl_head("GET", "/health", len(SMUGGLED)), SMUGGLED'
probe "200 from an own route that ignores its body" 200 1 \
    'chunked_head("GET", "/api/watchers", A), chunked(SMUGGLED)'
probe "501 from an own route" 501 1 \
    'cl_head("POST", "/api/watchers/docker/docker", len(SMUGGLED), A), SMUGGLED'

# Signed bodies over SIGNED_BODY_LIMIT (4096 here): 413.
pad='SMUGGLED + b"x" * 8000'
probe "413, declared signed body too large" 413 1 \
    "cl_head('POST', '/containers/create', 8000 + len(SMUGGLED), b'X-Portwing-Signature: x\r\n'), $pad"
probe "413, chunked signed body grows too large" 413 1 \
    "chunked_head('POST', '/containers/create', b'X-Portwing-Signature: x\r\n'), chunked($pad)"

# The head itself is refused: 400, 414, 417, 431, 501, 505, and a
# Content-Length beyond 2^63-1.
probe "400, invalid header name" 400 1 \
    'cl_head("POST", "/containers/create", len(SMUGGLED), b"Bad Name: v\r\n"), SMUGGLED'
probe "400, bad chunk size" 400 1 \
    'chunked_head("POST", "/containers/create", A), b"zz\r\n" + SMUGGLED'
probe "400, Content-Length 2^63" 400 1 \
    'b"POST /containers/create HTTP/1.1\r\nHost: x\r\n" + A + b"Content-Length: 9223372036854775808\r\n\r\n", SMUGGLED'
probe "417, unknown expectation" 417 1 \
    'cl_head("PUT", "/containers/x", len(SMUGGLED), b"Expect: magic\r\n"), SMUGGLED'
probe "501, unsupported transfer coding" 501 1 \
    'b"POST /containers/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", SMUGGLED'
probe "505, HTTP/2.0" 505 1 \
    'b"POST / HTTP/2.0\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED), SMUGGLED'
# 414 and 431 come while the client is still sending its head: the answer
# must still arrive, not a reset.
probe "414 while the head is still arriving" 414 1 \
    'b"GET /" + b"a" * 9000, b" HTTP/1.1\r\nHost: x\r\n", b"X-More: " + b"m" * 400000'
probe "431 while the head is still arriving" 431 1 \
    'b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)), b"", b"X-More: " + b"m" * 400000'

# The proxy refuses before the body is complete (the test build forges
# the approval): the answer says close, and the rest of the body is not
# taken for a request.
probe "403 from the proxy while the body is still coming" 403 1 \
    'cl_head("POST", "/containers/create", 100000, A + b"X-Portwing-Test-Approval: forge\r\n"), SMUGGLED'

# 408: the head never completes.
out=$(python3 - "$PW_PORT" <<'PY'
import sys
from desync import probe
r = probe(int(sys.argv[1]), b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Le", b"", quiet=6)
print(r["statuses"], r["closed"], r["reset"])
PY
)
check "408 reaches the client, then close ($out)" [ "$out" = "[408] True False" ]

# 429: ten failures from one address, then a request with a body.
python3 - "$PW_PORT" <<'PY'
import sys
from desync import probe
for i in range(10):
    probe(int(sys.argv[1]), b"GET /_ping HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer no\r\n\r\n",
          b"", source="127.0.0.30", quiet=1)
PY
probe "429 from the failure limiter" 429 1 \
    'cl_head("POST", "/containers/create", len(SMUGGLED)), SMUGGLED' 127.0.0.30

# 503: authd is down (held down for 2 s by the test build).
kill -9 "$(pw_children authd)"
sleep 0.3
probe "503 while authd is down" 503 1 \
    'cl_head("POST", "/containers/create", len(SMUGGLED), A), SMUGGLED'
sleep 2.5

# After all that, keep-alive still works for requests whose body was read.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import sys, pwhttp, socket
port, tok = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
a = pwhttp.request(port, "POST", "/containers/create?name=pw-desync-ka", tok,
                   body={"Image": "pwtest-bb", "Cmd": ["true"]}, sock=s)[0]
b = pwhttp.request(port, "GET", "/_ping", tok, sock=s)[0]
c = pwhttp.request(port, "DELETE", "/containers/pw-desync-ka?force=1", tok, sock=s)[0]
print(a, b, c)
PY
)
check "a body that was read keeps the connection usable ($out)" [ "$out" = "201 200 204" ]

# Docker unreachable: 503 from readiness, 502 for a proxied call.
pw_stop
pw_start WORKERS=1 DOCKER_SOCKET=$PW_TMP/no-docker.sock ||
    { fail "portwingd starts without Docker"; exit 1; }
probe "503 from readiness without Docker" 503 1 \
    'cl_head("GET", "/ready", len(SMUGGLED)), SMUGGLED'
probe "502 for a proxied call without Docker" 502 0 \
    'cl_head("POST", "/containers/create", len(SMUGGLED), A), SMUGGLED'
pw_stop

# The same over TLS: the close lingers there too (close_notify, then FIN).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$PW_TMP/srv.key" -out "$PW_TMP/srv.crt" -days 2 -subj "/CN=pw" \
    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
pw_start WORKERS=1 TLS_CERT="$PW_TMP/srv.crt" TLS_KEY="$PW_TMP/srv.key" ||
    { fail "portwingd starts with TLS"; exit 1; }
export PW_PROBE_TLS=1
probe "TLS: 401, Content-Length body" 401 1 \
    'cl_head("POST", "/containers/create", len(SMUGGLED)), SMUGGLED' 127.0.0.15
probe "TLS: 405 on a public route" 405 1 \
    'cl_head("POST", "/health", len(SMUGGLED)), SMUGGLED'
probe "TLS: 431 while the head is still arriving" 431 1 \
    'b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(120)), b"", b"X-More: " + b"m" * 400000'
unset PW_PROBE_TLS
pw_stop

# Through HAProxy with connection reuse: an unauthenticated POST whose body
# starts a DELETE, then another client's authenticated request.
if ! command -v haproxy >/dev/null 2>&1; then
	skip "haproxy not installed"
	pw_done
	exit
fi
pw_start WORKERS=1 || { fail "portwingd starts (haproxy case)"; exit 1; }
name=pw-desync-victim
pw_docker_direct rm -f "$name" >/dev/null 2>&1
pw_docker_direct create --name "$name" pwtest-bb sleep 600 >/dev/null ||
    fail "victim container created"
HP_PORT=$(pw_free_port)
cat >"$PW_TMP/haproxy.cfg" <<EOF
global
	maxconn 200
defaults
	mode http
	timeout connect 5s
	timeout client 20s
	timeout server 20s
frontend fe
	bind 127.0.0.1:$HP_PORT
	default_backend be
backend be
	http-reuse always
	server pw 127.0.0.1:$PW_PORT
EOF
haproxy -f "$PW_TMP/haproxy.cfg" -db >"$PW_TMP/haproxy.log" 2>&1 &
HP_PID=$!
for _ in $(seq 1 50); do
	curl -s -o /dev/null "http://127.0.0.1:$HP_PORT/health" && break
	sleep 0.1
done
out=$(python3 - "$HP_PORT" "$PW_TOKEN" "$name" <<'PY'
import sys, socket, time, pwhttp
port, tok, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
prefix = ("DELETE /containers/%s?force=1 HTTP/1.1\r\nX-Pad: " % name).encode()
a = socket.create_connection(("127.0.0.1", port), timeout=10)
a.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
          len(prefix) + prefix)
st1 = pwhttp.read_head(a)[0]
a.close()
time.sleep(0.3)
st2 = pwhttp.request(port, "GET", "/_ping", tok)[0]
print(st1, st2)
PY
)
check "through haproxy: 401 for the first client, 200 for the second ($out)" \
    [ "$out" = "401 200" ]
sleep 0.5
check "through haproxy: the container survived" \
    pw_docker_direct inspect -f '{{.Name}}' "$name"
pw_docker_direct rm -f "$name" >/dev/null 2>&1
pw_done
