#!/bin/bash
# t-compose.sh: POST /_portwing/compose (reference section 12, and the
# compose_op record of section 11) against the real Docker Engine, with
# Debian's docker-compose (v1) and, when installed, `docker compose` (v2).
# The checks themselves are in compose_check.py, one section per run;
# miniregistry.py is the image registry `pull` pulls from (no network).
#
# CP_SECTIONS picks sections (default: all):
#   registry   the registry fixture on its own: the image pushed to it,
#              removed, and pulled back straight from Docker
#   settings   STACKS_DIR and COMPOSE_* settings refused at start
#   off        no STACKS_DIR: 404 and its body, no "compose" capability
#   validate   the checks of 12.2 and their messages, files and modes,
#              .env.drydock, base64, bodies (400, 413), the audit record
#   paths      nothing written outside STACKS_DIR: .., absolute paths,
#              links (stack directory, file, intermediate), a FIFO, and
#              a directory swapped for a link during 100 writes
#   v1         COMPOSE_COMMAND=docker-compose: up, ps, logs, restart,
#              stop, start, pull (from miniregistry.py), down, each against
#              Docker; the compose binary's Docker calls audited
#   v2         the same with COMPOSE_COMMAND="docker compose" (SKIP when
#              `docker compose version` is not v2)
#   timeout    "timeout" in the request, COMPOSE_TIMEOUT, a client that
#              goes away: compose stopped, no process left
#   output     COMPOSE_OUTPUT_LIMIT: the output capped and said so
# e.g. CP_SECTIONS="validate paths" tests/regress/run.sh t-compose.sh.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
D() { pw_docker_direct "$@"; }
# The run's names start with $P; the x ends the number, so that no other
# run's names (pwc1234x...) start with this one's (pwc123x).
P=pwc$$x
all_sections="registry settings off validate paths v1 v2 timeout output"
CP_SECTIONS=${CP_SECTIONS:-$all_sections}
[ "$CP_SECTIONS" != all ] || CP_SECTIONS=$all_sections
want() { case " $CP_SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }
for s in $CP_SECTIONS; do
	case " $all_sections " in
	*" $s "*) ;;
	*) fail "CP_SECTIONS names an unknown section: $s"; exit 1 ;;
	esac
done
t0=$(date +%s)
# Everything of this run is under $base, a directory the compose user
# can pass through (PW_TMP is root's, 0700), each agent with a
# STACKS_DIR of its own that does not exist yet: the agent makes it.
base=/tmp/$P
mkdir -p "$base"
chmod 0755 "$base"
cuser=portwing
pw_ensure_user
reg_pids=
reg_ref=
REGREF=

cleanup() {
	pw_stop
	local p ids
	for p in $reg_pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# Containers, networks and volumes of every stack of this run.
	ids=$(D ps -a --format '{{.ID}} {{.Label "com.docker.compose.project"}}' 2>/dev/null |
	    awk -v p="$P" 'index($2, p) == 1 { print $1 }')
	ids="$ids $(D ps -aq --filter "name=$P-" 2>/dev/null)"
	[ -z "${ids// /}" ] || D rm -f -v $ids >/dev/null 2>&1
	for p in $(D network ls --format '{{.Name}}' 2>/dev/null | grep "^$P"); do
		D network rm "$p" >/dev/null 2>&1
	done
	for p in $(D volume ls -q 2>/dev/null | grep "^$P"); do
		D volume rm "$p" >/dev/null 2>&1
	done
	for p in "$P-src:1" $reg_ref; do
		D rmi -f "$p" >/dev/null 2>&1
	done
	rm -rf "$base" "/tmp/$P-pwned" "/etc/$P-x"
}
trap cleanup EXIT
py() { /usr/bin/python3 "$here/compose_check.py" "$@"; }

