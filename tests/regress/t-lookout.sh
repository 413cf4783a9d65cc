#!/bin/bash
# t-lookout.sh (issue 10, item 13): a Lookout v0.2 client (Portwing's
# earlier name) works unchanged: its token in X-Lookout-Token, requests
# signed with X-Lookout-* headers (same canonical bytes), /_lookout/*
# paths, X-Lookout-Reason on a refused signature.  A request mixing the
# two signature dialects is refused; no X-Lookout-* header reaches Docker
# (recorder.py on the socket), and workers keep no copy of the token.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
rec=
trap 'pw_stop; [ -n "$rec" ] && kill $rec 2>/dev/null' EXIT
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PYTHONPATH=$here

# ---- What reaches the Docker socket (a recording peer stands in). ----
sock=$PW_TMP/rec.sock
log=$PW_TMP/rec.log
python3 "$here/recorder.py" "$sock" "$log" &
rec=$!
for i in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.05; done
pw_start DOCKER_SOCKET="$sock" || { fail "portwingd starts (recorder)"; exit 1; }
sleep 0.2
: >"$log"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Lookout-Token: $PW_TOKEN" \
    -H 'X-Lookout-Key-ID: 0123456789abcdef' -H 'X-Lookout-Timestamp: 1' \
    -H 'X-Lookout-Nonce: 00' -H 'X-Lookout-Signature: abc' \
    -H 'X-Lookout-Extra: x' -H 'User-Agent: lookout/0.2' \
    "$(pw_url /v1.41/containers/json)")
check "X-Lookout-Token authenticates a proxied request ($code)" [ "$code" = 200 ]
check "no X-Lookout-* header and no token reach Docker" python3 - "$log" "$PW_TOKEN" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][0]
names = [k.lower() for k, v in r["headers"]]
assert not [n for n in names if n.startswith("x-lookout-")], names
assert sys.argv[2] not in json.dumps(r), "token leaked"
assert dict((k.lower(), v) for k, v in r["headers"])["user-agent"] == "lookout/0.2"
PY
pw_stop
kill $rec 2>/dev/null
rec=

# ---- Against the real dockerd: token and keys together. ----
$PY - "$PW_TMP" <<'PY'
import sys, pwsign
d = sys.argv[1]
k = pwsign.new_key(d + "/k.pem")
open(d + "/authorized_keys", "w").write(pwsign.line(k, "lookout client") + "\n")
PY
chmod 600 "$PW_TMP/authorized_keys"
# Burned enrollment tokens are remembered across restarts: a fresh one.
etok=lo-enroll-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
pw_start AUTHORIZED_KEYS="$PW_TMP/authorized_keys" ENROLLMENT_TOKEN="$etok" ||
    { fail "portwingd starts with token and keys"; exit 1; }

st() { curl -s -m 10 -o /dev/null -w '%{http_code}' "$@"; }
check "X-Lookout-Token: /_ping 200" \
    [ "$(st -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /_ping)")" = 200 ]
check "wrong X-Lookout-Token: 401" \
    [ "$(st -H "X-Lookout-Token: nope" "$(pw_url /_ping)")" = 401 ]
check "X-Portwing-Token ranks first: a wrong one is not retried with X-Lookout-Token" \
    [ "$(st -H "X-Portwing-Token: nope" -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /_ping)")" = 401 ]
check "X-Lookout-Token ranks before X-Dd-Agent-Secret" \
    [ "$(st -H "X-Lookout-Token: $PW_TOKEN" -H "X-Dd-Agent-Secret: nope" "$(pw_url /_ping)")" = 200 ]
check "Bearer ranks before X-Lookout-Token" \
    [ "$(st -H "Authorization: Bearer nope" -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /_ping)")" = 401 ]

# Paths.
check "/_lookout/health answers without credentials" \
    [ "$(st "$(pw_url /_lookout/health)")" = 200 ]
out=$(curl -s -m 10 -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /_lookout/metrics)")
check "/_lookout/metrics with X-Lookout-Token: Prometheus text" \
    grep -q '^# TYPE portwing_' <<<"$out"
check "/_lookout/metrics needs credentials" \
    [ "$(st "$(pw_url /_lookout/metrics)")" = 401 ]
check "/_lookout/info answers like /_portwing/info" \
    [ "$(st -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /_lookout/info)")" = 200 ]
check "an unknown /_lookout/ path is 404, not Docker's" \
    [ "$(st -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /_lookout/nope)")" = 404 ]
check "POST /_lookout/metrics: 405" \
    [ "$(st -X POST -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /_lookout/metrics)")" = 405 ]

# Enrollment at Lookout's path: the key works at once, signed Lookout-style.
out=$($PY - "$PW_PORT" "$PW_TMP" "$etok" <<'PY'
import base64, http.client, json, sys, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k = pwsign.new_key(d + "/enrolled.pem")
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("POST", "/api/lookout/enroll", body=json.dumps({
    "enrollment_token": sys.argv[3],
    "public_key": base64.b64encode(pwsign.raw_pub(k)).decode()}),
    headers={"Content-Type": "application/json"})
r = c.getresponse()
body = json.loads(r.read())
st, reason, _ = pwsign.send(port, "GET", "/_ping",
                            pwsign.headers(k, "GET", "/_ping", prefix="X-Lookout-"))
print(r.status, body.get("key_id") == pwsign.key_id(k), st)
PY
)
check "POST /api/lookout/enroll enrolls a key that then signs ($out)" [ "$out" = "200 True 200" ]

