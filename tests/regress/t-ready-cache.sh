#!/bin/bash
# t-ready-cache.sh: unauthenticated readiness probes (/ready,
# /_portwing/health) must not cost Docker a /_ping each.  One /_ping answer
# serves all probes for about a second, and probes that arrive together
# share the one on its way.  Counted at Docker through a tap on its socket
# (dtap.py).  Authenticated GET /_ping is a client's call and is never
# answered from the cache.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; [ -n "${tap_pid:-}" ] && kill $tap_pid 2>/dev/null' EXIT
here=$(cd "$(dirname "$0")" && pwd)

tap_sock=$PW_TMP/tap.sock tap_log=$PW_TMP/tap.log
python3 "$here/dtap.py" "$tap_sock" "$DOCKER_SOCK" "$tap_log" &
tap_pid=$!
for i in $(seq 1 50); do [ -S "$tap_sock" ] && break; sleep 0.1; done
check "the tap listens" [ -S "$tap_sock" ]
pw_start DOCKER_SOCKET="$tap_sock" || { fail "portwingd starts"; exit 1; }
pings() { grep -c '^GET /_ping$' "$tap_log"; }

# Probes for one second, one after the other, then 40 at once.
sleep 1.2
p0=$(pings)
out=$(python3 - "$PW_PORT" <<'PY'
import http.client, sys, threading, time
port = int(sys.argv[1])
def probe(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path); r = c.getresponse(); r.read(); c.close()
    return r.status
t0 = time.monotonic(); n = 0; bad = 0
while time.monotonic() - t0 < 0.9:
    bad += probe("/ready" if n % 2 else "/_portwing/health") != 200
    n += 1
print(n, bad, "%.2f" % (time.monotonic() - t0))
PY
)
set -- $out
p1=$(pings)
echo "# $1 sequential probes in $3 s: $((p1 - p0)) /_ping at Docker"
check "probes answered 200 ($2 not)" [ "$2" = 0 ]
check "at least 20 probes were made ($1)" [ "$1" -ge 20 ]
check "$1 probes within a second: at most 2 /_ping at Docker ($((p1 - p0)))" \
    [ $((p1 - p0)) -le 2 ]

sleep 1.2
p0=$(pings)
out=$(python3 - "$PW_PORT" <<'PY'
import http.client, sys, threading
port = int(sys.argv[1])
res = []
def probe():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/ready"); r = c.getresponse(); r.read(); c.close()
    res.append(r.status)
ts = [threading.Thread(target=probe) for _ in range(40)]
for t in ts: t.start()
for t in ts: t.join()
print(len(res), sum(1 for s in res if s != 200))
PY
)
set -- $out
p1=$(pings)
check "40 concurrent probes answered 200 ($2 not, of $1)" [ "$1" = 40 -a "$2" = 0 ]
check "40 concurrent probes: at most 2 /_ping at Docker ($((p1 - p0)))" [ $((p1 - p0)) -le 2 ]

# The cached answer expires: a probe a second later asks Docker again.
sleep 1.2
p0=$(pings)
code=$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /ready)")
sleep 0.2
n=$(( $(pings) - p0 ))
check "a probe after the cache expired asks Docker again ($code, $n)" \
    [ "$code" = 200 -a "$n" = 1 ]

# A client's authenticated GET /_ping always reaches Docker.
p0=$(pings)
for i in 1 2 3; do pw_curl -o /dev/null "$(pw_url /_ping)"; done
sleep 0.2
check "3 authenticated GET /_ping reach Docker 3 times ($(( $(pings) - p0 )))" \
    [ $(( $(pings) - p0 )) = 3 ]
pw_done
