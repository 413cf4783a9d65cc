#!/bin/bash
# t-sdnotify.sh: systemd's notify protocol, seen from a NOTIFY_SOCKET of
# our own (sdnotify_recv.py).  READY=1 only when a client is served (the
# receiver probes the agent the moment READY=1 arrives) and after the
# first Docker check (a Docker that never answers holds it back until
# REQUEST_TIMEOUT); RELOADING=1 with MONOTONIC_USEC then READY=1 around
# SIGHUP, the new token working by then; a refused reload keeps the old
# token and says why in STATUS=; STATUS= counts requests; STOPPING=1 on
# SIGTERM.  Then the watchdog: WATCHDOG=1 every half WATCHDOG_USEC while
# the children answer, a wedged worker killed and replaced without a
# missed ping, and no ping while a wedged worker cannot be recovered
# (portwingd-hooks: /__test/wedge, PW_TEST_NO_RECOVER).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
recv_pid=
trap 'pw_stop; [ -n "$recv_pid" ] && kill $recv_pid 2>/dev/null' EXIT

if ! grep -q '^#define HAVE_LIBSYSTEMD 1' "$PW_BUILD/pwbuild.h"; then
	skip "built without libsystemd (configure --with-systemd)"
	pw_done; exit
fi

# recv_start OUT [PORT TOKENFILE]: a fresh notify socket and receiver.
recv_start() {
	[ -n "$recv_pid" ] && kill $recv_pid 2>/dev/null
	nsock=$PW_TMP/notify.$RANDOM.sock
	python3 "$here/sdnotify_recv.py" "$nsock" "$@" &
	recv_pid=$!
	for _ in $(seq 1 50); do [ -S "$nsock" ] && break; sleep 0.1; done
}
# wait_for FILE PATTERN [TENTHS]: until a line matches (extended regex).
wait_for() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		grep -Eq "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}
# The lines after the first one matching a pattern.
after() { awk -v p="$2" 'f { print } $0 ~ p && !f { f = 1 }' "$1"; }

# ---- the life cycle ----
out=$PW_TMP/notify.out tok=$PW_TMP/token
: >"$out"
printf 'token-A\n' >"$tok"
port=$(pw_free_port)
recv_start "$out" "$port" "$tok"
PW_TOKEN=token-A pw_start PORT="$port" TOKEN= TOKEN_FILE="$tok" \
    NOTIFY_SOCKET="$nsock" || { fail "portwingd starts"; exit 1; }
PW_PORT=$port
wait_for "$out" 'PROBE' || fail "no READY=1 (and so no probe) within 10 s"
first=$(grep -m1 'READY=1' "$out")
echo "# $first"
check "READY=1 carries STATUS= with 2/2 workers and Docker checked" \
    bash -c "grep -q 'STATUS=2/2 workers, Docker reachable, 0 requests served' <<<'$first'"
probe=$(grep -m1 PROBE "$out")
check "at READY=1 the listener serves: /health, /ready and a token request answer ($probe)" \
    bash -c "grep -q 'health=200 ready=200 auth=200' <<<'$probe'"
check "nothing before READY=1 claims readiness or reloading" \
    bash -c "! sed '/READY=1/,\$d' '$out' | grep -q 'RELOADING\|STOPPING'"
check "READY=1 is sent once at start" [ "$(grep -c 'READY=1' "$out")" = 1 ]

# A reload: RELOADING=1 with MONOTONIC_USEC, then READY=1 once applied.
printf 'token-B\n' >"$tok"
kill -HUP "$PW_PID"
for _ in $(seq 1 50); do [ "$(grep -c PROBE "$out")" -ge 2 ] && break; sleep 0.1; done
rl=$(grep -m1 'RELOADING=1' "$out")
echo "# $rl"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" \
    bash -c "grep -Eq 'RELOADING=1\|MONOTONIC_USEC=[0-9]+$' <<<'$rl'"