# Signatures with the X-Lookout-* names over the same canonical bytes.
out=$($PY - "$PW_PORT" "$PW_TMP" <<'PY'
import sys, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k = pwsign.load(d + "/k.pem")
L = "X-Lookout-"
res = []
def go(label, method, target, hdrs, body=b"", src=None):
    s, reason, data = pwsign.send(port, method, target, hdrs, body, source=src,
                                  reason_header="X-Lookout-Reason")
    res.append("%s:%d:%s" % (label, s, reason))
    return s
go("get", "GET", "/_ping", pwsign.headers(k, "GET", "/_ping", prefix=L))
t = "/v1.41/containers/json?all=1&limit=1"
go("query", "GET", t, pwsign.headers(k, "GET", t, prefix=L))
go("v1", "GET", "/_ping", pwsign.headers(k, "GET", "/_ping", version=None, prefix=L))
go("metrics", "GET", "/_lookout/metrics",
   pwsign.headers(k, "GET", "/_lookout/metrics", prefix=L))
body = b'{"Image":"does-not-exist-lookout"}'
h = pwsign.headers(k, "POST", "/v1.41/containers/create?name=pw-lookout-x", body, prefix=L)
h["Content-Type"] = "application/json"
go("body", "POST", "/v1.41/containers/create?name=pw-lookout-x", h, body)
h = pwsign.headers(k, "GET", "/_ping", prefix=L)
h[L + "Signature"] = h[L + "Signature"][:-2] + ("AA" if not h[L + "Signature"].endswith("AA") else "BA")
go("bad", "GET", "/_ping", h, src="127.0.0.21")
h = pwsign.headers(k, "GET", "/_ping", prefix=L)
go("replay-ok", "GET", "/_ping", h, src="127.0.0.22")
go("replay", "GET", "/_ping", h, src="127.0.0.22")
# Half one dialect, half the other: refused, never read as one signature.
h = pwsign.headers(k, "GET", "/_ping", prefix=L)
h["X-Portwing-Key-ID"] = h.pop(L + "Key-ID")
go("mixed", "GET", "/_ping", h, src="127.0.0.23")
p = pwsign.headers(k, "GET", "/_ping")
p.update(pwsign.headers(k, "GET", "/_ping", prefix=L))
go("both", "GET", "/_ping", p, src="127.0.0.24")
print(" ".join(res))
PY
)
echo "# $out"
check "signed GET with X-Lookout-* headers" grep -q 'get:200:None' <<<"$out"
check "signed GET with a query" grep -q 'query:200:None' <<<"$out"
check "signed without Signature-Version (v1 canonical form)" grep -q 'v1:200:None' <<<"$out"
check "signed GET /_lookout/metrics" grep -q 'metrics:200:None' <<<"$out"
check "signed POST body reaches Docker (404 no such image)" grep -q 'body:404:None' <<<"$out"
check "a bad signature: 401 with X-Lookout-Reason" grep -q 'bad:401:invalid-signature' <<<"$out"
check "replay: 401 X-Lookout-Reason: replay" grep -q 'replay:401:replay' <<<"$out"
check "mixed X-Portwing-*/X-Lookout-* signature headers: 400" grep -q 'mixed:400:None' <<<"$out"
check "both full signature sets: 400" grep -q 'both:400:None' <<<"$out"
check "the mixed refusal says why" bash -c "curl -s -m 10 -H 'X-Lookout-Key-ID: x' \
    -H 'X-Portwing-Signature: y' --interface 127.0.0.26 '$(pw_url /_ping)' | grep -q 'mixes X-Portwing-\* and X-Lookout-\*'"
out=$(curl -s -m 10 -D - -o /dev/null -H "X-Lookout-Signature: abc" -H 'X-Lookout-Key-ID: 0123456789abcdef' \
    -H 'X-Lookout-Timestamp: 1' -H 'X-Lookout-Nonce: 00' --interface 127.0.0.27 "$(pw_url /_ping)")
check "a Lookout 401 carries X-Lookout-Reason, not X-Portwing-Reason" \
    bash -c "grep -qi '^X-Lookout-Reason: ' <<<'$out' && ! grep -qi '^X-Portwing-Reason' <<<'$out'"
out=$(curl -s -m 10 -D - -o /dev/null -H "X-Portwing-Signature: abc" -H 'X-Portwing-Key-ID: 0123456789abcdef' \
    -H 'X-Portwing-Timestamp: 1' -H 'X-Portwing-Nonce: 00' --interface 127.0.0.28 "$(pw_url /_ping)")
check "a Portwing 401 still carries X-Portwing-Reason" \
    bash -c "grep -qi '^X-Portwing-Reason: ' <<<'$out' && ! grep -qi '^X-Lookout-Reason' <<<'$out'"

# Workers and the proxy keep no copy of a token sent as X-Lookout-Token.
python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import http.client, sys
for i in range(150):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    c.request("GET", "/v1.41/version" if i % 2 else "/_lookout/info",
              headers={"X-Lookout-Token": sys.argv[2]})
    c.getresponse().read()
    c.close()
PY
tok_hex=$(printf '%s' "$PW_TOKEN" | od -An -tx1 | tr -d ' \n')
# A stream keeps its request head for as long as it lasts: hold one open.
curl -s -N -m 30 -H "X-Lookout-Token: $PW_TOKEN" "$(pw_url /v1.41/events)" \
    >/dev/null 2>&1 &
ev=$!
sleep 1
if pw_sanitized; then
	skip "memory scan (sanitizer build)"
else
	total=0
	for p in $(pw_children worker) $(pw_children proxy); do
		n=$(python3 "$here/memscan.py" "$p" "$tok_hex")
		total=$((total + n))
	done
	check "no copy of the X-Lookout-Token in any worker or the proxy, a stream open ($total)" \
	    [ "$total" = 0 ]
fi
check "the stream was still open during the scan" kill -0 $ev
kill $ev 2>/dev/null
pw_done
