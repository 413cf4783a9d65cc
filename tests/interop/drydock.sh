#!/bin/bash
# tests/interop/drydock.sh: portwing against the real Drydock controller.
#
# Not part of `make check` (it needs Node 24 and Drydock's npm
# dependencies from the npm registry).  It builds Drydock 1.7.0's
# backend (app/) once into a cache, starts a private dockerd, portwingd
# and two Drydock controllers on loopback:
#
#   A  talks to the Docker engine only through portwing (agent "pw");
#   B  watches the same engine itself (its docker watcher, named
#      "docker" like the one the agent serves): the reference.
#
# and then checks, printing TAP lines:
#   1. the set of containers A lists for the agent equals B's, and every
#      field of every container is the same except the differences
#      written down in DESIGN.md ("The Drydock adapter"); the diff is
#      printed;
#   2. a dd.watch=true container is stopped, started and restarted from
#      A's API (HTTP 200, and the engine follows), and a single-container
#      watch answers 200;
#   3. A connects and serves the same through the agent authenticated by
#      token, by Ed25519 signatures, and over TLS with a CA file.
#
# Usage:  tests/interop/drydock.sh            (from the source tree, after
#                                              `make`; run as root)
# Environment:
#   DRYDOCK_SRC     a clone of CodesWhat/drydock (work tree or bare
#                   repository) at v1.7.0; default: cloned from GitHub
#   DRYDOCK_REF     the commit or tag to use (default: HEAD of DRYDOCK_SRC,
#                   v1.7.0 when cloning)
#   PW_INTEROP_DIR  cache for Node and the Drydock build
#                   (default /var/tmp/portwing-interop)
#   PW_BUILD        portwing's build directory (default build/)
#   PW_DOCKER_DIR   the private dockerd's directory
#                   (default /tmp/pw-dockerd-interop)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export PW_BUILD=${PW_BUILD:-$top/build}
export PW_DOCKER_DIR=${PW_DOCKER_DIR:-/tmp/pw-dockerd-interop}
. "$top/tests/regress/lib.sh"

cache=${PW_INTEROP_DIR:-/var/tmp/portwing-interop}
node_version=24.21.0
# Drydock 1.7.0's lockfile names @aws-sdk/client-ecr 3.1111.0, which the
# npm registry does not have; the next release installs and works.
ecr_version=3.1112.0
PY=/usr/bin/python3
D() { pw_docker_direct "$@"; }
die() { echo "drydock.sh: $*" >&2; exit 2; }

# ---------------------------------------------------------------- setup
mkdir -p "$cache" || die "cannot create $cache"
node_bin=$cache/node-$node_version/node_modules/node/bin
if ! [ -x "$node_bin/node" ]; then
	echo "# installing Node $node_version from npm into $cache"
	npm install --no-audit --no-fund --prefix "$cache/node-$node_version" \
	    "node@$node_version" >"$cache/node.log" 2>&1 ||
	    { tail -20 "$cache/node.log" >&2; die "npm install node@$node_version failed"; }
fi
"$node_bin/node" --version | grep -q "^v$node_version" ||
    die "$node_bin/node is not Node $node_version"

src=${DRYDOCK_SRC:-}
if [ -z "$src" ]; then
	src=$cache/drydock.git
	if ! [ -d "$src" ]; then
		git clone --bare --quiet https://github.com/CodesWhat/drydock.git "$src" ||
		    die "cannot clone Drydock; set DRYDOCK_SRC to a clone"
	fi
	: "${DRYDOCK_REF:=v1.7.0}"
fi
if [ -d "$src/.git" ]; then gitdir=$src/.git; else gitdir=$src; fi
rev=$(git --git-dir="$gitdir" rev-parse --verify -q "${DRYDOCK_REF:-HEAD}^{commit}") ||
    die "$src: no commit ${DRYDOCK_REF:-HEAD}"
