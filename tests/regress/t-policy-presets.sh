#!/bin/bash
# t-policy-presets.sh: the bundled presets.  Every route each preset of
# the reference's table allows is allowed, and a sample of others denied
# (`portwing policy test`, the engine portwingd runs); then the docker
# CLI and docker-compose through portwingd with the portwing-with-compose
# preset (what it admits works as against the socket, what it does not
# is refused with sockguard's status and message), and the readonly
# preset refusing every write the CLI makes.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$here
cleanup() {
	pw_stop
	pw_docker_direct rm -f pwp-web pwp-ro >/dev/null 2>&1
	pw_docker_direct network rm pwp-net >/dev/null 2>&1
	pw_docker_direct volume rm pwp-vol >/dev/null 2>&1
	(cd "$PW_TMP/compose" 2>/dev/null && DOCKER_HOST=unix://$DOCKER_SOCK \
	    docker-compose -p pwpc down >/dev/null 2>&1)
}
trap cleanup EXIT

tap_run python3 "$here/presets.py" "$PW_BUILD/portwing"
for f in "$here"/../../policy/presets/*.yaml; do
	n=$(basename "$f" .yaml)
	check "preset file $n.yaml passes portwing policy check" \
	    "$PW_BUILD/portwing" policy check "$f"
done

DENIED="request denied by sockguard policy"
pw_start POLICY=portwing-with-compose || { fail "portwingd starts with POLICY=portwing-with-compose"; exit 1; }
P() { pw_docker "$@"; }
D() { pw_docker_direct "$@"; }
same() {
	local desc=$1; shift
	local a b
	a=$(P "$@" 2>&1); b=$(D "$@" 2>&1)
	if [ "$a" = "$b" ] && [ -n "$a" ]; then ok "$desc"; else
		fail "$desc: via portwing '$a' vs direct '$b'"; fi
}
refused() {
	local desc=$1; shift
	local out
	out=$(P "$@" 2>&1)
	if echo "$out" | grep -q "$DENIED"; then ok "$desc: refused"; else
		fail "$desc: want '$DENIED', got '$out'"; fi
}
same "version" version --format '{{.Server.Version}} {{.Server.APIVersion}}'
same "info" info --format '{{.ID}} {{.Name}}'
check "run -d (create, start)" bash -c "$(declare -f pw_docker P); PW_TMP=$PW_TMP PW_PORT=$PW_PORT PW_TOKEN=$PW_TOKEN; P run -d --name pwp-web $PW_IMAGE sh -c 'echo hello-preset; sleep 300' >/dev/null"
same "ps" ps -a --filter name=pwp-web --format '{{.Names}} {{.Image}}'
same "inspect" inspect -f '{{.Name}} {{.State.Running}}' pwp-web
sleep 0.5
same "logs" logs pwp-web
refused "exec (not in the preset)" exec pwp-web true
refused "cp out of a container (archive)" cp pwp-web:/bin/sh "$PW_TMP/sh"
check "restart" bash -c "$(declare -f pw_docker P); PW_TMP=$PW_TMP PW_PORT=$PW_PORT PW_TOKEN=$PW_TOKEN; P restart -t 1 pwp-web >/dev/null"
check "network create, connect, disconnect, rm" bash -c "$(declare -f pw_docker P); PW_TMP=$PW_TMP PW_PORT=$PW_PORT PW_TOKEN=$PW_TOKEN; P network create pwp-net >/dev/null && P network connect pwp-net pwp-web && P network disconnect pwp-net pwp-web && P network rm pwp-net >/dev/null"
check "volume create, rm" bash -c "$(declare -f pw_docker P); PW_TMP=$PW_TMP PW_PORT=$PW_PORT PW_TOKEN=$PW_TOKEN; P volume create pwp-vol >/dev/null && P volume rm pwp-vol >/dev/null"
refused "a privileged create (body inspection)" run -d --privileged --name pwp-priv "$PW_IMAGE" true
refused "a bind of / (body inspection)" run -d -v /:/host --name pwp-bind "$PW_IMAGE" true
check "rm -f" bash -c "$(declare -f pw_docker P); PW_TMP=$PW_TMP PW_PORT=$PW_PORT PW_TOKEN=$PW_TOKEN; P rm -f pwp-web >/dev/null && ! docker -H unix://$DOCKER_SOCK inspect pwp-web >/dev/null 2>&1"

mkdir -p "$PW_TMP/compose"
cat >"$PW_TMP/compose/docker-compose.yml" <<YML
version: "2.4"
services:
  web:
    image: $PW_IMAGE
    command: ["sh", "-c", "sleep 300"]
  worker:
    image: $PW_IMAGE
    command: ["sh", "-c", "sleep 300"]
    volumes: ["data:/data"]
volumes:
  data: {}
YML
comp() { (cd "$PW_TMP/compose" && DOCKER_CONFIG=$PW_TMP/dockercfg DOCKER_HOST=tcp://127.0.0.1:$PW_PORT \
    timeout 120 docker-compose -p pwpc "$@"); }
comp up -d >"$PW_TMP/compose.out" 2>&1
check "docker-compose up -d through the preset: two services running" \
    [ "$(D ps --filter label=com.docker.compose.project=pwpc --format '{{.Names}}' | sort | tr '\n' ' ')" = "pwpc_web_1 pwpc_worker_1 " ]
out=$(comp ps 2>&1)
check "docker-compose ps" bash -c "echo \"\$1\" | grep -q 'pwpc_web_1.*Up'" _ "$out"
comp down -v >>"$PW_TMP/compose.out" 2>&1
check "docker-compose down -v" [ -z "$(D ps -a --filter label=com.docker.compose.project=pwpc -q)" ]
sed 's/^/# /' "$PW_TMP/compose.out" | tail -5
pw_stop

# readonly: reads work, every write the CLI makes is refused.
D run -d --name pwp-ro "$PW_IMAGE" sleep 300 >/dev/null
pw_start POLICY=readonly || { fail "portwingd starts with POLICY=readonly"; exit 1; }
same "readonly: ps" ps -a --filter name=pwp-ro --format '{{.Names}}'
same "readonly: inspect" inspect -f '{{.Name}}' pwp-ro
refused "readonly: run" run -d "$PW_IMAGE" true
refused "readonly: create" create "$PW_IMAGE" true
refused "readonly: stop" stop pwp-ro
refused "readonly: kill" kill pwp-ro
refused "readonly: rm" rm -f pwp-ro
refused "readonly: rename" rename pwp-ro pwp-ro2
refused "readonly: exec" exec pwp-ro true
refused "readonly: network create" network create pwp-net
refused "readonly: volume create" volume create pwp-vol
refused "readonly: pull" pull pwtest-none:latest
refused "readonly: tag" tag "$PW_IMAGE" pwp-tag
refused "readonly: rmi" rmi "$PW_IMAGE"
code=$(pw_curl -o "$PW_TMP/b" -w '%{http_code}' -X POST "$(pw_url /containers/pwp-ro/stop)")
check "readonly: the refusal is 403 with sockguard's body ($(cat "$PW_TMP/b"))" \
    bash -c "[ '$code' = 403 ] && [ \"\$(cat '$PW_TMP/b')\" = '{\"message\":\"request denied by sockguard policy\"}' ]"
check "readonly: pwp-ro still running" [ "$(D inspect -f '{{.State.Running}}' pwp-ro)" = true ]
pw_done
