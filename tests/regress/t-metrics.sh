#!/bin/bash
# t-metrics.sh: GET /metrics, /_portwing/metrics and /_portwing/info
# against the contract (reference 7.2, 10; 6.1 and 6.7 for auth failures):
# promtool check metrics on both paths (with the container block), the
# exact Content-Type, 401 without a token; per-container series for
# running containers (full ID, name, image) and none for stopped ones,
# METRICS_INTERVAL=1 picking up new containers and METRICS_INTERVAL=3600
# serving its cache; 100 requests over two workers counted exactly in
# requests_total and the histogram (cumulative buckets, +Inf = _count);
# bad_token per attempt and the 429 after ten failures; in-flight with an
# SSE client; restarts_total after kill -9 of a worker with the counters
# kept; host memory, disk (DOCKER_ROOT, SKIP_DF_COLLECTION) and CPU;
# proxy decisions and container counts; /_portwing/info (metrics.py).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
D() { pw_docker_direct "$@"; }
ctrs="pwm-a pwm-b pwm-s pwm-c pwm-late"
cleanup() {
	pw_stop
	D rm -f $ctrs >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

if ! command -v promtool >/dev/null 2>&1; then
	fail "promtool is installed (Debian package prometheus: contrib/install-deps.sh --test)"
	exit 1
fi

D run -d --name pwm-a "$PW_IMAGE" sleep 600 >/dev/null
D run -d --name pwm-b "$PW_IMAGE" sleep 600 >/dev/null
D run -d --name pwm-s "$PW_IMAGE" sleep 600 >/dev/null
D stop -t 0 pwm-s >/dev/null
check "test containers: pwm-a, pwm-b running, pwm-s stopped" \
    test "$(D inspect --format '{{.State.Running}}' pwm-a pwm-b pwm-s | tr '\n' ' ')" = \
    "true true false "

export PW_VERSION PW_AGENT_ID PW_AGENT_NAME PW_DOCKER_ROOT PW_IMAGE
PW_VERSION=$("$PW_BUILD/portwing" version)
PW_AGENT_ID=pwm-agent-$$
PW_AGENT_NAME="pwm name $$"
PW_DOCKER_ROOT=$PW_DOCKER_DIR/data

# 1..9 with a one-second metrics interval.
PW_LOG_LEVEL=debug pw_start METRICS_INTERVAL=1 DD_POLL_INTERVAL=1 \
    DOCKER_ROOT="$PW_DOCKER_ROOT" AGENT_ID="$PW_AGENT_ID" \
    AGENT_NAME="$PW_AGENT_NAME" || { fail "portwingd starts"; exit 1; }
tap_run /usr/bin/python3 "$here/metrics.py" main "$PW_PORT" "$PW_TOKEN" \
    "$DOCKER_SOCK" "$PW_PID" "$PW_LOG"
pw_stop

# The cache, and SKIP_DF_COLLECTION.
PW_LOG_LEVEL=debug pw_start METRICS_INTERVAL=3600 DD_POLL_INTERVAL=1 \
    SKIP_DF_COLLECTION=true DOCKER_ROOT="$PW_DOCKER_ROOT" ||
    { fail "portwingd starts (METRICS_INTERVAL=3600)"; exit 1; }
TAP_PREFIX="cache: " tap_run /usr/bin/python3 "$here/metrics.py" cache \
    "$PW_PORT" "$PW_TOKEN" "$DOCKER_SOCK" "$PW_PID" "$PW_LOG"
pw_stop
pw_done
