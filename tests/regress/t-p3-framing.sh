#!/bin/bash
# t-p3-framing.sh (P3): the proxy frames what Docker receives from what it
# counts.  The test build's worker declares one body and sends another
# (longer, with a second request behind it; shorter; an empty DATA frame in
# a chunked body; an upgrade carrying a second request; bytes after the
# END of an upgrade; an unframed body with a second request behind the
# declared length; a signed body, which the proxy spools, declared
# shorter than sent).  Each must end in an aborted exchange (the client
# gets 502), a proxy_denied audit record and a denied_body decision, and
# Docker (seen through a tap on its socket) never sees the extra bytes.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; [ -n "${tap_pid:-}" ] && kill $tap_pid 2>/dev/null' EXIT
here=$(cd "$(dirname "$0")" && pwd)
PW_DAEMON=$PW_BUILD/portwingd-hooks
[ -x "$PW_DAEMON" ] || { fail "portwingd-hooks is built (make check builds it)"; exit 1; }

tap_sock=$PW_TMP/tap.sock tap_log=$PW_TMP/tap.log audit=$PW_TMP/audit.log
python3 "$here/dtap.py" "$tap_sock" "$DOCKER_SOCK" "$tap_log" &
tap_pid=$!
for i in $(seq 1 50); do [ -S "$tap_sock" ] && break; sleep 0.1; done
check "the tap listens" [ -S "$tap_sock" ]
ak=$PW_TMP/authorized_keys
PYTHONPATH=$here python3 - "$PW_TMP" <<'PY'
import sys, pwsign
k = pwsign.new_key(sys.argv[1] + "/k1.pem")
open(sys.argv[1] + "/authorized_keys", "w").write(pwsign.line(k, "t") + "\n")
PY
chmod 600 "$ak"
pw_start WORKERS=1 REQUEST_TIMEOUT=5 AUDIT_LOG="$audit" AUTHORIZED_KEYS="$ak" \
    DOCKER_SOCKET="$tap_sock" || { fail "portwingd-hooks starts"; exit 1; }

exists() { docker -H "unix://$DOCKER_SOCK" inspect "$1" >/dev/null 2>&1; }
denied() {
	python3 - "$audit" "$1" <<'PY'
import json, sys
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("event") == "proxy_denied" and sys.argv[2] in r.get("reason", ""):
        n += 1
print(n)
PY
}
metric() {
	pw_curl "$(pw_url /metrics)" |
	    awk '$1 == "portwing_proxy_decisions_total{decision=\"denied_body\"}" { print $2 }'
}

d0=$(metric)
n=0
for c in longer:'body longer than the declared' \
    shorter:'body shorter than the declared' \
    chunked:'empty body frame' \
    hijack:'body longer than the declared' \
    after-end:'bytes after the end of the request' \
    raw-longer:'malformed stream frame'; do
	case=${c%%:*} why=${c#*:}
	name=pf-$case-$$
	out=$(python3 "$here/framing.py" "$PW_PORT" "$PW_TOKEN" "$case" "$name")
	check "$case: the exchange is aborted (502, got $out)" [ "$out" = 502 ]
	# An unframed body goes on as it comes: Docker may have the declared
	# part (a whole create), never what follows it.
	[ $case = raw-longer ] ||
	check "$case: no container $name" bash -c "! docker -H unix://$DOCKER_SOCK inspect $name >/dev/null 2>&1"
	check "$case: no smuggled container" bash -c "! docker -H unix://$DOCKER_SOCK inspect $name-smuggled >/dev/null 2>&1"
	sleep 0.3
	check "$case: proxy_denied audited ($why)" [ "$(denied "$why")" -ge 1 ]
	check "$case: logged" grep -q "request body refused ($why" "$PW_LOG"
	n=$((n + 1))
done
# A signed body (spooled and hashed by the proxy) declared shorter than sent.
name=pf-signed-$$
out=$(PYTHONPATH=$here python3 - "$PW_PORT" "$PW_TMP" "$name" <<'PY'
import sys, pwsign
port, d, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
k = pwsign.load(d + "/k1.pem")
body = b'{"Image":"pwtest-bb","Cmd":["true"]}'
t = "/containers/create?name=" + name
h = pwsign.headers(k, "POST", t, body)
h["Content-Type"] = "application/json"
h["X-Portwing-Test-Declare"] = str(len(body) - 5)
try:
    st, _, _ = pwsign.send(port, "POST", t, h, body)
except Exception:
    st = "CLOSED"
print(st)
PY
)
check "signed: the exchange is aborted (502, got $out)" [ "$out" = 502 ]
check "signed: no container $name" bash -c "! docker -H unix://$DOCKER_SOCK inspect $name >/dev/null 2>&1"
sleep 0.3
check "signed: proxy_denied audited" [ "$(denied 'body longer than the declared')" -ge 3 ]
n=$((n + 1))
check "Docker never saw a smuggled request" bash -c "! grep -q smuggled '$tap_log'"
check "a denied_body decision per case ($d0 -> $(metric))" [ "$(metric)" = $((d0 + n)) ]

# Honest requests still work, on a clean Docker connection.
name=pf-honest-$$
code=$(pw_curl -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"Image\":\"$PW_IMAGE\",\"Cmd\":[\"true\"]}" "$(pw_url "/containers/create?name=$name")")
check "an honest create after them answers 201 (got $code)" [ "$code" = 201 ]
code=$(pw_curl -o /dev/null -w '%{http_code}' -X POST -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/json' -d "{\"Image\":\"$PW_IMAGE\"}" \
    "$(pw_url "/containers/create?name=$name-chunked")")
check "an honest chunked create answers 201 (got $code)" [ "$code" = 201 ]
code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
check "GET /_ping answers 200 (got $code)" [ "$code" = 200 ]
docker -H "unix://$DOCKER_SOCK" rm -f "$name" "$name-chunked" "pf-raw-longer-$$" >/dev/null 2>&1
check "no worker was killed" bash -c "! grep -q 'killed by signal' '$PW_LOG'"
pw_done
