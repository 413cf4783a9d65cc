#!/bin/bash
# t-proxy-stream.sh: hijacked sessions (101, half-close, the 100-session
# cap), cancellation without leaks, REQUEST_TIMEOUT only for ordinary
# calls, the Docker connection pool, WebSocket attach, and a stream that
# Docker ends mid-way.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
trap 'pw_stop; pw_docker_direct rm -f pws-cat >/dev/null 2>&1' EXIT
export PYTHONPATH=$here
# 101 sessions from 127.0.0.1 at once: lift the per-address limit.
pw_start REQUEST_TIMEOUT=2 UPSTREAM_IDLE_TIMEOUT=2 MAX_CONNECTIONS_PER_ADDRESS=0 ||
    { fail "portwingd starts"; exit 1; }
# A run that was killed leaves its container behind: start clean.
pw_docker_direct rm -f pws-cat >/dev/null 2>&1
cid=$(pw_docker_direct run -d --name pws-cat "$PW_IMAGE" sh -c 'trap "exit 0" TERM; while :; do echo tick; sleep 0.2; done')

# Raw hijack: 101, then a half-close, and output still flows back.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$cid" <<'PY'
import socket, sys, pwhttp
port, tok, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
eid = pwhttp.create_exec(port, tok, cid, ["sh", "-c", "cat; sleep 0.5; echo after-eof"])
st, s, rest = pwhttp.start_hijack(port, tok, eid)
s.sendall(b"hello-stdin\n")
s.shutdown(socket.SHUT_WR)
print(st, pwhttp.demux(pwhttp.read_all(s, rest)).decode().split())
PY
)
check "hijacked exec: 101, stdin relayed, output after client half-close ($out)" \
    [ "$out" = "101 ['hello-stdin', 'after-eof']" ]

# 100 concurrent hijacked sessions work; the 101st is refused with a message.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$cid" <<'PY'
import sys, pwhttp
port, tok, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ids = [pwhttp.create_exec(port, tok, cid, ["cat"]) for _ in range(101)]
socks = []
for eid in ids[:100]:
    st, s, rest = pwhttp.start_hijack(port, tok, eid)
    assert st == 101, st
    socks.append(s)
st, hdrs, body, _ = pwhttp.request(port, "POST", "/exec/%s/start" % ids[100], tok,
    {"Detach": False, "Tty": False}, {"Connection": "Upgrade", "Upgrade": "tcp"})
# every open session still echoes
good = 0
for i, s in enumerate(socks):
    s.sendall(b"ping-%d\n" % i)
for i, s in enumerate(socks):
    data = b""
    while b"ping-%d\n" % i not in pwhttp.demux(data):
        data += s.recv(4096)
    good += 1
for s in socks:
    s.close()
print(good, st, body.decode().strip())
PY
)
check "100 concurrent sessions echo; the 101st gets 429 with a message ($out)" \
    bash -c "echo \"\$1\" | grep -q '^100 429 {\"message\":\"too many concurrent exec/attach sessions (limit 100)'" _ "$out"
sleep 0.5
out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$cid" <<'PY'
import sys, pwhttp
port, tok, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
st, s, rest = pwhttp.start_hijack(port, tok, pwhttp.create_exec(port, tok, cid, ["true"]))
print(st)
PY
)
check "closed sessions free their slots ($out)" [ "$out" = 101 ]

