#!/bin/bash
# run.sh BUILD_DIR: portwing's throughput/latency benchmark (`make bench`).
#
# What it measures
#   One run drives three HTTP front doors of the same private Docker Engine
#   with identical wrk settings and compares them:
#     portwing  build/portwingd (WORKERS=2), bearer token on every request
#     haproxy   HAProxy set up like Tecnativa's docker-socket-proxy
#               (tests/bench/haproxy.cfg: GET-only, per-section ACLs,
#               a new unix-socket connection to Docker per request)
#     direct    dockerd's own TCP listener: no proxy at all, the ceiling
#   Workloads: GET /_ping (tiny answer: shows the proxy's own per-request
#   cost) and GET /containers/json with 20 running containers (a realistic
#   monitoring call, mostly Docker's own work).
#   Audit: GET /_ping on an agent writing AUDIT_LOG to a file against one
#   without a sink (alternated, averaged): the sink's cost, target >= 0.9.
#   For each (workload, target): a warm-up, then a measured wrk run with
#   keep-alive, 64 connections, 2 threads and --latency.
#   Peers (tests/bench/peers.sh, last): portwing, HAProxy keep-alive and
#   stock, nginx proxy_pass and no proxy, on a fake upstream and on
#   dockerd, keep-alive c=1 and c=64 and Connection: close c=64, with the
#   CPU seconds per 100k requests of every process and portwing's memory.
#
# How to read the ratios
#   ratio-vs-haproxy = target req/s / haproxy req/s.  1.00 is parity; above
#                      1 the target serves more requests per second than
#                      the HAProxy baseline.
#   ratio-vs-direct  = target req/s / direct req/s: the share of the bare
#                      engine's throughput left after proxying (a proxy is
#                      expected below 1.00; the gap is its overhead).
#   The last line per workload also gives portwing/haproxy for p99 latency:
#   there lower is better (0.80 = portwing's p99 is 20% lower).
#   wrk, the proxies and dockerd share the machine's CPUs, so a costlier
#   proxy also slows everything else: compare ratios, not absolute numbers,
#   and only between runs on the same machine.  Errors (socket errors and
#   non-2xx answers, per wrk) are reported per row; a row with errors is
#   not a valid measurement.
#
# Environment
#   BENCH_DURATION     seconds of each measured run (default 10)
#   BENCH_WARMUP       seconds of each warm-up run (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 64)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_CP_MB        size of the docker cp transfer (default 1024)
#   BENCH_DD_CONTAINERS  containers for the Drydock inventory workload
#                      (default 1000)
#   BENCH_TLS_SECONDS  seconds of each handshake measurement (default 10)
#   BENCH_TLS_CLIENTS  parallel openssl s_time clients (default 2)
#   BENCH_TLS_BASELINE another portwingd to compare handshakes/s with
#   BENCH_REPS         interleaved rounds per cell of the peers section,
#                      the median is reported (default 3)
#   BENCH_ONLY         "peers": set up the engine and run only the peers
#                      section; "main": everything but the peers section;
#                      "bulk": only tests/bench/bulk.sh (bulk bodies
#                      against dockerd's TCP listener, its own engine);
#                      "soak": only tests/bench/soak.sh (memory over a
#                      million requests; never part of a full run);
#                      "edge": only tests/bench/edge.sh (edge mode's
#                      calls against inbound ones, and a soak of
#                      BENCH_EDGE_SOAK_MIN minutes; never part of a
#                      full run);
#                      "api": only tests/bench/api.sh (MCP
#                      list_containers and the generic adapter's
#                      GET /api/v1/containers, served from the agent's
#                      inventory, against Docker's own container list,
#                      direct and through the proxy, with 1,000
#                      containers; counts the Docker calls made during
#                      each row; its own engine; last in a full run);
#                      empty (default): everything, bulk.sh and api.sh
#                      last
#
# Output: a table on stdout and build/bench-results.json (BUILD_DIR/...).
# Raw wrk output and daemon logs stay in /tmp/pw-bench.  Exits 0 whatever
# the ratios are (a measurement, not a test); non-zero only when something
# could not be set up or a target does not answer.
#
# Needs root (dockerd; portwingd's chroot and privilege drop).  On Debian
# the missing tools are installed with apt-get.

set -u

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
if ! [ -d "$build" ]; then
	echo "bench: build directory '$build' not found (run make first)" >&2
	exit 1
fi
build=$(cd "$build" && pwd)

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
WORKERS=2
NCONTAINERS=20
BENCH_ONLY=${BENCH_ONLY:-}
case $BENCH_ONLY in
'' | all | peers | main | bulk | soak | edge | api) ;;
*) echo "bench: BENCH_ONLY must be peers, main, bulk, soak, edge, api or empty (got '$BENCH_ONLY')" >&2
   exit 1 ;;
esac
for v in DURATION WARMUP CONNS THREADS; do
	case ${!v} in
	'' | *[!0-9]* | 0)
		echo "bench: $v must be a positive integer (got '${!v}')" >&2
		exit 1 ;;
	esac
done

STATE=/tmp/pw-bench                  # pidfiles, logs, raw wrk output
RESULTS_JSON=$build/bench-results.json

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "# $*"; }

if [ "$(id -u)" -ne 0 ]; then
	die "needs root (dockerd, portwingd's chroot); run: sudo make bench"
fi
[ -x "$build/portwingd" ] || die "$build/portwingd not built (run make)"

# ---------------------------------------------------------------- packages

# Is /bin/busybox statically linked?  pw_image copies it alone into the
# test image, so a dynamic one would not run there.
busybox_static() {
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}

