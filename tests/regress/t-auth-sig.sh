#!/bin/bash
# t-auth-sig.sh: Ed25519 signed requests checked against an independent
# signer (python3-cryptography): known answers, every altered field,
# replay, skew, unknown keys, key options, keys-only configurations,
# signed bodies and their limit, and rotation on SIGHUP.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap pw_stop EXIT
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PYTHONPATH=$here
ak=$PW_TMP/authorized_keys
sg() { $PY - "$PW_PORT" "$PW_TMP" "$@"; }

$PY - "$PW_TMP" <<'PY'
import sys, pwsign
d = sys.argv[1]
k1 = pwsign.new_key(d + "/k1.pem"); k2 = pwsign.new_key(d + "/k2.pem")
k3 = pwsign.new_key(d + "/k3.pem")
open(d + "/authorized_keys", "w").write("# portwing test keys\n\n" +
    pwsign.line(k1, "first key") + "\n" +
    pwsign.line(k3, "ops key", 'policy="ops"') + "\n")
PY
chmod 600 "$ak"
PW_TOKEN=unused pw_start TOKEN= AUTHORIZED_KEYS="$ak" LOG_LEVEL=debug \
    SIGNED_BODY_LIMIT=1048576 || { fail "portwingd starts with keys only"; exit 1; }

out=$(sg <<'PY'
import sys, time, os, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k1 = pwsign.load(d + "/k1.pem")
res = []
def s(method, target, body=b"", **kw):
    h = pwsign.headers(k1, method, target, body, **kw)
    return pwsign.send(port, method, target, h, body)
st, reason, body = s("GET", "/_ping"); res.append(("signed GET", st, body))
t = "/v1.41/containers/json?all=1&filters=%7B%22status%22%3A%5B%22running%22%5D%7D"
res.append(("signed GET with an escaped query", s("GET", t)[0]))
res.append(("legacy signature, no query", s("GET", "/_ping", version=None)[0]))
print(res)
PY
)
check "independently signed requests verify ($out)" \
    [ "$out" = "[('signed GET', 200, b'OK'), ('signed GET with an escaped query', 200), ('legacy signature, no query', 200)]" ]

# One altered byte anywhere: invalid-signature, and nothing but that.
out=$(sg <<'PY'
import sys, time, os, hashlib, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k1 = pwsign.load(d + "/k1.pem")
body = b'{"Image":"pwtest-bb"}'
out = []
def sent(label, method, target, body, h, send_method=None, send_target=None, send_body=None):
    # Each refusal counts against the source address: use a fresh one
    # per case so the failure limiter stays out of the way.
    src = "127.0.0.%d" % (10 + len(out))
    st, reason, data = pwsign.send(port, send_method or method, send_target or target, h,
                                   send_body if send_body is not None else body, source=src)
    out.append("%s:%d:%s:%s" % (label, st, reason, data.decode().strip()))
h = pwsign.headers(k1, "POST", "/containers/create?name=x", body)
sent("method", "POST", "/containers/create?name=x", body, h, send_method="PUT")
h = pwsign.headers(k1, "POST", "/containers/create?name=x", body)
sent("path", "POST", "/containers/create?name=x", body, h, send_target="/containers/creatf?name=x")
h = pwsign.headers(k1, "POST", "/containers/create?name=x", body)
sent("query", "POST", "/containers/create?name=x", body, h, send_target="/containers/create?name=y")
h = pwsign.headers(k1, "POST", "/containers/create?name=x", body)
sent("body", "POST", "/containers/create?name=x", body, h, send_body=b'{"Image":"pwtest-bc"}')
h = pwsign.headers(k1, "GET", "/_ping")
h["X-Portwing-Timestamp"] = str(int(h["X-Portwing-Timestamp"]) - 1)
sent("timestamp", "GET", "/_ping", b"", h)
h = pwsign.headers(k1, "GET", "/_ping")
h["X-Portwing-Nonce"] = h["X-Portwing-Nonce"][:-1] + ("0" if h["X-Portwing-Nonce"][-1] != "0" else "1")
sent("nonce", "GET", "/_ping", b"", h)
# The same signature with S + L (the group order): it still satisfies the
# curve equation, so only a verifier that insists on S < L refuses it.
import base64
h = pwsign.headers(k1, "GET", "/_ping")
raw = base64.urlsafe_b64decode(h["X-Portwing-Signature"] + "==")
L = 2**252 + 27742317777372353535851937790883648493
s2 = int.from_bytes(raw[32:], "little") + L
assert s2 < 2**256
h["X-Portwing-Signature"] = base64.urlsafe_b64encode(raw[:32] + s2.to_bytes(32, "little")).rstrip(b"=").decode()
sent("malleated", "GET", "/_ping", b"", h)
print(" ".join(out))
PY
)
for f in method path query body timestamp nonce malleated; do
	check "altered $f: 401 invalid-signature, body 'unauthorized' only" \
	    bash -c "echo '$out' | tr ' ' '\n' | grep -qx '$f:401:invalid-signature:unauthorized'"
