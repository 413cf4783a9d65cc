#!/bin/bash
# t-forward.sh: authd passes an approved request straight to the proxy
# (AUTHF_FORWARD, IPC_A_REQ) when the worker asks it to: a proxied call
# without a body on a stream the proxy has answered on before.  Checks
# which requests go that way, that refusals still come back to the worker
# (and leave the stream usable), and that a request authd took with it
# when it died is answered 503 (FRAME_CANCEL, FRAME_NOREQ), never left
# hanging, whether authd comes back at once or later.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop' EXIT
passed() { grep -c "(passed on by authd)" "$PW_LOG"; }

# seq PORT TOKEN REQ...: requests on one keep-alive connection; prints
# each status.  A REQ is METHOD:PATH[:TOKEN] ("bad" for a wrong token,
# "stop"/"kill" to SIGSTOP/SIGKILL authd, by pid in $AUTHD, first).
seq_on_one() {
	python3 - "$@" <<'PY'
import http.client, os, signal, sys
port, tok, authd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
import time
c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
out, stopped, held = [], False, False
def take():
    global c
    r = c.getresponse(); r.read()
    out.append(str(r.status))
    if r.getheader("Connection", "").lower() == "close":
        c.close()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
for spec in sys.argv[4:]:
    if spec == "stop":
        os.kill(int(authd), signal.SIGSTOP); stopped = True; continue
    if spec == "kill":
        time.sleep(0.3)		# the request waits in authd's queue
        os.kill(int(authd), signal.SIGKILL); stopped = False
        if held:
            take(); held = False
        continue
    method, path, *t = spec.split(":")
    h = {"Authorization": "Bearer " + (t[0] if t else tok)}
    c.request(method, path, headers=h)
    if stopped:
        held = True	# answered once authd is killed
    else:
        take()
print(" ".join(out))
PY
}

PW_LOG_LEVEL=debug pw_start WORKERS=1 PW_TEST_AUTHD_RESPAWN_MS=1500 ||
    { fail "portwingd starts"; exit 1; }
# Six connections at once, each held open: at most the stream or two the
# readiness probe left in the pool is known to the proxy, so the others'
# first calls go through the worker (on a new stream); every second call
# goes by authd.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$PW_LOG" <<'PY'
import http.client, sys, time
port, tok, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
h = {"Authorization": "Bearer " + tok}
def passed():
    time.sleep(0.3)	# the master writes the children's lines
    return open(log, errors="replace").read().count("(passed on by authd)")
n0 = passed()
cs = [http.client.HTTPConnection("127.0.0.1", port, timeout=15) for _ in range(6)]
st = []
for path in ("/_ping", "/version"):
    for c in cs:
        c.request("GET", path, headers=h); r = c.getresponse(); r.read()
        st.append(r.status)
    if path == "/_ping":
        n1 = passed()
n2 = passed()
print(all(x == 200 for x in st), n1 - n0, n2 - n1)
PY
)
set -- $out
check "six connections, two calls each, all 200 ($out)" [ "$1" = True ]
check "first calls: at most two passed on by authd (pooled streams), got $2" [ "${2:-9}" -le 2 ]
check "second calls: all six passed on by authd, got $3" [ "${3:-0}" = 6 ]

# Connection: close clients get a pooled stream, which the proxy knows.
n0=$(passed)
for i in 1 2 3; do
	pw_curl -o /dev/null -H 'Connection: close' "$(pw_url /_ping)"
done
sleep 0.3
check "connection-per-request calls on pooled streams go by authd ($n0 -> $(passed))" \
    [ "$(passed)" -ge $((n0 + 2)) ]

# A refusal comes back to the worker; the stream stays in step.
out=$(seq_on_one "$PW_PORT" "$PW_TOKEN" 0 GET:/_ping GET:/_ping:bad GET:/_ping)
check "200, a bad token's 401, 200 on one connection ($out)" [ "$out" = "200 401 200" ]

# A body, an upgrade or an own route never goes that way.
n0=$(passed)
pw_curl -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' \
    "$(pw_url /containers/create?name=pwfwd-$$)"
pw_curl -o /dev/null "$(pw_url /_portwing/info)"
sleep 0.3
check "a call with a body and an own route are not passed on ($n0 -> $(passed))" [ "$(passed)" = "$n0" ]
docker -H "unix://$DOCKER_SOCK" rm -f "pwfwd-$$" >/dev/null 2>&1