install_missing() {
	local pkgs=()
	command -v haproxy >/dev/null 2>&1 || pkgs+=(haproxy)
	command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
	{ command -v dockerd && command -v docker; } >/dev/null 2>&1 || pkgs+=(docker.io)
	busybox_static || pkgs+=(busybox-static)
	command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
	command -v curl >/dev/null 2>&1 || pkgs+=(curl)
	command -v nginx >/dev/null 2>&1 || pkgs+=(nginx-light)
	[ ${#pkgs[@]} -gt 0 ] || return 0
	command -v apt-get >/dev/null 2>&1 ||
	    die "missing ${pkgs[*]} and no apt-get to install them"
	say "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
	    die "apt-get install ${pkgs[*]} failed"
}
install_missing

# The bulk section and the soak bring up what they need themselves.
case $BENCH_ONLY in
bulk) exec "$here/bulk.sh" "$build" ;;
soak) exec "$here/soak.sh" "$build" ;;
edge) exec "$here/edge.sh" "$build" ;;
api) exec "$here/api.sh" "$build" ;;
esac

# ------------------------------------------------------------- lib.sh setup

# A bench-only engine, never the one the integration tests use.
export PW_BUILD=$build
export PW_DOCKER_DIR=/tmp/pw-bench-dockerd
export PW_TMP=$STATE
. "$here/../regress/lib.sh"
set +e          # errors are checked one by one below
. "$here/peers.sh"

# ----------------------------------------------------- stale runs (ours only)

# pid_is PIDFILE PATTERN: print the pid in PIDFILE if that process is alive
# and its command line contains PATTERN (so a recycled pid is left alone).
pid_is() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null)
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
	echo "$pid"
}

# kill_wait PID: SIGTERM, wait up to 15 s, then SIGKILL.
kill_wait() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 1 150); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
}

kill_stale() {
	local pid
	if pid=$(pid_is "$STATE/haproxy.pid" "$here/haproxy.cfg"); then
		say "stopping haproxy left over from an earlier run (pid $pid)"
		kill_wait "$pid"
	fi
	if pid=$(pid_is "$STATE/portwingd.pid" "portwingd"); then
		say "stopping portwingd left over from an earlier run (pid $pid)"
		kill_wait "$pid"
	fi
	# pw_dockerd_start would reuse a live engine, but it must be started
	# by us with the TCP listener of this run.
	if pid=$(pid_is "$PW_DOCKER_DIR/docker.pid" "--data-root $PW_DOCKER_DIR/data"); then
		say "stopping dockerd left over from an earlier run (pid $pid)"
		DOCKER_SOCK=$PW_DOCKER_DIR/docker.sock
		docker -H "unix://$DOCKER_SOCK" rm -f $(bench_names) >/dev/null 2>&1
		kill_wait "$pid"
	fi
	rm -f "$STATE/haproxy.pid" "$STATE/portwingd.pid"
	peers_kill_stale
}

bench_names() {
	local i
	for i in $(seq 0 $((NCONTAINERS - 1))); do
		echo "pwbench-$i"
	done
}

# ------------------------------------------------------------------ cleanup

