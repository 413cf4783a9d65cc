#!/bin/bash
# t-generic.sh: ADAPTER=generic and its /api/v1 routes against the real
# Docker Engine: the setting (a bad value refuses to start, any case
# works), /api/v1/version, tokens and 405s, Drydock's routes left to
# Docker (and /api/v1 left to Docker in the default mode), the container
# list against docker inspect and its cache following changes, logs
# (tail, since, until, follow, TTY, errors), and the SSE stream checked
# event by event against Docker's own /events, with heartbeats, health
# and exec events, and 200 clients sharing one Docker subscription
# (generic_check.py).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
D() { pw_docker_direct "$@"; }
P=pwgen$$
hb_pid=
cleanup() {
	[ -z "$hb_pid" ] || kill "$hb_pid" 2>/dev/null
	pw_stop
	local ids
	ids=$(D ps -aq --filter "name=$P-" 2>/dev/null)
	[ -z "$ids" ] || D rm -f $ids >/dev/null 2>&1
	D network rm "$P-net" "$P-evnet" >/dev/null 2>&1
	D volume rm "$P-vol" "$P-evvol" >/dev/null 2>&1
	D rmi "localhost:5000/$P/bb:v1" "registry.example.com/team/$P-bb" \
	    "$P/hubbb:2.0" "$P-commit" >/dev/null 2>&1
	rm -rf /tmp/"$P"-*
}
trap cleanup EXIT
py() { /usr/bin/python3 "$here/generic_check.py" "$@"; }
version=$("$PW_BUILD/portwing" version)

# The setting.  A value that names no adapter stops the daemon at once.
run() { env -i PATH="$PATH" HOME=/root PORT="$(pw_free_port)" \
    BIND_ADDRESS=127.0.0.1 TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" WORKERS=1 \
    "$@"; }
out=$(run ADAPTER=bogus timeout 20 "$PW_BUILD/portwingd" 2>&1); rc=$?
check "ADAPTER=bogus: portwingd refuses to start (rc=$rc), naming ADAPTER" \
    bash -c "[ $rc != 0 ] && [ $rc != 124 ] && grep -q ADAPTER <<<\"\$1\"" _ "$out"
echo "$out" | head -3 | sed 's/^/#   /'

# Any case selects the generic adapter.
pw_start ADAPTER=GeNeRiC || { fail "portwingd starts with ADAPTER=GeNeRiC"; exit 1; }
v=$(pw_curl "$(pw_url /api/v1/version)")
check "ADAPTER=GeNeRiC serves /api/v1/version with adapter generic ($v)" \
    [ "$(printf '%s' "$v" | python3 -c 'import json, sys
print(json.load(sys.stdin).get("adapter"))' 2>/dev/null)" = generic ]
pw_stop

# The default adapter: /api/v1 is not the agent's.
pw_start || { fail "portwingd starts (default adapter)"; exit 1; }
tap_run py drydock "$PW_PORT" "$PW_TOKEN"
pw_stop

# The generic adapter.  All SSE clients come from 127.0.0.1: lift the
# per-address limit above the 200 + a few opened below (MAX_CONNECTIONS,
# per worker, is the default 1024, said here as the test relies on it).
agent=pwgen-agent-$$
pw_start ADAPTER=generic AGENT_NAME="$agent" MAX_CONNECTIONS_PER_ADDRESS=300 \
    MAX_CONNECTIONS=1024 ||
    { fail "portwingd starts with ADAPTER=generic"; exit 1; }
ulimit -n 4096
# One client held open 31 s meanwhile, for the 30-second heartbeat.
py heartbeat "$PW_PORT" "$PW_TOKEN" 31 >"$PW_TMP/hb.tap" 2>&1 &
hb_pid=$!
tap_run py api "$PW_PORT" "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" "$P" \
    "$agent" "$version"
tap_run py events "$PW_PORT" "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" "$P" \
    "$PW_PID"
wait "$hb_pid"; hb_rc=$?
hb_pid=
tap_run cat "$PW_TMP/hb.tap"
[ $hb_rc -eq 0 ] || grep -q '^not ok' "$PW_TMP/hb.tap" ||
    fail "the heartbeat helper exited with status $hb_rc"
check "portwingd is still running" kill -0 "$PW_PID"
pw_done
