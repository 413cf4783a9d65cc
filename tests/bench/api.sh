#!/bin/bash
# api.sh BUILD_DIR: the container list from portwing's own answers against
# Docker's (`make bench BENCH_ONLY=api`; not part of a full run).
#
# An engine with BENCH_API_CONTAINERS (default 1000) containers, made by
# ddinv.py, of which the first BENCH_API_RUNNING (default 50) run; one
# portwingd with ADAPTER=generic (WORKERS=2) in front of it.  Four rows,
# each a warm-up of BENCH_API_WARMUP seconds (default 2) and then
# BENCH_API_SECONDS (default 10) of wrk --latency, keep-alive,
# BENCH_API_CONNECTIONS (default 8) connections, BENCH_API_THREADS
# (default 2) threads, --timeout 10s (Docker's list of 1,000 takes long):
#   direct   GET /containers/json?all=1 on dockerd's TCP listener
#   proxy    the same call through portwing's transparent proxy
#   generic  GET /api/v1/containers (the generic adapter)
#   mcp      POST /_portwing/mcp, tools/call list_containers (mcp.lua)
# direct and proxy make Docker list every container for every request;
# generic and mcp are answered from the agent's inventory.  Before the
# rows, one answer of each is checked to list every container.
#
# No Docker call per request: this section's dockerd runs with --debug,
# which logs "Calling METHOD PATH" for every API request it gets.  The
# lines logged during each measured run are counted: "list" are calls of
# /containers/json (what a row would cost Docker per request), "all" every
# Docker call (the inventory's own inspections and refreshes included).
# For generic and mcp both are expected near 0 (DD_POLL_INTERVAL, 300 s
# by default, may add one refresh); for direct and proxy, list = the
# requests wrk counts plus the few still in flight when it stops.
#
# Ratios: route req/s / direct req/s (above 1: more answers per second
# than Docker's own list) and route p99 / direct p99 (below 1: a lower
# tail).  wrk, portwingd and dockerd share the machine's CPUs: compare
# ratios, and only between runs on the same machine.  A row with errors
# (socket errors, non-2xx answers) is not a valid measurement.
#
# Output: a table on stdout and BUILD_DIR/bench-api.json; raw wrk output
# and the logs in /tmp/pw-bench-api.  Its own engine, in
# /tmp/pw-bench-api-dockerd; the containers are removed at the end.
# Exits 0 whatever it measured; non-zero only when something cannot be
# set up or an answer does not list every container.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ -d "$build" ] || { echo "api: build directory '$build' not found" >&2; exit 1; }
build=$(cd "$build" && pwd)
SECS=${BENCH_API_SECONDS:-10}
WARM=${BENCH_API_WARMUP:-2}
NCT=${BENCH_API_CONTAINERS:-1000}
NRUN=${BENCH_API_RUNNING:-50}
CONNS=${BENCH_API_CONNECTIONS:-8}
THREADS=${BENCH_API_THREADS:-2}
for v in SECS WARM NCT CONNS THREADS; do
	case ${!v} in '' | *[!0-9]* | 0)
		echo "api: $v must be a positive integer (got '${!v}')" >&2; exit 1 ;;
	esac
done
case $NRUN in '' | *[!0-9]*)
	echo "api: BENCH_API_RUNNING must be a number (got '$NRUN')" >&2; exit 1 ;;
esac
[ "$NRUN" -le "$NCT" ] || NRUN=$NCT
STATE=/tmp/pw-bench-api
die() { echo "api: $*" >&2; exit 1; }
say() { echo "# $*"; }
[ "$(id -u)" -eq 0 ] || die "needs root (dockerd, portwingd's chroot)"
for c in wrk curl python3 dockerd docker; do
	command -v $c >/dev/null 2>&1 || die "$c is needed"
done
[ -x "$build/portwingd" ] || die "$build/portwingd not built (run make)"
rm -rf "$STATE"
mkdir -p "$STATE"
export PW_BUILD=$build PW_DOCKER_DIR=/tmp/pw-bench-api-dockerd PW_TMP=$STATE
. "$here/../regress/lib.sh"
set +e
DOCKER_SOCK=$PW_DOCKER_DIR/docker.sock
DLOG=$PW_DOCKER_DIR/dockerd.log
export DOCKER_SOCK