HAPROXY_PID=
DOCKERD_STARTED=
stop_all() {
	peers_cleanup
	pw_stop
	if [ -n "${FAKE_PW_PID:-}" ]; then
		kill_wait "$FAKE_PW_PID"; wait "$FAKE_PW_PID" 2>/dev/null
	fi
	if [ -n "${NGINX_PID:-}" ]; then
		kill_wait "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null
	fi
	rm -f "$STATE/portwingd.pid"
	if [ -n "$HAPROXY_PID" ]; then
		kill_wait "$HAPROXY_PID"
		wait "$HAPROXY_PID" 2>/dev/null
		rm -f "$STATE/haproxy.pid"
	fi
	if [ -n "$DOCKERD_STARTED" ]; then
		pw_docker_direct rm -f $(bench_names) >/dev/null 2>&1
		python3 "$here/ddinv.py" remove "$DOCKER_SOCK" 2>/dev/null
		pw_dockerd_stop
	fi
	DOCKERD_STARTED= HAPROXY_PID= FAKE_PW_PID= NGINX_PID=
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$STATE"
kill_stale
rm -f "$STATE"/wrk-*.txt "$STATE"/portwingd.*.log "$STATE"/haproxy.log "$STATE"/handshake.txt

# ------------------------------------------------------------------ targets

# parse_wrk FILE: "rps p50_ms p99_ms requests connect read write timeout
# non2xx" from wrk --latency output; latencies normalised to ms.
parse_wrk() {
	awk '
	function ms(v,   n, u) {
		n = v; sub(/[a-z]+$/, "", n)
		u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") return n / 1000
		if (u == "ms") return n + 0
		if (u == "s") return n * 1000
		if (u == "m") return n * 60000
		if (u == "h") return n * 3600000
		return "null"
	}
	BEGIN { rps = p50 = p99 = "null"; req = c = r = w = t = bad = 0 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	$1 == "Requests/sec:" { rps = $2 }
	$2 == "requests" && $3 == "in" { req = $1 }
	/Socket errors:/ { gsub(/,/, ""); c = $4; r = $6; w = $8; t = $10 }
	/Non-2xx or 3xx responses:/ { bad = $5 }
	END { print rps, p50, p99, req, c, r, w, t, bad }
	' "$1"
}

# http_code URL [curl args...]: the status code of a GET (000 on failure).
http_code() {
	local url=$1
	shift
	curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "$url"
}

# The engine, with a TCP listener for wrk (which cannot use unix sockets).
PW_DOCKER_TCP=$(pw_free_port)
say "starting a private dockerd in $PW_DOCKER_DIR (tcp 127.0.0.1:$PW_DOCKER_TCP)"
DOCKERD_STARTED=1
pw_dockerd_start || die "dockerd did not start (see $PW_DOCKER_DIR/dockerd.log)"
for _ in $(seq 1 50); do
	[ "$(http_code "http://127.0.0.1:$PW_DOCKER_TCP/_ping")" = 200 ] && break
	sleep 0.2
done
pw_image || die "could not import the busybox image"

say "creating $NCONTAINERS containers"
pw_docker_direct rm -f $(bench_names) >/dev/null 2>&1
for name in $(bench_names); do
	pw_docker_direct create --name "$name" --network none "$PW_IMAGE" \
	    sleep 3600 >/dev/null || die "docker create $name failed"
done
# Listed by GET /containers/json only once running; if this engine cannot
# run containers, fall back to listing the created ones (?all=1).
LIST_PATH=/containers/json
if ! pw_docker_direct start $(bench_names) >"$STATE/start.log" 2>&1; then
	say "warning: containers could not be started ($(head -1 "$STATE/start.log"));"
	say "warning: measuring /containers/json?all=1 instead"
	LIST_PATH='/containers/json?all=1'
fi

if [ "$BENCH_ONLY" = peers ]; then
	pw_ensure_user
	peers_run
	exit 0
fi

say "starting portwingd (WORKERS=$WORKERS)"
pw_ensure_user
# wrk's connections all come from 127.0.0.1: no per-address limit here.
pw_start WORKERS=$WORKERS MAX_CONNECTIONS_PER_ADDRESS=0 || die "portwingd did not start (log: $PW_LOG)"
echo "$PW_PID" >"$STATE/portwingd.pid"

PWB_HAPROXY_PORT=$(pw_free_port)
export PWB_HAPROXY_PORT PWB_DOCKER_SOCK=$DOCKER_SOCK PWB_THREADS=$WORKERS
say "starting haproxy on 127.0.0.1:$PWB_HAPROXY_PORT"
haproxy -c -q -f "$here/haproxy.cfg" >"$STATE/haproxy.log" 2>&1 ||
    { cat "$STATE/haproxy.log" >&2; die "haproxy rejects $here/haproxy.cfg"; }
haproxy -db -f "$here/haproxy.cfg" >>"$STATE/haproxy.log" 2>&1 &
HAPROXY_PID=$!
echo "$HAPROXY_PID" >"$STATE/haproxy.pid"
for _ in $(seq 1 100); do
	kill -0 "$HAPROXY_PID" 2>/dev/null ||
	    { cat "$STATE/haproxy.log" >&2; die "haproxy exited"; }
	[ "$(http_code "http://127.0.0.1:$PWB_HAPROXY_PORT/_ping")" != 000 ] && break
	sleep 0.1
done

TARGETS="direct haproxy portwing"
target_url() {
	case $1 in
	direct) echo "http://127.0.0.1:$PW_DOCKER_TCP$2" ;;
	haproxy) echo "http://127.0.0.1:$PWB_HAPROXY_PORT$2" ;;
	portwing) echo "http://127.0.0.1:$PW_PORT$2" ;;
	esac
}
# target_args TARGET: extra request headers (portwing's credential).
target_args() {
	[ "$1" = portwing ] && printf '%s\n' -H "Authorization: Bearer $PW_TOKEN"
}

# ----------------------------------------------------------- sanity checks

for t in $TARGETS; do
	mapfile -t args < <(target_args "$t")
	code=$(http_code "$(target_url "$t" /_ping)" "${args[@]}")
	[ "$code" = 200 ] || die "$t: GET /_ping answered $code, expected 200"
	body=$(curl -s -m 10 "${args[@]}" "$(target_url "$t" "$LIST_PATH")")
	n=$(printf '%s' "$body" | python3 -c \
	    'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
	[ -n "$n" ] || die "$t: GET $LIST_PATH did not answer a JSON list"
	[ "$n" -ge "$NCONTAINERS" ] ||
	    say "warning: $t lists $n containers, expected $NCONTAINERS"
	say "$t answers /_ping 200 and lists $n containers"
done
if [ "$(http_code "$(target_url portwing /_ping)")" = 200 ]; then
	say "warning: portwing answered /_ping without the token"
fi

# ---------------------------------------------------------------- measuring

: >"$STATE/results.tsv"
for wl in /_ping "$LIST_PATH"; do
	for t in $TARGETS; do
		mapfile -t args < <(target_args "$t")
		url=$(target_url "$t" "$wl")
		tag=$t-$(printf '%s' "${wl#/}" | tr -c 'a-zA-Z0-9' '_')
		say "GET $wl via $t: ${WARMUP}s warm-up, ${DURATION}s measured"
		wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${args[@]}" "$url" \
		    >"$STATE/wrk-$tag-warmup.txt" 2>&1
		wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${args[@]}" \
		    "$url" >"$STATE/wrk-$tag.txt" 2>&1 ||
		    say "warning: wrk failed, see $STATE/wrk-$tag.txt"
		m=$(parse_wrk "$STATE/wrk-$tag.txt")
		# Non-2xx answers: a short extra run that counts them per status.
		statuses=-
		if [ "${m##* }" != 0 ]; then
			say "GET $wl via $t: non-2xx answers; ${WARMUP}s run counting statuses"
			wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$here/status.lua" \
			    "${args[@]}" "$url" >"$STATE/wrk-$tag-status.txt" 2>&1
			statuses=$(awk '$1 == "status" || $1 == "sample"' \
			    "$STATE/wrk-$tag-status.txt" | tr '\t\n' ' |')
		fi
		printf '%s\t%s\t%s\t%s\n' "GET $wl" "$t" "$m" "$statuses" \
		    >>"$STATE/results.tsv"
	done
done

# ------------------------------------------- fake upstream: the proxy's cost
#
# nginx answers fixed bodies on a unix socket (and on TCP, for wrk): with
# an upstream that costs next to nothing, the ratio portwing/nginx-direct
# is the share of throughput portwing's own work leaves.

# The same nginx as the peers section's fake upstream (peers.sh).
mkdir -p "$PEERS_DIR"
peers_start_fake || die "nginx did not start (see $PEERS_DIR/upstream-nginx.err)"
NGINX_PID=$PEERS_UP_PID NGINX_SOCK=$PEERS_UP_SOCK
NGINX_PORT=${PEERS_UP_DIRECT##*:}
main_pid=$PW_PID main_port=$PW_PORT main_log=$PW_LOG
pw_start WORKERS=$WORKERS MAX_CONNECTIONS_PER_ADDRESS=0 DOCKER_SOCKET="$NGINX_SOCK" || die "portwingd on nginx did not start"
FAKE_PW_PID=$PW_PID FAKE_PW_PORT=$PW_PORT
PW_PID=$main_pid PW_PORT=$main_port PW_LOG=$main_log
for wl in /_ping /containers/json; do
	for t in upstream portwing; do
		if [ $t = upstream ]; then
			url=http://127.0.0.1:$NGINX_PORT$wl; args=()
		else
			url=http://127.0.0.1:$FAKE_PW_PORT$wl
			args=(-H "Authorization: Bearer $PW_TOKEN")
		fi
		tag=fake-$t-$(printf '%s' "${wl#/}" | tr -c 'a-zA-Z0-9' '_')
		say "fake upstream: GET $wl via $t"
		wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${args[@]}" "$url" >/dev/null 2>&1
		wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${args[@]}" \
		    "$url" >"$STATE/wrk-$tag.txt" 2>&1
		printf '%s\t%s\t%s\t%s\n' "fake GET $wl" "$t" \
		    "$(parse_wrk "$STATE/wrk-$tag.txt")" - >>"$STATE/results.tsv"
	done
done
kill_wait "$FAKE_PW_PID"; wait "$FAKE_PW_PID" 2>/dev/null; FAKE_PW_PID=
kill_wait "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null; NGINX_PID= PEERS_UP_PID=

# ------------------------------------------- authentication cost per request
#
# GET /_ping with a plain token, with a warm Argon2id TOKEN_HASH (cached
# after the first success), and Ed25519-signed (pre-signed by signgen so
# the client's signing cost stays out; each request has its own nonce).
# wrk builds every request in Lua on all three (token.lua, signed.lua),
# so the client costs about the same per request and the ratio is the
# agent's.
AUTH_PY=/usr/bin/python3; [ -x $AUTH_PY ] || AUTH_PY=python3
make -s -C "$build" tests/bench/signgen >/dev/null || die "cannot build signgen"
auth_hash=$($AUTH_PY -c 'import argon2,sys; print(argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(sys.argv[1]))' "$PW_TOKEN") ||
    die "python3-argon2 is needed (apt-get install python3-argon2)"
openssl genpkey -algorithm ed25519 -out "$STATE/bench.key" 2>/dev/null
chmod 600 "$STATE/bench.key"
printf 'ed25519 %s bench\n' "$(openssl pkey -in "$STATE/bench.key" -pubout -outform DER | tail -c 32 | base64 -w0)" >"$STATE/bench_keys"
chmod 600 "$STATE/bench_keys"
nsig=$(( (DURATION + WARMUP + 2) * 30000 ))
say "pre-signing $nsig requests"
"$build/tests/bench/signgen" "$STATE/bench.key" GET /_ping "$nsig" >"$STATE/signed.txt" ||
    die "signgen failed"
main_pid=$PW_PID main_port=$PW_PORT main_log=$PW_LOG
for t in token token-hash signed; do
	case $t in
	token) url=http://127.0.0.1:$main_port/_ping
	    args=(-s "$here/token.lua" -- /_ping "$PW_TOKEN") ;;
	token-hash)
	    pw_start WORKERS=$WORKERS TOKEN= TOKEN_HASH="$auth_hash" || die "portwingd with TOKEN_HASH did not start"
	    FAKE_PW_PID=$PW_PID
	    url=http://127.0.0.1:$PW_PORT/_ping
	    curl -s -o /dev/null -H "Authorization: Bearer $PW_TOKEN" "$url"	# the one derivation
	    args=(-s "$here/token.lua" -- /_ping "$PW_TOKEN") ;;
	signed)
	    pw_start WORKERS=$WORKERS TOKEN= AUTHORIZED_KEYS="$STATE/bench_keys" \
		MAX_CLOCK_SKEW_SECONDS=600 NONCE_LRU_SIZE=$((nsig + 1000)) ||
		die "portwingd with keys did not start"
	    FAKE_PW_PID=$PW_PID
	    url=http://127.0.0.1:$PW_PORT/_ping
	    args=(-s "$here/signed.lua" -- /_ping "$THREADS" "$STATE/signed.txt") ;;
	esac
	say "auth: GET /_ping with $t"
	if [ $t = signed ]; then
		wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" \
		    "${args[@]}" >"$STATE/wrk-auth-$t.txt" 2>&1
	else
		wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" "${args[@]}" >/dev/null 2>&1
		wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" \
		    "${args[@]}" >"$STATE/wrk-auth-$t.txt" 2>&1
	fi
	printf '%s\t%s\t%s\t%s\n' "auth GET /_ping" "$t" \
	    "$(parse_wrk "$STATE/wrk-auth-$t.txt")" - >>"$STATE/results.tsv"
	if [ -n "${FAKE_PW_PID:-}" ]; then
		kill_wait "$FAKE_PW_PID"; wait "$FAKE_PW_PID" 2>/dev/null; FAKE_PW_PID=
	fi
