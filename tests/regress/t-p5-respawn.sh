#!/bin/bash
# t-p5-respawn.sh (P5): after kill -9 of a worker, authd or the proxy the
# master logs it and respawns it within a second (backing off when it
# keeps dying); other workers' connections carry on; while authd is down
# requests fail closed with 503.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; kill $ev_pid 2>/dev/null' EXIT
PW_DAEMON=$PW_BUILD/portwingd-hooks

# Wait up to 1 s for a new PID in a role; print it.
respawned() {
	local role=$1 old=$2 i p
	for i in $(seq 1 20); do
		for p in $(pw_children "$role"); do
			if [ "$p" != "$old" ] && ! echo " $old " | grep -q " $p "; then
				echo "$p"
				return 0
			fi
		done
		sleep 0.05
	done
	return 1
}

pw_start WORKERS=2 PW_TEST_AUTHD_RESPAWN_MS=2000 || { fail "portwingd starts"; exit 1; }

# A long-lived stream held by one worker.
evlog=$PW_TMP/events.out
pw_curl -N -m 30 "$(pw_url /events)" >"$evlog" &
ev_pid=$!
sleep 0.5
port_peer=$(ss -tnp | awk -v p=":$PW_PORT" '$4 ~ p"$" && /pw-worker/ {print $0}' | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
check "the events stream is held by a worker ($port_peer)" [ -n "$port_peer" ]
victim=$(pw_children worker | grep -vx "$port_peer" | head -1)

kill -9 "$victim"
new=$(respawned worker "$victim $port_peer")
check "killed worker $victim respawned within 1 s (new $new)" [ -n "$new" ]
check "master logged the worker's death" grep -q "worker [01] killed by signal 9" "$PW_LOG"
pw_docker_direct run --rm "$PW_IMAGE" true
sleep 1
check "the other worker's stream still delivers events" grep -q '"status":"start"' "$evlog"
check "that worker is the same process" kill -0 "$port_peer"

# Proxy.
old=$(pw_children proxy)
kill -9 "$old"
new=$(respawned proxy "$old")
check "killed proxy respawned within 1 s" [ -n "$new" ]
ok=0
for i in $(seq 1 20); do
	[ "$(pw_curl "$(pw_url /_ping)")" = OK ] && { ok=1; break; }
	sleep 0.05
done
check "Docker calls work again after the proxy restart" [ $ok = 1 ]

# authd: the test build holds it down for 2 s, so fail-closed is visible.
old=$(pw_children authd)
kill -9 "$old"
sleep 0.2
code=$(pw_curl -o "$PW_TMP/body" -w '%{http_code}' "$(pw_url /_ping)")
check "while authd is down: 503, not open ($code)" [ "$code" = 503 ]
check "503 body says why" grep -q 'authentication service unavailable' "$PW_TMP/body"
code=$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
check "while authd is down: unauthenticated also 503 ($code)" [ "$code" = 503 ]
check "health stays up while authd is down" [ "$(curl -s -o /dev/null -w '%{http_code}' "$(pw_url /health)")" = 200 ]
sleep 2.2
new=$(respawned authd "$old")
check "authd back after its hold-down" [ -n "$new" ]
check "authenticated requests work again" [ "$(pw_curl "$(pw_url /_ping)")" = OK ]
check "wrong token still refused after the restart" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$(pw_url /_ping)")" = 401 ]
pw_stop

# Without the hold-down, authd comes back within a second too.
pw_start WORKERS=1 || { fail "portwingd restarts"; exit 1; }
old=$(pw_children authd)
kill -9 "$old"
new=$(respawned authd "$old")
check "killed authd respawned within 1 s" [ -n "$new" ]

# Crash loop: quick repeated deaths back off.
for n in 1 2 3 4; do
	p=$(pw_children worker)
	[ -n "$p" ] && kill -9 $p
	for i in $(seq 1 40); do
		q=$(pw_children worker)
		[ -n "$q" ] && [ "$q" != "$p" ] && break
		sleep 0.05
	done
done
check "repeated deaths are throttled" grep -q 'restarting it after a back-off' "$PW_LOG"
pw_done
