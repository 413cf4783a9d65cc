#!/bin/bash
# t-compose-sandbox.sh: what a compose process may do, seen from inside
# one.  The test build's composer runs a probe (operation
# portwing-test-sandbox) exactly as it runs compose: as COMPOSE_USER, in
# the stack directory, with the runner's environment, seccomp filter and
# Landlock ruleset.  The probe may write in its stack directory and reach
# the agent's socket; it may not write elsewhere, open a network socket,
# reach Docker's own socket or ptrace.  And a COMPOSE_USER that can reach
# Docker's socket (its primary group is the socket's: supplementary
# groups are dropped) gets compose refused.
. "$(dirname "$0")/lib.sh"
P=pwcs$$x
base=/tmp/$P
mkdir -p "$base"
chmod 0755 "$base"
pw_ensure_user
duser=${P}d
cleanup() {
	pw_stop
	rm -rf "$base" /tmp/portwing-probe-*
	userdel "$duser" >/dev/null 2>&1
}
trap cleanup EXIT
pw_dockerd_start || { fail "test dockerd starts"; exit 1; }

compose() {
	curl -s -m 60 -H "Authorization: Bearer $PW_TOKEN" \
	    -H 'Content-Type: application/json' -d "$1" \
	    "http://127.0.0.1:$PW_PORT/_portwing/compose"
}
# field NAME JSON: a string member of the answer.
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[2]).get(sys.argv[1], ""))' "$1" "$2"; }
has() { case "$2" in *"$1"*) return 0 ;; esac; echo "# got: $2"; return 1; }

if PW_DAEMON=$PW_BUILD/portwingd-hooks pw_start STACKS_DIR="$base/stacks"; then
	rm -f /tmp/portwing-probe-*
	out=$(compose '{"operation":"portwing-test-sandbox","stackName":"probe","files":{}}')
	o=$(field output "$out")
	echo "$o" | sed 's/^/#   | /'
	check "the probe ran as the compose user (uid $(id -u portwing))" \
	    has "uid $(id -u portwing) " "$o"
	check "it may write in its stack directory" has "write-stack allowed" "$o"
	check "... and the file is there, the compose user's" \
	    [ "$(stat -c %U "$base/stacks/probe/probe.txt" 2>&1)" = portwing ]
	check "it may not write in /tmp (Landlock: EACCES)" has "write-tmp refused 13" "$o"
	check "... and nothing was written there" \
	    bash -c '! ls /tmp/portwing-probe-* >/dev/null 2>&1'
	check "it may not open an IPv4 socket (seccomp: EAFNOSUPPORT)" \
	    has "inet refused 97" "$o"
	check "it may not connect to Docker's own socket (EACCES)" \
	    has "docker refused 13" "$o"
	check "it may connect to the agent's compose socket" has "agent allowed" "$o"
	check "it may not ptrace (seccomp: EPERM)" has "ptrace refused 1" "$o"
	check "its environment is the runner's own, nothing of the agent's" \
	    has "environ ['COMPOSE_INTERACTIVE_NO_CLI', 'DOCKER_CLI_HINTS', 'DOCKER_CONFIG', 'DOCKER_HOST', 'HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'TMPDIR', 'TZ']" "$o"
	check "no token in the probe's output" \
	    bash -c '! printf %s "$1" | grep -qF "$2"' _ "$out" "$PW_TOKEN"
	check "the composer is still the compose user's, and alive" \
	    [ "$(ps -o user= -p "$(pgrep -P "$PW_PID" -f '^portwingd: composer')" 2>/dev/null)" = portwing ]
	pw_stop
else
	fail "portwingd-hooks starts with STACKS_DIR"
fi

# A compose user whose own group is the socket's: refused.
if getent group docker >/dev/null &&
    [ "$(stat -c %G "$DOCKER_SOCK")" = docker ]; then
	useradd --system --no-create-home --shell /usr/sbin/nologin \
	    -g docker "$duser"
	mkdir -p "$base/stacks-d"
	chown "$duser" "$base/stacks-d"
	chmod 0750 "$base/stacks-d"
	if pw_start STACKS_DIR="$base/stacks-d" COMPOSE_USER="$duser"; then
		out=$(compose '{"operation":"ps","stackName":"x"}')
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 30 \
		    -H "Authorization: Bearer $PW_TOKEN" -d '{"operation":"ps","stackName":"x"}' \
		    "http://127.0.0.1:$PW_PORT/_portwing/compose")
		check "COMPOSE_USER of the docker group: compose refused with 503 ($code)" \
		    [ "$code" = 503 ]
		check "... saying why" has "can reach Docker's socket directly" "$out"
		check "... and the log names the cause" \
		    grep -q "can connect to Docker's socket itself" "$PW_LOG"
		pw_stop
	else
		fail "portwingd starts with COMPOSE_USER=$duser"
	fi
else
	skip "the test dockerd's socket is not the docker group's"
fi
out=$(env -i PATH="$PATH" TOKEN=x STACKS_DIR="$base/s" COMPOSE_USER=root \
    "$PW_BUILD/portwingd" -n 2>&1)
check "COMPOSE_USER=root is refused at start" has "root may not run compose" "$out"
pw_done
