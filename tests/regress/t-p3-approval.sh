#!/bin/bash
# t-p3-approval.sh (P3): a compromised worker cannot make the proxy send a
# Docker request authd did not approve.  The test build's worker tampers
# with the approval on request (forge, alter, replay, other worker); the
# proxy must refuse each, and nothing may reach Docker.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
PW_DAEMON=$PW_BUILD/portwingd-hooks
[ -x "$PW_DAEMON" ] || { fail "portwingd-hooks is built (make check builds it)"; exit 1; }
pw_start WORKERS=1 || { fail "portwingd-hooks starts"; exit 1; }

status() { pw_curl -o /dev/null -w '%{http_code}' "$@"; }
check "untampered approval is honoured" [ "$(status "$(pw_url /_ping)")" = 200 ]

for mode in forge other-worker; do
	name=p3-$mode-$$
	code=$(status -X POST -H "X-Portwing-Test-Approval: $mode" \
	    -H 'Content-Type: application/json' -d "{\"Image\":\"$PW_IMAGE\"}" \
	    "$(pw_url "/containers/create?name=$name")")
	check "$mode approval refused with 403 (got $code)" [ "$code" = 403 ]
	check "$mode: the container was not created" \
	    bash -c "! docker -H unix://$DOCKER_SOCK inspect $name >/dev/null 2>&1"
done
check "forged MAC logged" grep -q 'approval refused (MAC does not match' "$PW_LOG"
check "other-worker approval logged" grep -q 'approval refused (issued to another worker' "$PW_LOG"

# Altered: approved for GET /containers/create?..., sent as another target.
code=$(status -H 'X-Portwing-Test-Approval: alter' "$(pw_url /_ping)")
check "altered target refused with 403 (got $code)" [ "$code" = 403 ]
body=$(pw_curl -H 'X-Portwing-Test-Approval: alter' "$(pw_url /_ping)")
check "refusal body is JSON with a message" \
    python3 -c 'import json,sys; assert "not approved" in json.loads(sys.argv[1])["message"]' "$body"

# Replayed: the worker re-sends the previous request's approval (same
# method and target, so the MAC matches): single use must refuse it.  The
# first request names a test mode ("keep": no change) so that its
# approval comes back to the worker instead of going from authd to the
# proxy, which is what a plain request on a known stream does; the third
# goes that way.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
h = {"Authorization": "Bearer " + sys.argv[2]}
h1 = dict(h); h1["X-Portwing-Test-Approval"] = "keep"
c.request("GET", "/_ping", headers=h1); r1 = c.getresponse(); r1.read()
h2 = dict(h); h2["X-Portwing-Test-Approval"] = "replay"
c.request("GET", "/_ping", headers=h2); r2 = c.getresponse(); r2.read()
c.request("GET", "/_ping", headers=h); r3 = c.getresponse(); r3.read()
print(r1.status, r2.status, r3.status)
PY
)
check "replayed approval refused, fresh ones still honoured ($out)" [ "$out" = "200 403 200" ]
check "replay logged" grep -q 'approval refused (already used' "$PW_LOG"
check "no worker was killed for it" bash -c "! grep -q 'killed by signal' '$PW_LOG'"
pw_done