# An engine of an earlier run that did not end: its containers go, then it.
dpid=$(cat "$PW_DOCKER_DIR/docker.pid" 2>/dev/null)
if [ -n "$dpid" ] && tr '\0' ' ' <"/proc/$dpid/cmdline" 2>/dev/null |
    grep -qF -- "--data-root $PW_DOCKER_DIR/data"; then
	say "stopping the dockerd of an earlier run (pid $dpid)"
	python3 "$here/ddinv.py" remove "$DOCKER_SOCK" 2>/dev/null
	pw_dockerd_stop
	kill -KILL "$dpid" 2>/dev/null
fi

cleanup() {
	trap - EXIT INT TERM
	pw_stop
	if [ -S "$DOCKER_SOCK" ]; then
		say "removing the containers"
		python3 "$here/ddinv.py" remove "$DOCKER_SOCK"
		say "containers left: $(docker -H "unix://$DOCKER_SOCK" ps -aq \
		    --filter label=pwbench.dd=1 | wc -l)"
	fi
	pw_dockerd_stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# lib.sh's engine, with --debug (one "Calling ..." line per API request)
# and a TCP listener for wrk's direct row.
DTCP=$(pw_free_port)
say "starting a private dockerd (--debug) in $PW_DOCKER_DIR, tcp 127.0.0.1:$DTCP"
mkdir -p "$PW_DOCKER_DIR"
rm -f "$DOCKER_SOCK"
dockerd --debug --host "unix://$DOCKER_SOCK" --host "tcp://127.0.0.1:$DTCP" \
    --data-root "$PW_DOCKER_DIR/data" --exec-root "$PW_DOCKER_DIR/exec" \
    --pidfile "$PW_DOCKER_DIR/docker.pid" --iptables=false --bridge=none \
    --ip-masq=false >"$DLOG" 2>&1 &
for _ in $(seq 1 150); do
	curl -s -m 2 -o /dev/null "http://127.0.0.1:$DTCP/_ping" && break
	sleep 0.2
done
curl -s -m 2 -o /dev/null "http://127.0.0.1:$DTCP/_ping" ||
	{ tail -20 "$DLOG" >&2; die "dockerd did not start"; }
pw_image || die "could not import the test image"
pw_ensure_user

say "creating $NCT containers, starting $NRUN of them"
t0=$(date +%s%N)
python3 "$here/ddinv.py" remove "$DOCKER_SOCK"
python3 "$here/ddinv.py" create "$DOCKER_SOCK" "$PW_IMAGE" "$NCT" ||
	die "could not create the containers"
if [ "$NRUN" -gt 0 ] && ! python3 "$here/ddinv.py" start "$DOCKER_SOCK" "$NRUN" \
    >"$STATE/start.log" 2>&1; then
	say "warning: containers could not be started ($(head -1 "$STATE/start.log")); all $NCT only created"
	NRUN=0
fi
say "containers ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

t0=$(date +%s%N)
pw_start ADAPTER=generic WORKERS=2 MAX_CONNECTIONS_PER_ADDRESS=0 ||
	die "portwingd (ADAPTER=generic) did not start"
AUTH="Authorization: Bearer $PW_TOKEN"
MCP_BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_containers"}}'
U_DIRECT="http://127.0.0.1:$DTCP/containers/json?all=1"
U_PROXY="http://127.0.0.1:$PW_PORT/containers/json?all=1"
U_GENERIC="http://127.0.0.1:$PW_PORT/api/v1/containers"
U_MCP="http://127.0.0.1:$PW_PORT/_portwing/mcp"

# fetch ROW FILE: one answer of a row's call into FILE; prints the status.
fetch() {
	case $1 in
	direct) curl -s -m 30 -o "$2" -w '%{http_code}' "$U_DIRECT" ;;
	proxy) curl -s -m 30 -o "$2" -w '%{http_code}' -H "$AUTH" "$U_PROXY" ;;
	generic) curl -s -m 30 -o "$2" -w '%{http_code}' -H "$AUTH" "$U_GENERIC" ;;
	mcp) curl -s -m 30 -o "$2" -w '%{http_code}' -H "$AUTH" \
	    -H 'Content-Type: application/json' --data-binary "$MCP_BODY" "$U_MCP" ;;
	esac
}
# entries ROW FILE: how many containers the answer in FILE lists.
entries() {
	python3 - "$1" "$2" <<'PY' 2>"$STATE/entries.err"
import json, sys
row, path = sys.argv[1:]
d = json.load(open(path))
if row == "mcp":
    r = d["result"]
    if r.get("isError"):
        raise SystemExit("tool error: " + r["content"][0]["text"][:200])
    d = json.loads(r["content"][0]["text"])
if isinstance(d, dict):		# an object around the list
    d = next(v for v in d.values() if isinstance(v, list))
print(len(d))
PY
}

