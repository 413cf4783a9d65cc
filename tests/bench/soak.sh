#!/bin/bash
# soak.sh BUILD_DIR: does portwing's memory stay flat over a million
# requests?  (`make bench BENCH_ONLY=soak`; not part of a full run, it
# takes a couple of minutes on its own.)
#
# portwingd (2 workers) in front of a fake upstream (nginx answering
# fixed bodies on a unix socket), driven by wrk in turns of three
# segments of BENCH_SOAK_SEGMENT seconds (default 5): keep-alive
# GET /_ping, Connection: close GET /_ping and keep-alive
# GET /containers/json (20 entries), 64 connections each.
# After every turn the RSS and PSS of every portwing process are taken,
# idle.  The first turn (and more, until BENCH_SOAK_WARMUP requests,
# default 100000) is the warm-up: every path has run and the allocators
# hold what they keep.  Turns go on until BENCH_SOAK_REQUESTS (default
# 1000000) in all.  The table shows each process's PSS after every turn:
# a process that keeps a little per request grows turn after turn;
# allocator slack shows once and then stays flat.
#
# Output: a table on stdout and BUILD_DIR/bench-soak.json.  Exits 0
# whatever it measured; non-zero only when something cannot be set up.

set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ -d "$build" ] || { echo "soak: build directory '$build' not found" >&2; exit 1; }
build=$(cd "$build" && pwd)
TOTAL=${BENCH_SOAK_REQUESTS:-1000000}
WARM=${BENCH_SOAK_WARMUP:-100000}
SEG=${BENCH_SOAK_SEGMENT:-5}
for v in TOTAL WARM SEG; do
	case ${!v} in '' | *[!0-9]* | 0)
		echo "soak: $v must be a positive integer (got '${!v}')" >&2; exit 1 ;;
	esac
done
[ "$WARM" -lt "$TOTAL" ] || { echo "soak: BENCH_SOAK_WARMUP must be below BENCH_SOAK_REQUESTS" >&2; exit 1; }
STATE=/tmp/pw-bench-soak
die() { echo "soak: $*" >&2; exit 1; }
say() { echo "# $*"; }
[ "$(id -u)" -eq 0 ] || die "needs root (portwingd's chroot)"
for c in wrk nginx curl; do
	command -v $c >/dev/null 2>&1 || die "$c is needed (apt-get install wrk nginx-light curl)"
done
rm -rf "$STATE"
mkdir -p "$STATE"

export PW_BUILD=$build PW_TMP=$STATE
. "$here/../regress/lib.sh"
set +e +u

# The same fake upstream as the peers section (peers.sh); its TCP
# listener goes unused here.
. "$here/peers.sh"
cleanup() {
	[ -n "${PW_PID:-}" ] && pw_stop
	[ -n "$PEERS_UP_PID" ] && kill "$PEERS_UP_PID" 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT INT TERM

mkdir -p "$PEERS_DIR"
peers_start_fake || die "the fake upstream did not start (see $PEERS_DIR/upstream-nginx.err)"
DOCKER_SOCK=$PEERS_UP_SOCK

pw_ensure_user
pw_start WORKERS=2 MAX_CONNECTIONS_PER_ADDRESS=0 DOCKER_ROOT=$STATE ||
    die "portwingd did not start (log: $PW_LOG)"

# "name pid" for every portwing process, named by its title.
procs() {
	local p t
	echo "master $PW_PID"
	for p in $(pgrep -P "$PW_PID"); do
		t=$(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)
		t=${t#portwingd: }; t=${t% }; t=${t// /}
		echo "${t:-pid$p} $p"
	done
}
done_reqs=0
errors=0
turn=0
# one_turn: the three segments once, then the memory, idle.
one_turn() {
	local out n e path hdr seg
	turn=$((turn + 1))
	for seg in 0 1 2; do
		case $seg in
		0) path=/_ping hdr=keep-alive ;;
		1) path=/_ping hdr=close ;;
		2) path=/containers/json hdr=keep-alive ;;
		esac
		out=$(wrk -t2 -c64 -d${SEG}s -H "Authorization: Bearer $PW_TOKEN" \
		    -H "Connection: $hdr" "http://127.0.0.1:$PW_PORT$path" 2>&1)
		n=$(awk '/requests in/ {print $1}' <<<"$out")
		e=$(awk '/Non-2xx/ {s += $NF} /Socket errors/ {gsub(",", ""); s += $4 + $6 + $8 + $10} END {print s + 0}' <<<"$out")
		[ -n "$n" ] || die "wrk gave no count: $out"
		done_reqs=$((done_reqs + n))
		errors=$((errors + ${e:-0}))
		say "turn $turn, $path $hdr: $n requests (total $done_reqs)"
	done
	sleep 2
	peers_mem "$turn:$done_reqs" "$(procs)" >>"$STATE/mem"
}