done
PW_PID=$main_pid PW_PORT=$main_port PW_LOG=$main_log

# ------------------------------------------------ audit sink overhead
#
# GET /_ping on two fresh agents, one without AUDIT_LOG and one writing
# every record to a file (hash chain included), run alternately twice
# (A B A B) and averaged, so drift of the machine hits both alike.  The
# in-memory ring is on in both (its default).  Target: file-sink req/s at
# least 0.9 of no-sink.
for t in no-sink file-sink no-sink file-sink; do
	if [ $t = file-sink ]; then
		rm -f "$STATE/audit.log"
		pw_start WORKERS=$WORKERS AUDIT_LOG="$STATE/audit.log" ||
		    die "portwingd with AUDIT_LOG did not start"
	else
		pw_start WORKERS=$WORKERS || die "portwingd did not start"
	fi
	FAKE_PW_PID=$PW_PID
	url=http://127.0.0.1:$PW_PORT/_ping
	say "audit: GET /_ping, $t"
	wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" -H "Authorization: Bearer $PW_TOKEN" "$url" >/dev/null 2>&1
	wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
	    -H "Authorization: Bearer $PW_TOKEN" "$url" >"$STATE/wrk-audit-$t.txt" 2>&1
	printf '%s\t%s\t%s\t%s\n' "audit GET /_ping" "$t" \
	    "$(parse_wrk "$STATE/wrk-audit-$t.txt")" - >>"$STATE/results.tsv"
	if [ $t = file-sink ]; then
		say "audit: $(wc -l <"$STATE/audit.log") lines written; $("$build/portwing" audit-verify "$STATE/audit.log" | head -1)"
	fi
	kill_wait "$FAKE_PW_PID"; wait "$FAKE_PW_PID" 2>/dev/null; FAKE_PW_PID=