# reg_setup: the image to pull, in miniregistry.py (its request log
# REG_LOG): the test image with a layer of its own (a file saying $P),
# tagged 127.0.0.1:PORT/pwtest:1 and pushed through Docker, then removed
# from Docker so that a pull must fetch that layer.  Sets REGREF, REGID
# (the pushed image's id) and REG_PORT.
reg_setup() {
	[ -z "$REGREF" ] || return 0
	REG_LOG=$base/reg.log
	rm -f "$base/reg.port"
	/usr/bin/python3 "$here/miniregistry.py" --log "$REG_LOG" \
	    "$base/reg.port" 2>>"$base/reg.err" &
	reg_pids="$reg_pids $!"
	for _ in $(seq 1 100); do
		[ -s "$base/reg.port" ] && break
		sleep 0.1
	done
	REG_PORT=$(cat "$base/reg.port" 2>/dev/null)
	[ -n "$REG_PORT" ] || return 1
	reg_ref=127.0.0.1:$REG_PORT/pwtest:1
	D rm -f "$P-mk" >/dev/null 2>&1
	D run --name "$P-mk" "$PW_IMAGE" sh -c "echo $P >/pulled-marker" >/dev/null &&
	    D commit "$P-mk" "$P-src:1" >/dev/null &&
	    D rm "$P-mk" >/dev/null &&
	    D tag "$P-src:1" "$reg_ref" &&
	    D push -q "$reg_ref" >/dev/null 2>>"$base/reg.err" || return 1
	REGID=$(D image inspect -f '{{.Id}}' "$reg_ref") &&
	    D rmi "$P-src:1" "$reg_ref" >/dev/null || return 1
	REGREF=$reg_ref
}

MT_V2=application/vnd.docker.distribution.manifest.v2+json
# lines_match TEXT RE...: each (grep) RE matches a line of TEXT,
# case-insensitively; the text when one does not.
lines_match() {
	local t=$1 re
	shift
	for re; do
		if ! grep -qi -- "$re" <<<"$t"; then
			echo "# no line matches $re in:"
			printf '%s\n' "$t" | head -20 | sed 's/^/#   /'
			return 1
		fi
	done
}
# manifest_get JSON EXPR: EXPR of the manifest m, printed by python.
manifest_get() {
	python3 -c 'import json, sys; m = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' \
	    "$1" "$2" 2>/dev/null
}
# absent REF: Docker has no image REF.  pull REF: Docker pulls it.
absent() { ! D image inspect "$1" >/dev/null 2>&1; }
pull() { D pull -q "$1" >/dev/null; }
# check_rc DESCRIPTION RC OUTPUT: ok when RC is 0, else the output too.
check_rc() {
	if [ "$2" -eq 0 ]; then
		ok "$1"
	else
		fail "$1 (status $2)"
		printf '%s\n' "$3" | tail -5 | sed 's/^/#   /'
	fi
}
# check_refused DESCRIPTION RC OUTPUT NAME: RC is not 0 and OUTPUT names
# the setting NAME.
check_refused() {
	if [ "$2" -ne 0 ] && grep -q "$4" <<<"$3"; then
		ok "$1"
	else
		fail "$1 (status $2)"
		printf '%s\n' "$3" | tail -5 | sed 's/^/#   /'
	fi
}

