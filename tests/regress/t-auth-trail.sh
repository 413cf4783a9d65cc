#!/bin/bash
# t-auth-trail.sh: who did what, in the log.  A signed request sent to an
# agent without authorized keys is refused with a reason that says the
# signature was ignored (X-Portwing-Reason and the log line); a token
# request that fails says which principal it claimed; failed TLS
# handshakes are logged with the peer and the alert, once a minute at
# most (per worker), the rest counted.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap pw_stop EXIT
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PYTHONPATH=$here PYTHONDONTWRITEBYTECODE=1
d=$PW_TMP
r() { $PY "$here/lim_check.py" req "$PW_PORT" "$@"; }
metric() {
	curl -s -H "Authorization: Bearer $PW_TOKEN" "http://127.0.0.1:$PW_PORT/metrics" |
	    sed -n "s/^$1 //p"
}
# Like pw_start, but waits for the ready line only: pw_start's fallback
# probe speaks plain HTTP, which would be a failed TLS handshake itself.
start_quiet() {
	PW_PORT=$(pw_free_port)
	PW_LOG=$(mktemp --suffix=.log "$PW_TMP/portwingd.$PW_PORT.XXXXXX")
	PW_TOKEN=${PW_TOKEN:-tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}
	env -i PATH="$PATH" HOME=/root PORT="$PW_PORT" BIND_ADDRESS=127.0.0.1 \
	    DOCKER_SOCKET="$DOCKER_SOCK" TOKEN="$PW_TOKEN" LOG_LEVEL=info "$@" \
	    "$PW_BUILD/portwingd" >>"$PW_LOG" 2>&1 &
	PW_PID=$!
	for _ in $(seq 1 200); do
		grep -q 'master: info: ready' "$PW_LOG" && return 0
		sleep 0.05
	done
	return 1
}
$PY -c "import pwsign; pwsign.new_key('$d/k1.pem')"

# ---- signature headers with no authorized keys -------------------------
pw_start TRUSTED_PROXIES=127.0.0.1/32 AUDIT_LOG="$d/a.log" ||
    { fail "portwingd starts with a token only"; exit 1; }
m0=$(metric 'portwing_auth_failures_total{reason="bad_token"}')
out=$(r 10.9.0.1 sigheaders not-the-token "$d/k1.pem")
check "signed request, no keys configured, no good token: 401 no-authorized-keys ($out)" \
    [ "$out" = "401 no-authorized-keys" ]
check "the log line says the signature headers were ignored" \
    grep -q "authentication failed from 10.9.0.1 as token (no-authorized-keys: signature headers ignored: no authorized keys are configured" "$PW_LOG"
out=$(r 10.9.0.2 sigheaders "$PW_TOKEN" "$d/k1.pem")
check "the same with the right token passes: the token decides ($out)" [ "$out" = "200 -" ]
out=$(r 10.9.0.3 badtoken)
check "a plain bad token still has no X-Portwing-Reason ($out)" [ "$out" = "401 -" ]
check "...and its log line names the principal it claimed" \
    grep -q "authentication failed from 10.9.0.3 as token (bad or missing token)" "$PW_LOG"
sleep 0.3
check "the audit record of the ignored signature: 401, no-authorized-keys" \
    grep -q '"actor":"10.9.0.1".*"status":401,"reason":"no-authorized-keys","principal":"token"' "$d/a.log"
m1=$(metric 'portwing_auth_failures_total{reason="bad_token"}')
check "both refusals are counted as bad_token in the metrics (${m0:-0} -> $m1)" \
    [ "$m1" = $(( ${m0:-0} + 2 )) ]
pw_stop

# ---- failed TLS handshakes ------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/srv.key" -out "$d/srv.crt" -days 2 -subj "/CN=pw" \
    -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
start_quiet WORKERS=1 TLS_CERT="$d/srv.crt" TLS_KEY="$d/srv.key" ||
    { fail "portwingd starts with TLS"; exit 1; }
url=https://127.0.0.1:$PW_PORT
check "HTTPS works" [ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/health")" = 200 ]
# A connection that says nothing and closes is not a failed handshake.
$PY -c "import socket; socket.create_connection(('127.0.0.1', $PW_PORT)).close()"
sleep 0.3
check "a connection that sends nothing is not logged" \
    bash -c "! grep -q 'TLS handshake with' '$PW_LOG'"
# A client that does not trust the certificate sends an alert.
curl -s --interface 127.0.44.1 -o /dev/null "$url/health"
sleep 0.3
line=$(grep "TLS handshake with" "$PW_LOG")
check "a refused certificate is logged with the peer and the alert ($line)" \
    bash -c "echo \"\$1\" | grep -q 'TLS handshake with 127.0.44.1 failed: alert .* received'" _ "$line"
# More failures within the minute: not logged.
for i in 1 2 3; do
	curl -s --interface 127.0.44.2 -o /dev/null "$url/health"
	curl -s --interface 127.0.44.2 -o /dev/null "http://127.0.0.1:$PW_PORT/health"
	echo | timeout 5 openssl s_client -connect 127.0.0.1:$PW_PORT -tls1_2 \
	    -cipher ECDHE-ECDSA-AES128-SHA256 >/dev/null 2>&1
done
sleep 0.3
n=$(grep -c "TLS handshake with" "$PW_LOG")
check "nine more failures within the minute add no line ($n line(s))" [ "$n" = 1 ]
check "HTTPS still works" [ "$(curl -sk -o /dev/null -w '%{http_code}' "$url/health")" = 200 ]
pw_stop
pw_done