done
PW_PID=$main_pid PW_PORT=$main_port PW_LOG=$main_log

# ------------------------------------------------ policy gate overhead
#
# The same agent without a policy and with POLICY=portwing (the bundled
# preset: 30 rules, verbose denies), alternated twice and averaged:
# GET /_ping and GET /containers/json with wrk (targets >= 0.95 of
# policy-off), and the latency of POST /containers/create with a body
# policyd inspects (an image that does not exist, so Docker answers 404
# at once and nothing is created; target: p50 within 1 ms of policy-off).
create_p50() {
	python3 - "$1" "$2" "${BENCH_CREATES:-2000}" <<'PY'
import http.client, sys, time
port, tok, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = ('{"Image":"pwbench-none:latest","Cmd":["true"],"Env":["A=1"],'
        '"HostConfig":{"Binds":[],"Memory":0,"RestartPolicy":{"Name":"no"}},'
        '"Labels":{"a":"b"}}').encode()
h = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
lat = []
for i in range(n + 50):
    t = time.perf_counter()
    c.request("POST", "/containers/create", body=body, headers=h)
    r = c.getresponse(); r.read()
    if r.status != 404:
        sys.exit("create answered %d" % r.status)
    if i >= 50:
        lat.append(time.perf_counter() - t)
lat.sort()
print("%.4f %.4f" % (lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000))
PY
}
: >"$STATE/policy.txt"
for t in policy-off policy-on policy-off policy-on; do
	if [ $t = policy-on ]; then
		pw_start WORKERS=$WORKERS POLICY=portwing ||
		    die "portwingd with POLICY=portwing did not start"
	else
		pw_start WORKERS=$WORKERS || die "portwingd did not start"
	fi
	FAKE_PW_PID=$PW_PID
	for path in /_ping /containers/json; do
		url=http://127.0.0.1:$PW_PORT$path
		say "policy: GET $path, $t"
		wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" -H "Authorization: Bearer $PW_TOKEN" "$url" >/dev/null 2>&1
		wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
		    -H "Authorization: Bearer $PW_TOKEN" "$url" >"$STATE/wrk-policy-$t.txt" 2>&1
		printf '%s\t%s\t%s\t%s\n' "policy GET $path" "$t" \
		    "$(parse_wrk "$STATE/wrk-policy-$t.txt")" - >>"$STATE/results.tsv"
	done
	say "policy: POST /containers/create (inspected body), $t"
	echo "$t $(create_p50 "$PW_PORT" "$PW_TOKEN" || echo - -)" >>"$STATE/policy.txt"
	kill_wait "$FAKE_PW_PID"; wait "$FAKE_PW_PID" 2>/dev/null; FAKE_PW_PID=
done
PW_PID=$main_pid PW_PORT=$main_port PW_LOG=$main_log

# ------------------------------------------------ docker cp of 1 GiB out
CP_MB=${BENCH_CP_MB:-1024}
say "docker cp: ${CP_MB} MiB out of a container, through portwing and direct"
pw_docker_direct rm -f pwbench-cp >/dev/null 2>&1
pw_docker_direct run -d --name pwbench-cp --network none "$PW_IMAGE" \
    sh -c "head -c $((CP_MB * 1024 * 1024)) /dev/urandom >/big && sleep 3600" >/dev/null
for i in $(seq 1 120); do
	[ "$(pw_docker_direct exec pwbench-cp sh -c 'stat -c %s /big 2>/dev/null')" = $((CP_MB * 1024 * 1024)) ] && break
	sleep 0.5
done
mkdir -p "$STATE/dockercfg"
printf '{"HttpHeaders":{"Authorization":"Bearer %s"}}\n' "$PW_TOKEN" >"$STATE/dockercfg/config.json"
cp_time() {
	local best=999999 t0 t1 ms i
	for i in 1 2; do
		t0=$(date +%s%N)
		"$@" cp pwbench-cp:/big - >/dev/null || return 1
		t1=$(date +%s%N)
		ms=$(( (t1 - t0) / 1000000 ))
		[ $ms -lt $best ] && best=$ms
	done
	echo $best
}
# The docker CLI reads a TCP connection much more slowly than a unix
# socket (small reads, runtime sleeps; it is as slow through socat), so
# the CLI is also timed against dockerd's own TCP listener, and the raw
# transfer (curl, GET .../archive) against the socket.
cp_pw=$(cp_time env DOCKER_CONFIG="$STATE/dockercfg" docker -H "tcp://127.0.0.1:$PW_PORT") || cp_pw=null
cp_direct=$(cp_time docker -H "unix://$DOCKER_SOCK") || cp_direct=null
cp_tcp=$(cp_time docker -H "tcp://127.0.0.1:$PW_DOCKER_TCP") || cp_tcp=null
raw_time() {
	local best=999999 t0 ms i
	for i in 1 2; do
		t0=$(date +%s%N)
		curl -s -f -o /dev/null "$@" || return 1
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ $ms -lt $best ] && best=$ms
	done
	echo $best
}
raw_pw=$(raw_time -H "Authorization: Bearer $PW_TOKEN" \
    "http://127.0.0.1:$PW_PORT/containers/pwbench-cp/archive?path=/big") || raw_pw=null
raw_direct=$(raw_time --unix-socket "$DOCKER_SOCK" \
    "http://docker/containers/pwbench-cp/archive?path=/big") || raw_direct=null