if want registry; then
	if reg_setup; then
		ok "miniregistry.py holds $REGREF, pushed through Docker (the test image plus a layer of its own)"
		m=$(curl -s -H "Accept: $MT_V2" \
		    "http://127.0.0.1:$REG_PORT/v2/pwtest/manifests/1")
		cfg=$(manifest_get "$m" 'm["config"]["digest"]')
		top=$(manifest_get "$m" 'm["layers"][-1]["digest"]')
		check "the image is not in Docker before the pull" absent "$REGREF"
		n=$(wc -l <"$REG_LOG")
		check "docker pull $REGREF straight from Docker" pull "$REGREF"
		check "...fetched the manifest, the config and the new layer" \
		    lines_match "$(tail -n +$((n + 1)) "$REG_LOG")" \
		    '^GET /v2/pwtest/manifests/.* 200$' \
		    "^GET /v2/pwtest/blobs/$cfg 200\$" "^GET /v2/pwtest/blobs/$top 200\$"
		id=$(D image inspect -f '{{.Id}}' "$REGREF" 2>/dev/null)
		check "...the image's id is the pushed one and the manifest's config digest ($id)" \
		    test -n "$cfg" -a "$id" = "$REGID" -a "$id" = "$cfg"
		out=$(D run --rm "$REGREF" cat /pulled-marker 2>&1)
		check "...and it runs: /pulled-marker says $P ($out)" [ "$out" = "$P" ]
		D rmi "$REGREF" >/dev/null 2>&1
	else
		fail "miniregistry.py holds the test image (a commit of $PW_IMAGE, pushed); its errors: $(tail -3 "$base/reg.err" 2>/dev/null)"
	fi
fi

if want settings; then
	n() { env -i PATH="$PATH" TOKEN=abcdefghijklmnopqrstuvwxyz123456 "$@" \
	    "$PW_BUILD/portwingd" -n 2>&1; }
	out=$(n STACKS_DIR="$base/ok-stacks"); rc=$?
	check_rc "STACKS_DIR=$base/ok-stacks: the settings check passes" $rc "$out"
	out=$(n STACKS_DIR=relative/stacks); rc=$?
	check_refused "STACKS_DIR=relative/stacks: refused, named" $rc "$out" STACKS_DIR
	for u in root 0 "nosuchuser$P"; do
		out=$(n STACKS_DIR="$base/ok-stacks" COMPOSE_USER="$u"); rc=$?
		check_refused "COMPOSE_USER=$u: refused, named" $rc "$out" COMPOSE_USER
	done
	out=$(n STACKS_DIR="$base/ok-stacks" COMPOSE_COMMAND=podman-compose); rc=$?
	check_refused "COMPOSE_COMMAND=podman-compose: refused, named" $rc "$out" COMPOSE_COMMAND
	for v in docker-compose "docker compose"; do
		out=$(n STACKS_DIR="$base/ok-stacks" COMPOSE_COMMAND="$v"); rc=$?
		check_rc "COMPOSE_COMMAND=\"$v\": accepted" $rc "$out"
	done
	check "...and no settings check made $base/ok-stacks" \
	    [ ! -e "$base/ok-stacks" ]
fi

if want off; then
	data_stacks=absent
	[ ! -e /data/stacks ] || data_stacks=present
	if pw_start AUDIT_BUFFER_SIZE=2000; then
		TAP_PREFIX="off: " tap_run py off "$PW_PORT" "$PW_TOKEN"
		pw_stop
	else
		fail "portwingd starts without STACKS_DIR"
	fi
	[ $data_stacks = present ] ||
	    check "off: no STACKS_DIR made at the reference's default, /data/stacks" \
	    [ ! -e /data/stacks ]
fi

if want validate; then
	stacks=$base/stacks-validate
	if pw_start STACKS_DIR="$stacks" AUDIT_BUFFER_SIZE=5000; then
		TAP_PREFIX="validate: " tap_run py validate "$PW_PORT" "$PW_TOKEN" \
		    "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$stacks" "$cuser"
		check "validate: portwingd is still running" kill -0 "$PW_PID"
		pw_stop
	else
		fail "portwingd starts with STACKS_DIR=$stacks"
	fi
fi

if want paths; then
	# The compose user named by its uid this time.
	uid=$(id -u "$cuser")
	mkdir -p "$base/paths"
	chmod 0755 "$base/paths"
	stacks=$base/paths/stacks
	if pw_start STACKS_DIR="$stacks" COMPOSE_USER="$uid" AUDIT_BUFFER_SIZE=5000; then
		TAP_PREFIX="paths: " tap_run py paths "$PW_PORT" "$PW_TOKEN" \
		    "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$stacks" "$uid" "$base/paths"
		check "paths: portwingd is still running" kill -0 "$PW_PID"
		pw_stop
	else
		fail "portwingd starts with STACKS_DIR=$stacks COMPOSE_USER=$uid"
	fi
