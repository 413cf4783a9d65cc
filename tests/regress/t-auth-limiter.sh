#!/bin/bash
# t-auth-limiter.sh: the failed-attempt limiter cannot be escaped or reset
# with a flood of addresses (bounded table that keeps the worst offenders,
# then a global budget), and it does not lock an authorized key out for
# another client's failures at the same address: failures are counted per
# key as well, and a signature by a key that is not itself limited is
# verified even from a limited address.  A token from a limited address
# still gets 429 (DESIGN.md, "Authentication in authd").
# 127.0.0.1 is a trusted proxy, so X-Forwarded-For names the client.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap pw_stop EXIT
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PYTHONPATH=$here PYTHONDONTWRITEBYTECODE=1
L() { $PY "$here/lim_check.py" "$@"; }
r() { L req "$PW_PORT" "$@"; }
# n_times N ADDR KIND ARGS...: the answers to N requests, on one line.
n_times() {
	local n=$1 i out=; shift
	for i in $(seq 1 "$n"); do out="$out$(r "$@")|"; done
	echo "$out"
}
rep() { local i out=; for i in $(seq 1 "$1"); do out="$out$2|"; done; echo "$out"; }
d=$PW_TMP
$PY - "$d" <<'PY'
import sys, pwsign
d = sys.argv[1]
k1 = pwsign.new_key(d + "/k1.pem"); k2 = pwsign.new_key(d + "/k2.pem")
k3 = pwsign.new_key(d + "/k3.pem")
open(d + "/ak", "w").write(pwsign.line(k1, "drydock") + "\n" +
                           pwsign.line(k2, "ops") + "\n" +
                           pwsign.line(k3, "backup") + "\n")
PY
chmod 600 "$d/ak"
log=$d/audit.log
pw_start TRUSTED_PROXIES=127.0.0.1/32 AUTHORIZED_KEYS="$d/ak" \
    AUDIT_LOG="$log" || { fail "portwingd starts"; exit 1; }
K1=$d/k1.pem K2=$d/k2.pem K3=$d/k3.pem
N=10.201.0.1

# Signature headers longer than authd used to read (but within what the
# worker passes on) are a refusal, not a broken worker channel.
out=$(r 10.209.0.1 longts "$K3")
check "a 40-digit timestamp: 401 timestamp-skew ($out)" [ "$out" = "401 timestamp-skew" ]
out=$(r 10.209.0.2 signed "$K3")
check "...and the next request is answered ($out)" [ "$out" = "200 -" ]
check "...with no malformed-request line from authd" \
    bash -c "! grep -q 'malformed request from worker' '$PW_LOG'"

# ---- another client's failures at a shared address (NAT) -----------------
out=$(n_times 10 $N badtoken)
check "ten bad tokens from $N: 401 each ($out)" [ "$out" = "$(rep 10 '401 -')" ]
check "then the right token from $N: 429 (a token never passes a limited address)" \
    [ "$(r $N token "$PW_TOKEN")" = "429 -" ]
out=$(r $N signed "$K1")
check "a correctly signed request from limited $N is answered ($out)" [ "$out" = "200 -" ]
out=$(r $N unknownkey "$K1")
check "an unknown key ID from limited $N gets 429 unverified ($out)" [ "$out" = "429 -" ]

# ---- per-key failure counting -------------------------------------------
out=$(n_times 10 $N badsig "$K1" "$K2")
check "ten bad signatures for k1 from $N: each verified and refused ($out)" \
    [ "$out" = "$(rep 10 '401 invalid-signature')" ]
out=$(r $N signed "$K1")
check "k1 used up its failures at limited $N: 429 before verification ($out)" [ "$out" = "429 -" ]
out=$(r 10.202.0.1 signed "$K1")
check "k1 from an address with no failures is still verified ($out)" [ "$out" = "200 -" ]
out=$(r $N signed "$K2")
check "k2 (no failures) from limited $N still passes ($out)" [ "$out" = "200 -" ]
M=10.202.0.9
out=$(n_times 12 $M badsig "$K2" "$K1")
check "bad signatures for k2 from one address: 10 refused, then 429 ($out)" \
    [ "$out" = "$(rep 10 '401 invalid-signature')429 -|429 -|" ]

# ---- a flood of addresses ------------------------------------------------
t0=$(date +%s)
out=$(L flood "$PW_PORT" 0 10100)
check "one bad token from each of 10,100 addresses: 401 each ($out)" [ "$out" = "401:10100" ]
F=10.200.0.1
out=$(n_times 11 $F badtoken)
check "after the flood a fresh address still gets 429 after 10 failures ($out)" \
    [ "$out" = "$(rep 10 '401 -')429 -|" ]
check "...and the right token from it gets 429 too" [ "$(r $F token "$PW_TOKEN")" = "429 -" ]
check "the limited addresses from before the flood are still limited" \
    [ "$(r $N token "$PW_TOKEN")" = "429 -" ]
check "the full table is logged" grep -q "failed-attempt limiter: 10000 addresses tracked" "$PW_LOG"
check "a fresh address with the right token passes" [ "$(r 10.203.0.1 token "$PW_TOKEN")" = "200 -" ]

# Keep going: 10,000 forgotten failures spend the global budget, and
# then an address the table does not know waits like a limited one.
out=$(L flood "$PW_PORT" 20000 10300)
n401=$(echo "$out" | sed -n 's/.*401:\([0-9]*\).*/\1/p')
n429=$(echo "$out" | sed -n 's/.*429:\([0-9]*\).*/\1/p')
check "more addresses: about 10,000 more failures, then 429 for new ones ($out)" \
    sh -c '[ "$1" -ge 9800 ] && [ "$1" -le 10000 ] && [ "$2" -ge 300 ]' _ "${n401:-0}" "${n429:-0}"
check "global budget spent: a new address with the right token gets 429" \
    [ "$(r 10.204.0.1 token "$PW_TOKEN")" = "429 -" ]
out=$(r 10.204.0.2 signed "$K3")
check "...while a correct signature from a new address is answered ($out)" [ "$out" = "200 -" ]
check "the spent budget is logged" grep -q "addresses not already tracked get 429" "$PW_LOG"
el=$(( $(date +%s) - t0 ))
[ "$el" -lt 55 ] || echo "# the floods took ${el}s: the window may have ended"

# ---- the audit trail says which limit -----------------------------------
sleep 0.5
for w in address-limit key-limit global-limit; do
	check "a rate_limited record with reason $w and status 429" \
	    grep -q "\"event\":\"rate_limited\".*\"status\":429,\"reason\":\"$w\"" "$log"
done
check "rate_limited for key-limit names the key" \
    grep -q "\"reason\":\"key-limit\",\"principal\":\"key:$($PY -c "import pwsign; print(pwsign.key_id(pwsign.load('$K1')))")\"" "$log"
pw_stop
pw_done
