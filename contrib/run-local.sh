#!/bin/sh
# run-local.sh BUILD_DIR: run portwingd in the foreground against the local
# Docker Engine (`make run`).  When no engine answers on the usual sockets,
# a private dockerd is started under /var/tmp/portwing-dockerd.  A token is
# generated once into BUILD_DIR/run/token (mode 0600) and printed, with the
# docker CLI settings that use it.  Settings from the environment (PORT,
# BIND_ADDRESS, TLS_CERT, ...) are passed through.
set -eu
build=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "make run: portwingd's master needs root (chroot, privilege drop," >&2
	echo "Docker socket); try: sudo make run" >&2
	exit 1
fi
id portwing >/dev/null 2>&1 || useradd --system --no-create-home \
    --shell /usr/sbin/nologin portwing

sock=""
if [ -n "${DOCKER_SOCKET:-}" ]; then
	sock=$DOCKER_SOCKET
else
	for s in /var/run/docker.sock /run/docker.sock; do
		if [ -S "$s" ] && curl -s -m 2 --unix-socket "$s" http://d/_ping >/dev/null; then
			sock=$s
			break
		fi
	done
fi
if [ -z "$sock" ]; then
	d=/var/tmp/portwing-dockerd
	sock=$d/docker.sock
	# The private engine's data root, for the disk metrics.
	DOCKER_ROOT=${DOCKER_ROOT:-$d/data}
	export DOCKER_ROOT
	if ! curl -s -m 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then
		command -v dockerd >/dev/null || {
			echo "no Docker Engine found and dockerd is not installed" \
			    "(run ./contrib/install-deps.sh)" >&2
			exit 1
		}
		echo "no Docker Engine answered; starting a private dockerd in $d"
		mkdir -p "$d"
		dockerd --host "unix://$sock" --data-root "$d/data" \
		    --exec-root "$d/exec" --pidfile "$d/docker.pid" \
		    --iptables=false --bridge=none >"$d/dockerd.log" 2>&1 &
		i=0
		until curl -s -m 1 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; do
			i=$((i + 1))
			[ $i -lt 60 ] || { echo "dockerd did not start; see $d/dockerd.log" >&2; exit 1; }
			sleep 0.5
		done
	fi
fi

mkdir -p "$build/run"
tokfile=$build/run/token
if [ -z "${TOKEN:-}${TOKEN_FILE:-}" ]; then
	if [ ! -s "$tokfile" ]; then
		(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tokfile")
	fi
	TOKEN_FILE=$(cd "$(dirname "$tokfile")" && pwd)/token
	export TOKEN_FILE
	tok=$(cat "$tokfile")
	port=${PORT:-3000}
	cat <<MSG
portwing token (in $TOKEN_FILE): $tok
docker CLI through the agent:
  mkdir -p ~/.docker-portwing && echo '{"HttpHeaders":{"Authorization":"Bearer $tok"}}' > ~/.docker-portwing/config.json
  DOCKER_CONFIG=~/.docker-portwing docker -H tcp://127.0.0.1:$port version
MSG
fi
DOCKER_SOCKET=$sock
export DOCKER_SOCKET
exec "$build/portwingd"
