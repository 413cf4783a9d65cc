#!/bin/bash
# t-config.sh: start-up refusals, the KEY=value file, -n, check-config,
# worker count, and behaviour when Docker is unreachable.
. "$(dirname "$0")/lib.sh"
trap pw_stop EXIT
d=$PW_TMP
run() { env -i PATH="$PATH" HOME=/root "$@" 2>&1; }
port=$(pw_free_port)

out=$(run PORT=$port DOCKER_SOCKET="$DOCKER_SOCK" "$PW_BUILD/portwingd"); rc=$?
check "no credential: refuses to start (rc=$rc)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'no credential configured'" _ "$out"
out=$(run PORT=$port ALLOW_UNAUTHENTICATED=true DOCKER_SOCKET="$DOCKER_SOCK" "$PW_BUILD/portwingd"); rc=$?
check "unauthenticated on 0.0.0.0 needs the REMOTE opt-in (rc=$rc)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q ALLOW_UNAUTHENTICATED_REMOTE" _ "$out"
out=$(run PORT=abc TOKEN=x "$PW_BUILD/portwingd"); rc=$?
check "bad PORT is a clear error (rc=$rc)" bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'PORT=\"abc\"'" _ "$out"
for bad in DD_POLL_INTERVAL=0 DD_POLL_INTERVAL=-5 DD_POLL_INTERVAL=abc \
    ADAPTER=sockguard SSE_QUEUE_LIMIT=100 AUDIT_BUFFER_SIZE=abc \
    METRICS_INTERVAL=0 METRICS_INTERVAL=x SKIP_DF_COLLECTION=maybe; do
	out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" "$bad" "$PW_BUILD/portwingd" -n); rc=$?
	check "$bad is a start-up error naming the setting (rc=$rc)" \
	    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q '${bad%%=*}=\"${bad#*=}\"'" _ "$out"
