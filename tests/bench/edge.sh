#!/bin/bash
# edge.sh BUILD_DIR: edge mode's bench (`make bench BENCH_ONLY=edge`; not
# part of a full run: its soak takes BENCH_EDGE_SOAK_MIN minutes).
#
# 1. The controller's calls over the session against the same calls on
#    the agent's own port in standard mode, in one run, against the same
#    dockerd (20 containers): GET /_ping and GET /containers/json, one at
#    a time (p50, p99) and BENCH_EDGE_CONC (default 16) in flight, for
#    BENCH_EDGE_SECONDS (default 10) each.  Both sides are driven by the
#    same Python asyncio code (tests/bench/edgebench.py): the controller
#    for the tunnel, keep-alive HTTP/1.1 connections for the port.
# 2. Soak: BENCH_EDGE_SOAK_MIN (default 30) minutes of the controller's
#    mixed traffic (8 calls in flight, one-shot logs, a live log stream
#    opened and cancelled every 10 s, /events streams) against a
#    container that writes a line every 100 ms; the RSS and descriptors
#    of every portwing process are sampled every minute.  After the
#    first two minutes (warm-up) nothing may grow for good.
#
# Output: tables on stdout and BUILD_DIR/bench-edge.json.  Exits 0
# whatever it measured; non-zero only when something cannot be set up.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ -d "$build" ] || { echo "edge: build directory '$build' not found" >&2; exit 1; }
build=$(cd "$build" && pwd)
SECS=${BENCH_EDGE_SECONDS:-10}
CONC=${BENCH_EDGE_CONC:-16}
SOAK=${BENCH_EDGE_SOAK_MIN:-30}
for v in SECS CONC SOAK; do
	case ${!v} in '' | *[!0-9]* | 0)
		echo "edge: $v must be a positive integer (got '${!v}')" >&2; exit 1 ;;
	esac
done
STATE=/tmp/pw-bench-edge
PY=/usr/bin/python3
die() { echo "edge: $*" >&2; exit 1; }
say() { echo "# $*"; }
[ "$(id -u)" -eq 0 ] || die "needs root (dockerd, portwingd's chroot)"
"$PY" -c 'import websockets' 2>/dev/null ||
	die "python3-websockets is needed (apt-get install python3-websockets)"
mkdir -p "$STATE"
export PW_BUILD=$build PW_DOCKER_DIR=/tmp/pw-bench-edge-dockerd PW_TMP=$STATE
. "$here/../regress/lib.sh"
set +e
BPID=
cleanup() {
	pw_stop
	[ -n "$BPID" ] && kill "$BPID" 2>/dev/null
	if [ -S "${DOCKER_SOCK:-}" ]; then
		docker -H "unix://$DOCKER_SOCK" rm -f $(docker -H "unix://$DOCKER_SOCK" ps -aq --filter name=pwbe-) >/dev/null 2>&1
	fi
	pw_dockerd_stop
}
trap cleanup EXIT
say "starting a private dockerd in $PW_DOCKER_DIR"
pw_dockerd_start || die "dockerd did not start"
pw_image || die "could not import the test image"
pw_ensure_user
D() { docker -H "unix://$DOCKER_SOCK" "$@"; }
D rm -f $(D ps -aq --filter name=pwbe-) >/dev/null 2>&1
for i in $(seq 1 19); do D run -d --name pwbe-$i "$PW_IMAGE" sleep 36000 >/dev/null; done
D run -d --name pwbe-chatty "$PW_IMAGE" sh -c 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.1; done' >/dev/null ||
	die "cannot start the containers"
cid=$(D inspect -f '{{.Id}}' pwbe-chatty)
printf -- '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n-----END PRIVATE KEY-----\n' >"$STATE/key.pem"
chmod 600 "$STATE/key.pem"

# controller MODE ARGS...: edgebench.py as the controller, on a fresh port.
controller() {	# (bounded: a stuck run ends, and says so in its log)
	local mode=$1 limit=$(( SECS * 6 + SOAK * 60 + 300 )); shift
	CPORT=$(pw_free_port)
	timeout "$limit" "$PY" "$here/edgebench.py" "$mode" "$CPORT" "$@" \
	    >"$STATE/ctl-$mode.log" 2>&1 &
	BPID=$!
	sleep 0.5
}
edge_start() {
	pw_start DRYDOCK_URL="http://127.0.0.1:$CPORT" PRIVATE_KEY_FILE="$STATE/key.pem" \
	    AGENT_NAME=bench-edge WORKERS=2 "$@"
}