ver=$(git --git-dir="$gitdir" show "$rev:app/package.json" 2>/dev/null |
    sed -n 's/^  "version": "\(.*\)",$/\1/p')
[ "$ver" = 1.7.0 ] || echo "# warning: Drydock app version is '$ver', this script was written for 1.7.0"
app=$cache/drydock-$rev/app
if ! [ -f "$app/dist/index.js" ]; then
	echo "# building Drydock $ver ($rev) in $app"
	rm -rf "$cache/drydock-$rev" && mkdir -p "$cache/drydock-$rev"
	# Large binary documentation assets may be missing from a mirror;
	# only app/ is needed.
	git --git-dir="$gitdir" archive "$rev" app | tar -x -C "$cache/drydock-$rev" ||
	    die "cannot extract app/ from $src"
	sed -i "s#\"@aws-sdk/client-ecr\": \"[0-9.]*\"#\"@aws-sdk/client-ecr\": \"$ecr_version\"#" \
	    "$app/package.json"
	(cd "$app" && PATH=$node_bin:$PATH npm install --ignore-scripts --no-audit \
	    --no-fund >"$cache/npm-install.log" 2>&1) ||
	    { tail -20 "$cache/npm-install.log" >&2; die "npm install of Drydock failed"; }
	(cd "$app" && PATH=$node_bin:$PATH npm run build >"$cache/npm-build.log" 2>&1) ||
	    { tail -20 "$cache/npm-build.log" >&2; die "Drydock build failed"; }
fi
[ -x "$PW_BUILD/portwingd" ] || die "no $PW_BUILD/portwingd: run make first"

pw_dockerd_start || die "dockerd did not start"
pw_image || die "cannot import the test image"

