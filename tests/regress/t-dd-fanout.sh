#!/bin/bash
# t-dd-fanout.sh: 200 SSE clients each receive every event; a client that
# never reads delays none of them and is dropped past SSE_QUEUE_LIMIT.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop' EXIT
here=$(cd "$(dirname "$0")" && pwd)
limit=65536
# All 200 clients come from 127.0.0.1: lift the per-address limit.
# WATCHALL: created and stopped containers stay listed, so every step of
# a container's life is an event.
pw_start DD_POLL_INTERVAL=3600 SSE_QUEUE_LIMIT=$limit WORKERS=2 \
    MAX_CONNECTIONS_PER_ADDRESS=0 DD_WATCHER_DOCKER_WATCHALL=true ||
    { fail "portwingd starts"; exit 1; }
rss0=$(awk '/VmRSS/ {print $2}' /proc/$(pw_children proxy)/status)
ulimit -n 4096
/usr/bin/python3 "$here/dd_fanout.py" "$PW_PORT" "$PW_TOKEN" "$DOCKER_SOCK" \
    "$PW_IMAGE" "$limit" "$PW_LOG"
rc=$?
check "the agent logged the drop, naming the bound" \
    grep -q "dropping an SSE client.*more than $limit bytes" "$PW_LOG"
rss1=$(awk '/VmRSS/ {print $2}' /proc/$(pw_children proxy)/status)
check "the proxy's memory stayed bounded (RSS $rss0 -> $rss1 KiB)" \
    [ $((rss1 - rss0)) -lt 65536 ]
pw_done && [ $rc -eq 0 ]