# MONOTONIC_USEC is CLOCK_MONOTONIC when the reload began: within a
# second before the receiver got it.
set -- $rl
mono=${2##*MONOTONIC_USEC=}
check "MONOTONIC_USEC is the monotonic clock at the reload ($mono, received at $1)" \
    python3 -c "import sys; t=float('$1'); m=int('$mono')/1e6; sys.exit(not (0 <= t - m < 1))"
r2=$(after "$out" 'RELOADING=1' | grep -m1 'READY=1')
check "READY=1 follows RELOADING=1 ($r2)" [ -n "$r2" ]
probe=$(after "$out" 'RELOADING=1' | grep -m1 PROBE)
check "when READY=1 follows the reload, the new token works ($probe)" \
    bash -c "grep -q 'auth=200' <<<'$probe'"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer token-A' "$(pw_url /_ping)")
check "the old token is refused after the reload ($code)" [ "$code" = 401 ]

# A refused reload: RELOADING=1, READY=1 with the reason in STATUS=,
# the running token kept.
n0=$(grep -c 'RELOADING=1' "$out")
: >"$tok"
kill -HUP "$PW_PID"
for _ in $(seq 1 50); do [ "$(grep -c 'READY=1' "$out")" -ge 3 ] && break; sleep 0.1; done
check "a refused reload is still RELOADING=1 then READY=1" \
    [ "$(grep -c 'RELOADING=1' "$out")" = $((n0 + 1)) -a "$(grep -c 'READY=1' "$out")" = 3 ]
r3=$(grep 'READY=1' "$out" | tail -1)
echo "# $r3"
check "STATUS= says the reload was refused and why" \
    bash -c "grep -q 'STATUS=2/2 workers, Docker reachable, [0-9]* requests served; last reload refused, previous configuration kept (no credential configured' <<<'$r3'"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer token-B' "$(pw_url /_ping)")
check "after the refused reload the running token still works ($code)" [ "$code" = 200 ]
check "the daemon kept running" kill -0 "$PW_PID"

# STATUS= follows the requests served (refreshed every 5 s when changed).
for i in 1 2 3; do
	curl -s -o /dev/null -H 'Authorization: Bearer token-B' "$(pw_url /_ping)"
done
wait_for "$out" 'STATUS=.*2/2 workers, Docker reachable, [1-9][0-9]* requests served' 80
st=$(grep 'STATUS=' "$out" | tail -1)
echo "# $st"
check "STATUS= counts requests served" \
    bash -c "grep -Eq '2/2 workers, Docker reachable, [1-9][0-9]* requests served' <<<'$st'"
check "STATUS= keeps the refused reload's reason until the next reload" \
    bash -c "grep -q 'last reload refused' <<<'$st'"

# A good reload clears the note.
printf 'token-C\n' >"$tok"
kill -HUP "$PW_PID"
for _ in $(seq 1 50); do [ "$(grep -c 'READY=1' "$out")" -ge 4 ] && break; sleep 0.1; done
r4=$(grep 'READY=1' "$out" | tail -1)
check "a good reload after a refused one clears the reason ($r4)" \
    bash -c "grep -q 'STATUS=2/2 workers' <<<'$r4'"

kill -TERM "$PW_PID"
wait_for "$out" 'STOPPING=1' 50
sp=$(grep -m1 'STOPPING=1' "$out")
echo "# $sp"
check "SIGTERM: STOPPING=1 with the drain bound in STATUS=" \
    bash -c "grep -q 'STOPPING=1|STATUS=stopping: finishing in-flight requests (up to 10 s)' <<<'$sp'"
wait "$PW_PID"; rc=$?
PW_PID=
check "exit status 0 after STOPPING=1 ($rc)" [ "$rc" = 0 ]
check "no WATCHDOG=1 without WATCHDOG_USEC" bash -c "! grep -q WATCHDOG '$out'"

# ---- READY=1 without Docker: after the check, saying it failed ----
out2=$PW_TMP/notify2.out; : >"$out2"
recv_start "$out2"
pw_start NOTIFY_SOCKET="$nsock" DOCKER_SOCKET="$PW_TMP/no-docker.sock" ||
    fail "portwingd starts without Docker"
wait_for "$out2" 'READY=1' 50
r=$(grep -m1 'READY=1' "$out2")
check "without Docker READY=1 says Docker is unreachable, not unchecked ($r)" \
    bash -c "grep -q 'Docker unreachable' <<<'$r'"
pw_stop

# A Docker that accepts and never answers: READY=1 waits for the first
# call to end (REQUEST_TIMEOUT), then says Docker is unreachable.
silent=$PW_TMP/silent-docker.sock
python3 - "$silent" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
PY
silent_pid=$!
for _ in $(seq 1 50); do [ -S "$silent" ] && break; sleep 0.1; done
out5=$PW_TMP/notify5.out; : >"$out5"
recv_start "$out5"
t0=$(python3 -c 'import time; print("%.6f" % time.clock_gettime(time.CLOCK_MONOTONIC))')
pw_start NOTIFY_SOCKET="$nsock" DOCKER_SOCKET="$silent" REQUEST_TIMEOUT=2 ||
    fail "portwingd starts with a silent Docker"
wait_for "$out5" 'READY=1' 50
r=$(grep -m1 'READY=1' "$out5")
set -- $r
check "a silent Docker holds READY=1 back until the first call timed out ($r, start at $t0)" \
    python3 -c "import sys; sys.exit(not ($1 - $t0 >= 1.9))"
check "and READY=1 then says Docker is unreachable" \
    bash -c "grep -q 'Docker unreachable' <<<'$r'"
check "STATUS= before READY=1 said Docker was not checked yet" \
    grep -q 'STATUS=2/2 workers, Docker not checked yet' "$out5"
pw_stop
kill $silent_pid 2>/dev/null

# ---- the watchdog ----
hooks=$PW_BUILD/portwingd-hooks
if [ ! -x "$hooks" ]; then
	fail "portwingd-hooks not built (make check builds it)"
	pw_done; exit
fi
# gaps OUT FROM: the longest time between WATCHDOG=1 lines after FROM
# (a monotonic time), and the count, as "max count".
gaps() {
	awk -v from="$2" '$2 == "WATCHDOG=1" && $1 >= from {
		if (last) { g = $1 - last; if (g > max) max = g }
		last = $1; n++ } END { printf "%.3f %d\n", max, n }' "$1"
}
now() { python3 -c 'import time; print("%.6f" % time.clock_gettime(time.CLOCK_MONOTONIC))'; }