done
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" DD_POLL_INTERVAL=30 ADAPTER=drydock "$PW_BUILD/portwingd" -n); rc=$?
check "DD_POLL_INTERVAL=30 ADAPTER=drydock are accepted (rc=$rc)" [ $rc = 0 ]
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" ADAPTER=Generic "$PW_BUILD/portwingd" -n); rc=$?
check "ADAPTER=Generic is accepted, in any case (rc=$rc)" [ $rc = 0 ]
out=$(run TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" ADAPTER=dockeragent LISTEN_ADDR=127.0.0.1:$port DOCKER_API_VERSION=1.44 "$PW_BUILD/portwingd" -n); rc=$?
check "ADAPTER=dockeragent with LISTEN_ADDR and DOCKER_API_VERSION is accepted (rc=$rc)" [ $rc = 0 ]
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" LISTEN_ADDR=:$port "$PW_BUILD/portwingd" -n); rc=$?
check "LISTEN_ADDR with PORT is refused, naming both (rc=$rc)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'LISTEN_ADDR.*PORT'" _ "$out"
for bad in LISTEN_ADDR=nocolon DOCKER_API_VERSION=abc DOCKER_API_VERSION=2.0; do
	out=$(run TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" "$bad" "$PW_BUILD/portwingd" -n); rc=$?
	check "$bad is a start-up error naming the setting (rc=$rc)" \
	    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q '${bad%%=*}=\"${bad#*=}\"'" _ "$out"
done
openssl genpkey -algorithm ed25519 -out "$PW_TMP/edge.pem" 2>/dev/null && chmod 600 "$PW_TMP/edge.pem"
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" ADAPTER=generic DRYDOCK_URL=ws://127.0.0.1:9/ PRIVATE_KEY_FILE="$PW_TMP/edge.pem" "$PW_BUILD/portwingd" -n); rc=$?
check "ADAPTER=generic in edge mode is refused, naming both (rc=$rc)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'ADAPTER=generic.*DRYDOCK_URL'" _ "$out"

# Unauthenticated on loopback: allowed, warned, open.
PW_TOKEN=unused pw_start TOKEN= ALLOW_UNAUTHENTICATED=true || fail "unauthenticated loopback start"
check "unauthenticated mode warns at start" grep -q 'ALLOW_UNAUTHENTICATED is set' "$PW_LOG"
check "unauthenticated mode serves without a token" [ "$(curl -s "$(pw_url /_ping)")" = OK ]
pw_stop

# -n checks the configuration and exits.
out=$(run TOKEN=x DOCKER_SOCKET=/run/x.sock "$PW_BUILD/portwingd" -n); rc=$?
check "portwingd -n: configuration OK (rc=$rc)" bash -c "[ $rc = 0 ] && [ \"\$1\" = 'configuration OK' ]" _ "$out"
out=$(run TOKEN=s3cr3t-value DOCKER_SOCKET=/run/x.sock "$PW_BUILD/portwingd" -nv)
check "portwingd -nv prints the settings with secrets redacted" \
    bash -c "echo \"\$1\" | grep -q '^TOKEN=(redacted)' && ! echo \"\$1\" | grep -q s3cr3t-value && echo \"\$1\" | grep -q 'DOCKER_SOCKET=/run/x.sock'" _ "$out"

# The file: KEY=value lines, -f, the environment on top.
cat >"$d/pw.conf" <<CONF
# portwing test configuration
PORT=$port
TOKEN="file-token"
WORKERS=3
DOCKER_SOCKET=$DOCKER_SOCK
CONF
out=$(run "$PW_BUILD/portwing" check-config -f "$d/pw.conf"); rc=$?
check "check-config accepts the file (rc=$rc)" [ $rc = 0 ]
printf 'PORT=1\nNOT_A_SETTING=1\n' >"$d/bad.conf"
out=$(run "$PW_BUILD/portwing" check-config -f "$d/bad.conf"); rc=$?
check "check-config names file:line of an unknown setting (rc=$rc)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'bad.conf:2: unknown setting \"NOT_A_SETTING\"'" _ "$out"
out=$(run "$PW_BUILD/portwing" check-config -f /nonexistent.conf); rc=$?
check "check-config: a named file must exist (rc=$rc)" [ $rc = 1 ]
check "portwing version" [ "$(run "$PW_BUILD/portwing" version)" = "$(grep -o 'AC_INIT(\[portwing\], \[[^]]*' "$PW_BUILD/../configure.ac" | sed 's/.*\[//')" ]

PW_PORT=$port
env -i PATH="$PATH" HOME=/root "$PW_BUILD/portwingd" -f "$d/pw.conf" >>"$d/f.log" 2>&1 &
PW_PID=$!; PW_LOG=$d/f.log
for i in $(seq 1 60); do grep -q 'info: ready' "$d/f.log" && break; sleep 0.05; done
check "settings come from the -f file (3 workers)" [ "$(pw_children worker | wc -l)" = 3 ]
check "token from the file works" [ "$(curl -s -H 'Authorization: Bearer file-token' "$(pw_url /_ping)")" = OK ]
pw_stop
env -i PATH="$PATH" HOME=/root WORKERS=1 TOKEN=env-token "$PW_BUILD/portwingd" -f "$d/pw.conf" >>"$d/g.log" 2>&1 &
PW_PID=$!
for i in $(seq 1 60); do grep -q 'info: ready' "$d/g.log" && break; sleep 0.05; done
check "the environment wins over the file (1 worker)" [ "$(pw_children worker | wc -l)" = 1 ]
check "environment token wins" [ "$(curl -s -H 'Authorization: Bearer env-token' "$(pw_url /_ping)")" = OK ]
pw_stop

# Compose settings: checked at start, by portwingd -n and check-config
# alike, naming the setting and where it came from.
for kv in "STACKS_DIR=stacks|STACKS_DIR=\"stacks\" (env): must be an absolute" \
    "COMPOSE_TIMEOUT=5|COMPOSE_TIMEOUT (env) without STACKS_DIR" \
    "STACKS_DIR=/tmp/pwc-$$ COMPOSE_TIMEOUT=0|COMPOSE_TIMEOUT=\"0\" (env): seconds, 1 to 86400" \
    "STACKS_DIR=/tmp/pwc-$$ COMPOSE_COMMAND=podman-compose|COMPOSE_COMMAND=\"podman-compose\" (env): docker-compose or" \
    "STACKS_DIR=/tmp/pwc-$$ DRYDOCK_URL=https://d.example PRIVATE_KEY_FILE=/nonexistent|compose is served in standard mode only"; do
	set -- ${kv%%|*}
	want=${kv#*|}
	out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" "$@" "$PW_BUILD/portwingd" -n); rc=$?
	out2=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" "$@" "$PW_BUILD/portwing" check-config); rc2=$?
	check "$*: portwingd -n and check-config refuse it ($rc, $rc2)" \
	    bash -c "[ $rc = 1 ] && [ $rc2 = 1 ] && echo \"\$1\" | grep -qF -- \"\$3\" && [ \"\${1#portwingd: }\" = \"\${2#portwing: }\" ]" _ "$out" "$out2" "$want"
done
# The edge-mode configuration of Portwing's README without its key: the
# controller admits no such agent, so nothing starts and no port opens
# (edge mode's own settings: t-edge.sh).
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" DRYDOCK_URL=https://drydock.example.com timeout 3 "$PW_BUILD/portwingd"); rc=$?
check "DRYDOCK_URL with TOKEN and no PRIVATE_KEY_FILE: portwingd exits 1 without listening (rc=$rc)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'needs PRIVATE_KEY_FILE' && ! echo \"\$1\" | grep -q ready" _ "$out"
check "  and nothing listens on the port" bash -c "! curl -s -m 1 http://127.0.0.1:$port/_ping >/dev/null"
# Empty values select nothing (Portwing: edge mode needs a non-empty URL).
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" DRYDOCK_URL= "$PW_BUILD/portwingd" -n); rc=$?
check "an empty DRYDOCK_URL is accepted (rc=$rc)" [ $rc = 0 ]
# FORCE_COLOR changes nothing here: ignored from the environment, where
# shells and CI export it, refused in portwing's own file.
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" FORCE_COLOR=1 "$PW_BUILD/portwingd" -n); rc=$?
check "FORCE_COLOR in the environment is accepted (rc=$rc)" [ $rc = 0 ]
printf 'TOKEN=x\nFORCE_COLOR=1\n' >"$d/color.conf"
out=$(run "$PW_BUILD/portwing" check-config -f "$d/color.conf"); rc=$?
check "FORCE_COLOR in the file is refused by name (rc=$rc)" \
    bash -c "[ $rc = 1 ] && echo \"\$1\" | grep -q 'color.conf:2: FORCE_COLOR'" _ "$out"
# portwing with no arguments points a Portwing user at portwingd.
out=$(run "$PW_BUILD/portwing"); rc=$?
check "portwing with no arguments says the agent is portwingd (rc=$rc)" \
    bash -c "[ $rc = 2 ] && echo \"\$1\" | grep -q 'the agent is portwingd'" _ "$out"

# AUDIT_BUFFER_SIZE <= 0 turns the ring off, as in the reference.
out=$(run PORT=$port TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" AUDIT_BUFFER_SIZE=-1 "$PW_BUILD/portwingd" -n); rc=$?
check "AUDIT_BUFFER_SIZE=-1 is accepted (the ring is off) (rc=$rc)" [ $rc = 0 ]

# The banner: on a terminal the logo and the version/mode/adapter line,
# elsewhere one log line.  NO_COLOR drops the escapes.
bport=$(pw_free_port)
out=$(run PORT=$bport BIND_ADDRESS=127.0.0.1 TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" timeout -s INT 2 "$PW_BUILD/portwingd")
check "not a terminal: one 'starting' log line, no logo" bash -c "echo \"\$1\" | grep -q 'master: info: portwingd .* starting: standard mode, drydock adapter' && ! echo \"\$1\" | grep -q 'p o r t w i n g'" _ "$out"
out=$(run PORT=$bport BIND_ADDRESS=127.0.0.1 TOKEN=x DOCKER_SOCKET="$DOCKER_SOCK" script -qec "timeout -s INT 2 $PW_BUILD/portwingd" /dev/null)
check "a terminal: the logo and 'portwing VERSION · standard mode · drydock adapter', coloured" bash -c "echo \"\$1\" | grep -q 'p o r t w i n g' && echo \"\$1\" | grep -q 'standard mode  ·  drydock adapter' && echo \"\$1\" | grep -q \$'\\033\\['" _ "$out"
out=$(run PORT=$bport BIND_ADDRESS=127.0.0.1 TOKEN=x NO_COLOR=1 DOCKER_SOCKET="$DOCKER_SOCK" script -qec "timeout -s INT 2 $PW_BUILD/portwingd" /dev/null)
check "NO_COLOR: the banner without colour escapes" bash -c "echo \"\$1\" | grep -q 'p o r t w i n g' && ! echo \"\$1\" | grep -q \$'\\033\\[3'" _ "$out"

# Docker unreachable: the agent runs, says so, and fails fast.
pw_start DOCKER_SOCKET=/nonexistent/docker.sock || fail "starts without Docker"
body=$(curl -s -w ' %{http_code}' "$(pw_url /_portwing/health)" | tr -d '\n')
check "readiness 503 when Docker is unreachable ($body)" bash -c "echo '$body' | grep -q '\"docker\":\"disconnected\".* 503$'"
t0=$(date +%s%N)
body=$(pw_curl -w ' %{http_code}' "$(pw_url /containers/json)" | tr -d '\n')
t1=$(date +%s%N)
check "Docker call gets a 502 JSON error ($body)" bash -c "echo '$body' | grep -q '^{\"message\":\"Cannot connect to the Docker daemon.* 502$'"
check "and fast, not a hang ($(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]
pw_stop

# Docker appears after the agent: the inventory is built then, and until
# it exists /api/containers says 503 rather than answering an empty list.
late=$d/late/docker.sock
mkdir -p "$d/late"
pw_start DOCKER_SOCKET="$late" REQUEST_TIMEOUT=1 || fail "starts without Docker"
body=$(pw_curl -w ' %{http_code}' "$(pw_url /api/containers)" | tr -d '\n')
check "/api/containers before any inventory: 503, not an empty list ($body)" \
    bash -c "echo '$body' | grep -q 'inventory not ready.* 503$'"
ln -s "$DOCKER_SOCK" "$late"
code=000
for i in $(seq 1 150); do
	code=$(pw_curl -o /dev/null -w '%{http_code}' "$(pw_url /api/containers)")
	[ "$code" = 200 ] && break
	sleep 0.1
done
check "Docker reachable later: the inventory is built within 15 s ($code after $((i / 10)) s)" [ "$code" = 200 ]
pw_done
