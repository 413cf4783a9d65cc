#!/bin/bash
# handshake.sh BUILD_DIR [BASELINE_PORTWINGD]: full TLS handshakes per
# second against portwingd, for an RSA-2048 and an ECDSA P-256
# certificate.  Part of `make bench` (tests/bench/run.sh calls it); it can
# also run alone.
#
# Each measurement starts a fresh agent (WORKERS=2) and runs
# BENCH_TLS_CLIENTS `openssl s_time -new` clients in parallel for
# BENCH_TLS_SECONDS (default 10): every connection is a new full handshake
# (no session resumption), TLS 1.3 by default.  The result is the sum of
# the clients' rates.  With BASELINE_PORTWINGD (for
# example the build of the parent commit, or BENCH_TLS_BASELINE in
# run.sh) the same is measured for that binary, alternating A B A B so
# drift of the machine hits both alike; "ratio" is portwingd/baseline.
# The clients share the machine's CPUs with the agent, so compare ratios
# from one run, not absolute numbers between machines.
#
# Besides the rate, it reports the agent's CPU time (all its processes,
# user + system, from /proc) per handshake, which depends much less on
# what else the machine is doing.
#
# Output: lines "handshake KIND TARGET RATE CPU_US" on stdout and in
# $PW_TMP/handshake.txt (KIND rsa2048 or p256, TARGET portwing or
# baseline, RATE handshakes/s, CPU_US agent CPU microseconds per
# handshake).

set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" && pwd)
baseline=${2:-}
SECS=${BENCH_TLS_SECONDS:-10}
CLIENTS=${BENCH_TLS_CLIENTS:-2}
export PW_BUILD=$build
export PW_TMP=${PW_TMP:-/tmp/pw-bench}
DOCKER_SOCK=${DOCKER_SOCK:-/nonexistent/docker.sock}
mkdir -p "$PW_TMP"
. "$here/../regress/lib.sh"
set +e

command -v openssl >/dev/null 2>&1 || { echo "handshake: needs openssl" >&2; exit 1; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "handshake: $baseline is not executable" >&2; exit 1; }

out=$PW_TMP/handshake.txt
: >"$out"
mk() {
	openssl req -x509 -newkey "$2" ${3:+-pkeyopt "$3"} -nodes \
	    -keyout "$PW_TMP/hs-$1.key" -out "$PW_TMP/hs-$1.crt" -days 2 \
	    -subj "/CN=$1" 2>/dev/null
}
mk rsa2048 rsa:2048
mk p256 ec ec_paramgen_curve:P-256

# CPU time (clock ticks, user + system) of the agent's processes.
agent_ticks() {
	local p t=0
	for p in $PW_PID $(pgrep -P "$PW_PID"); do
		set -- $(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null)
		[ $# -gt 13 ] && t=$((t + ${12} + ${13}))
	done
	echo $t
}

# One measurement: prints handshakes per second and the agent's CPU time
# per handshake in microseconds.
measure() {
	local kind=$1 bin=$2 i n r t0 t1 pids=() rates=()
	PW_DAEMON=$bin pw_start WORKERS=2 TLS_CERT="$PW_TMP/hs-$kind.crt" \
	    TLS_KEY="$PW_TMP/hs-$kind.key" || { echo 0; return; }
	# Warm-up: a second of handshakes.
	openssl s_time -connect 127.0.0.1:$PW_PORT -new -time 1 >/dev/null 2>&1
	t0=$(agent_ticks)
	for i in $(seq 1 "$CLIENTS"); do
		openssl s_time -connect 127.0.0.1:$PW_PORT -new -time "$SECS" \
		    >"$PW_TMP/s_time-$kind-$i.txt" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=$(agent_ticks)
	# s_time counts whole seconds of wall time: each client's rate is
	# its connections over its own "real seconds".
	for i in $(seq 1 "$CLIENTS"); do
		r=$(sed -n 's/^\([0-9]*\) connections in \([0-9]*\) real seconds.*/\1 \2/p' \
		    "$PW_TMP/s_time-$kind-$i.txt" | tail -1)
		rates+=("${r:-0 1}")
	done
	if grep -q 'rate limit exceeded\|TLS handshake failed' "$PW_LOG"; then
		echo "# $kind: the agent logged failed handshakes:" >&2
		grep 'rate limit exceeded\|TLS handshake failed' "$PW_LOG" | head -3 >&2
	fi
	pw_stop
	printf '%s\n' "${rates[@]}" | python3 -c "
import sys
rows = [l.split() for l in sys.stdin]
rate = sum(int(a) / max(int(b), 1) for a, b in rows)
n = sum(int(a) for a, b in rows)
print(round(rate, 1), round(($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / max(n, 1), 1))"
}

mean() { python3 -c "import sys; v = [float(x) for x in sys.argv[1:]]; print(round(sum(v) / len(v), 1))" "$@"; }

for kind in rsa2048 p256; do
	if [ -n "$baseline" ]; then
		order="portwing baseline portwing baseline"
	else
		order="portwing"
	fi
	declare -A sum=() cpu=()
	for t in $order; do
		bin=$build/portwingd
		[ $t = baseline ] && bin=$baseline
		set -- $(measure "$kind" "$bin")
		echo "# $kind $t: $1 handshakes/s, agent CPU $2 us per handshake" >&2
		sum[$t]="${sum[$t]:-} $1"
		cpu[$t]="${cpu[$t]:-} $2"
	done
	for t in portwing baseline; do
		[ -n "${sum[$t]:-}" ] || continue
		echo "handshake $kind $t $(mean ${sum[$t]}) $(mean ${cpu[$t]})" | tee -a "$out"
	done
	unset sum cpu
done
exit 0