# ------------------------------------------------------------ 1. compare
say "the controller's calls over the session: $SECS s per cell"
rm -f "$STATE/tunnel.json" "$STATE/inbound.json"
controller tunnel "$STATE/tunnel.json" "$SECS" "$CONC"
edge_start || die "portwingd (edge) did not start"
wait "$BPID"; BPID=
pw_stop
say "the same calls on the agent's own port (standard mode)"
pw_start WORKERS=2 MAX_CONNECTIONS_PER_ADDRESS=0 || die "portwingd (standard) did not start"
"$PY" "$here/edgebench.py" inbound "$PW_PORT" "$PW_TOKEN" "$STATE/inbound.json" "$SECS" "$CONC" ||
	say "warning: the inbound run failed"
pw_stop

# ------------------------------------------------------------ 2. soak
say "soak: $SOAK minutes of the controller's mixed traffic, samples every minute"
controller soak "$STATE/soak.json" $((SOAK * 60)) "$cid"
edge_start || die "portwingd (edge) did not start"
: >"$STATE/samples.txt"
sample() {	# MINUTE: "min role pid rss_kb fds" per process
	local p role
	for p in $PW_PID $(pgrep -P "$PW_PID"); do
		role=$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | sed 's/^portwingd: //; s/ *$//; s/ /-/g')
		[ -n "$role" ] || continue
		echo "$1 $role $p $(awk '/VmRSS/ {print $2}' /proc/$p/status) $(ls /proc/$p/fd | wc -l)"
	done >>"$STATE/samples.txt"
}
for m in $(seq 0 "$SOAK"); do
	sample "$m"
	[ "$m" -lt "$SOAK" ] && sleep 60
done
wait "$BPID"; BPID=
pw_stop

"$PY" - "$STATE" "$build/bench-edge.json" "$CONC" <<'PY'
import json, sys
state, out, conc = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = {}
try:
    t = json.load(open(state + "/tunnel.json"))["results"]
    i = json.load(open(state + "/inbound.json"))["results"]
except Exception as e:
    t = i = None
    print("# compare: no results (%s)" % e)
if t and i:
    print("\n%-18s %-6s %12s %12s %10s %10s %8s" % ("call", "load", "tunnel rps", "inbound rps",
          "tunnel p50", "inbound p50", "ratio"))
    for p in t:
        for k, name in (("c1", "c=1"), ("cN", "c=%d" % conc)):
            a, b = t[p][k], i[p][k]
            r = a["rps"] / b["rps"] if b.get("rps") else 0
            print("%-18s %-6s %12.1f %12.1f %8.3fms %8.3fms %8.2f" % (
                p, name, a["rps"], b["rps"], a["p50_ms"], b["p50_ms"], r))
    doc["compare"] = {"tunnel": t, "inbound": i}
rows = [l.split() for l in open(state + "/samples.txt")]
by = {}
for m, role, pid, rss, fds in rows:
    by.setdefault(role, []).append((int(m), int(pid), int(rss), int(fds)))
print("\n%-12s %8s %8s %8s %6s %6s %6s" % ("process", "rss@2", "rss@end", "max", "fds@2",
      "fds@end", "pids"))
soak = {}
for role, v in sorted(by.items()):
    after = [x for x in v if x[0] >= 2] or v
    pids = len({x[1] for x in v})
    print("%-12s %7dK %7dK %7dK %6d %6d %6d" % (role, after[0][2], v[-1][2],
          max(x[2] for x in after), after[0][3], v[-1][3], pids))
    soak[role] = {"rss_kb_after_warmup": after[0][2], "rss_kb_end": v[-1][2],
                  "rss_kb_max": max(x[2] for x in after), "fds_after_warmup": after[0][3],
                  "fds_end": v[-1][3], "pids": pids}
try:
    s = json.load(open(state + "/soak.json"))
    print("# soak traffic: %s; frames from the agent: %s" % (s["done"], s["frames"]))
    doc["soak_traffic"] = s
except Exception as e:
    print("# soak: the controller reported nothing (%s)" % e)
doc["soak"] = soak
json.dump(doc, open(out, "w"), indent=2)
print("# results: %s" % out)
PY
exit 0
