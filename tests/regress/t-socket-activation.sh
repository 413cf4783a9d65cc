#!/bin/bash
# t-socket-activation.sh: systemd socket activation, with
# systemd-socket-activate playing the .socket unit.  The first connection
# starts portwingd, which adopts the passed socket instead of binding and
# answers that connection, plain and TLS.  A passed descriptor that is
# not one listening TCP stream socket (UDP, AF_UNIX, a file, two sockets)
# stops the start with a message that says what is wrong.
. "$(dirname "$0")/lib.sh"
# systemd-socket-activate execs the daemon in its own process (LISTEN_PID
# is its pid), so sa_pid becomes the master after the first connection.
sa_pid=
sa_stop() {
	[ -n "$sa_pid" ] || return 0
	kill -TERM "$sa_pid" 2>/dev/null
	for _ in $(seq 1 150); do kill -0 "$sa_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$sa_pid" 2>/dev/null
	wait "$sa_pid" 2>/dev/null
	sa_pid=
}
trap sa_stop EXIT

if ! grep -q '^#define HAVE_LIBSYSTEMD 1' "$PW_BUILD/pwbuild.h"; then
	skip "built without libsystemd (configure --with-systemd)"
	pw_done; exit
fi
command -v systemd-socket-activate >/dev/null ||
    { fail "systemd-socket-activate missing (package systemd)"; exit 1; }

token=tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# sa_start LOG LISTEN-OPTIONS... -- ENV...: the activator, as a .socket unit.
sa_start() {
	local log=$1; shift
	local opts=() envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	for e in DOCKER_SOCKET="$DOCKER_SOCK" TOKEN="$token" WORKERS=2 \
	    LOG_LEVEL=info BIND_ADDRESS=127.0.0.1 "$@"; do
		envs+=(-E "$e")
	done
	env -i PATH="$PATH" systemd-socket-activate "${opts[@]}" "${envs[@]}" \
	    "$PW_BUILD/portwingd" >"$log" 2>&1 &
	sa_pid=$!
	for _ in $(seq 1 50); do grep -q '^Listening on' "$log" && return 0; sleep 0.1; done
	return 1
}
# The daemon's exit (it is the activator's process).
sa_child_gone() {
	for _ in $(seq 1 50); do kill -0 "$sa_pid" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

# ---- plain ----
port=$(pw_free_port) log=$PW_TMP/sa-plain.log
sa_start "$log" -l "127.0.0.1:$port" -- PORT="$port" ||
    { fail "systemd-socket-activate listens"; exit 1; }
check "no portwingd before the first connection" \
    bash -c "[ -z \"\$(pgrep -P $sa_pid)\" ] && ! grep -q portwingd '$log'"
code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/_ping")
check "the first connection starts portwingd and is answered ($code)" [ "$code" = 200 ]
check "portwingd served the passed socket" \
    grep -q "ready: listening on 127.0.0.1:$port (HTTP, socket activation)" "$log"
PW_PORT=$port PW_TOKEN=$token
v=$(pw_docker version --format '{{.Server.Version}}' 2>&1)
check "the docker CLI works through the adopted socket ($v)" \
    [ -n "$v" -a "$v" = "$(docker -H "unix://$DOCKER_SOCK" version --format '{{.Server.Version}}')" ]
title=$(tr '\0' ' ' </proc/$sa_pid/cmdline)
check "the activator's process is now the master ($title), children under it" \
    bash -c "[ '${title%% *}' = 'portwingd:' ] && grep -q 'portwingd: master' <<<'$title' && [ \$(pgrep -P $sa_pid | wc -l) -ge 4 ]"
sa_stop
check "stopped cleanly on SIGTERM" grep -q 'master: info: stopped' "$log"

# ---- TLS ----
d=$PW_TMP/pki; mkdir -p "$d"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/srv.key" -out "$d/srv.crt" -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
port=$(pw_free_port) log=$PW_TMP/sa-tls.log
sa_start "$log" -l "127.0.0.1:$port" -- PORT="$port" TLS_CERT="$d/srv.crt" \
    TLS_KEY="$d/srv.key" || { fail "systemd-socket-activate listens (TLS)"; exit 1; }
code=$(curl -s -m 20 --cacert "$d/srv.crt" -o /dev/null -w '%{http_code}' \
    -H "Authorization: Bearer $token" "https://127.0.0.1:$port/_ping")
check "TLS: the first connection starts portwingd and is answered ($code)" [ "$code" = 200 ]
check "TLS: portwingd served the passed socket" \
    grep -q "ready: listening on 127.0.0.1:$port (HTTPS, socket activation)" "$log"
sa_stop

# ---- descriptors that are not a listening TCP stream socket ----
# UDP: the activator starts the daemon on the first datagram.
port=$(pw_free_port) log=$PW_TMP/sa-udp.log
sa_start "$log" --datagram -l "127.0.0.1:$port" -- PORT="$port" ||
    fail "systemd-socket-activate listens (UDP)"
python3 -c "import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', $port))"
sa_child_gone
msg=$(grep 'portwingd:' "$log")
echo "# $msg"
check "a UDP socket is refused: not a stream socket, use ListenStream=" \
    bash -c "grep -q 'portwingd: socket activation: descriptor 3 is not a stream socket (SOCK_DGRAM, a UDP socket); use ListenStream=' <<<'$msg'"
check "and portwingd did not start" bash -c "! grep -q 'ready: listening' '$log'"
sa_stop

# AF_UNIX stream.
log=$PW_TMP/sa-unix.log
sa_start "$log" -l "$PW_TMP/sa.sock" -- || fail "systemd-socket-activate listens (unix)"
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.connect('$PW_TMP/sa.sock')" 2>/dev/null
sa_child_gone
check "an AF_UNIX socket is refused: not a TCP socket ($(grep 'portwingd:' "$log"))" \
    grep -q 'descriptor 3 is not a TCP socket (address family AF_UNIX)' "$log"
sa_stop

# Two sockets.
p1=$(pw_free_port) p2=$(pw_free_port) log=$PW_TMP/sa-two.log
sa_start "$log" -l "127.0.0.1:$p1" -l "127.0.0.1:$p2" -- ||
    fail "systemd-socket-activate listens (two)"
curl -s -m 3 -o /dev/null "http://127.0.0.1:$p1/health"
sa_child_gone
check "two sockets are refused ($(grep 'portwingd:' "$log"))" \
    grep -q 'socket activation passed 2 sockets; portwingd serves exactly one' "$log"
sa_stop

# A file on descriptor 3, with LISTEN_PID naming the daemon.
out=$(env -i PATH="$PATH" DOCKER_SOCKET="$DOCKER_SOCK" TOKEN="$token" \
    bash -c 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$0" 3</etc/hostname' \
    "$PW_BUILD/portwingd" 2>&1); rc=$?
check "a regular file is refused with status 1 ($rc: $out)" \
    bash -c "[ $rc = 1 ] && grep -q 'descriptor 3 is not a socket (a regular file)' <<<'$out'"

# LISTEN_PID naming another process: not ours, so portwingd binds.
port=$(pw_free_port)
pw_start LISTEN_PID=1 LISTEN_FDS=1 PORT="$port" || fail "LISTEN_PID of another process is ignored"
check "LISTEN_PID of another process: portwingd binds its own port" \
    grep -q "ready: listening on 127.0.0.1:$port (HTTP)," "$PW_LOG"
pw_stop
pw_done