# 1,000 aborted streams: no descriptor or process left behind.
fds() { local n=0 p; for p in $(pw_children proxy) $(pw_children worker); do n=$((n + $(ls /proc/$p/fd | wc -l))); done; echo $n; }
nchildren() { pgrep -P "$PW_PID" | wc -l; }
sleep 3	# idle Docker connections reaped (UPSTREAM_IDLE_TIMEOUT=2)
fd0=$(fds); ch0=$(nchildren)
python3 - "$PW_PORT" "$PW_TOKEN" "$cid" <<'PY'
import socket, sys, threading, pwhttp
port, tok, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def worker(n):
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.sendall(("GET /containers/%s/logs?follow=1&stdout=1&tail=1 HTTP/1.1\r\n"
                   "Host: x\r\nAuthorization: Bearer %s\r\n\r\n" % (cid, tok)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(4096)
        s.close()
ts = [threading.Thread(target=worker, args=(50,)) for _ in range(20)]
[t.start() for t in ts]; [t.join() for t in ts]
PY
sleep 3
fd1=$(fds); ch1=$(nchildren)
check "1000 aborted log streams: descriptors back to baseline ($fd0 -> $fd1)" [ "$fd1" -le "$fd0" ]
check "no extra processes ($ch0 -> $ch1)" [ "$ch1" = "$ch0" ]
check "no child died" bash -c "! grep -q 'killed by signal\|exited with status' '$PW_LOG'"

# A client leaving mid-stream releases its Docker connection at once.
# The proxy's connections to Docker: its sockets whose peer is dockerd's
# (not its streams to the workers, which the workers pool).
dconns() {
	local p d
	p=$(pw_children proxy)
	d=$(cat "$PW_DOCKER_DIR/docker.pid")
	ss -xp | awk -v p="pid=$p," -v d="pid=$d," '
	    index($0, d) { dock[$6] = 1 }
	    index($0, p) { mine[$8] = 1 }
	    END { n = 0; for (k in mine) if (k in dock) n++; print n }'
}
base=$(dconns)
pids=
for i in $(seq 1 10); do
	# curl itself in the background (a function would leave a subshell
	# to kill and curl running).
	curl -s -N -m 30 -o /dev/null -H "Authorization: Bearer $PW_TOKEN" \
	    "$(pw_url "/containers/$cid/logs?follow=1&stdout=1")" & pids="$pids $!"
done
sleep 1
during=$(dconns)
kill $pids 2>/dev/null; wait $pids 2>/dev/null
sleep 0.3
after=$(dconns)
check "10 follow streams hold Docker connections ($base -> $during)" [ "$during" -ge $((base + 10)) ]
check "released within 0.3 s of the clients leaving ($during -> $after)" [ "$after" -le "$base" ]

# REQUEST_TIMEOUT (2 s here) cuts ordinary calls, never streams.
t0=$(date +%s%N)
code=$(pw_curl -o "$PW_TMP/stop.out" -w '%{http_code}' -X POST "$(pw_url "/containers/$cid/kill?signal=STOP")")
pw_docker_direct exec pws-cat true
out=$(pw_curl -m 20 -w ' %{http_code}' -X POST "$(pw_url "/containers/$cid/stop?t=8")" | tr -d '\n')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "slow ordinary call cut at REQUEST_TIMEOUT with 504 ($out, ${ms} ms)" \
    bash -c "echo '$out' | grep -q 'REQUEST_TIMEOUT.* 504$' && [ $ms -lt 4500 ]"
pw_docker_direct rm -f pws-cat >/dev/null
cid=$(pw_docker_direct run -d --name pws-cat "$PW_IMAGE" sh -c 'while :; do echo tick; sleep 0.2; done')
n=$(pw_curl -N -m 4 "$(pw_url "/containers/$cid/logs?follow=1&stdout=1")" | grep -c tick)
check "a log stream outlives REQUEST_TIMEOUT (${n} lines in 4 s)" [ "$n" -ge 15 ]

# The pool: sequential calls reuse one Docker connection; idle ones go.
sleep 3
base=$(dconns)
for i in $(seq 1 20); do pw_curl -o /dev/null "$(pw_url /_ping)"; done
check "20 sequential calls reuse one pooled Docker connection ($base -> $(dconns))" [ "$(dconns)" -le $((base + 1)) ]
sleep 3.5
check "idle Docker connections are reaped after UPSTREAM_IDLE_TIMEOUT ($(dconns))" [ "$(dconns)" -le "$base" ]

# WebSocket attach (attach/ws) gets 101 and frames.
out=$(python3 - "$PW_PORT" "$PW_TOKEN" "$cid" <<'PY'
import base64, os, sys, pwhttp
port, tok, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
key = base64.b64encode(os.urandom(16)).decode()
st, hdrs, rest, s = pwhttp.request(port, "GET", "/containers/%s/attach/ws?stream=1&stdout=1" % cid, tok,
    headers={"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": key,
             "Sec-WebSocket-Version": "13", "Origin": "http://localhost"})
data = rest
while b"tick" not in data:
    data += s.recv(4096)
print(st, hdrs.get("upgrade", "").lower(), "accept" if hdrs.get("sec-websocket-accept") else "no-accept", "tick")
PY
)
check "attach/ws: 101 WebSocket upgrade with frames ($out)" [ "$out" = "101 websocket accept tick" ]

# A slow client pushes back on Docker instead of growing buffers.
pw_docker_direct exec pws-cat sh -c 'head -c 104857600 /dev/zero >/tmp/zero'
curl -s -o /dev/null --limit-rate 4M -m 4 -H "Authorization: Bearer $PW_TOKEN" \
    "$(pw_url "/containers/$cid/archive?path=/tmp/zero")" &
slow=$!
sleep 3
rss=0
for p in $(pw_children proxy) $(pw_children worker); do
	r=$(awk '$1 == "VmRSS:" {print $2}' /proc/$p/status)
	[ "$r" -gt "$rss" ] && rss=$r
done
wait $slow
if pw_sanitized; then
	skip "slow reader RSS (${rss} kB): sanitizer build"
else
check "slow reader (4 MB/s of 100 MiB): largest proxy/worker RSS stays small (${rss} kB)" [ "$rss" -lt $((24 * 1024)) ]
fi

# Docker ends the stream (the engine stops): the client's stream ends cleanly.
curl -s -N -m 20 -H "Authorization: Bearer $PW_TOKEN" -o "$PW_TMP/events.out" \
    -w '%{http_code}' "$(pw_url /events)" >"$PW_TMP/events.code" &
evp=$!
sleep 0.7
pw_dockerd_stop
wait $evp; rc=$?
check "events stream ends cleanly when Docker stops (curl rc=$rc, status $(cat $PW_TMP/events.code))" \
    bash -c "[ $rc = 0 ] && [ \$(cat '$PW_TMP/events.code') = 200 ]"
code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /_ping)")
check "Docker down: 502, no hang ($code)" [ "$code" = 502 ]
pw_dockerd_start
check "Docker back: calls work again without restarting portwing" [ "$(pw_curl "$(pw_url /_ping)")" = OK ]
pw_done
