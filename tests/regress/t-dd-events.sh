#!/bin/bash
# t-dd-events.sh: Drydock SSE. Two clients on different workers see each
# change to a container (create, start, stop, rename, start, kill,
# remove) as exactly the expected frames, in order, within a second;
# a dockerd restart under the agent resumes the stream and resyncs.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; pw_dockerd_start >/dev/null 2>&1' EXIT
# WATCHALL: a created or stopped container stays listed, so each step of
# its life is an update (t-dd-model.sh covers the default set).
pw_start DD_POLL_INTERVAL=3600 DD_WATCHER_DOCKER_WATCHALL=true ||
    { fail "portwingd starts"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
PW_DOCKER_DIR=$PW_DOCKER_DIR /usr/bin/python3 "$here/dd_events.py" "$PW_PORT" \
    "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" "$here/lib.sh" "$PW_PID"
rc=$?
check "the agent survived the dockerd restart" kill -0 "$PW_PID"
check "the agent logged the lost and regained Docker events subscription" \
    bash -c "grep -q 'events subscription ended' '$PW_LOG' && \
    [ \$(grep -c 'subscribed to Docker events' '$PW_LOG') -ge 2 ]"

# SIGTERM while a controller is attached: its event stream ends cleanly at
# once (the controller reconnects), not at the 10 s drain timeout, and
# the agent stops as soon as nothing else is in flight.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
sse_out=$PW_TMP/sse-drain.out
curl -sN -H "Authorization: Bearer $PW_TOKEN" "$(pw_url /api/events)" \
    >"$sse_out" 2>/dev/null &
cpid=$!
for i in $(seq 1 50); do grep -q dd:watcher-snapshot "$sse_out" && break; sleep 0.1; done
check "an SSE client is greeted before the SIGTERM" grep -q dd:watcher-snapshot "$sse_out"
t0=$(now_ms)
kill -TERM "$PW_PID"
wait "$cpid"; crc=$?
t1=$(now_ms)
check "SIGTERM: the event stream ended within 2 s ($((t1 - t0)) ms)" \
    [ $((t1 - t0)) -lt 2000 ]
check "SIGTERM: and ended cleanly, the chunked body terminated (curl rc $crc)" \
    [ "$crc" -eq 0 ]
for i in $(seq 1 100); do kill -0 "$PW_PID" 2>/dev/null || break; sleep 0.05; done
t2=$(now_ms)
check "SIGTERM: the agent stopped within 3 s ($((t2 - t0)) ms)" \
    bash -c "! kill -0 $PW_PID 2>/dev/null && [ $((t2 - t0)) -lt 3000 ]"
wait "$PW_PID" 2>/dev/null
PW_PID=
pw_done && [ $rc -eq 0 ]
