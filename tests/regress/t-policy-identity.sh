#!/bin/bash
# t-policy-identity.sh: the policy profile is chosen by who authenticated.
# Two Ed25519 keys with different policy="..." options and the token
# (TOKEN_POLICY) share one worker and one Docker connection pool; each
# gets exactly its profile's decisions.  A worker that rewrites the
# profile its approval names (the test build's hook) gets nothing past
# the proxy, and nothing of it reaches Docker (tap on the socket).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$here
TAP_PID=
trap 'pw_stop; [ -z "$TAP_PID" ] || kill "$TAP_PID" 2>/dev/null' EXIT
PW_DAEMON=$PW_BUILD/portwingd-hooks
[ -x "$PW_DAEMON" ] || { fail "portwingd-hooks is built (make check builds it)"; exit 1; }

tap_sock=$PW_TMP/tap.sock
tap_log=$PW_TMP/tap.log
python3 "$here/dtap.py" "$tap_sock" "$DOCKER_SOCK" "$tap_log" &
TAP_PID=$!
for i in $(seq 1 50); do [ -S "$tap_sock" ] && break; sleep 0.1; done

python3 - "$PW_TMP" <<'PY'
import sys, pwsign
d = sys.argv[1]
ro = pwsign.new_key(d + "/ro.pem")
rw = pwsign.new_key(d + "/rw.pem")
open(d + "/authorized_keys", "w").write(
    pwsign.line(ro, "reader", 'policy="reader"') + "\n" +
    pwsign.line(rw, "deployer", 'policy="deployer"') + "\n")
PY
chmod 600 "$PW_TMP/authorized_keys"
cat >"$PW_TMP/policy.yaml" <<'EOF2'
# Root rules: nothing (every principal here has a profile).
rules:
  - match: { method: "*", path: "/**" }
    action: deny
    reason: no profile
clients:
  profiles:
    - name: reader
      rules:
        - match: { method: GET, path: "/containers/json" }
          action: allow
        - match: { method: GET, path: "/_ping" }
          action: allow
    - name: deployer
      rules:
        - match: { method: GET, path: "/containers/json" }
          action: allow
        - match: { method: POST, path: "/containers/create" }
          action: allow
        - match: { method: DELETE, path: "/containers/*" }
          action: allow
    - name: pinger
      rules:
        - match: { method: GET, path: "/_ping" }
          action: allow
EOF2
pw_start WORKERS=1 DOCKER_SOCKET="$tap_sock" POLICY_FILE="$PW_TMP/policy.yaml" \
    AUTHORIZED_KEYS="$PW_TMP/authorized_keys" TOKEN_POLICY=pinger \
    AUDIT_LOG="$PW_TMP/audit.log" ||
    { fail "portwingd starts with three profiles"; exit 1; }

tap_run python3 - "$PW_PORT" "$PW_TOKEN" "$PW_TMP" "$PW_IMAGE" "$tap_log" <<'PY'
import http.client, json, re, sys, time, pwsign
from tap import check
port, tok, d, image, taplog = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
keys = {"reader": pwsign.load(d + "/ro.pem"), "deployer": pwsign.load(d + "/rw.pem")}
# One keep-alive connection carries all three principals in turn.
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
n = [0]
def call(who, method, path, body=b""):
    n[0] += 1
    target = path + ("&" if "?" in path else "?") + "pwid=%d" % n[0]
    h = {"Content-Type": "application/json"} if body else {}
    if who == "token":
        h["Authorization"] = "Bearer " + tok
    else:
        h.update(pwsign.headers(keys[who], method, target, body))
    c.request(method, target, body=body or None, headers=h)
    r = c.getresponse()
    data = r.read()
    time.sleep(0.1)
    seen = [l for l in open(taplog).read().splitlines()
            if re.search(r"pwid=%d(\D|$)" % n[0], l)]
    return r.status, data, len(seen)
body = json.dumps({"Image": image, "Cmd": ["true"]}).encode()
for round_ in range(2):
    for who, method, path, b, want in [
            ("reader", "GET", "/containers/json", b"", 200),
            ("reader", "POST", "/containers/create", body, 403),
            ("deployer", "GET", "/containers/json", b"", 200),
            ("deployer", "POST", "/containers/create", body, 201),
            ("token", "GET", "/_ping", b"", 200),
            ("token", "GET", "/containers/json", b"", 403),
            ("reader", "GET", "/_ping", b"", 200),
            ("deployer", "GET", "/_ping", b"", 403)]:
        st, data, seen = call(who, method, path, b)
        if st == 201:
            cid = json.loads(data)["Id"]
            call("deployer", "DELETE", "/containers/" + cid + "?force=1")
        check("round %d: %s %s %s -> %d (got %d), %s Docker" % (
            round_ + 1, who, method, path, want, st,
            "reached" if want < 400 else "never reached"),
            st == want and seen == (1 if want < 400 else 0), data[:120])
PY

# The compromised worker claims the deployer's profile for a token request.
code=$(pw_curl -o "$PW_TMP/out" -w '%{http_code}' -X POST \
    -H 'X-Portwing-Test-Approval: policy=deployer' \
    -H 'Content-Type: application/json' -d "{\"Image\":\"$PW_IMAGE\"}" \
    "$(pw_url '/containers/create?pwid=claimed')")
check "a worker naming another profile in the approval gets 403 (got $code)" \
    [ "$code" = 403 ]
check "... its request never reached Docker" \
    bash -c "! grep -q 'pwid=claimed' '$tap_log'"
check "... and the proxy logged the forged approval" \
    grep -q 'approval refused (MAC does not match' "$PW_LOG"
code=$(pw_curl -o /dev/null -w '%{http_code}' \
    -H 'X-Portwing-Test-Approval: policy=nosuch' "$(pw_url '/_ping?pwid=nosuch')")
check "an unknown profile claimed by the worker is refused too (got $code)" \
    [ "$code" = 403 ]

# The audit trail says which profile and rule decided.
sleep 1.2
check "a denial is audited with the principal's profile and the rule" \
    python3 - "$PW_TMP/audit.log" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = any(r.get("event") == "proxy_denied" and r.get("profile") == "reader"
         and r.get("rule") == -1 and r.get("path", "").startswith("/containers/create")
         for r in recs)
ok2 = any(r.get("event") == "api_request" and r.get("profile") == "deployer"
          and r.get("rule") == 1 for r in recs)
sys.exit(0 if ok and ok2 else 1)
PY
m=$(pw_curl "$(pw_url /metrics)")
check "decisions are counted by profile, rule and outcome" \
    bash -c "echo '$m' | grep -q 'portwing_policy_decisions_total{profile=\"reader\",rule=\"-1\",outcome=\"deny\"} 2'"
pw_done
