#!/bin/bash
# t-signals.sh: SIGHUP reloads the token file without dropping connections
# (and keeps the old token on a bad file); SIGTERM drains in-flight
# requests and exits 0; log level and JSON format.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT

tok=$PW_TMP/token
printf 'token-A\n' >"$tok"
PW_TOKEN=token-A pw_start TOKEN= TOKEN_FILE="$tok" || { fail "portwingd starts"; exit 1; }

# One keep-alive connection across a reload.
python3 - "$PW_PORT" "$tok" "$PW_PID" >"$PW_TMP/hup.out" <<'PY'
import http.client, os, signal, sys, time
port, tok, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
def get(t):
    c.request("GET", "/_ping", headers={"Authorization": "Bearer " + t})
    r = c.getresponse(); r.read(); return r.status
a1 = get("token-A")
sock1 = c.sock
open(tok, "w").write("token-B\n")
os.kill(pid, signal.SIGHUP)
time.sleep(0.5)
b = get("token-B"); a2 = get("token-A")
print(a1, b, a2, "same-connection" if c.sock is sock1 else "reconnected")
PY
check "SIGHUP: new token works, old refused, on the same connection ($(cat $PW_TMP/hup.out))" \
    [ "$(cat "$PW_TMP/hup.out")" = "200 200 401 same-connection" ]
check "reload logged" grep -q 'configuration reloaded' "$PW_LOG"

# A bad new file is refused and the running token stays.
: >"$tok"
kill -HUP "$PW_PID"; sleep 0.5
check "SIGHUP with an empty token file is refused" grep -q 'reload failed, keeping the running configuration' "$PW_LOG"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer token-B' "$(pw_url /_ping)")
check "the old token still works after a failed reload ($code)" [ "$code" = 200 ]
rm -f "$tok"
kill -HUP "$PW_PID"; sleep 0.5
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer token-B' "$(pw_url /_ping)")
check "a missing token file keeps the old token too ($code)" [ "$code" = 200 ]
check "the daemon is still the same process" kill -0 "$PW_PID"
check "no child died during the reloads (the sandbox allows a reload)" \
    bash -c "! grep -q 'killed by signal\|exited with status' '$PW_LOG'"

# A reload never turns authentication off, even where running without
# a credential would be allowed.
pw_stop
printf 'token-C\n' >"$tok"
PW_TOKEN=token-C pw_start TOKEN= TOKEN_FILE="$tok" ALLOW_UNAUTHENTICATED=true || fail "restart"
: >"$tok"
kill -HUP "$PW_PID"; sleep 0.5
check "emptied token file with ALLOW_UNAUTHENTICATED: reload refused" \
    grep -q 'a reload never turns authentication off' "$PW_LOG"
code=$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
check "still authenticated after that reload ($code)" [ "$code" = 401 ]
pw_stop
printf 'token-B\n' >"$tok"
PW_TOKEN=token-B pw_start TOKEN= TOKEN_FILE="$tok" || fail "restart"

# SIGTERM: an in-flight request finishes, then exit 0.
PW_TOKEN=token-B
cid=$(pw_docker_direct run -d "$PW_IMAGE" sleep 3)
( pw_curl -m 20 -X POST -w ' %{http_code}' "$(pw_url /containers/$cid/wait)" >"$PW_TMP/wait.out" ) &
waiter=$!
sleep 0.7
t0=$(date +%s.%N)
kill -TERM "$PW_PID"
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$(pw_url /health)")
check "no new connections once draining (got $code)" [ "$code" = 000 ]
wait "$waiter"
check "in-flight request completed during drain ($(cat $PW_TMP/wait.out))" \
    bash -c "grep -q '\"StatusCode\":0' '$PW_TMP/wait.out' && grep -q ' 200$' '$PW_TMP/wait.out'"
wait "$PW_PID"; rc=$?
t1=$(date +%s.%N)
check "portwingd exited 0 after the drain (rc=$rc)" [ $rc = 0 ]
check "drain took under 10 s" python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 10 else 1)"
check "no children left behind" bash -c "! pgrep -f 'portwingd: (worker|authd|proxy)' -P $PW_PID"
PW_PID=
pw_docker_direct rm -f "$cid" >/dev/null 2>&1

# SIGINT behaves like SIGTERM.
pw_start || { fail "portwingd starts"; exit 1; }
kill -INT "$PW_PID"; wait "$PW_PID"; rc=$?
check "SIGINT: clean exit 0 (rc=$rc)" [ $rc = 0 ]
PW_PID=

# Logs: JSON format and level filtering.
pw_start LOG_FORMAT=json LOG_LEVEL=debug || { fail "portwingd starts (json)"; exit 1; }
pw_curl -o /dev/null "$(pw_url /_ping)"
pw_stop
check "LOG_FORMAT=json: every line is a JSON object with level and msg" python3 - "$PW_LOG" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert {"time", "level", "proc", "pid", "msg"} <= d.keys(), d
    n += 1
assert n > 5
PY
pw_start LOG_LEVEL=warn || { fail "portwingd starts (warn)"; exit 1; }
sleep 0.2
check "LOG_LEVEL=warn hides info lines" bash -c "! grep -q ': info: ' '$PW_LOG'"
pw_done