done

out=$(sg <<'PY'
import sys, time, os, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k1 = pwsign.load(d + "/k1.pem"); k2 = pwsign.load(d + "/k2.pem")
r = []
def send(h):
    r.append(pwsign.send(port, "GET", "/_ping", h, source="127.0.1.%d" % len(r))[:2])
h = pwsign.headers(k1, "GET", "/_ping")
send(h)
send(h)                                                             # replay
h2 = dict(h); h2["X-Portwing-Nonce"] = h["X-Portwing-Nonce"].upper()
send(h2)                                                            # case-folded replay
send(pwsign.headers(k1, "GET", "/_ping", ts=str(int(time.time()) - 61)))
send(pwsign.headers(k1, "GET", "/_ping", ts=str(int(time.time()) + 61)))
send(pwsign.headers(k2, "GET", "/_ping"))                           # unknown key
h = pwsign.headers(k1, "GET", "/_ping"); h["X-Portwing-Nonce"] = "xyz"
send(h)
h = pwsign.headers(k1, "GET", "/_ping"); h["X-Portwing-Signature-Version"] = "3"
send(h)
h = pwsign.headers(k1, "GET", "/_ping"); h["X-Portwing-Signature"] += "=="
send(h)
print(r)
PY
)
check "replay, skew, unknown key and malformed headers give their reasons ($out)" [ "$out" = "[(200, None), (401, 'replay'), (401, 'replay'), (401, 'timestamp-skew'), (401, 'timestamp-skew'), (401, 'unknown-key'), (401, 'invalid-signature'), (401, 'invalid-signature'), (401, 'invalid-signature')]" ]

# Keys only: a token, or nothing, is refused without a reason header.
out=$(curl -s --interface 127.0.2.1 -D - -o /dev/null -H 'Authorization: Bearer anything' "$(pw_url /_ping)" | tr -d '\r')
check "keys-only agent: token request 401 without X-Portwing-Reason" \
    bash -c "echo \"\$1\" | grep -q '^HTTP/1.1 401' && ! echo \"\$1\" | grep -qi x-portwing-reason" _ "$out"

# policy="NAME" travels with the principal to the proxy.
sg <<'PY' >/dev/null
import sys, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k3 = pwsign.load(d + "/k3.pem")
pwsign.send(port, "GET", "/_ping", pwsign.headers(k3, "GET", "/_ping"), source="127.0.2.2")
PY
check "policy recorded with the principal and passed to the proxy" \
    grep -q "GET /_ping for key:$($PY -c "import sys; sys.path.insert(0,'$here'); import pwsign; print(pwsign.key_id(pwsign.load('$PW_TMP/k3.pem')))"), policy ops" "$PW_LOG"

