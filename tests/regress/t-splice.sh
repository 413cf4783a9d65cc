#!/bin/bash
# t-splice.sh: large Content-Length bodies go unframed (PXF_RAWBODY) and are
# spliced, socket to socket, by the worker and the proxy.  What Docker gets
# is byte for byte what the client sent; a body that arrives in dribbles, a
# keep-alive connection that carries on after one, an answer Docker gives
# before the body is through, a client that leaves mid-body, a body the
# policy holds for policyd, a TLS client (copied, not spliced) and a signed
# one all behave as with a framed body.  Chunked bodies of every chunk size,
# which stay framed, share the streams.  A dishonest worker that sends more
# than it declared is in t-p3-framing.sh.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap 'pw_stop; pw_docker_direct rm -f pwsp-box >/dev/null 2>&1' EXIT
export PYTHONPATH=$here
PW_LOG_LEVEL=debug pw_start WORKERS=1 || { fail "portwingd starts"; exit 1; }
cid=$(pw_docker_direct run -d --name pwsp-box --network none "$PW_IMAGE" sleep 3600)
pw_docker_direct exec pwsp-box mkdir -p /tmp/d1 /tmp/d2 /tmp/d3 /tmp/c1 /tmp/c2 /tmp/c3

# A tar of one 3 MiB file of random bytes.
mkdir -p "$PW_TMP/src"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$PW_TMP/src/blob"
tar -C "$PW_TMP/src" -cf "$PW_TMP/blob.tar" blob
sum=$(md5sum <"$PW_TMP/src/blob" | cut -d' ' -f1)
there() { pw_docker_direct exec pwsp-box md5sum "$1" 2>/dev/null | cut -d' ' -f1; }
spliced() { grep -c "body bytes spliced to $1" "$PW_LOG"; }

# 1. curl, Content-Length, one go.
w0=$(spliced "the proxy") p0=$(spliced Docker)
code=$(pw_curl -o /dev/null -w '%{http_code}' -X PUT -T "$PW_TMP/blob.tar" \
    "$(pw_url "/containers/$cid/archive?path=/tmp")")
check "a 3 MiB archive upload answers 200 (got $code)" [ "$code" = 200 ]
check "Docker has the file byte for byte" [ "$(there /tmp/blob)" = "$sum" ]
sleep 0.3
check "the worker spliced the body ($w0 -> $(spliced "the proxy"))" [ "$(spliced "the proxy")" -gt "$w0" ]
check "the proxy spliced the body ($p0 -> $(spliced Docker))" [ "$(spliced Docker)" -gt "$p0" ]

# 2. The body in dribbles (the splicers wait on both sides), then a
# second request on the same connection: the stream is back in step.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$cid" "$PW_TMP/blob.tar" <<'PY'
import socket, sys, time
from pwhttp import answer
port, tok, cid, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = open(path, "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(("PUT /containers/%s/archive?path=/tmp/d1 HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\nContent-Type: application/x-tar\r\n"
           "Content-Length: %d\r\n\r\n" % (cid, tok, len(body))).encode())
step = len(body) // 7
for i in range(0, len(body), step):
    s.sendall(body[i:i + step])
    time.sleep(0.05)
st1, _ = answer(s)
s.sendall(("GET /containers/%s/json HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\n\r\n" % (cid, tok)).encode())
st2, b2 = answer(s)
print(st1, st2, b'"Running":true' in b2)
PY
)
check "dribbled upload, then a keep-alive GET: 200 200 ($out)" [ "$out" = "200 200 True" ]
check "... and Docker has that file too" [ "$(there /tmp/d1/blob)" = "$sum" ]

# 2b. Chunked bodies are framed, not spliced (see DESIGN.md, "Bulk
# bodies"), on the same streams: curl's chunks, then chunks of every size
# (one byte up to 300 KiB, some in dribbles) with a keep-alive GET after
# them, then the docker CLI's own (docker cp sends its tar chunked).
code=$(pw_curl -o /dev/null -w '%{http_code}' -X PUT -H 'Transfer-Encoding: chunked' \
    -T "$PW_TMP/blob.tar" "$(pw_url "/containers/$cid/archive?path=/tmp/c1")")
check "chunked: curl's upload answers 200 (got $code)" [ "$code" = 200 ]
check "chunked: Docker has the file byte for byte" [ "$(there /tmp/c1/blob)" = "$sum" ]
out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$cid" "$PW_TMP/blob.tar" <<'PY'
import socket, sys, time
from pwhttp import answer
port, tok, cid, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
body = open(path, "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(("PUT /containers/%s/archive?path=/tmp/c2 HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\nContent-Type: application/x-tar\r\n"
           "Transfer-Encoding: chunked\r\n\r\n" % (cid, tok)).encode())
sizes = [1, 16383, 16384, 16385, 100000, 5, 300000, 32768, 131072, 131073, 20000]
off, i = 0, 0
while off < len(body):
    n = min(sizes[i % len(sizes)], len(body) - off)
    c = b"%x\r\n" % n + body[off:off + n] + b"\r\n"
    if i % 4 == 3:			# in dribbles: header, then the data in parts
        for j in range(0, len(c), 7000):
            s.sendall(c[j:j + 7000]); time.sleep(0.002)
    else:
        s.sendall(c)
    off += n; i += 1