out3=$PW_TMP/notify3.out; : >"$out3"
recv_start "$out3"
PW_DAEMON=$hooks pw_start NOTIFY_SOCKET="$nsock" WATCHDOG_USEC=1000000 ||
    { fail "portwingd-hooks starts with WATCHDOG_USEC"; exit 1; }
t0=$(now); sleep 2.2
set -- $(gaps "$out3" "$t0")
check "WATCHDOG=1 every half interval while healthy (max gap $1 s, $2 pings in 2.2 s)" \
    python3 -c "import sys; sys.exit(not ($1 < 0.8 and $2 >= 3))"
check "watchdog interval logged" grep -q 'systemd watchdog: pinging every 500 ms' "$PW_LOG"

# A wedged worker is killed and replaced; pings go on.
t0=$(now)
curl -s -m 1 -o /dev/null "$(pw_url /__test/wedge)"
sleep 3
set -- $(gaps "$out3" "$t0")
check "a worker that stops answering is killed" \
    grep -q 'has not answered a liveness probe for [0-9]* ms; killing it' "$PW_LOG"
check "a recovered worker costs no ping (max gap $1 s < 1 s, $2 pings)" \
    python3 -c "import sys; sys.exit(not ($1 < 1.0 and $2 >= 4))"
code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
check "the agent serves after the recovery ($code)" [ "$code" = 200 ]
pw_stop

# A wedged worker the master cannot recover stops the pings.
out4=$PW_TMP/notify4.out; : >"$out4"
recv_start "$out4"
PW_DAEMON=$hooks pw_start NOTIFY_SOCKET="$nsock" WATCHDOG_USEC=1000000 \
    PW_TEST_NO_RECOVER=1 || { fail "portwingd-hooks starts"; exit 1; }
sleep 1
curl -s -m 1 -o /dev/null "$(pw_url /__test/wedge)"
t1=$(now)
sleep 3
t2=$(now)
set -- $(gaps "$out4" "$t1")
last=$(awk '$2 == "WATCHDOG=1" { t = $1 } END { print t }' "$out4")
echo "# last WATCHDOG=1 at $last; wedged before $t1; now $t2"
check "pings stop while a wedged worker is not recovered (none in the last 1.5 s)" \
    python3 -c "import sys; sys.exit(not ($t2 - $last > 1.5))"
check "the master says why it stopped pinging" \
    grep -q 'watchdog: worker [0-9] has not answered for 2 ticks of 500 ms; no longer pinging systemd' "$PW_LOG"
# Kill the wedged worker by hand: its replacement answers, pings resume.
wpid=$(sed -n 's/.*worker \([0-9]*\) (pid \([0-9]*\)) has not answered.*/\2/p' "$PW_LOG" | head -1)
kill -9 "$wpid" 2>/dev/null
t3=$(now); sleep 2
set -- $(gaps "$out4" "$t3")
check "pings resume once the worker is replaced ($2 pings in 2 s)" [ "$2" -ge 2 ]
check "resumption logged" grep -q 'watchdog: every child answers again' "$PW_LOG"
pw_stop
pw_done