# Signed bodies: forwarded after the proxy re-checked the digest; 413 past the limit.
out=$(sg <<'PY'
import sys, json, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k1 = pwsign.load(d + "/k1.pem")
body = json.dumps({"Image": "pwtest-bb", "Cmd": ["true"], "Labels": {"pad": "x" * 900000}}).encode()
h = pwsign.headers(k1, "POST", "/containers/create", body); h["Content-Type"] = "application/json"
st, _, data = pwsign.send(port, "POST", "/containers/create", h, body, source="127.0.2.3")
cid = json.loads(data)["Id"] if st == 201 else ""
h = pwsign.headers(k1, "DELETE", "/containers/" + cid); pwsign.send(port, "DELETE", "/containers/" + cid, h, source="127.0.2.3")
big = b"x" * (1024 * 1024 + 1)
h = pwsign.headers(k1, "POST", "/build", big)
st2, _, data2 = pwsign.send(port, "POST", "/build", h, big, source="127.0.2.3")
print(st, len(cid), st2, data2.decode().strip())
PY
)
check "signed 900 kB body reaches Docker; 1 MiB + 1 gets 413 ($out)" [ "$out" = "201 64 413 request body too large" ]
pw_stop

# The test build's worker alters a signed body after authd approved it:
# the proxy's own digest check refuses it.
PW_DAEMON=$PW_BUILD/portwingd-hooks PW_TOKEN=unused pw_start TOKEN= AUTHORIZED_KEYS="$ak" WORKERS=1 || fail "hooks build starts"
out=$(sg <<'PY'
import sys, json, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
k1 = pwsign.load(d + "/k1.pem")
body = b'{"Image":"pwtest-bb","Cmd":["true"]}'
h = pwsign.headers(k1, "POST", "/containers/create?name=p3-body", body)
h["Content-Type"] = "application/json"; h["X-Portwing-Test-Body"] = "tamper"
st, _, data = pwsign.send(port, "POST", "/containers/create?name=p3-body", h, body)
print(st, data.decode().strip())
PY
)
check "body changed after approval: refused by the proxy ($out)" \
    [ "$out" = '403 {"message":"request body does not match its signature"}' ]
check "...and nothing was created" bash -c "! docker -H unix://$DOCKER_SOCK inspect p3-body >/dev/null 2>&1"
pw_stop

# Key options and file checks.
$PY - "$PW_TMP" <<'PY'
import sys, pwsign
d = sys.argv[1]
k1 = pwsign.load(d + "/k1.pem"); k2 = pwsign.load(d + "/k2.pem"); k3 = pwsign.load(d + "/k3.pem")
open(d + "/opts_keys", "w").write(
    pwsign.line(k1, "far away", 'from="10.0.0.0/8,192.0.2.1"') + "\n" +
    pwsign.line(k2, "expired", 'expiry-time="20200101"') + "\n" +
    pwsign.line(k3, "local, later", 'from="127.0.0.0/8",expiry-time="29990101000000Z"') + "\n")
open(d + "/bad_opt", "w").write("# fine\n" + pwsign.line(k1, "x", 'permitopen="x:1"') + "\n")
open(d + "/bad_b64", "w").write("\n\ned25519 AAAAC3NzaC1lZDI1NTE5AAAAIO comment\n")
PY
chmod 600 "$PW_TMP/opts_keys" "$PW_TMP/bad_opt" "$PW_TMP/bad_b64"
PW_TOKEN=unused pw_start TOKEN= AUTHORIZED_KEYS="$PW_TMP/opts_keys" || fail "starts with options"
out=$(sg <<'PY'
import sys, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
r = []
for k in ("k1", "k2", "k3"):
    key = pwsign.load(d + "/%s.pem" % k)
    r.append(pwsign.send(port, "GET", "/_ping", pwsign.headers(key, "GET", "/_ping"))[:2])
print(r)
PY
)
check "from= outside, expired key refused; from= inside and not yet expired accepted ($out)" \
    [ "$out" = "[(401, 'unknown-key'), (401, 'unknown-key'), (200, None)]" ]
