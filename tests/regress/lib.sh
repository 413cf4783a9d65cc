# lib.sh: shared helpers for portwing's integration tests and benchmarks.
# Source it; it expects PW_BUILD (the build directory) to be set.
#
#   pw_dockerd_start     start (or reuse) a private dockerd; sets DOCKER_SOCK
#   pw_image             import the offline busybox image "pwtest-bb"
#   pw_start [ENV=V...]  start portwingd in the background; sets PW_PID,
#                        PW_PORT, PW_LOG, PW_TOKEN (unless TOKEN given)
#   pw_stop              SIGTERM portwingd and wait for it
#   pw_children ROLE     PIDs of running children of a role
#   ok/fail/skip MSG     TAP-style result lines (counted)
#   tap_run CMD...       run a helper printing TAP lines; count them here

set -u
PW_BUILD=${PW_BUILD:-$(cd "$(dirname "$0")/../../build" 2>/dev/null && pwd)}
PW_TMP=${PW_TMP:-$(mktemp -d /tmp/pwtest.XXXXXX)}
PW_DOCKER_DIR=${PW_DOCKER_DIR:-/tmp/pw-dockerd}
PW_IMAGE=pwtest-bb
pw_npass=0
pw_nfail=0
pw_nskip=0

ok() { pw_npass=$((pw_npass + 1)); echo "ok - $*"; }
fail() { pw_nfail=$((pw_nfail + 1)); echo "not ok - $*"; }
skip() { pw_nskip=$((pw_nskip + 1)); echo "ok - # SKIP $*"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
pw_done() {
	echo "# $pw_npass passed, $pw_nfail failed, $pw_nskip skipped"
	[ "$pw_nfail" -eq 0 ]
}

# pw_sanitized: the build under test has AddressSanitizer, whose shadow
# memory makes a memory ceiling meaningless (checks of RSS skip there).
pw_sanitized() {
	grep -q '^#define PW_SANITIZERS 1' "$PW_BUILD/pwbuild.h" 2>/dev/null
}

pw_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Start a private Docker Engine (shared by all tests of a run).
pw_dockerd_start() {
	DOCKER_SOCK=$PW_DOCKER_DIR/docker.sock
	export DOCKER_SOCK
	if [ -S "$DOCKER_SOCK" ] && docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1; then
		return 0
	fi
	mkdir -p "$PW_DOCKER_DIR"
	rm -f "$DOCKER_SOCK"
	dockerd --host "unix://$DOCKER_SOCK" ${PW_DOCKER_TCP:+--host "tcp://127.0.0.1:$PW_DOCKER_TCP"} \
	    --data-root "$PW_DOCKER_DIR/data" --exec-root "$PW_DOCKER_DIR/exec" \
	    --pidfile "$PW_DOCKER_DIR/docker.pid" --iptables=false --bridge=none \
	    --ip-masq=false >"$PW_DOCKER_DIR/dockerd.log" 2>&1 &
	local i
	for i in $(seq 1 100); do
		if docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "# dockerd did not start; its log:" >&2
	tail -20 "$PW_DOCKER_DIR/dockerd.log" >&2
	return 1
}

pw_dockerd_stop() {
	if [ -f "$PW_DOCKER_DIR/docker.pid" ]; then
		kill "$(cat "$PW_DOCKER_DIR/docker.pid")" 2>/dev/null
		for _ in $(seq 1 50); do
			[ -f "$PW_DOCKER_DIR/docker.pid" ] || break
			kill -0 "$(cat "$PW_DOCKER_DIR/docker.pid" 2>/dev/null)" 2>/dev/null || break
			sleep 0.2
		done
	fi
}

# The offline test image: busybox and its applets, nothing pulled.
pw_image() {
	if docker -H "unix://$DOCKER_SOCK" image inspect "$PW_IMAGE" >/dev/null 2>&1; then
		return 0
	fi
	local r; r=$(mktemp -d)
	mkdir -p "$r/bin" "$r/tmp" "$r/etc" "$r/proc" "$r/sys" "$r/dev"
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	tar -C "$r" -c . | docker -H "unix://$DOCKER_SOCK" import \
	    -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$PW_IMAGE" >/dev/null
	rm -rf "$r"
}

pw_ensure_user() {
	id portwing >/dev/null 2>&1 || useradd --system --no-create-home \
	    --shell /usr/sbin/nologin portwing
}

# pw_start [VAR=value ...]: start portwingd with a fresh port and token.
pw_start() {
	PW_PORT=$(pw_free_port)
	# A fresh file each start: a port can come round again, and an old
	# "ready" line must not pass for the new daemon's.
	PW_LOG=$(mktemp --suffix=.log "$PW_TMP/portwingd.$PW_PORT.XXXXXX")
	PW_TOKEN=${PW_TOKEN:-tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}
	local bin=${PW_DAEMON:-$PW_BUILD/portwingd}
	# Sanitizer options (a --enable-sanitizers build) pass through the
	# otherwise empty environment; the daemon hands them to its children.
	env -i PATH="$PATH" HOME=/root PORT="$PW_PORT" BIND_ADDRESS=127.0.0.1 \
	    ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
	    ${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
	    DOCKER_SOCKET="$DOCKER_SOCK" TOKEN="$PW_TOKEN" WORKERS=2 \
	    LOG_LEVEL=${PW_LOG_LEVEL:-info} "$@" \
	    "$bin" ${PW_ARGS:-} >>"$PW_LOG" 2>&1 &
	PW_PID=$!
	local i
	for i in $(seq 1 100); do
		if grep -Eq 'master: info: ready|"proc":"master".*"msg":"ready' \
		    "$PW_LOG" 2>/dev/null; then
			return 0
		fi
		# Quiet log levels: ready once authd answers (a deliberately
		# wrong token gets 401, never the real one: tests scan memory
		# for it) and the proxy answers readiness.
		if [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' -H \
		    'Authorization: Bearer not-the-token' \
		    "http://127.0.0.1:$PW_PORT/_ping" 2>/dev/null)" = 401 ] &&
		    [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' \
		    "http://127.0.0.1:$PW_PORT/ready" 2>/dev/null)" = 200 ]; then
			return 0
		fi
		kill -0 "$PW_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# portwingd did not become ready; log:" >&2
	tail -20 "$PW_LOG" >&2
	return 1
}

pw_stop() {
	[ -n "${PW_PID:-}" ] || return 0
	kill -TERM "$PW_PID" 2>/dev/null
	local i
	for i in $(seq 1 150); do
		kill -0 "$PW_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$PW_PID" 2>/dev/null
	wait "$PW_PID" 2>/dev/null
	PW_PID=
}

# PIDs of live children of the current portwingd by role title.
pw_children() {
	local role=$1 p
	for p in $(pgrep -P "$PW_PID"); do
		case "$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)" in
		"portwingd: $role"*) echo "$p" ;;
		esac
	done
}

pw_curl() {
	curl -s -m 10 -H "Authorization: Bearer $PW_TOKEN" "$@"
}

pw_url() {
	echo "http://127.0.0.1:$PW_PORT$1"
}

# The docker CLI pointed at the agent, token in config.json HttpHeaders.
pw_docker() {
	mkdir -p "$PW_TMP/dockercfg"
	printf '{"HttpHeaders":{"Authorization":"Bearer %s"}}\n' "$PW_TOKEN" \
	    >"$PW_TMP/dockercfg/config.json"
	# Bounded: a hang fails its check instead of the whole run.
	DOCKER_CONFIG=$PW_TMP/dockercfg timeout "${PW_DOCKER_TIMEOUT:-180}" \
	    docker -H "tcp://127.0.0.1:$PW_PORT" "$@"
	local rc=$?
	[ $rc -ne 124 ] || echo "# docker $1 via portwing timed out" >&2
	return $rc
}

# The docker CLI straight at the private engine.
# Run a helper that prints TAP lines; count them here.  A helper that
# dies without saying "not ok" is a failure too.
tap_run() {
	local out rc l nf=0
	out=$("$@" 2>&1); rc=$?
	while IFS= read -r l; do
		case $l in
		"ok - "*) ok "${TAP_PREFIX:-}${l#ok - }" ;;
		"not ok - "*) fail "${TAP_PREFIX:-}${l#not ok - }"; nf=$((nf + 1)) ;;
		*) echo "# $l" ;;
		esac
	done <<<"$out"
	[ $rc -eq 0 ] || [ $nf -gt 0 ] || fail "$(basename "$2") exited with status $rc"
}

pw_docker_direct() {
	timeout "${PW_DOCKER_TIMEOUT:-180}" docker -H "unix://$DOCKER_SOCK" "$@"
	local rc=$?
	[ $rc -ne 124 ] || echo "# docker $1 direct timed out" >&2
	return $rc
}

# Send raw bytes, print the status line of the answer.
pw_raw() {
	python3 - "$PW_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
s.sendall(sys.argv[2].encode().decode('unicode_escape').encode('latin-1'))
data = b""
try:
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
print(data.split(b"\r\n")[0].decode('latin-1') if data else "NO-RESPONSE")
PY
}