# authd stopped with the request in its queue, then killed: the request
# never reached the proxy, and the client gets 503 before authd is back.
authd=$(pw_children authd)
t0=$(date +%s%N)
out=$(seq_on_one "$PW_PORT" "$PW_TOKEN" "$authd" GET:/_ping stop GET:/version kill GET:/_ping)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "authd dies holding a passed-on request: 503, then 503 while it is down ($out)" \
    [ "$out" = "200 503 503" ]
check "... answered at once, not at authd's return (${ms} ms)" [ "$ms" -lt 1400 ]
for i in $(seq 1 50); do [ -n "$(pw_children authd)" ] && break; sleep 0.1; done
sleep 0.3
out=$(seq_on_one "$PW_PORT" "$PW_TOKEN" 0 GET:/_ping GET:/_ping)
check "authd back: calls work again ($out)" [ "$out" = "200 200" ]
check "the worker logged the loss" grep -q 'lost authd' "$PW_LOG"
pw_stop

# The same when authd comes back at once: the new authd's channel may
# reach the proxy before the worker asks.
PW_LOG_LEVEL=debug pw_start WORKERS=1 PW_TEST_AUTHD_RESPAWN_MS=0 ||
    { fail "portwingd starts"; exit 1; }
authd=$(pw_children authd)
out=$(seq_on_one "$PW_PORT" "$PW_TOKEN" "$authd" GET:/_ping stop GET:/version kill)
check "immediate respawn: the held request gets 503 ($out)" [ "$out" = "200 503" ]
sleep 0.5
out=$(seq_on_one "$PW_PORT" "$PW_TOKEN" 0 GET:/_ping GET:/_ping)
check "immediate respawn: calls work again ($out)" [ "$out" = "200 200" ]
check "no child but authd died" bash -c "! grep 'killed by signal\|exited with status' '$PW_LOG' | grep -v authd | grep -q ."
pw_stop

# Signed requests without a body go the same way (the approval binds the
# empty body's digest); one with a body does not, and a refused signature
# comes back to the worker with the connection still in step.
PYTHONPATH=$(cd "$(dirname "$0")" && pwd) python3 - "$PW_TMP" <<'PY'
import sys, pwsign
k = pwsign.new_key(sys.argv[1] + "/fk.pem")
open(sys.argv[1] + "/fkeys", "w").write(pwsign.line(k, "fwd") + "\n")
PY
chmod 600 "$PW_TMP/fkeys"
PW_LOG_LEVEL=debug pw_start WORKERS=1 AUTHORIZED_KEYS="$PW_TMP/fkeys" ||
    { fail "portwingd starts with keys"; exit 1; }
out=$(PYTHONPATH=$(cd "$(dirname "$0")" && pwd) python3 - "$PW_PORT" "$PW_TMP" "$PW_LOG" <<'PY'
import sys, time, http.client, json, pwsign
port, d, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
k = pwsign.load(d + "/fk.pem")
def passed():
    time.sleep(0.3)
    return open(log, errors="replace").read().count("(passed on by authd)")
c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
def go(method, target, body=b"", signed_body=None):
    h = pwsign.headers(k, method, target, body if signed_body is None else signed_body)
    if body:
        h["Content-Type"] = "application/json"
    c.request(method, target, body=body or None, headers=h)
    r = c.getresponse(); r.read()
    return r.status
out = [go("GET", "/_ping")]
n0 = passed()
out += [go("GET", "/_ping"), go("GET", "/version")]
n1 = passed()
out.append(go("GET", "/_ping", signed_body=b"{}"))	# signed for a body it lacks
out.append(go("GET", "/_ping"))
n2 = passed()
out.append(go("POST", "/containers/create?name=pwfwd-sig", b'{"Image":"pwtest-bb"}'))
n3 = passed()
print(" ".join(map(str, out)), n1 - n0, n2 - n1, n3 - n2)
PY
)
set -- $out
check "signed calls on one connection: 200 200 200 401 200 201 ($out)" \
    [ "$1 $2 $3 $4 $5 $6" = "200 200 200 401 200 201" ]
check "signed calls without a body passed on by authd (2 of 2, got $7)" [ "${7:-0}" = 2 ]
check "... the refused one not, the next one yes (1, got $8)" [ "${8:-0}" = 1 ]
check "a signed call with a body not passed on (0, got $9)" [ "${9:-9}" = 0 ]
docker -H "unix://$DOCKER_SOCK" rm -f pwfwd-sig >/dev/null 2>&1
pw_done