# The inventory is built after start: wait until MCP lists every container.
n=0
for _ in $(seq 1 600); do
	[ "$(fetch mcp "$STATE/answer-mcp.json")" = 200 ] &&
	    n=$(entries mcp "$STATE/answer-mcp.json") && [ "$n" = "$NCT" ] && break
	sleep 0.1
done
[ "$n" = "$NCT" ] || die "MCP list_containers lists ${n:-nothing} containers after 60 s, expected $NCT ($(head -c 300 "$STATE/answer-mcp.json"); $(cat "$STATE/entries.err"))"
say "portwingd's inventory lists $NCT containers $(( ($(date +%s%N) - t0) / 1000000 )) ms after start"

: >"$STATE/answers.tsv"
check_all() {	# WHEN: every row's answer lists every container
	local r code n
	for r in direct proxy mcp generic; do
		code=$(fetch $r "$STATE/answer-$r.json")
		[ "$code" = 200 ] || die "$r ($1): answered $code, expected 200 ($(head -c 300 "$STATE/answer-$r.json"))"
		n=$(entries $r "$STATE/answer-$r.json") ||
			die "$r ($1): not a container list ($(cat "$STATE/entries.err"))"
		[ "$n" = "$NCT" ] || die "$r ($1): lists $n containers, expected $NCT"
		say "$r ($1): 200, lists $n containers, $(stat -c %s "$STATE/answer-$r.json") bytes"
		[ "$1" = before ] && printf '%s\t%s\t%s\n' $r "$n" \
		    "$(stat -c %s "$STATE/answer-$r.json")" >>"$STATE/answers.tsv"
	done
	return 0
}
check_all before
[ "$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$U_GENERIC")" = 401 ] ||
	say "warning: the generic adapter answered without the token"

# The debug lines of dockerd's log since byte offset $1: "list all".
calls_since() {
	tail -c +$(($1 + 1)) "$DLOG" | awk '
	/msg="Calling / { all++ }
	/msg="Calling [A-Z]+ [^" ]*\/containers\/json/ { list++ }
	END { print list + 0, all + 0 }'
}
logsize() { stat -c %s "$DLOG"; }
# A control: the direct fetch above must have been logged, or the counts
# below would prove nothing.
[ "$(calls_since 0 | cut -d' ' -f1)" -gt 0 ] ||
	die "dockerd's log has no \"Calling ...\" lines: is --debug in effect?"

: >"$STATE/calls.tsv"
for r in direct proxy mcp generic; do
	args=()
	case $r in
	direct) url=$U_DIRECT ;;
	proxy) url=$U_PROXY; args=(-H "$AUTH") ;;
	generic) url=$U_GENERIC; args=(-H "$AUTH") ;;
	mcp) url=$U_MCP; args=(-H "$AUTH" -s "$here/mcp.lua") ;;
	esac
	say "$r: ${WARM}s warm-up, ${SECS}s measured, $CONNS connections"
	wrk -t"$THREADS" -c"$CONNS" -d"${WARM}s" --timeout 10s "${args[@]}" "$url" \
	    >"$STATE/wrk-$r-warmup.txt" 2>&1
	sleep 0.3
	off=$(logsize)
	wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 10s --latency "${args[@]}" "$url" \
	    >"$STATE/wrk-$r.txt" 2>&1 || say "warning: wrk failed, see $STATE/wrk-$r.txt"
	sleep 0.5
	printf '%s\t%s\n' $r "$(calls_since "$off")" >>"$STATE/calls.tsv"
done
check_all after
kill -0 "$PW_PID" 2>/dev/null || say "warning: portwingd died during the run"

python3 - "$STATE" "$build/bench-api.json" "$NCT" "$NRUN" "$SECS" "$WARM" \
    "$CONNS" "$THREADS" <<'PY'