printf '%s %s %s %s %s %s\n' "$CP_MB" "$cp_pw" "$cp_direct" "$cp_tcp" \
    "$raw_pw" "$raw_direct" >"$STATE/cp.txt"
pw_docker_direct rm -f pwbench-cp >/dev/null 2>&1

# ------------------------------- Drydock inventory: GET /api/containers
#
# DD_N containers (default 1,000), then a fresh portwingd builds its
# inventory; GET /api/containers is served from it (never a Docker call
# per request; tests/regress/t-dd-model.sh checks that with a tap).  The
# peer is dockerd's own GET /containers/json?all=1 over TCP, the call an
# agent without an inventory would make per request.
DD_N=${BENCH_DD_CONTAINERS:-1000}
say "drydock: creating $DD_N containers"
python3 "$here/ddinv.py" remove "$DOCKER_SOCK"
python3 "$here/ddinv.py" create "$DOCKER_SOCK" "$PW_IMAGE" "$DD_N" ||
    die "could not create the drydock containers"
main_pid=$PW_PID main_port=$PW_PORT main_log=$PW_LOG
t0=$(date +%s%N)
pw_start WORKERS=$WORKERS DD_POLL_INTERVAL=3600 || die "portwingd (drydock) did not start"
FAKE_PW_PID=$PW_PID
dd_url=http://127.0.0.1:$PW_PORT/api/containers
for _ in $(seq 1 600); do
	[ "$(http_code "$dd_url" -H "Authorization: Bearer $PW_TOKEN")" = 200 ] && break
	sleep 0.1