# ---------------------------------------------------------------- helpers
dd_pids=
reg_pid=
ctrs="pwi-plain pwi-optin pwi-labels pwi-off pwi-stopped pwi-health pwi-env pwi-reg"
cleanup() {
	local p
	for p in $dd_pids; do kill "$p" 2>/dev/null; done
	for p in $dd_pids; do wait "$p" 2>/dev/null; done
	pw_stop
	[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null && wait "$reg_pid" 2>/dev/null
	D rm -f -v $ctrs >/dev/null 2>&1
	D volume rm pwi-vol >/dev/null 2>&1
	[ -n "${ref:-}" ] && D rmi "$ref" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

# dd_start NAME PORT VAR=value...: a Drydock controller on 127.0.0.1:PORT
# with its own store; its PID joins dd_pids, its log is $PW_TMP/dd-NAME.log.
dd_start() {
	local name=$1 port=$2; shift 2
	mkdir -p "$PW_TMP/store-$name"
	(cd "$app" && exec env -i PATH="$node_bin:/usr/bin:/bin" HOME="$PW_TMP" \
	    NODE_ENV=production DD_SERVER_PORT="$port" \
	    DD_STORE_PATH="$PW_TMP/store-$name" DD_ANONYMOUS_AUTH_CONFIRM=true \
	    DD_SERVER_RATELIMIT_MAX=1000000 DD_LOG_LEVEL=debug "$@" \
	    "$node_bin/node" --require "$here/loopback.cjs" dist/index.js \
	    >"$PW_TMP/dd-$name.log" 2>&1) &
	dd_pids="$dd_pids $!"
	local i
	for i in $(seq 1 300); do
		curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/health" && return 0
		sleep 0.2
	done
	echo "# Drydock $name did not start; its log:" >&2
	tail -20 "$PW_TMP/dd-$name.log" >&2
	return 1
}
dd_stop_all() {
	local p
	for p in $dd_pids; do kill "$p" 2>/dev/null; done
	for p in $dd_pids; do wait "$p" 2>/dev/null; done
	dd_pids=
}
# dd_api PORT METHOD PATH: print the body, then the status on a last line.
dd_api() {
	curl -s -m 30 -X "$2" -w '\n%{http_code}' "http://127.0.0.1:$1/api/v1$3"
}
# dd_code PORT METHOD PATH: the status; the body goes to the output as a
# comment when it is not 200.
dd_code() {
	local out; out=$(dd_api "$@")
	[ "${out##*$'\n'}" = 200 ] || echo "# $2 $3: ${out%$'\n'*}" | head -c 400 >&2
	echo "${out##*$'\n'}"
}

# wait_listed PORT N [AGENT]: until Drydock at PORT lists N containers
# named pwi-* (of AGENT when given); up to 90 s (Drydock's own watcher
# waits 30 s for discovery to settle).
wait_listed() {
	local i
	for i in $(seq 1 450); do
		[ "$(curl -s -m 5 "http://127.0.0.1:$1/api/v1/containers" |
		    $PY "$here/ddcompare.py" count "${3:-}")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

state_of() { D inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
started_of() { D inspect -f '{{.State.StartedAt}}' "$1" 2>/dev/null; }
wait_state() {
	local i
	for i in $(seq 1 100); do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- containers
# Every derivation the agent makes is covered: no labels, opt-in with
# each dd.* label the agent reads, opted out, stopped, health, env
# (a sensitive name), a volume, and an image with RepoDigests from a
# registry on loopback.
D run -d --name pwi-plain "$PW_IMAGE" sleep 3600 >/dev/null
D run -d --name pwi-optin -l dd.watch=true "$PW_IMAGE" sleep 3600 >/dev/null
D run -d --name pwi-labels -l dd.watch=TRUE -l dd.display.name="Labelled one" \
    -l dd.display.icon=mdi:test -l 'dd.tag.include=^v\d+' -l dd.tag.exclude=beta \
    -l 'dd.tag.transform=^v(.*)$ => $1' -l dd.tag.family=loose \
    -l 'dd.link.template=https://example.org/r/${original}' \
    -l dd.watch.digest=false -l other.label=x "$PW_IMAGE" sleep 3600 >/dev/null
D run -d --name pwi-off -l dd.watch=false "$PW_IMAGE" sleep 3600 >/dev/null
D run --name pwi-stopped "$PW_IMAGE" true >/dev/null
D run -d --name pwi-health --health-cmd true --health-interval 1s \
    "$PW_IMAGE" sleep 3600 >/dev/null
D run -d --name pwi-env -e FOO=bar -e API_TOKEN=hunter2 -v pwi-vol:/data \
    -v /tmp:/host-tmp:ro "$PW_IMAGE" sleep 3600 >/dev/null
$PY "$top/tests/regress/miniregistry.py" "$PW_TMP/reg.port" &
reg_pid=$!
for i in $(seq 1 50); do [ -s "$PW_TMP/reg.port" ] && break; sleep 0.1; done
# An image of its own (committed), so that the test image stays local.
ref=127.0.0.1:$(cat "$PW_TMP/reg.port")/team/app:1.0
D commit -c 'LABEL org.opencontainers.image.version=1.0.7' pwi-plain "$ref" >/dev/null &&
    D push -q "$ref" >/dev/null 2>&1 &&
    D run -d --name pwi-reg "$ref" sleep 3600 >/dev/null ||
    echo "# warning: no pushed image (pwi-reg); the RepoDigests case is not covered"
listed=$(D ps -q --filter name=pwi- | wc -l)
listed=$((listed - 1)) # pwi-off is running but opted out
for i in $(seq 1 50); do
	[ "$(state_of pwi-health)" = running ] &&
	    [ "$(D inspect -f '{{.State.Health.Status}}' pwi-health)" = healthy ] && break
	sleep 0.2
done

# ---------------------------------------------------------------- 1. token
token=tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
PW_TOKEN=$token
pw_start || die "portwingd did not start"
pA=$(pw_free_port)
pB=$(pw_free_port)
check "Drydock A (through the agent, token) starts" dd_start A "$pA" \
    DD_LOCAL_WATCHER=false DD_AGENT_PW_HOST=127.0.0.1 DD_AGENT_PW_PORT="$PW_PORT" \
    DD_AGENT_PW_SECRET="$token" DD_AGENT_ALLOW_INSECURE_SECRET=true
check "Drydock B (its own docker watcher) starts" dd_start B "$pB" \
    DD_WATCHER_DOCKER_SOCKET="$DOCKER_SOCK"
check "A lists the $listed containers through the agent" wait_listed "$pA" "$listed" pw
check "B lists the same number itself" wait_listed "$pB" "$listed"
# Drydock B runs its registry lookups on its first watch; give A's the
# same time to settle before comparing.
sleep 5
curl -s "http://127.0.0.1:$pA/api/v1/containers" >"$PW_TMP/A.json"
curl -s "http://127.0.0.1:$pB/api/v1/containers" >"$PW_TMP/B.json"
tap_run $PY "$here/ddcompare.py" diff "$PW_TMP/A.json" "$PW_TMP/B.json" pw

# ---------------------------------------------------------------- 2. actions
# The reference first: Drydock's own watcher keeps a container it lists
# when the container stops (status exited); through the agent Drydock
# must know it too, or it cannot start it again.
D stop -t 0 pwi-plain >/dev/null
check "the engine stopped pwi-plain" wait_state pwi-plain exited
st_in() { curl -s "http://127.0.0.1:$1/api/v1/containers" | $PY "$here/ddcompare.py" status pwi-plain; }
for i in $(seq 1 50); do [ "$(st_in "$pB")" = exited ] && [ "$(st_in "$pA")" = exited ] && break; sleep 0.2; done
check "B (its own watcher) still lists pwi-plain, as exited" [ "$(st_in "$pB")" = exited ]
check "A (through the agent) lists pwi-plain as exited too" [ "$(st_in "$pA")" = exited ]
pid_plain=$($PY "$here/ddcompare.py" id "$PW_TMP/A.json" pwi-plain)
check "POST start of the stopped pwi-plain through A answers 200" \
    [ "$(dd_code "$pA" POST "/containers/$pid_plain/start")" = 200 ]
check "the engine started pwi-plain" wait_state pwi-plain running

aid=$($PY "$here/ddcompare.py" id "$PW_TMP/A.json" pwi-optin)
check "A knows pwi-optin" [ -n "$aid" ]
t0=$(started_of pwi-optin)
check "POST stop through A answers 200" [ "$(dd_code "$pA" POST "/containers/$aid/stop")" = 200 ]
check "the engine stopped pwi-optin" wait_state pwi-optin exited
check "POST start through A answers 200" [ "$(dd_code "$pA" POST "/containers/$aid/start")" = 200 ]
check "the engine started pwi-optin" wait_state pwi-optin running
t1=$(started_of pwi-optin)
check "POST restart through A answers 200" [ "$(dd_code "$pA" POST "/containers/$aid/restart")" = 200 ]
check "the engine restarted pwi-optin (StartedAt moved)" \
    sh -c "sleep 0.5; [ \"\$(docker -H unix://$DOCKER_SOCK inspect -f '{{.State.StartedAt}}' pwi-optin)\" != '$t1' ]"
check "StartedAt moved on start too" [ "$t0" != "$t1" ]
check "POST /containers/{id}/watch through A answers 200" \
    [ "$(dd_code "$pA" POST "/containers/$aid/watch")" = 200 ]
wait_listed "$pA" "$listed" pw
check "A still lists pwi-optin as running after the actions" sh -c \
    "curl -s http://127.0.0.1:$pA/api/v1/containers | $PY $here/ddcompare.py status pwi-optin | grep -qx running"
check "A's controller log has no 'No provider found'" \
    sh -c "! grep -q 'No provider found' $PW_TMP/dd-A.log"
dd_stop_all
pw_stop

# ---------------------------------------------------------------- 3. ed25519, TLS
# Ed25519: the controller signs each request; the agent holds only the
# public key.
kdir=$PW_TMP/keys
mkdir -p "$kdir"
"$PW_BUILD/portwing" keygen -comment drydock -out "$kdir/dd.key" >"$kdir/keygen.out" 2>&1
keyid=$(sed -n 's/^# key ID: //p' "$kdir/keygen.out")
grep '^ed25519 ' "$kdir/keygen.out" >"$kdir/authorized_keys"
chmod 600 "$kdir/authorized_keys"
check "keygen gave a key ID and a public key" [ -n "$keyid" -a -s "$kdir/authorized_keys" ]
chown portwing "$kdir/authorized_keys" 2>/dev/null
# No token at all: whatever Drydock gets through, it got by signing.
pw_start TOKEN= AUTHORIZED_KEYS="$kdir/authorized_keys" || die "portwingd (ed25519) did not start"
pA=$(pw_free_port)
check "Drydock A (Ed25519 signatures) starts" dd_start A2 "$pA" \
    DD_LOCAL_WATCHER=false DD_AGENT_PW_HOST=127.0.0.1 DD_AGENT_PW_PORT="$PW_PORT" \
    DD_AGENT_PW_AUTHMODE=ed25519 DD_AGENT_PW_SIGNINGKEYID="$keyid" \
    DD_AGENT_PW_SIGNINGKEY__FILE="$kdir/dd.key"
check "A lists the $listed containers through the signing agent" wait_listed "$pA" "$listed" pw
aid=$(curl -s "http://127.0.0.1:$pA/api/v1/containers" | $PY "$here/ddcompare.py" id - pwi-optin)
check "POST restart through A (signed) answers 200" [ "$(dd_code "$pA" POST "/containers/$aid/restart")" = 200 ]
check "the engine restarted pwi-optin" wait_state pwi-optin running
dd_stop_all
pw_stop

# TLS: a certificate for 127.0.0.1 (Drydock checks the name, so an IP
# SAN), a CA file given to Drydock.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=pwi-ca \
    -keyout "$kdir/ca.key" -out "$kdir/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
    -keyout "$kdir/tls.key" -out "$kdir/tls.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$kdir/san.ext"
openssl x509 -req -in "$kdir/tls.csr" -CA "$kdir/ca.pem" -CAkey "$kdir/ca.key" \
    -CAcreateserial -days 2 -extfile "$kdir/san.ext" -out "$kdir/tls.pem" >/dev/null 2>&1
chown portwing "$kdir/tls.key" 2>/dev/null
pw_start TLS_CERT="$kdir/tls.pem" TLS_KEY="$kdir/tls.key" || die "portwingd (TLS) did not start"
pA=$(pw_free_port)
check "Drydock A (TLS, CA file, token) starts" dd_start A3 "$pA" \
    DD_LOCAL_WATCHER=false DD_AGENT_PW_HOST=127.0.0.1 DD_AGENT_PW_PORT="$PW_PORT" \
    DD_AGENT_PW_SECRET="$token" DD_AGENT_PW_CAFILE="$kdir/ca.pem"
check "A lists the $listed containers through the agent over TLS" wait_listed "$pA" "$listed" pw
aid=$(curl -s "http://127.0.0.1:$pA/api/v1/containers" | $PY "$here/ddcompare.py" id - pwi-optin)
check "POST stop through A (TLS) answers 200" [ "$(dd_code "$pA" POST "/containers/$aid/stop")" = 200 ]
check "the engine stopped pwi-optin" wait_state pwi-optin exited
check "POST start through A (TLS) answers 200" [ "$(dd_code "$pA" POST "/containers/$aid/start")" = 200 ]
check "the engine started pwi-optin" wait_state pwi-optin running
dd_stop_all
pw_stop

# ---------------------------------------------------------------- 4. edge
# Edge mode: the agent dials Drydock E, which knows its key from
# DD_PORTWING_AUTHORIZED_KEYS; E runs its own Docker watcher and trigger
# through the session (the controller-owned transport).
"$PW_BUILD/portwing" keygen -comment edge -out "$kdir/edge.key" >"$kdir/edge.out" 2>&1
grep '^ed25519 ' "$kdir/edge.out" >"$kdir/dd_keys"
chmod 600 "$kdir/dd_keys" "$kdir/edge.key"
pE=$(pw_free_port)
pB=$(pw_free_port)
E_ENV="DD_LOCAL_WATCHER=false DD_PORTWING_AUTHORIZED_KEYS=$kdir/dd_keys DD_PORTWING_POLL_INTERVAL=10"
check "Drydock E (edge endpoint, the agent's key registered) starts" dd_start E "$pE" $E_ENV
e_pid=${dd_pids##* }
check "Drydock B (its own docker watcher) starts again, as the reference" dd_start B2 "$pB" \
    DD_WATCHER_DOCKER_SOCKET="$DOCKER_SOCK"
edge_up() {
	local i
	for i in $(seq 1 150); do
		grep -q "Edge agent connected" "$PW_TMP/dd-E.log" && return 0
		sleep 0.2
	done
	return 1
}
pw_start TOKEN= DRYDOCK_URL="http://127.0.0.1:$pE" PRIVATE_KEY_FILE="$kdir/edge.key" \
    AGENT_NAME=pw-edge RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=4 || die "portwingd (edge) did not start"
check "the agent dials E and E says the edge agent is connected" edge_up
check "  the agent logs its session" grep -q 'edge: connected to the controller' "$PW_LOG"
check "E lists the $listed containers, watched through the session" wait_listed "$pE" "$listed" pw-edge
wait_listed "$pB" "$listed"
sleep 5
curl -s "http://127.0.0.1:$pE/api/v1/containers" >"$PW_TMP/E.json"
curl -s "http://127.0.0.1:$pB/api/v1/containers" >"$PW_TMP/B2.json"
tap_run $PY "$here/ddcompare.py" diff "$PW_TMP/E.json" "$PW_TMP/B2.json" pw-edge
# Changes reach E as Docker reports them (the agent's inventory frames).
within2() {	# COUNT: E lists COUNT pwi-* containers of pw-edge within 2 s
	local i
	for i in $(seq 1 20); do
		[ "$(curl -s -m 1 "http://127.0.0.1:$pE/api/v1/containers" |
		    $PY "$here/ddcompare.py" count pw-edge)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
e_status() { curl -s -m 1 "http://127.0.0.1:$pE/api/v1/containers" | $PY "$here/ddcompare.py" status "$1"; }
D run -d --name pwi-talk "$PW_IMAGE" sh -c 'echo hello-edge; sleep 3600' >/dev/null
check "a new container shows up in E within 2 s" within2 $((listed + 1))
D stop -t 0 pwi-talk >/dev/null
ok_stop=1
for i in $(seq 1 20); do [ "$(e_status pwi-talk)" = exited ] && break; sleep 0.1; done
check "  stopped: E shows it exited within 2 s" [ "$(e_status pwi-talk)" = exited ]
D start pwi-talk >/dev/null
for i in $(seq 1 20); do [ "$(e_status pwi-talk)" = running ] && break; sleep 0.1; done
check "  started again: running within 2 s" [ "$(e_status pwi-talk)" = running ]
tid=$(curl -s "http://127.0.0.1:$pE/api/v1/containers" | $PY "$here/ddcompare.py" id - pwi-talk)
tl=$(curl -s -m 30 "http://127.0.0.1:$pE/api/v1/containers/$tid/logs?tail=10")
check "GET logs through E shows the container's output" bash -c "echo \"\$1\" | grep -q hello-edge" _ "$tl"
D rm -f pwi-talk >/dev/null
check "  removed: gone from E within 2 s" within2 "$listed"
eid=$($PY "$here/ddcompare.py" id "$PW_TMP/E.json" pwi-optin)
check "E knows pwi-optin" [ -n "$eid" ]
check "POST stop through E answers 200" [ "$(dd_code "$pE" POST "/containers/$eid/stop")" = 200 ]
check "the engine stopped pwi-optin" wait_state pwi-optin exited
check "POST start through E answers 200" [ "$(dd_code "$pE" POST "/containers/$eid/start")" = 200 ]
check "the engine started pwi-optin" wait_state pwi-optin running
t1=$(started_of pwi-optin)
check "POST restart through E answers 200" [ "$(dd_code "$pE" POST "/containers/$eid/restart")" = 200 ]
check "the engine restarted pwi-optin (StartedAt moved)" \
    sh -c "sleep 0.5; [ \"\$(docker -H unix://$DOCKER_SOCK inspect -f '{{.State.StartedAt}}' pwi-optin)\" != '$t1' ]"
lid=$($PY "$here/ddcompare.py" id "$PW_TMP/E.json" pwi-labels)
logs=$(curl -s -m 30 "http://127.0.0.1:$pE/api/v1/containers/$lid/logs?tail=10" -w '\n%{http_code}')
check "GET logs through E answers 200 (${logs##*$'\n'})" [ "${logs##*$'\n'}" = 200 ]
a=$(curl -s "$(pw_url /_portwing/audit)")
check "the agent's audit trail has E's Docker calls, as the controller's" \
    bash -c "echo \"\$1\" | $PY -c 'import json,sys; r=json.load(sys.stdin)[\"records\"]; sys.exit(0 if any(x.get(\"principal\")==\"controller\" and x[\"path\"].endswith(\"/stop\") for x in r) else 1)'" _ "$a"
# A restart of the agent: E sees it go and come back, and lists again.
pw_stop
pw_start TOKEN= DRYDOCK_URL="http://127.0.0.1:$pE" PRIVATE_KEY_FILE="$kdir/edge.key" \
    AGENT_NAME=pw-edge RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=4 || die "portwingd (edge) did not restart"
for i in $(seq 1 150); do
	[ "$(grep -c 'Edge agent connected' "$PW_TMP/dd-E.log")" -ge 2 ] && break
	sleep 0.2
done
check "after a restart of the agent E sees it connected again" \
    [ "$(grep -c 'Edge agent connected' "$PW_TMP/dd-E.log")" -ge 2 ]
check "  and lists the $listed containers" wait_listed "$pE" "$listed" pw-edge
# Drydock killed and started again on the same store: the agent comes
# back by itself (its backoff is at most MAX_RECONNECT_DELAY=4 s).
kill -9 "$e_pid"
wait "$e_pid" 2>/dev/null
dd_pids=${dd_pids/ $e_pid/}
mv "$PW_TMP/dd-E.log" "$PW_TMP/dd-E.1.log"
check "Drydock E starts again after kill -9, on the same store" dd_start E "$pE" $E_ENV
check "  the agent reconnects by itself" edge_up
check "  and E lists the $listed containers again" wait_listed "$pE" "$listed" pw-edge
# An agent whose key E does not know: refused, and told so once.
pw_stop
"$PW_BUILD/portwing" keygen -comment stranger -out "$kdir/stranger.key" >/dev/null 2>&1
chmod 600 "$kdir/stranger.key"
pw_start TOKEN= DRYDOCK_URL="http://127.0.0.1:$pE" PRIVATE_KEY_FILE="$kdir/stranger.key" \
    AGENT_NAME=pw-stranger RECONNECT_DELAY=1 MAX_RECONNECT_DELAY=60 || die "portwingd (stranger) did not start"
for i in $(seq 1 50); do grep -q 'refused this agent' "$PW_LOG" && break; sleep 0.2; done
check "an unregistered key: E refuses it with unknown-key, and the agent says so" \
    grep -q 'refused this agent: unknown-key' "$PW_LOG"
dd_stop_all
pw_stop

pw_done