say "warm-up: at least one turn and $WARM requests"
: >"$STATE/mem"
one_turn
while [ "$done_reqs" -lt "$WARM" ]; do one_turn; done
warm_turn=$turn
say "soak: on to $TOTAL requests"
while [ "$done_reqs" -lt "$TOTAL" ]; do one_turn; done
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PW_TOKEN" \
    "http://127.0.0.1:$PW_PORT/_ping")" = 200 ] || say "warning: /_ping failed after the soak"

python3 - "$STATE/mem" "$build/bench-soak.json" "$warm_turn" "$errors" <<'PY'
import json, sys
path, out, warm_turn, errors = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
turns, rows, order = [], {}, []
for line in open(path):
    label, name, _pid, rss, pss = line.split()
    t, reqs = (int(x) for x in label.split(":"))
    if not turns or turns[-1][0] != t:
        turns.append((t, reqs))
    if name not in rows:
        rows[name] = {}
        order.append(name)
    rows[name][t] = (None if rss == "-" else int(rss), None if pss == "-" else int(pss))
last = turns[-1][0]
total = turns[-1][1]
warm_reqs = dict(turns)[warm_turn]
print("\nPSS (kB) of each process, idle, after each turn of three segments; "
      "warm-up ends after turn %d (%d requests); %d requests in all; "
      "%d errors or non-2xx answers" % (warm_turn, warm_reqs, total, errors))
f = lambda v: "-" if v is None else str(v)
print("%-10s " % "process" + " ".join("%9s" % ("turn %d" % t) for t, _ in turns) +
      " %9s %9s" % ("RSS end", "PSS grew"))
doc = {"warm_turn": warm_turn, "warm_requests": warm_reqs, "total_requests": total,
       "errors": errors, "turns": [{"turn": t, "requests": r} for t, r in turns],
       "processes": []}
tot = {t: 0 for t, _ in turns}
for n in order:
    pss = [rows[n].get(t, (None, None))[1] for t, _ in turns]
    rss_end = rows[n].get(last, (None, None))[0]
    w, e = rows[n].get(warm_turn, (None, None))[1], rows[n].get(last, (None, None))[1]
    grew = e - w if None not in (e, w) else None
    print("%-10s " % n + " ".join("%9s" % f(v) for v in pss) + " %9s %9s" % (f(rss_end), f(grew)))
    for (t, _), v in zip(turns, pss):
        tot[t] += v or 0
    doc["processes"].append({"name": n, "pss_kb": pss, "rss_kb_end": rss_end,
                             "pss_kb_warm": w, "pss_kb_end": e, "pss_kb_growth": grew})
print("%-10s " % "all" + " ".join("%9d" % tot[t] for t, _ in turns) +
      " %9s %9d" % ("", tot[last] - tot[warm_turn]))
doc["pss_kb_warm"], doc["pss_kb_end"] = tot[warm_turn], tot[last]
with open(out, "w") as fh:
    json.dump(doc, fh, indent=2)
    fh.write("\n")
print("\n# results: %s" % out)
PY
exit 0
