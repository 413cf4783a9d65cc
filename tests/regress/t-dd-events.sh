#!/bin/bash
# t-dd-events.sh: Drydock SSE. Two clients on different workers see each
# change to a container (create, start, stop, rename, start, kill,
# remove) as exactly the expected frames, in order, within a second;
# a dockerd restart under the agent resumes the stream and resyncs.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; pw_dockerd_start >/dev/null 2>&1' EXIT
pw_start DD_POLL_INTERVAL=3600 || { fail "portwingd starts"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
PW_DOCKER_DIR=$PW_DOCKER_DIR /usr/bin/python3 "$here/dd_events.py" "$PW_PORT" \
    "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" "$here/lib.sh" "$PW_PID"
rc=$?
check "the agent survived the dockerd restart" kill -0 "$PW_PID"
check "the agent logged the lost and regained Docker events subscription" \
    bash -c "grep -q 'events subscription ended' '$PW_LOG' && \
    [ \$(grep -c 'subscribed to Docker events' '$PW_LOG') -ge 2 ]"
pw_done && [ $rc -eq 0 ]
