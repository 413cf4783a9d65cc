#!/bin/bash
# t-p3-restart.sh (P3): no approval minted before a restart of the proxy or
# of authd is accepted after it.  The test build's worker keeps the last
# approval it carried (or, with "stash", one it never let be used) and
# re-sends it on request ("replay"); across kill -9 of the proxy, and of
# authd, the proxy must refuse it with 403 and log the refusal.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
PW_DAEMON=$PW_BUILD/portwingd-hooks
[ -x "$PW_DAEMON" ] || { fail "portwingd-hooks is built (make check builds it)"; exit 1; }
pw_start WORKERS=1 || { fail "portwingd-hooks starts"; exit 1; }

ping() { pw_curl -o /dev/null -w '%{http_code}' "$@" "$(pw_url /_ping)"; }
# A call whose approval comes back to the worker, which keeps it for a
# replay: a plain one on a known stream goes from authd to the proxy
# ("keep" names no trick, only that the worker sends the REQ itself).
kept() { ping -H 'X-Portwing-Test-Approval: keep'; }
refusals() { grep -c 'approval refused (MAC does not match' "$PW_LOG"; }
# Wait for a role's restart without a request that reaches the proxy
# (each such request would replace the approval the worker keeps).
restarted() {
	local role=$1 old=$2 i p
	for i in $(seq 1 100); do
		p=$(pw_children "$role")
		if [ -n "$p" ] && [ "$p" != "$old" ] &&
		    grep -q "$role .*restarting it" "$PW_LOG" &&
		    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$(pw_url /ready)")" = 200 ] &&
		    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' -H \
		    'Authorization: Bearer not-the-token' "$(pw_url /_ping)")" = 401 ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# 1. A used approval, replayed after kill -9 of the proxy.
check "a fresh approval is honoured" [ "$(kept)" = 200 ]
old=$(pw_children proxy)
kill -9 $old
check "the proxy was restarted" restarted proxy "$old"
r0=$(refusals)
code=$(ping -H 'X-Portwing-Test-Approval: replay')
check "used approval replayed after the proxy's restart: 403 (got $code)" [ "$code" = 403 ]
check "the refusal is logged" [ "$(refusals)" -gt "$r0" ]
check "a fresh approval is honoured after it" [ "$(ping)" = 200 ]

# 2. An approval never used, replayed after kill -9 of authd.
code=$(ping -H 'X-Portwing-Test-Approval: stash')
check "stash: the approval was kept unused (the carrier got 403, got $code)" [ "$code" = 403 ]
old=$(pw_children authd)
kill -9 $old
check "authd was restarted" restarted authd "$old"
check "the proxy took the new key" grep -q 'new approval key (authd restarted)' "$PW_LOG"
r0=$(refusals)
code=$(ping -H 'X-Portwing-Test-Approval: replay')
check "unused approval from before authd's restart: 403 (got $code)" [ "$code" = 403 ]
check "the refusal is logged" [ "$(refusals)" -gt "$r0" ]

# 3. A used approval, replayed after kill -9 of authd.
check "a fresh approval is honoured" [ "$(kept)" = 200 ]
old=$(pw_children authd)
kill -9 $old
check "authd was restarted again" restarted authd "$old"
code=$(ping -H 'X-Portwing-Test-Approval: replay')
check "used approval replayed after authd's restart: 403 (got $code)" [ "$code" = 403 ]
check "a fresh approval is honoured after it" [ "$(ping)" = 200 ]
check "authd learnt the proxy's new key" grep -q 'new approval key (the proxy restarted)' "$PW_LOG"
check "no worker was killed" bash -c "! grep -q 'worker .*killed by signal' '$PW_LOG'"
pw_done
