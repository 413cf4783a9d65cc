#!/bin/bash
# t-proxy-cli.sh: the docker CLI (and docker-compose v1) through portwing
# gives the same result as against the Docker socket directly.
. "$(dirname "$0")/lib.sh"
trap 'pw_stop; pw_docker_direct rm -f pwc-loop pwc-cat pwc-att1 pwc-att2 pwc-logs >/dev/null 2>&1' EXIT
pw_start || { fail "portwingd starts"; exit 1; }
P() { pw_docker "$@"; }
D() { pw_docker_direct "$@"; }
same() {
	local desc=$1; shift
	local a b
	a=$(P "$@" 2>&1); b=$(D "$@" 2>&1)
	if [ "$a" = "$b" ] && [ -n "$a" ]; then ok "$desc"; else
		fail "$desc: via portwing '$a' vs direct '$b'"; fi
}

same "version" version --format '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}'
same "info" info --format '{{.ID}} {{.Name}} {{.Images}}'
P run -d --name pwc-loop "$PW_IMAGE" sh -c 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.2; done' >/dev/null
same "ps -a" ps -a --format '{{.ID}} {{.Names}} {{.Image}} {{.Command}}'
check "run --rm IMG echo hi" [ "$(P run --rm "$PW_IMAGE" echo hi)" = hi ]
check "run -d left a running container" [ "$(D inspect -f '{{.State.Running}}' pwc-loop)" = true ]
check "exec without -i (half-close) prints its output" [ "$(P exec pwc-loop echo hi)" = hi ]
out=$(P exec pwc-loop sh -c 'sleep 0.5; echo late')
check "exec without -i: output after the client closed its side" [ "$out" = late ]
out=$(head -c 300000 /dev/urandom | base64 -w 76 | tee "$PW_TMP/in.txt" | P exec -i pwc-loop cat | sha256sum)
check "exec -i C cat fed from stdin (300 kB)" [ "$out" = "$(sha256sum <"$PW_TMP/in.txt")" ]
out=$(DOCKER_CONFIG=$PW_TMP/dockercfg timeout 20 script -qfec \
    "docker -H tcp://127.0.0.1:$PW_PORT exec -it pwc-loop sh -c 'tty; echo tty-ok'" /dev/null </dev/null | tr -d '\r')
# Not anchored: the container's tty echoes whatever control bytes reach
# the CLI's stdin from the runner (seen once: a NUL echoed as ^@).
check "exec -it through a pty ($(echo $out | tr '\n' ' '))" bash -c "echo \"\$1\" | grep -q '/dev/pts/[0-9]' && echo \"\$1\" | grep -q tty-ok" _ "$out"
out=$(printf 'echo pty-driven-$((6*7))\nexit\n' | DOCKER_CONFIG=$PW_TMP/dockercfg timeout 20 \
    script -qfec "docker -H tcp://127.0.0.1:$PW_PORT exec -it pwc-loop sh" /dev/null | tr -d '\r')
check "exec -it C sh driven through a pty" bash -c "echo \"\$1\" | grep -q 'pty-driven-42'" _ "$out"

# attach: output of a container started just before (timeout cannot run
# shell functions, so the two commands are spelled out).
PCLI="env DOCKER_CONFIG=$PW_TMP/dockercfg docker -H tcp://127.0.0.1:$PW_PORT"
DCLI="docker -H unix://$DOCKER_SOCK"
for who in portwing socket; do
	n=pwc-att1; cli=$PCLI
	[ $who = socket ] && { n=pwc-att2; cli=$DCLI; }
	D run -d --name $n "$PW_IMAGE" sh -c 'sleep 1; echo attach-marker; sleep 1' >/dev/null
	out=$(timeout 10 $cli attach $n 2>&1)
	check "attach via $who sees the output" [ "$out" = attach-marker ]
done
D run -d -i --name pwc-cat "$PW_IMAGE" cat >/dev/null
out=$( (echo attach-stdin; sleep 1) | timeout -s KILL 5 $PCLI attach pwc-cat 2>/dev/null | head -1)
check "attach relays stdin and output" [ "$out" = attach-stdin ]

# logs, and logs -f with lines arriving while the container writes.
D run --name pwc-logs "$PW_IMAGE" sh -c 'for i in 1 2 3; do echo out $i; echo err $i >&2; done' >/dev/null 2>&1
same "logs (stdout and stderr)" logs pwc-logs
ms=$(python3 - "$PW_PORT" "$PW_TMP/dockercfg" <<'PY'
import os, subprocess, sys, time
env = dict(os.environ, DOCKER_CONFIG=sys.argv[2])
t = time.time()
p = subprocess.Popen(["docker", "-H", "tcp://127.0.0.1:" + sys.argv[1], "logs", "-f", "--tail", "0", "pwc-loop"],
                     stdout=subprocess.PIPE, env=env)
line = p.stdout.readline()
first = time.time() - t
line2 = p.stdout.readline()
p.kill()
print(int(first * 1000) if line.startswith(b"tick") and line2.startswith(b"tick") else -1)
PY
)
check "logs -f: first new line within 1 s (${ms} ms), and more follow" bash -c "[ $ms -ge 0 ] && [ $ms -lt 1000 ]"

