#!/bin/bash
# t-dd-routes.sh: every Drydock /api route against the reference corpus
# (corpus/drydock: status, Content-Type, JSON shape or exact body), the
# SSE framing and dd:ack values, and the statuses the reference gives:
# 401 without a token, watcher 404 text, logs tail validation, demuxed
# and TTY logs, "getting logs:" 500s, DELETE 204/404, 405 with Allow,
# 501 legacy routes, HEAD without a body (dd_routes.py).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
D() { pw_docker_direct "$@"; }
ctrs="pwr-logs pwr-tty pwr-del pwr-follow pwr-sse"
cleanup() {
	pw_stop
	D rm -f $ctrs >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

R="$PW_IMAGE"
D run -d --name pwr-logs $R sh -c 'echo pwr-out 1; sleep 0.2; echo pwr-err 1 >&2;
    sleep 0.2; echo pwr-out 2; sleep 0.2; echo pwr-err 2 >&2; exec sleep 3600' >/dev/null
D run -d -t --name pwr-tty $R sh -c 'echo pwr-tty 1; echo pwr-tty 2; exec sleep 3600' >/dev/null
D run -d --name pwr-del $R sleep 3600 >/dev/null
D run -d --name pwr-follow $R sh -c 'while :; do echo tick; sleep 0.3; done' >/dev/null
sleep 1.5

pw_start DD_POLL_INTERVAL=3600 || { fail "portwingd starts"; exit 1; }
for _ in $(seq 1 100); do
	[ "$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /api/containers)")" = 200 ] && break
	sleep 0.1
done
PW_VERSION=$("$PW_BUILD/portwing" version) tap_run /usr/bin/python3 \
    "$here/dd_routes.py" "$PW_PORT" "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" \
    "$here/corpus/drydock" 3600
pw_done
