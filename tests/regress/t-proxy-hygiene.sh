#!/bin/bash
# t-proxy-hygiene.sh: what leaves the proxy towards the Docker socket.
# Requests are re-serialised from their parsed form: Host normalised,
# client forwarding headers and every credential header dropped, framing
# re-derived, and no second request can ride along inside a body.
# A recording peer on the socket captures the bytes (recorder.py).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap 'pw_stop; kill $rec 2>/dev/null' EXIT
sock=$PW_TMP/rec.sock
log=$PW_TMP/rec.log
python3 "$here/recorder.py" "$sock" "$log" &
rec=$!
for i in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.05; done
pw_start DOCKER_SOCKET="$sock" || { fail "portwingd starts"; exit 1; }
sleep 0.2
: >"$log"	# forget start-up probes

code=$(curl -s -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $PW_TOKEN" -H "X-Portwing-Token: $PW_TOKEN" \
    -H "X-Dd-Agent-Secret: $PW_TOKEN" -H 'X-Portwing-Signature: abc' \
    -H 'X-Portwing-Key-ID: 0123456789abcdef' -H 'X-Api-Key: k' \
    -H 'X-Forwarded-For: 203.0.113.9' -H 'X-Forwarded-Host: evil' \
    -H 'X-Forwarded-Proto: https' -H 'X-Real-IP: 203.0.113.9' \
    -H 'Forwarded: for=203.0.113.9' -H 'Proxy-Authorization: Basic eA==' \
    -H 'Host: evil.example' -H 'Keep-Alive: timeout=5' -H 'TE: trailers' \
    -H 'X-Registry-Auth: eyJ1c2VybmFtZSI6ImEifQ==' -H 'User-Agent: hygiene/1' \
    "$(pw_url '/v1.41/containers/json?all=1&filters=%7B%22a%22%3A1%7D')")
check "request relayed ($code)" [ "$code" = 200 ]
check "request line re-serialised exactly" python3 - "$log" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][0]
assert r["line"] == "GET /v1.41/containers/json?all=1&filters=%7B%22a%22%3A1%7D HTTP/1.1", r["line"]
PY
check "Host normalised; credentials, forwarding and hop-by-hop headers gone; others kept" python3 - "$log" "$PW_TOKEN" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][0]
names = [k.lower() for k, v in r["headers"]]
hdr = {k.lower(): v for k, v in r["headers"]}
assert hdr["host"] == "docker", hdr
assert names.count("host") == 1
for gone in ("authorization", "x-portwing-token", "x-dd-agent-secret", "x-portwing-signature",
             "x-portwing-key-id", "x-api-key", "x-forwarded-for", "x-forwarded-host",
             "x-forwarded-proto", "x-real-ip", "forwarded", "proxy-authorization",
             "keep-alive", "te"):
    assert gone not in names, gone
assert sys.argv[2] not in json.dumps(r), "token leaked"
assert hdr["x-registry-auth"] == "eyJ1c2VybmFtZSI6ImEifQ=="
assert hdr["user-agent"] == "hygiene/1"
PY

# A chunked body is de-chunked by the worker and re-framed by the proxy.
: >"$log"
printf 'part-one|part-two' | curl -s -o /dev/null -H "Authorization: Bearer $PW_TOKEN" \
    -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' --data-binary @- \
    "$(pw_url /containers/create)"
check "chunked body arrives whole, chunked again" python3 - "$log" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][0]
hdr = {k.lower(): v for k, v in r["headers"]}
assert r["body"] == "part-one|part-two", r["body"]
assert hdr.get("transfer-encoding") == "chunked" and "content-length" not in hdr, hdr
PY

# Smuggling: bytes after a body's end are the next request, and it is
# judged on its own (here: no credential, so it never reaches Docker).
: >"$log"
out=$(python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
inner = b"DELETE /containers/victim?force=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
body = b"0\r\n\r\n" + inner
s.sendall(b"POST /build HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2].encode() +
          b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
data = b""
while data.count(b"HTTP/1.1 ") < 1 or not data.endswith(b"OK"):
    c = s.recv(4096)
    if not c:
        break
    data += c
print(data.split(b"\r\n")[0].decode())
PY
)
check "a request hidden in a Content-Length body is just body ($out)" [ "$out" = "HTTP/1.1 200 OK" ]
check "...and reaches the socket as one request carrying it" python3 - "$log" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) == 1, [r["line"] for r in rs]
assert rs[0]["line"] == "POST /build HTTP/1.1" and "DELETE /containers/victim" in rs[0]["body"]
PY
: >"$log"
out=$(python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"POST /build HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + sys.argv[2].encode() +
          b"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
          b"DELETE /containers/victim?force=1 HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while data.count(b"HTTP/1.1 ") < 2:
    c = s.recv(4096)
    if not c:
        break
    data += c
import re
print(" ".join(m.decode() for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)))
PY
)
check "a request after a chunked body is judged on its own: 200 then 401 ($out)" [ "$out" = "200 401" ]
check "only the authenticated request reached the socket" python3 - "$log" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["line"] for r in rs] == ["POST /build HTTP/1.1"], [r["line"] for r in rs]
assert rs[0]["body"] == "abc"
PY
pw_done