done
dd_build_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
dd_count=$(curl -s -H "Authorization: Bearer $PW_TOKEN" "$dd_url" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
dd_bytes=$(curl -s -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $PW_TOKEN" "$dd_url")
# One request at a time: the median of 21 answers.
dd_single=$(for i in $(seq 1 21); do
	curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $PW_TOKEN" "$dd_url"
done | sort -n | sed -n 11p)
say "drydock: inventory of $dd_count containers ready ${dd_build_ms} ms after start; answer $dd_bytes bytes, single request ${dd_single}s"
printf '%s %s %s %s %s\n' "$DD_N" "$dd_count" "$dd_build_ms" "$dd_bytes" "$dd_single" >"$STATE/dd.txt"
for t in portwing direct; do
	if [ $t = portwing ]; then
		url=$dd_url; args=(-H "Authorization: Bearer $PW_TOKEN")
	else
		url="http://127.0.0.1:$PW_DOCKER_TCP/containers/json?all=1"; args=()
	fi
	say "drydock: GET container list of $DD_N via $t (8 connections)"
	wrk -t"$THREADS" -c8 -d"${WARMUP}s" "${args[@]}" "$url" >/dev/null 2>&1
	wrk -t"$THREADS" -c8 -d"${DURATION}s" --latency "${args[@]}" "$url" \
	    >"$STATE/wrk-dd-$t.txt" 2>&1
	printf '%s\t%s\t%s\t%s\n' "drydock list $DD_N" "$t" \
	    "$(parse_wrk "$STATE/wrk-dd-$t.txt")" - >>"$STATE/results.tsv"
done
kill_wait "$FAKE_PW_PID"; wait "$FAKE_PW_PID" 2>/dev/null; FAKE_PW_PID=
PW_PID=$main_pid PW_PORT=$main_port PW_LOG=$main_log
python3 "$here/ddinv.py" remove "$DOCKER_SOCK"

# Did the daemons survive the load?
kill -0 "$PW_PID" 2>/dev/null || say "warning: portwingd died during the run"
kill -0 "$HAPROXY_PID" 2>/dev/null || say "warning: haproxy died during the run"

# ------------------------------------------------ TLS handshakes per second
#
# Full handshakes with openssl s_time against fresh agents with an RSA-2048
# and an ECDSA P-256 certificate (tests/bench/handshake.sh).  keyd makes
# every handshake signature; BENCH_TLS_BASELINE=/path/to/portwingd (e.g.
# the build of a commit before keyd) measures that binary alternately.
say "TLS handshakes: RSA-2048 and ECDSA P-256${BENCH_TLS_BASELINE:+, against $BENCH_TLS_BASELINE}"
PW_TMP=$STATE DOCKER_SOCK=$DOCKER_SOCK "$here/handshake.sh" "$build" \
    ${BENCH_TLS_BASELINE:-} >/dev/null
PW_PID=$main_pid PW_PORT=$main_port PW_LOG=$main_log

# ----------------------------------------------------------------- reporting

python3 - "$STATE/results.tsv" "$RESULTS_JSON" "$DURATION" "$WARMUP" \
    "$CONNS" "$THREADS" "$WORKERS" "$NCONTAINERS" "$STATE" <<'PY'
import json, os, sys, time

tsv, out, duration, warmup, conns, threads, workers, ncont, state = sys.argv[1:]

def num(s):
    return None if s == "null" else float(s)

rows = []
for line in open(tsv):
    wl, target, fields, statuses = line.rstrip("\n").split("\t")
    rps, p50, p99, req, c, r, w, t, bad = fields.split()
    # "status CODE N|sample CODE BODY|..." from status.lua, or "-".
    status_counts, samples = {}, {}
    for item in statuses.split("|"):
        kind, _, rest = item.partition(" ")
        code, _, val = rest.partition(" ")
        if kind == "status":
            status_counts[code] = int(val)
        elif kind == "sample":
            samples[code] = val.strip()
    rows.append({
        "workload": wl, "target": target,
        "requests_per_sec": num(rps), "p50_ms": num(p50), "p99_ms": num(p99),
        "requests": int(req),
        "socket_errors": {"connect": int(c), "read": int(r),
                          "write": int(w), "timeout": int(t)},
        "non_2xx_3xx": int(bad),
    })
    if status_counts:
        rows[-1]["status_rerun"] = {"duration_s": int(warmup),
                                    "statuses": status_counts,
                                    "sample_bodies": samples}

def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None

def find(wl, target):
    return next((x for x in rows if x["workload"] == wl and x["target"] == target), None)

workloads = list(dict.fromkeys(x["workload"] for x in rows))

def mean(wl, t, k):
    """The mean of k over the alternated runs of one target of a workload."""
    v = [x[k] for x in rows if x["workload"] == wl and x["target"] == t and x[k] is not None]
    return sum(v) / len(v) if v else None
for x in rows:
    hp = find(x["workload"], "haproxy")
    dr = (find(x["workload"], "direct") or find(x["workload"], "upstream") or
          find(x["workload"], "token"))
    x["errors"] = sum(x["socket_errors"].values()) + x["non_2xx_3xx"]
    x["ratio_vs_haproxy"] = ratio(x["requests_per_sec"], hp and hp["requests_per_sec"])
    x["ratio_vs_direct"] = ratio(x["requests_per_sec"], dr and dr["requests_per_sec"])

def f(v, fmt):
    return "-" if v is None else format(v, fmt)

print()
print("%-26s %-9s %10s %9s %8s %17s %16s" % ("workload", "target", "req/s", "p99(ms)",
      "errors", "ratio-vs-haproxy", "ratio-vs-direct"))
for x in rows:
    print("%-26s %-9s %10s %9s %8d %17s %16s" % (x["workload"], x["target"],
          f(x["requests_per_sec"], ".1f"), f(x["p99_ms"], ".2f"), x["errors"],
          f(x["ratio_vs_haproxy"], ".2f"), f(x["ratio_vs_direct"], ".2f")))
print()
summary = []
for wl in workloads:
    pw, hp, dr = find(wl, "portwing"), find(wl, "haproxy"), find(wl, "direct")
    if wl.startswith("auth"):
        tk = find(wl, "token")
        s = {"workload": wl}
        for t in ("token-hash", "signed"):
            x = find(wl, t)
            s[t + "_vs_token"] = {"req_per_sec": ratio(x["requests_per_sec"], tk["requests_per_sec"]),
                                  "p99": ratio(x["p99_ms"], tk["p99_ms"])}
            print("%s: %s/token req/s %s, p99 %s" % (wl, t, f(s[t + "_vs_token"]["req_per_sec"], ".2f"),
                                                   f(s[t + "_vs_token"]["p99"], ".2f")))
        summary.append(s)
        continue
    if wl.startswith("policy"):
        s = {"workload": wl, "policy_on_vs_off": {
            "req_per_sec": ratio(mean(wl, "policy-on", "requests_per_sec"),
                                 mean(wl, "policy-off", "requests_per_sec")),
            "p99": ratio(mean(wl, "policy-on", "p99_ms"), mean(wl, "policy-off", "p99_ms"))}}
        summary.append(s)
        print("%s: policy-on/policy-off req/s %s (target >= 0.95), p99 %s"
              % (wl, f(s["policy_on_vs_off"]["req_per_sec"], ".2f"),
                 f(s["policy_on_vs_off"]["p99"], ".2f")))
        continue
    if wl.startswith("audit"):
        s = {"workload": wl, "file_sink_vs_no_sink": {
            "req_per_sec": ratio(mean(wl, "file-sink", "requests_per_sec"),
                                 mean(wl, "no-sink", "requests_per_sec")),
            "p99": ratio(mean(wl, "file-sink", "p99_ms"), mean(wl, "no-sink", "p99_ms"))}}
        summary.append(s)
        print("%s: file-sink/no-sink req/s %s (target >= 0.90), p99 %s"
              % (wl, f(s["file_sink_vs_no_sink"]["req_per_sec"], ".2f"),
                 f(s["file_sink_vs_no_sink"]["p99"], ".2f")))
        continue
    if wl.startswith("drydock"):
        s = {"workload": wl, "portwing_vs_docker_list": {
            "req_per_sec": ratio(pw["requests_per_sec"], dr["requests_per_sec"]),
            "p99": ratio(pw["p99_ms"], dr["p99_ms"])},
            "portwing_p50_ms": pw["p50_ms"], "portwing_p99_ms": pw["p99_ms"]}
        summary.append(s)
        print("%s: /api/containers p50 %s ms, p99 %s ms (target < 100 ms); "
              "portwing/dockerd-list req/s %s, p99 %s"
              % (wl, f(pw["p50_ms"], ".1f"), f(pw["p99_ms"], ".1f"),
                 f(s["portwing_vs_docker_list"]["req_per_sec"], ".2f"),
                 f(s["portwing_vs_docker_list"]["p99"], ".2f")))
        continue
    if hp is None:
        up = find(wl, "upstream")
        s = {"workload": wl, "portwing_vs_upstream": {
            "req_per_sec": ratio(pw["requests_per_sec"], up["requests_per_sec"]),
            "p99": ratio(pw["p99_ms"], up["p99_ms"])}}
        summary.append(s)
        print("%s: portwing/upstream req/s %s (the proxy's own cost), p99 %s"
              % (wl, f(s["portwing_vs_upstream"]["req_per_sec"], ".2f"),
                 f(s["portwing_vs_upstream"]["p99"], ".2f")))
        continue
    s = {"workload": wl,
         "portwing_vs_haproxy": {"req_per_sec": ratio(pw["requests_per_sec"], hp["requests_per_sec"]),
                                 "p99": ratio(pw["p99_ms"], hp["p99_ms"])},
         "portwing_vs_direct": {"req_per_sec": ratio(pw["requests_per_sec"], dr["requests_per_sec"]),
                                "p99": ratio(pw["p99_ms"], dr["p99_ms"])}}
    summary.append(s)
    print("%s: portwing/haproxy req/s %s (higher is better), p99 %s (lower is better)"
          % (wl, f(s["portwing_vs_haproxy"]["req_per_sec"], ".2f"),
             f(s["portwing_vs_haproxy"]["p99"], ".2f")))
for x in rows:
    if x["errors"]:
        e = x["socket_errors"]
        print("errors: %s via %s: %d of %d answers non-2xx/3xx; socket errors: "
              "connect %d, read %d, write %d, timeout %d"
              % (x["workload"], x["target"], x["non_2xx_3xx"], x["requests"],
                 e["connect"], e["read"], e["write"], e["timeout"]))
        sr = x.get("status_rerun")
        if sr:
            print("  %ds re-run counting statuses: %s" % (sr["duration_s"], ", ".join(
                "%s x%d" % kv for kv in sorted(sr["statuses"].items()))))
            for code, body in sorted(sr["sample_bodies"].items()):
                print("  %s body: %s" % (code, body))

cp = None
cpf = os.path.join(state, "cp.txt")
if os.path.exists(cpf):
    mb, t_pw, t_dir, t_tcp, r_pw, r_dir = open(cpf).read().split()
    cp = {"mib": int(mb),
          "cli_via_portwing_ms": num(t_pw), "cli_direct_socket_ms": num(t_dir),
          "cli_direct_tcp_ms": num(t_tcp),
          "raw_via_portwing_ms": num(r_pw), "raw_direct_socket_ms": num(r_dir),
          "cli_ratio_vs_socket": ratio(num(t_pw), num(t_dir)),
          "cli_ratio_vs_tcp": ratio(num(t_pw), num(t_tcp)),
          "raw_ratio_vs_socket": ratio(num(r_pw), num(r_dir))}
    print("docker cp %s MiB out (time, lower is better): CLI via portwing %s ms; "
          "CLI direct: socket %s ms (ratio %s), dockerd TCP %s ms (ratio %s)"
          % (mb, t_pw, t_dir, f(cp["cli_ratio_vs_socket"], ".2f"), t_tcp,
             f(cp["cli_ratio_vs_tcp"], ".2f")))
    print("GET .../archive %s MiB with curl: via portwing %s ms, socket %s ms, ratio %s"
          % (mb, r_pw, r_dir, f(cp["raw_ratio_vs_socket"], ".2f")))
dd = None
ddf = os.path.join(state, "dd.txt")
if os.path.exists(ddf):
    n, count, build_ms, nbytes, single = open(ddf).read().split()
    dd = {"containers": int(n), "listed": int(count),
          "inventory_ready_ms": int(build_ms), "answer_bytes": int(nbytes),
          "single_request_ms": round(float(single) * 1000, 2)}
    print("drydock: %s containers listed; inventory ready %s ms after start; "
          "one GET /api/containers alone: %.1f ms (%s bytes)"
          % (count, build_ms, dd["single_request_ms"], nbytes))
pc = None
pcf = os.path.join(state, "policy.txt")
if os.path.exists(pcf):
    acc = {}
    for line in open(pcf):
        t, p50, p99 = line.split()
        if p50 != "-":
            acc.setdefault(t, []).append((float(p50), float(p99)))
    if acc.get("policy-on") and acc.get("policy-off"):
        m = {t: (sum(a for a, _ in v) / len(v), sum(b for _, b in v) / len(v))
             for t, v in acc.items()}
        pc = {"create_p50_ms": {t: round(v[0], 3) for t, v in m.items()},
              "create_p99_ms": {t: round(v[1], 3) for t, v in m.items()},
              "create_p50_delta_ms": round(m["policy-on"][0] - m["policy-off"][0], 3)}
        print("policy POST /containers/create (inspected body): p50 %.3f ms on, "
              "%.3f ms off, delta %+.3f ms (target < 1 ms); p99 %.3f / %.3f ms"
              % (m["policy-on"][0], m["policy-off"][0], pc["create_p50_delta_ms"],
                 m["policy-on"][1], m["policy-off"][1]))
hs = None
hsf = os.path.join(state, "handshake.txt")
if os.path.exists(hsf):
    hs = {}
    for line in open(hsf):
        _, kind, target, rate, cpu = line.split()
        hs.setdefault(kind, {})[target] = {"per_sec": float(rate),
                                           "agent_cpu_us": float(cpu)}
    for kind, v in hs.items():
        pw, bl = v.get("portwing"), v.get("baseline")
        if pw and bl:
            v["ratio_vs_baseline"] = {"per_sec": ratio(pw["per_sec"], bl["per_sec"]),
                                      "agent_cpu_us": ratio(pw["agent_cpu_us"], bl["agent_cpu_us"])}
        print("TLS handshakes %s: %s/s, agent CPU %s us each%s" % (kind,
              f(pw and pw["per_sec"], ".1f"), f(pw and pw["agent_cpu_us"], ".1f"),
              "" if not (pw and bl) else " (baseline %s/s, %s us; ratio %s, %s)"
              % (f(bl["per_sec"], ".1f"), f(bl["agent_cpu_us"], ".1f"),
                 f(v["ratio_vs_baseline"]["per_sec"], ".2f"),
                 f(v["ratio_vs_baseline"]["agent_cpu_us"], ".2f"))))
doc = {
    "policy_create": pc,
    "tls_handshakes_per_sec": hs,
    "drydock_inventory": dd,
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "docker_cp": cp,
    "host": {"cpus": os.cpu_count(), "kernel": os.uname().release},
    "settings": {"duration_s": int(duration), "warmup_s": int(warmup),
                 "connections": int(conns), "threads": int(threads),
                 "keepalive": True, "portwing_workers": int(workers),
                 "haproxy_threads": int(workers), "containers": int(ncont)},
    "results": rows,
    "summary": summary,
}
with open(out, "w") as fh:
    json.dump(doc, fh, indent=2)
    fh.write("\n")
print("\n# results: %s; raw wrk output: %s/wrk-*.txt" % (out, state))
PY
[ $? -eq 0 ] || die "could not write the report"
[ "$BENCH_ONLY" = main ] || peers_run
if [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = all ]; then
	# Its own engine: stop this one first so the two do not compete.
	trap - EXIT INT TERM
	stop_all
	"$here/bulk.sh" "$build" || say "warning: the bulk section failed"
	"$here/api.sh" "$build" || say "warning: the api section failed"
fi
exit 0
