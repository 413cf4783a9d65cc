#!/bin/bash
# image.sh: make image, then the image run against the test dockerd's
# socket with the options README's "Running in a container" documents
# (read-only, cap-drop ALL plus the five capabilities, no-new-privileges,
# the token as a mounted secret).  Asserts /health, the docker CLI
# through it, the HEALTHCHECK, and from the host, through the container's
# PIDs, that every child is chrooted, unprivileged and under seccomp.
# Then the same without CAP_KILL, to show that capability is needed.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/../regress/lib.sh"
. "$here/lib.sh"

D() { docker -H "unix://$DOCKER_SOCK" "$@"; }
NAME=pw-imgtest-$$
cleanup() {
	D rm -f "$NAME" >/dev/null 2>&1
	[ -n "${PKG_KEEP:-}" ] || rm -rf "$PW_TMP"
}
trap cleanup EXIT

pw_dockerd_start || { fail "test dockerd starts"; exit 1; }
t0=$(date +%s)
DOCKER_HOST=unix://$DOCKER_SOCK IMAGE_SAVE=no "$top/contrib/image/build.sh" \
    >"$PW_TMP/build.log" 2>&1
rc=$?
sed 's/^/# /' "$PW_TMP/build.log" | grep -v DEPRECATED
echo "# time: make image $(($(date +%s) - t0)) s"
check "make image (rc $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || exit 1
ep=$(D image inspect -f '{{json .Config.Entrypoint}}' portwing:latest)
check "entrypoint is portwingd ($ep)" [ "$ep" = '["/usr/sbin/portwingd"]' ]
hc=$(D image inspect -f '{{json .Config.Healthcheck.Test}}' portwing:latest)
check "the image has a HEALTHCHECK on /health" grep -q /health <<<"$hc"
check "the image carries no token file" \
    [ -z "$(D run --rm --entrypoint /bin/sh portwing:latest -c 'ls /etc/portwing/token 2>/dev/null')" ]

PW_PORT=$(pw_free_port)
PW_TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077; echo "$PW_TOKEN" >"$PW_TMP/portwing_token")
CAPS="SYS_CHROOT SETUID SETGID SETPCAP KILL"
run() {	# run CAP...: the documented options with these capabilities
	local c a=()
	for c in "$@"; do a+=(--cap-add "$c"); done
	D rm -f "$NAME" >/dev/null 2>&1
	D run -d --name "$NAME" --network host --read-only --tmpfs /tmp \
	    --cap-drop ALL "${a[@]}" --security-opt no-new-privileges \
	    --health-interval 1s --health-start-period 5s \
	    -v "$DOCKER_SOCK:/var/run/docker.sock" \
	    -v "$PW_TMP/portwing_token:/run/secrets/portwing_token:ro" \
	    -e TOKEN_FILE=/run/secrets/portwing_token \
	    -e PORT="$PW_PORT" -e BIND_ADDRESS=127.0.0.1 portwing:latest >/dev/null
}
health() { curl -s -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PW_PORT/health"; }
wait_health() {
	for _ in $(seq 1 100); do
		[ "$(health)" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

run $CAPS || { fail "the image runs"; exit 1; }
check "/health answers 200" wait_health
check "/_ping without the token: 401" \
    [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PW_PORT/_ping")" = 401 ]
v=$(pw_docker version --format '{{.Server.Version}}' 2>&1)
check "docker version through the container ($v)" \
    [ "$v" = "$(D version --format '{{.Server.Version}}')" ]
n=$(pw_docker ps -q --no-trunc | grep -c "$(D inspect -f '{{.Id}}' "$NAME")")
check "docker ps through it lists the agent's own container" [ "$n" = 1 ]
st=
for _ in $(seq 1 50); do
	st=$(D inspect -f '{{.State.Health.Status}}' "$NAME")
	[ "$st" = healthy ] && break
	sleep 0.2
done
check "docker reports the container healthy ($st)" [ "$st" = healthy ]

# The process table, from the host.
master=$(D inspect -f '{{.State.Pid}}' "$NAME")
not_gid0() { ! grep -q " 0 " <<<" $1 "; }
field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
mfilters=$(field "$master" Seccomp_filters)
mtitle=$(tr '\0' ' ' </proc/$master/cmdline | tr -s ' ')
check "the master is portwingd as the container's PID 1 ($mtitle)" \
    [ "${mtitle% }" = "portwingd: master" ]
check "master: only the container's capabilities ($(field "$master" CapEff))" \
    [ "$(field "$master" CapEff)" = 00000000000401e0 ]
uid=$(D run --rm --entrypoint /usr/bin/id portwing:latest -u portwing)
kids=0
for p in $(pgrep -P "$master"); do
	kids=$((kids + 1))
	role=$(tr '\0' ' ' </proc/$p/cmdline)
	check "$role($p): Seccomp 2, a filter of its own on top of Docker's ($(field $p Seccomp_filters) > $mfilters)" \
	    [ "$(field $p Seccomp)" = 2 ] && [ "$(field $p Seccomp_filters)" -gt "$mfilters" ]
	check "$role($p): NoNewPrivs 1" [ "$(field $p NoNewPrivs)" = 1 ]
	uids=$(awk '$1 == "Uid:" {print $2, $3, $4, $5}' /proc/$p/status)
	check "$role($p): every uid is portwing's $uid ($uids)" [ "$uids" = "$uid $uid $uid $uid" ]
	gids=$(awk '$1 == "Gid:" {print $2, $3, $4, $5}' /proc/$p/status)
	check "$role($p): no gid 0 ($gids)" not_gid0 "$gids"
	for set in CapEff CapPrm CapBnd CapAmb; do
		check "$role($p): $set empty" [ "$(field $p $set)" = 0000000000000000 ]
	done
	check "$role($p): chrooted ($(readlink /proc/$p/root))" \
	    [ "$(readlink /proc/$p/root)" = /var/empty/portwing ]
done
check "the master has its four children (authd, proxy, 2 workers: $kids)" [ "$kids" -ge 4 ]

t0=$(date +%s.%N)
D stop -t 10 "$NAME" >/dev/null
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
code=$(D inspect -f '{{.State.ExitCode}}' "$NAME")
check "docker stop: portwingd exits by itself (status $code, ${took} s)" [ "$code" = 0 ]

# Each capability is needed: without it the agent does not serve, or
# (KILL) cannot stop its children and is killed at docker stop's timeout.
for drop in $CAPS; do
	run $(echo "$CAPS" | tr ' ' '\n' | grep -vx "$drop")
	if [ "$drop" = KILL ]; then
		wait_health
		D stop -t 3 "$NAME" >/dev/null
		code=$(D inspect -f '{{.State.ExitCode}}' "$NAME")
		check "without KILL: docker stop has to kill it (status $code)" [ "$code" = 137 ]
	else
		sleep 2
		check "without $drop: no /health ($(health))" [ "$(health)" != 200 ]
	fi
done
# The compose example asks for the same options.
cf=$top/contrib/image/docker-compose.yml
if command -v docker-compose >/dev/null 2>&1; then
	(cd "$top/contrib/image" && docker-compose config) >"$PW_TMP/compose.txt" 2>&1
	check "contrib/image/docker-compose.yml is valid" [ $? -eq 0 ]
else
	skip "docker-compose not installed"
fi
for c in $CAPS; do
	check "the compose example adds $c" grep -q "^ *- $c\$" "$cf"
done
check "the compose example drops ALL, is read-only, no-new-privileges" \
    grep -q 'read_only: true' "$cf" && grep -q -- '- ALL' "$cf" &&
    grep -q 'no-new-privileges:true' "$cf"
pw_done