fi

# lifecycle KIND COMMAND
lifecycle() {
	local kind=$1 cmd=$2 stacks=$base/stacks-$1
	if ! reg_setup; then
		fail "$kind: the registry fixture for pull starts"
		return
	fi
	if pw_start STACKS_DIR="$stacks" COMPOSE_COMMAND="$cmd" \
	    AUDIT_BUFFER_SIZE=5000; then
		TAP_PREFIX="$kind: " tap_run py lifecycle "$PW_PORT" "$PW_TOKEN" \
		    "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$stacks" "$cuser" "$kind" \
		    "$REGREF" "$REG_LOG"
		check "$kind: portwingd is still running" kill -0 "$PW_PID"
		pw_stop
	else
		fail "portwingd starts with STACKS_DIR=$stacks COMPOSE_COMMAND=\"$cmd\""
	fi
}

v2=no
docker compose version 2>/dev/null | grep -q '[vV]2' && v2=yes
if want v1; then
	if command -v docker-compose >/dev/null 2>&1; then
		lifecycle v1 docker-compose
	else
		fail "v1: docker-compose is installed (contrib/install-deps.sh --test installs it)"
	fi
fi
if want v2; then
	if [ $v2 = yes ]; then
		lifecycle v2 "docker compose"
	else
		skip "v2: docker compose (v2) is not installed (docker compose version: $(docker compose version 2>&1 | head -1))"
	fi
fi

if want timeout; then
	stacks=$base/stacks-timeout
	if pw_start STACKS_DIR="$stacks" AUDIT_BUFFER_SIZE=5000; then
		TAP_PREFIX="timeout: " tap_run py timeout "$PW_PORT" "$PW_TOKEN" \
		    "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$stacks" "$cuser" request
		pw_stop
	else
		fail "portwingd starts with STACKS_DIR=$stacks"
	fi
	stacks=$base/stacks-timeout2
	if pw_start STACKS_DIR="$stacks" COMPOSE_TIMEOUT=3 AUDIT_BUFFER_SIZE=5000; then
		TAP_PREFIX="timeout: COMPOSE_TIMEOUT=3: " tap_run py timeout \
		    "$PW_PORT" "$PW_TOKEN" "$DOCKER_SOCK" "$PW_IMAGE" "$P" \
		    "$stacks" "$cuser" setting
		pw_stop
	else
		fail "portwingd starts with COMPOSE_TIMEOUT=3"
	fi
fi

if want output; then
	# 1024: the smallest limit the agent takes.
	stacks=$base/stacks-output
	kind=v1
	[ $v2 = no ] || kind=v2
	if pw_start STACKS_DIR="$stacks" COMPOSE_OUTPUT_LIMIT=1024; then
		TAP_PREFIX="output: " tap_run py output "$PW_PORT" "$PW_TOKEN" \
		    "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$stacks" "$cuser" capped \
		    1024 "$kind" "$base/output.json"
		pw_stop
	else
		fail "portwingd starts with COMPOSE_OUTPUT_LIMIT=1024"
	fi
	# The same STACKS_DIR again (the agent made it, for the compose user).
	if pw_start STACKS_DIR="$stacks"; then
		TAP_PREFIX="output: " tap_run py output "$PW_PORT" "$PW_TOKEN" \
		    "$DOCKER_SOCK" "$PW_IMAGE" "$P" "$stacks" "$cuser" full \
		    1024 "$kind" "$base/output.json"
		pw_stop
	else
		fail "portwingd starts again with the STACKS_DIR it made ($stacks)"
	fi
fi
echo "# t-compose: $(($(date +%s) - t0)) s (sections: $CP_SECTIONS)"
pw_done