pw_stop
run() { env -i PATH="$PATH" PORT=$(pw_free_port) DOCKER_SOCKET="$DOCKER_SOCK" "$@" "$PW_BUILD/portwingd" -n 2>&1; }
out=$(run AUTHORIZED_KEYS="$PW_TMP/bad_opt"); rc=$?
check "unknown option rejects the file with its line ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'line 2: unknown option'" _ "$out"
out=$(run AUTHORIZED_KEYS="$PW_TMP/bad_b64"); rc=$?
check "a bad key line is reported with its number ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'line 3:'" _ "$out"
chmod 644 "$PW_TMP/opts_keys"
out=$(run AUTHORIZED_KEYS="$PW_TMP/opts_keys"); rc=$?
check "world-readable authorized_keys refused ($out)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'readable by everyone'" _ "$out"
chmod 620 "$PW_TMP/opts_keys"
out=$(run AUTHORIZED_KEYS="$PW_TMP/opts_keys"); rc=$?
check "group-writable authorized_keys refused" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'writable by group'" _ "$out"
out=$(run AUTHORIZED_KEYS=/nonexistent/keys); rc=$?
check "missing authorized_keys refused at start" [ $rc = 1 ]

# Rotation with SIGHUP.
cp "$ak" "$PW_TMP/rot"; chmod 600 "$PW_TMP/rot"
PW_TOKEN=unused pw_start TOKEN= AUTHORIZED_KEYS="$PW_TMP/rot" || fail "starts for rotation"
probe() { sg "$@" <<'PY'
import sys, pwsign
port, d = int(sys.argv[1]), sys.argv[2]
print(" ".join(str(pwsign.send(port, "GET", "/_ping", pwsign.headers(pwsign.load(d + "/%s.pem" % k), "GET", "/_ping"))[0]) for k in sys.argv[3:]))
PY
}
check "before: k1 works, k2 unknown" [ "$(probe k1 k2)" = "200 401" ]
# A long request signed with k1, in flight across the reload that removes k1.
cid=$(pw_docker_direct run -d "$PW_IMAGE" sleep 2)
sg "$cid" >"$PW_TMP/inflight" <<'PY' &
import sys, pwsign
port, d, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
k1 = pwsign.load(d + "/k1.pem")
print(pwsign.send(port, "POST", "/containers/%s/wait" % cid, pwsign.headers(k1, "POST", "/containers/%s/wait" % cid))[0])
PY
inflight=$!
$PY -c "import sys; sys.path.insert(0,'$here'); import pwsign; print(pwsign.line(pwsign.load('$PW_TMP/k2.pem'), 'second'))" >>"$PW_TMP/rot"
kill -HUP "$PW_PID"; sleep 0.5
check "after appending k2 and SIGHUP: both keys work" [ "$(probe k1 k2)" = "200 200" ]
grep -v "first key" "$PW_TMP/rot" >"$PW_TMP/rot.new"; cat "$PW_TMP/rot.new" >"$PW_TMP/rot"
kill -HUP "$PW_PID"; sleep 0.5
check "after removing k1: k1 refused on the next request, k2 works" [ "$(probe k1 k2)" = "401 200" ]
wait $inflight
check "the request signed with k1 before its removal completed" [ "$(cat "$PW_TMP/inflight")" = 200 ]
check "reload logged the key changes" bash -c "grep -q 'key .* added (second)' '$PW_LOG' && grep -q 'key .* removed (first key)' '$PW_LOG'"
echo "ed25519 not-base64 broken" >>"$PW_TMP/rot"
kill -HUP "$PW_PID"; sleep 0.5
check "a malformed new file keeps the old set, and says which line" \
    grep -q 'keeping the running authorized keys: .*line 5' "$PW_LOG"
check "k2 still works after the refused reload" [ "$(probe k2)" = 200 ]
check "no child died during all this" bash -c "! grep -q 'killed by signal\|exited with status' '$PW_LOG'"
pw_done