# events: one client listens, another starts a container.
P events --filter type=container --filter event=start --format '{{.Actor.Attributes.name}}' >"$PW_TMP/ev" 2>&1 &
evp=$!
sleep 0.7
D run --rm --name pwc-evt "$PW_IMAGE" true
for i in $(seq 1 20); do grep -q pwc-evt "$PW_TMP/ev" && break; sleep 0.1; done
kill $evp 2>/dev/null; wait $evp 2>/dev/null
check "events: a start by another client arrives" grep -q '^pwc-evt$' "$PW_TMP/ev"
same "stats --no-stream" stats --no-stream --format '{{.Name}} {{.ID}}' pwc-loop

# cp 200 MiB in and out, with the proxy's and workers' peak memory.
head -c $((200 * 1024 * 1024)) /dev/urandom >"$PW_TMP/big"
P cp "$PW_TMP/big" pwc-loop:/tmp/big
P cp pwc-loop:/tmp/big "$PW_TMP/big.out"
check "cp 200 MiB in and out: checksums equal" [ "$(sha256sum <"$PW_TMP/big")" = "$(sha256sum <"$PW_TMP/big.out")" ]
check "cp in really landed (size inside the container)" [ "$(D exec pwc-loop stat -c %s /tmp/big)" = $((200 * 1024 * 1024)) ]
for p in $(pw_children proxy) $(pw_children worker); do
	hwm=$(awk '$1 == "VmHWM:" {print $2}' /proc/$p/status)
	pw_sanitized && { skip "peak RSS (${hwm} kB): sanitizer build"; continue; }
	check "peak RSS of $(tr '\0' ' ' </proc/$p/cmdline | sed 's/ *$//') under 24 MiB (${hwm} kB)" [ "$hwm" -lt $((24 * 1024)) ]
done
rm -f "$PW_TMP/big" "$PW_TMP/big.out"

# build with a 50 MiB context (classic builder: one streamed POST /build).
mkdir -p "$PW_TMP/ctx"
head -c $((50 * 1024 * 1024)) /dev/urandom >"$PW_TMP/ctx/blob"
printf 'FROM %s\nCOPY blob /blob\nRUN sha256sum /blob | cut -d" " -f1 >/sum\n' "$PW_IMAGE" >"$PW_TMP/ctx/Dockerfile"
DOCKER_BUILDKIT=0 P build -q -t pwtest-built "$PW_TMP/ctx" >/dev/null 2>&1
check "build with a 50 MiB context" [ "$(D run --rm pwtest-built cat /sum)" = "$(sha256sum <"$PW_TMP/ctx/blob" | cut -d' ' -f1)" ]
rm -rf "$PW_TMP/ctx"

# save and load.
P save -o "$PW_TMP/img.tar" pwtest-built
D save -o "$PW_TMP/img-direct.tar" pwtest-built
check "save: same archive as direct" cmp -s "$PW_TMP/img.tar" "$PW_TMP/img-direct.tar"
D rmi pwtest-built >/dev/null
out=$(P load -i "$PW_TMP/img.tar" 2>&1)
check "load ($out)" bash -c "$DCLI image inspect pwtest-built >/dev/null"
D rmi pwtest-built >/dev/null; rm -f "$PW_TMP"/img*.tar

check "rm -f" bash -c "$PCLI rm -f pwc-loop pwc-cat pwc-att1 pwc-att2 pwc-logs >/dev/null && ! $DCLI inspect pwc-loop >/dev/null 2>&1"
check "network create" bash -c "$PCLI network create pwc-net >/dev/null"
same "network ls shows it" network ls --filter name=pwc-net --format '{{.Name}} {{.Driver}}'
check "network rm" bash -c "$PCLI network rm pwc-net >/dev/null"
check "volume create" bash -c "$PCLI volume create pwc-vol >/dev/null"
same "volume ls shows it" volume ls --filter name=pwc-vol --format '{{.Name}} {{.Driver}}'
check "volume rm" bash -c "$PCLI volume rm pwc-vol >/dev/null"

# docker-compose (v1) on a two-service file.
mkdir -p "$PW_TMP/compose"
cat >"$PW_TMP/compose/docker-compose.yml" <<YML
version: "2.4"
services:
  web:
    image: $PW_IMAGE
    command: ["sh", "-c", "while :; do sleep 1; done"]
    network_mode: none
  worker:
    image: $PW_IMAGE
    command: ["sh", "-c", "while :; do sleep 1; done"]
    network_mode: none
YML
comp() { (cd "$PW_TMP/compose" && DOCKER_CONFIG=$PW_TMP/dockercfg DOCKER_HOST=tcp://127.0.0.1:$PW_PORT \
    timeout 120 docker-compose -p pwcomp "$@"); }
comp up -d >"$PW_TMP/compose.out" 2>&1
check "docker-compose up -d: two services running" [ "$(D ps --filter label=com.docker.compose.project=pwcomp --format '{{.Names}}' | sort | tr '\n' ' ')" = "pwcomp_web_1 pwcomp_worker_1 " ]
out=$(comp ps 2>&1)
check "docker-compose ps lists both" bash -c "echo \"\$1\" | grep -q 'pwcomp_web_1.*Up' && echo \"\$1\" | grep -q 'pwcomp_worker_1.*Up'" _ "$out"
comp down >>"$PW_TMP/compose.out" 2>&1
check "docker-compose down removed them" [ -z "$(D ps -a --filter label=com.docker.compose.project=pwcomp -q)" ]
check "no worker or proxy died" bash -c "! grep -q 'killed by signal\|exited with status' '$PW_LOG'"
pw_done