import json, os, re, sys, time
state, out = sys.argv[1], sys.argv[2]
nct, nrun, secs, warm, conns, threads = map(int, sys.argv[3:])

def ms(v):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", v)
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[m.group(2)]

def wrk(path):
    r = {"rps": None, "p50_ms": None, "p99_ms": None, "requests": 0, "errors": 0}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "50%":
            r["p50_ms"] = ms(f[1])
        elif f[0] == "99%":
            r["p99_ms"] = ms(f[1])
        elif f[0] == "Requests/sec:":
            r["rps"] = float(f[1])
        elif len(f) > 2 and f[1] == "requests" and f[2] == "in":
            r["requests"] = int(f[0])
        elif line.strip().startswith("Socket errors:"):
            r["errors"] += sum(int(x) for x in re.findall(r"\d+", line))
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            r["errors"] += int(f[-1])
    return r

label = {"direct": ("GET /containers/json?all=1", "dockerd TCP"),
         "proxy": ("GET /containers/json?all=1", "portwing proxy"),
         "generic": ("GET /api/v1/containers", "portwing cache"),
         "mcp": ("MCP tools/call list_containers", "portwing cache")}
answers = {l.split()[0]: (int(l.split()[1]), int(l.split()[2]))
           for l in open(os.path.join(state, "answers.tsv"))}
rows = {}
for line in open(os.path.join(state, "calls.tsv")):
    r, lst, allc = line.split()
    x = wrk(os.path.join(state, "wrk-%s.txt" % r))
    x.update({"call": label[r][0], "via": label[r][1], "docker_list_calls": int(lst),
              "docker_calls": int(allc), "listed": answers[r][0],
              "answer_bytes": answers[r][1]})
    rows[r] = x

def f(v, fmt):
    return "-" if v is None else format(v, fmt)

def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None

print()
print("%d containers (%d running), %d connections, %d threads, %d s per row"
      % (nct, nrun, conns, threads, secs))
print("%-31s %-15s %9s %9s %9s %7s %8s %22s" % ("", "", "", "", "", "", "",
      "Docker calls in row"))
print("%-31s %-15s %9s %9s %9s %7s %8s %10s %11s" % ("call", "via", "req/s", "p50(ms)",
      "p99(ms)", "errors", "bytes", "list", "all"))
for r in ("direct", "proxy", "generic", "mcp"):
    x = rows.get(r)
    if x:
        print("%-31s %-15s %9s %9s %9s %7d %8d %10d %11d" % (x["call"], x["via"],
              f(x["rps"], ".1f"), f(x["p50_ms"], ".2f"), f(x["p99_ms"], ".2f"),
              x["errors"], x["answer_bytes"], x["docker_list_calls"], x["docker_calls"]))
print()
d = rows.get("direct")
summary = {}
for r in ("generic", "mcp", "proxy"):
    x = rows.get(r)
    if not (x and d):
        continue
    s = {"req_per_sec": ratio(x["rps"], d["rps"]), "p99": ratio(x["p99_ms"], d["p99_ms"])}
    summary[r + "_vs_direct"] = s
    print("%-8s / direct: req/s %s (higher is better), p99 %s (lower is better)"
          % (r, f(s["req_per_sec"], ".2f"), f(s["p99"], ".3f")))
print()
for r in ("direct", "proxy", "generic", "mcp"):
    x = rows.get(r)
    if x:
        print("%-8s Docker calls during the row: %d (list calls %d) for %d requests"
              % (r, x["docker_calls"], x["docker_list_calls"], x["requests"]))
for r, x in rows.items():
    if x["errors"]:
        print("errors: %s: %d socket errors or non-2xx answers of %d: not a valid row"
              % (r, x["errors"], x["requests"]))
doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
       "host": {"cpus": os.cpu_count(), "kernel": os.uname().release},
       "settings": {"containers": nct, "running": nrun, "duration_s": secs,
                    "warmup_s": warm, "connections": conns, "threads": threads,
                    "portwing_workers": 2, "keepalive": True},
       "results": rows, "summary": summary}
with open(out, "w") as fh:
    json.dump(doc, fh, indent=2)
    fh.write("\n")
print("\n# results: %s; raw wrk output: %s/wrk-*.txt" % (out, state))
PY
exit 0