s.sendall(b"0\r\n\r\n")
st1, _ = answer(s)
s.sendall(("GET /containers/%s/json HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\n\r\n" % (cid, tok)).encode())
st2, b2 = answer(s)
print(st1, st2, b'"Running":true' in b2)
PY
)
check "chunked: chunks of every size, then a keep-alive GET: 200 200 ($out)" [ "$out" = "200 200 True" ]
check "chunked: ... and Docker has that file too" [ "$(there /tmp/c2/blob)" = "$sum" ]
pw_docker cp "$PW_TMP/src/blob" pwsp-box:/tmp/c3/ >/dev/null 2>&1
check "chunked: docker cp into the container, whole" [ "$(there /tmp/c3/blob)" = "$sum" ]

# 3. Docker answers before the body is through (no such container): the
# client gets Docker's 404 and the connection closes; nothing is stuck.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import socket, sys
port, tok = int(sys.argv[1]), sys.argv[2]
n = 8 * 1024 * 1024
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(("PUT /containers/pwsp-nonesuch/archive?path=/ HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" % (tok, n)).encode())
sent, data = 0, b""
s.settimeout(0.2)
chunk = b"\0" * 65536
while sent < n:
    try:
        sent += s.send(chunk[:min(len(chunk), n - sent)])
    except socket.timeout:
        pass
    except (BrokenPipeError, ConnectionResetError):
        break
    try:
        d = s.recv(65536)
        if not d:
            break
        data += d
    except socket.timeout:
        pass
    except ConnectionResetError:
        break
s.settimeout(10)
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except (socket.timeout, ConnectionResetError):
    pass
head = data.split(b"\r\n\r\n")[0].decode("latin-1")
print(head.split(" ")[1] if head else "NONE",
      "close" if "connection: close" in head.lower() else "keep")
PY
)
check "an early 404 reaches the client, with Connection: close ($out)" [ "$out" = "404 close" ]
code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
check "the next request works (got $code)" [ "$code" = 200 ]

# 4. A client that leaves mid-body: the Docker connection is dropped, the
# processes live on, and the next upload is whole.
python3 - "$PW_PORT" "$PW_TOKEN" "$cid" <<'PY'
import socket, sys, time
port, tok, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(("PUT /containers/%s/archive?path=/tmp HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" %
           (cid, tok, 4 * 1024 * 1024)).encode())
s.sendall(b"\0" * (1024 * 1024))
time.sleep(0.3)
s.close()
PY
sleep 0.5
check "no child died" bash -c "! grep -q 'killed by signal\|exited with status' '$PW_LOG'"
code=$(pw_curl -o /dev/null -w '%{http_code}' -X PUT -T "$PW_TMP/blob.tar" \
    "$(pw_url "/containers/$cid/archive?path=/tmp/d2")")
check "an upload after the abandoned one answers 200 (got $code)" [ "$code" = 200 ]
check "... whole" [ "$(there /tmp/d2/blob)" = "$sum" ]
pw_stop

# 5. A body the policy holds for policyd (container create, 300 KiB of
# JSON): the raw bytes are framed again for the spool and judged.
cat >"$PW_TMP/policy.yaml" <<'EOF'
rules:
  - match: { method: POST, path: "/containers/create" }
    action: allow
  - match: { method: DELETE, path: "/containers/*" }
    action: allow
EOF
pw_start WORKERS=1 POLICY_FILE="$PW_TMP/policy.yaml" || { fail "portwingd starts with a policy"; exit 1; }
big=$(head -c 300000 /dev/zero | tr '\0' a)
for priv in false true; do
	printf '{"Image":"%s","Cmd":["true"],"Labels":{"pad":"%s"},"HostConfig":{"Privileged":%s}}' \
	    "$PW_IMAGE" "$big" "$priv" >"$PW_TMP/create.json"
	code=$(pw_curl -o "$PW_TMP/create.out" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' --data-binary @"$PW_TMP/create.json" \
	    "$(pw_url "/containers/create?name=pwsp-c-$priv")")
	if [ $priv = false ]; then
		check "policy: a 300 KiB create is judged and allowed (got $code)" [ "$code" = 201 ]
		check "... the container has its label" bash -c \
		    "[ \"\$(docker -H unix://$DOCKER_SOCK inspect -f '{{len (index .Config.Labels \"pad\")}}' pwsp-c-false)\" = 300000 ]"
	else
		check "policy: a privileged one is denied by policyd (got $code)" [ "$code" = 403 ]
	fi
done
pw_docker_direct rm -f pwsp-c-false pwsp-c-true >/dev/null 2>&1
pw_stop

# 6. TLS clients are not spliced (the bytes are TLS records); the body
# still arrives whole.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -keyout "$PW_TMP/k.pem" -out "$PW_TMP/c.pem" 2>/dev/null
PW_LOG_LEVEL=debug pw_start WORKERS=1 TLS_CERT="$PW_TMP/c.pem" TLS_KEY="$PW_TMP/k.pem" ||
    { fail "portwingd starts with TLS"; exit 1; }
w0=$(spliced "the proxy")
code=$(curl -s -m 30 --cacert "$PW_TMP/c.pem" -H "Authorization: Bearer $PW_TOKEN" \
    -o /dev/null -w '%{http_code}' -X PUT -T "$PW_TMP/blob.tar" \
    "https://localhost:$PW_PORT/containers/$cid/archive?path=/tmp/d3")
check "TLS: the upload answers 200 (got $code)" [ "$code" = 200 ]
check "TLS: whole" [ "$(there /tmp/d3/blob)" = "$sum" ]
check "TLS: the worker did not splice it" [ "$(spliced "the proxy")" = "$w0" ]
check "TLS: the proxy still did" [ "$(spliced Docker)" -ge 1 ]
pw_done
