# shellcheck shell=bash
# shellcheck disable=SC2154 # here, STATE, DURATION...: set by run.sh
# peers.sh: the "peers" section of `make bench` (sourced by run.sh).
#
# What it measures
#   portwing next to the other ways of putting an HTTP front door on the
#   Docker socket, each with the same upstream, the same wrk settings and
#   its processes' CPU time counted:
#     portwing        build/portwingd, WORKERS=2, bearer token per request
#     haproxy-ka      HAProxy 2.6 with haproxy.cfg's ACLs but keep-alive
#                     to the socket and connection reuse
#                     (haproxy-keepalive.cfg)
#     haproxy-stock   HAProxy as Tecnativa's docker-socket-proxy runs it: a
#                     new socket connection per request (haproxy.cfg)
#     nginx           nginx proxy_pass with an upstream keep-alive pool, no
#                     buffering (nginx-proxy.conf)
#     direct          the upstream itself over TCP, no proxy
#   Two upstreams, one block each (every peer of a block talks to the same
#   one): "fake", nginx answering fixed bodies on a unix socket (the
#   proxies' own cost dominates), and "dockerd", the private engine with
#   its running containers.  Workloads: GET /_ping and GET /containers/json.
#   Modes: keep-alive with 1 connection (1 wrk thread), keep-alive with
#   BENCH_CONNECTIONS (64), and 64 connections sending "Connection: close"
#   (a TCP connection per request on the client side).
#   Each block: the peers are started, checked (GET /_ping 200, a JSON list
#   from the list call), warmed up (BENCH_WARMUP seconds of /_ping at 64
#   connections each), then BENCH_REPS rounds run every cell for every
#   peer one after the other (interleaved; the peer order rotates each
#   round), so drift of the machine hits all peers alike.  The table gives
#   the median over the rounds.
#
# CPU: utime+stime from /proc/PID/stat of every process of the peer (for
#   portwing the master and all its descendants: authd, proxy, workers;
#   for nginx master and workers; haproxy is one process) and of the
#   upstream (dockerd, or the fake nginx), read before and after the
#   measured wrk run, as CPU seconds per 100,000 requests answered.
#   Resolution is one clock tick (10 ms) per process and run.
# Memory: RSS (VmRSS) and PSS (smaps_rollup) of every portwing process
#   idle (after start, before any load), the peak sampled every 0.5 s
#   during its 64-connection runs, and idle again after the block.
#
# wrk's answer timeout is BENCH_PEERS_TIMEOUT seconds (default 10, not
# wrk's 2): a slow answer counts in the latencies rather than as an error.
#
# A peer that cannot be started or checked, or a run wrk cannot complete,
# leaves its rows empty with the reason; the rest goes on.  A row with
# socket errors or non-2xx answers (any round) is marked invalid.
#
# Output: the tables on stdout and a "peers" object in bench-results.json
# (added to the file of this run, or to the existing file with
# BENCH_ONLY=peers).  Raw output in $STATE/peers/.
#
# Needs from run.sh: here build STATE DURATION WARMUP CONNS THREADS WORKERS
# NCONTAINERS LIST_PATH DOCKER_SOCK PW_DOCKER_TCP PW_DOCKER_DIR RESULTS_JSON
# and say, kill_wait, http_code, parse_wrk, pw_start, pw_free_port.

PEERS_DIR=$STATE/peers
PEERS="portwing haproxy-ka haproxy-stock nginx direct"
declare -gA PEER_PID=() PEER_PORT=() PEER_MISSING=()
PEERS_UP_PID=             # the fake upstream's nginx master

# ------------------------------------------------------------- processes

# peers_kill_stale: daemons left over by an interrupted earlier run (their
# pid files are in $PEERS_DIR; the command line must still match).
peers_kill_stale() {
	local f pid
	for f in "$PEERS_DIR"/*.pid; do
		[ -f "$f" ] || continue
		case ${f##*/} in
		portwingd.pid) pid=$(pid_is "$f" portwingd) ;;
		haproxy-*.pid) pid=$(pid_is "$f" "$here/haproxy") ;;
		*) pid=$(pid_is "$f" "$PEERS_DIR/") ;;
		esac
		if [ -n "$pid" ]; then
			say "stopping ${f##*/} left over from an earlier run (pid $pid)"
			kill_wait "$pid"
		fi
		rm -f "$f"
	done
}

# peers_stop_all: stop this block's peers and the fake upstream.
peers_stop_all() {
	local p
	for p in "${!PEER_PID[@]}"; do
		[ -n "${PEER_PID[$p]}" ] || continue
		kill_wait "${PEER_PID[$p]}"
		wait "${PEER_PID[$p]}" 2>/dev/null
	done
	PEER_PID=()
	if [ -n "$PEERS_UP_PID" ]; then
		kill_wait "$PEERS_UP_PID"
		wait "$PEERS_UP_PID" 2>/dev/null
		PEERS_UP_PID=
	fi
	rm -f "$PEERS_DIR"/*.pid
}
peers_cleanup() { peers_stop_all; }

# peers_descendants PID: "pid args" of every descendant of PID, parents
# first (one ps per generation: the helpers below run between measured
# runs on a busy machine, so they fork little).
peers_descendants() {
	local list=$1 out p rest next
	while [ -n "$list" ]; do
		out=$(ps -o pid=,args= --ppid "$list" 2>/dev/null) || break
		next=
		while read -r p rest; do
			echo "$p $rest"
			next=${next:+$next,}$p
		done <<<"$out"
		list=$next
	done
}

# peers_procs PEER: "name pid" for each live process of PEER.
peers_procs() {
	local pid=${PEER_PID[$1]:-} p n i=0
	[ -n "$pid" ] || return 0
	case $1 in
	portwing)
		echo "master $pid"
		while read -r p n; do
			# portwingd titles its children "portwingd: ROLE [N]".
			n=${n#portwingd: }; n=${n// /}
			echo "${n:-pid$p} $p"
		done < <(peers_descendants "$pid") ;;
	nginx)
		echo "master $pid"
		while read -r p _; do
			echo "worker$i $p"; i=$((i + 1))
		done < <(peers_descendants "$pid") ;;
	haproxy-*) echo "haproxy $pid" ;;
	esac
}

# peers_up_procs UPSTREAM: "name pid" for the upstream's processes.
peers_up_procs() {
	local p i=0
	case $1 in
	dockerd) echo "dockerd $(cat "$PW_DOCKER_DIR/docker.pid" 2>/dev/null)" ;;
	fake)
		[ -n "$PEERS_UP_PID" ] || return 0
		echo "nginx-master $PEERS_UP_PID"
		while read -r p _; do
			echo "nginx-worker$i $p"; i=$((i + 1))
		done < <(peers_descendants "$PEERS_UP_PID") ;;
	esac
}

# peers_cpu PHASE: "PHASE kind name pid ticks" (ticks = utime + stime of
# all the process's threads) for the current peer's and upstream's
# processes.
peers_cpu() {
	local kind n p l f
	for kind in peer upstream; do
		while read -r n p; do
			if [ -z "$p" ] || ! read -r l 2>/dev/null <"/proc/$p/stat"; then
				continue
			fi
			# Fields after "(comm) ": state is 0, utime 11, stime 12.
			read -ra f <<<"${l##*) }"
			echo "$1 $kind $n $p $((f[11] + f[12]))"
		done < <(if [ $kind = peer ]; then peers_procs "$cur_peer"
			 else peers_up_procs "$cur_up"; fi)
	done
}

# peers_mem LABEL [LIST]: "LABEL name pid rss_kB pss_kB" per portwing
# process (LIST: "name pid" lines, default the live processes).
peers_mem() {
	local n p k v rss pss
	while read -r n p; do
		[ -n "$p" ] || continue
		rss=- pss=-
		while read -r k v _; do
			[ "$k" = VmRSS: ] && { rss=$v; break; }
		done 2>/dev/null <"/proc/$p/status"
		while read -r k v _; do
			[ "$k" = Pss: ] && { pss=$v; break; }
		done 2>/dev/null <"/proc/$p/smaps_rollup"
		echo "$1 $n $p $rss $pss"
	done <<<"${2:-$(peers_procs portwing)}"
}

# ----------------------------------------------------------- starting

peers_wait_http() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$2" 2>/dev/null || return 1
		[ "$(http_code "$1")" != 000 ] && return 0
		sleep 0.1
	done
	return 1
}

# peers_start_fake: nginx with fixed bodies on a unix socket (the proxies'
# upstream) and TCP (for direct), one worker as in run.sh's fake section.
peers_start_fake() {
	local port
	port=$(pw_free_port)
	PEERS_UP_SOCK=$PEERS_DIR/upstream.sock
	rm -f "$PEERS_UP_SOCK"
	python3 -c 'import json; print(json.dumps([{"Id": "%064x" % i, "Names": ["/fake-%d" % i], "Image": "pwtest-bb", "State": "running", "Status": "Up 1 hour"} for i in range(20)]))' >"$PEERS_DIR/containers.json"
	cat >"$PEERS_DIR/upstream-nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $PEERS_DIR/upstream-nginx.pid;
error_log $PEERS_DIR/upstream-nginx.err warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $PEERS_DIR/upstream-body;
	server {
		listen unix:$PEERS_UP_SOCK;
		listen 127.0.0.1:$port;
		location = /_ping { default_type text/plain; return 200 "OK"; }
		location = /containers/json { default_type application/json; alias $PEERS_DIR/containers.json; }
	}
}
NGX
	nginx -c "$PEERS_DIR/upstream-nginx.conf" >"$PEERS_DIR/upstream-nginx.out" 2>&1 &
	PEERS_UP_PID=$!
	for _ in $(seq 1 50); do [ -S "$PEERS_UP_SOCK" ] && break; sleep 0.1; done
	[ -S "$PEERS_UP_SOCK" ] || return 1
	PEERS_UP_DIRECT=http://127.0.0.1:$port
}

# peers_start PEER SOCK: start PEER in front of SOCK; on failure record
# the reason in PEER_MISSING.
peers_start() {
	local peer=$1 sock=$2 port cfg
	case $peer in
	direct) return 0 ;;
	portwing)
		local save_pid=${PW_PID:-} save_port=${PW_PORT:-} save_log=${PW_LOG:-}
		if pw_start WORKERS="$WORKERS" MAX_CONNECTIONS_PER_ADDRESS=0 \
		    DOCKER_SOCKET="$sock" 2>"$PEERS_DIR/portwingd-start.err"; then
			PEER_PID[portwing]=$PW_PID PEER_PORT[portwing]=$PW_PORT
			echo "$PW_PID" >"$PEERS_DIR/portwingd.pid"
		else
			PEER_MISSING[portwing]="did not start (log: $PW_LOG)"
			[ -n "${PW_PID:-}" ] && kill_wait "$PW_PID"
		fi
		PW_PID=$save_pid PW_PORT=$save_port PW_LOG=$save_log
		return 0 ;;
	haproxy-ka | haproxy-stock)
		cfg=$here/haproxy.cfg
		[ "$peer" = haproxy-ka ] && cfg=$here/haproxy-keepalive.cfg
		port=$(pw_free_port)
		if ! PWB_HAPROXY_PORT=$port PWB_DOCKER_SOCK=$sock PWB_THREADS=$WORKERS \
		    haproxy -c -q -f "$cfg" >"$PEERS_DIR/$peer.log" 2>&1; then
			PEER_MISSING[$peer]="haproxy rejects ${cfg##*/} ($(head -1 "$PEERS_DIR/$peer.log"))"
			return 0
		fi
		PWB_HAPROXY_PORT=$port PWB_DOCKER_SOCK=$sock PWB_THREADS=$WORKERS \
		    haproxy -db -f "$cfg" >>"$PEERS_DIR/$peer.log" 2>&1 &
		;;
	nginx)
		port=$(pw_free_port)
		mkdir -p "$PEERS_DIR/nginx-proxy-body" "$PEERS_DIR/nginx-proxy-tmp"
		sed -e "s|@STATE@|$PEERS_DIR|g" -e "s|@PORT@|$port|g" \
		    -e "s|@SOCK@|$sock|g" -e "s|@WORKERS@|$WORKERS|g" \
		    "$here/nginx-proxy.conf" >"$PEERS_DIR/nginx-proxy.conf"
		nginx -c "$PEERS_DIR/nginx-proxy.conf" >"$PEERS_DIR/nginx-proxy.out" 2>&1 &
		;;
	esac
	PEER_PID[$peer]=$! PEER_PORT[$peer]=$port
	echo "$!" >"$PEERS_DIR/$peer.pid"
	if ! peers_wait_http "http://127.0.0.1:$port/_ping" "$!"; then
		PEER_MISSING[$peer]="did not start (see $PEERS_DIR/$peer*)"
		kill_wait "${PEER_PID[$peer]}"
		PEER_PID[$peer]=
	fi
}

peers_url() {
	if [ "$1" = direct ]; then
		echo "$cur_direct$2"
	else
		echo "http://127.0.0.1:${PEER_PORT[$1]}$2"
	fi
}
peers_args() {
	[ "$1" = portwing ] && printf '%s\n' -H "Authorization: Bearer $PW_TOKEN"
}

# peers_check PEER: GET /_ping answers 200 and the list call a JSON list.
peers_check() {
	local peer=$1 code n args
	[ -z "${PEER_MISSING[$peer]:-}" ] || return 0
	mapfile -t args < <(peers_args "$peer")
	code=$(http_code "$(peers_url "$peer" /_ping)" "${args[@]}")
	if [ "$code" != 200 ]; then
		PEER_MISSING[$peer]="GET /_ping answered $code"
		return 0
	fi
	n=$(curl -s -m 10 "${args[@]}" "$(peers_url "$peer" "$cur_list")" |
	    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
	if [ -z "$n" ]; then
		PEER_MISSING[$peer]="GET $cur_list did not answer a JSON list"
		return 0
	fi
	say "peers/$cur_up: $peer answers /_ping 200 and lists $n containers"
}

# ----------------------------------------------------------- measuring

# peers_run_cell PEER WORKLOAD MODE REP: one measured wrk run, one line in
# $PEERS_DIR/results.tsv.
peers_run_cell() {
	local peer=$1 wl=$2 mode=$3 rep=$4 args url tag m t c sampler=
	local extra=()
	tag=$cur_up-$peer-$(printf '%s' "${wl#/}" | tr -c 'a-zA-Z0-9' '_')-$mode-$rep
	if [ -n "${PEER_MISSING[$peer]:-}" ]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cur_up" "GET $wl" "$mode" \
		    "$peer" "$rep" "${PEER_MISSING[$peer]}" - - >>"$PEERS_DIR/results.tsv"
		return 0
	fi
	case $mode in
	ka1) t=1 c=1 ;;
	ka) t=$THREADS c=$CONNS ;;
	close) t=$THREADS c=$CONNS
		extra=(-H "Connection: close") ;;
	esac
	mapfile -t args < <(peers_args "$peer")
	url=$(peers_url "$peer" "$wl")
	cur_peer=$peer
	peers_cpu before >"$PEERS_DIR/cpu-$tag.txt"
	if [ "$peer" = portwing ] && [ "$c" -gt 1 ]; then
		local procs
		procs=$(peers_procs portwing)
		( while :; do peers_mem "$cur_up load" "$procs"; sleep 0.5; done ) \
		    >>"$PEERS_DIR/mem.txt" 2>/dev/null &
		sampler=$!
	fi
	timeout $((DURATION + 30)) wrk -t"$t" -c"$c" -d"${DURATION}s" --latency \
	    --timeout "${PEERS_TIMEOUT}s" \
	    "${args[@]}" "${extra[@]}" "$url" >"$PEERS_DIR/wrk-$tag.txt" 2>&1
	peers_cpu after >>"$PEERS_DIR/cpu-$tag.txt"
	if [ -n "$sampler" ]; then
		kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
	fi
	m=$(parse_wrk "$PEERS_DIR/wrk-$tag.txt")
	local why=ok
	if [ "${m%% *}" = null ]; then
		why="wrk: $(grep -v '^Running\|threads and' "$PEERS_DIR/wrk-$tag.txt" | head -1)"
		[ "$why" != "wrk: " ] || why="wrk gave no result"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cur_up" "GET $wl" "$mode" \
	    "$peer" "$rep" "$why" "$m" "$PEERS_DIR/cpu-$tag.txt" >>"$PEERS_DIR/results.tsv"
}

# peers_block UPSTREAM: start the peers in front of UPSTREAM, measure,
# stop them.
peers_block() {
	local peer wl mode rep order i args
	cur_up=$1
	PEER_MISSING=() PEER_PID=() PEER_PORT=()
	case $cur_up in
	fake)
		if ! peers_start_fake; then
			say "peers: the fake upstream (nginx) did not start; see $PEERS_DIR/upstream-nginx.err"
			for peer in $PEERS; do PEER_MISSING[$peer]="fake upstream did not start"; done
		fi
		cur_sock=${PEERS_UP_SOCK:-} cur_direct=${PEERS_UP_DIRECT:-} cur_list=/containers/json ;;
	dockerd)
		cur_sock=$DOCKER_SOCK cur_direct=http://127.0.0.1:$PW_DOCKER_TCP
		cur_list=$LIST_PATH ;;
	esac
	say "peers/$cur_up: starting $PEERS"
	for peer in $PEERS; do
		[ -n "${PEER_MISSING[$peer]:-}" ] || peers_start "$peer" "$cur_sock"
		peers_check "$peer"
		[ -z "${PEER_MISSING[$peer]:-}" ] ||
		    say "peers/$cur_up: $peer missing: ${PEER_MISSING[$peer]}"
	done
	sleep 1
	peers_mem "$cur_up idle" >>"$PEERS_DIR/mem.txt"
	for peer in $PEERS; do
		[ -z "${PEER_MISSING[$peer]:-}" ] || continue
		mapfile -t args < <(peers_args "$peer")
		say "peers/$cur_up: warming up $peer (${WARMUP}s)"
		timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
		    "${args[@]}" "$(peers_url "$peer" /_ping)" >/dev/null 2>&1
	done
	read -ra order <<<"$PEERS"
	for rep in $(seq 1 "$REPS"); do
		for wl in /_ping "$cur_list"; do
			for mode in ka1 ka close; do
				say "peers/$cur_up: round $rep/$REPS, GET $wl, $mode"
				for i in "${!order[@]}"; do
					peers_run_cell "${order[$(( (i + rep - 1) % ${#order[@]} ))]}" \
					    "$wl" "$mode" "$rep"
				done
			done
		done
	done
	for peer in $PEERS; do
		[ -z "${PEER_PID[$peer]:-}" ] || kill -0 "${PEER_PID[$peer]}" 2>/dev/null ||
		    say "warning: peers/$cur_up: $peer died during the run"
	done
	peers_mem "$cur_up after" >>"$PEERS_DIR/mem.txt"
	peers_stop_all
}

peers_run() {
	REPS=${BENCH_REPS:-3}
	PEERS_TIMEOUT=${BENCH_PEERS_TIMEOUT:-10}
	case $REPS in
	'' | *[!0-9]* | 0) say "peers: BENCH_REPS must be a positive integer (got '$REPS'); using 3"
		REPS=3 ;;
	esac
	mkdir -p "$PEERS_DIR"
	rm -f "$PEERS_DIR"/wrk-*.txt "$PEERS_DIR"/cpu-*.txt "$PEERS_DIR"/*.log
	: >"$PEERS_DIR/results.tsv"
	: >"$PEERS_DIR/mem.txt"
	local t0=$SECONDS
	say "peers: $PEERS; ${DURATION}s per run, $REPS round(s)"
	peers_block fake
	peers_block dockerd
	peers_report "$((SECONDS - t0))"
}

# ----------------------------------------------------------- reporting

peers_report() {
	python3 - "$PEERS_DIR" "$RESULTS_JSON" "$(getconf CLK_TCK)" "$DURATION" \
	    "$WARMUP" "$REPS" "$CONNS" "$THREADS" "$WORKERS" "$1" "$PEERS_TIMEOUT" <<'PY'
import json, os, statistics, sys, time

state, out, tck, duration, warmup, reps, conns, threads, workers, secs, wto = sys.argv[1:]
tck = int(tck)
MODES = {"ka1": "ka c=1", "ka": "ka c=%s" % conns, "close": "close c=%s" % conns}
PEERS = ["portwing", "haproxy-ka", "haproxy-stock", "nginx", "direct"]

def num(s):
    return None if s == "null" else float(s)

def cpu(path):
    """{(kind, name): cpu seconds} over the run, and notes."""
    snap = {"before": {}, "after": {}}
    for line in open(path):
        phase, kind, name, pid, t = line.split()
        snap[phase][(kind, name, pid)] = int(t)
    acc, notes = {}, []
    for k, t in snap["after"].items():
        acc[k[:2]] = acc.get(k[:2], 0) + t - snap["before"].get(k, 0)
        if k not in snap["before"]:
            notes.append("%s %s started during the run" % (k[1], k[2]))
    for k in snap["before"]:
        if k not in snap["after"]:
            notes.append("%s %s exited during the run" % (k[1], k[2]))
    return {k: v / tck for k, v in acc.items()}, notes

runs = {}
for line in open(os.path.join(state, "results.tsv")):
    up, wl, mode, peer, rep, why, fields, cpufile = line.rstrip("\n").split("\t")
    r = {"rep": int(rep)}
    if why != "ok":
        r["missing"] = why
    if fields != "-":
        rps, p50, p99, req, c, rd, w, t, bad = fields.split()
        r.update({"rps": num(rps), "p50": num(p50), "p99": num(p99), "requests": int(req),
                  "socket_errors": {"connect": int(c), "read": int(rd),
                                    "write": int(w), "timeout": int(t)},
                  "non_2xx_3xx": int(bad)})
        r["errors"] = sum(r["socket_errors"].values()) + r["non_2xx_3xx"]
        secs_, notes = cpu(cpufile)
        if r["requests"]:
            r["cpu_per_100k"] = {"%s:%s" % k: v * 100000 / r["requests"] for k, v in secs_.items()}
        r["cpu_s"] = {"%s:%s" % k: v for k, v in secs_.items()}
        if notes:
            r["cpu_notes"] = notes
        if "missing" in r:
            r["wrk_file"] = cpufile.replace("/cpu-", "/wrk-")
    runs.setdefault((up, wl, mode, peer), []).append(r)

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

rows = []
for (up, wl, mode, peer), rs in runs.items():
    ok = [r for r in rs if "missing" not in r and r.get("rps") is not None]
    row = {"upstream": up, "workload": wl, "mode": mode, "peer": peer,
           "rounds": len(rs), "rounds_measured": len(ok)}
    miss = sorted(set(r["missing"] for r in rs if "missing" in r))
    if miss:
        row["missing"] = "; ".join(miss)
    if ok:
        row["requests_per_sec"] = med([r["rps"] for r in ok])
        row["p50_ms"] = med([r["p50"] for r in ok])
        row["p99_ms"] = med([r["p99"] for r in ok])
        row["requests"] = sum(r["requests"] for r in ok)
        row["errors"] = sum(r["errors"] for r in ok)
        row["non_2xx_3xx"] = sum(r["non_2xx_3xx"] for r in ok)
        row["socket_errors"] = {k: sum(r["socket_errors"][k] for r in ok)
                                for k in ("connect", "read", "write", "timeout")}
        keys = list(dict.fromkeys(k for r in ok for k in r.get("cpu_per_100k", {})))
        row["cpu_s_per_100k_requests"] = {k: round(med([r.get("cpu_per_100k", {}).get(k) for r in ok]), 4)
                                          for k in keys}
        notes = sorted(set(n for r in ok for n in r.get("cpu_notes", [])))
        if notes:
            row["cpu_notes"] = notes
        row["runs"] = [{"requests_per_sec": r["rps"], "p50_ms": r["p50"], "p99_ms": r["p99"],
                        "requests": r["requests"], "errors": r["errors"]} for r in ok]
    row["valid"] = bool(ok) and not miss and row["errors"] == 0
    rows.append(row)

def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None

def find(up, wl, mode, peer):
    return next((x for x in rows if (x["upstream"], x["workload"], x["mode"], x["peer"]) ==
                 (up, wl, mode, peer)), None)

for x in rows:
    for ref, key in (("haproxy-ka", "ratio_vs_haproxy_ka"), ("haproxy-stock", "ratio_vs_haproxy_stock")):
        h = find(x["upstream"], x["workload"], x["mode"], ref)
        x[key] = ratio(x.get("requests_per_sec"), h and h.get("requests_per_sec"))

def f(v, fmt):
    return "-" if v is None else format(v, fmt)

def cpustr(x):
    c = x.get("cpu_s_per_100k_requests")
    if not c:
        return ""
    peer = ["%s %.2f" % (k.split(":", 1)[1], v) for k, v in c.items() if k.startswith("peer:")]
    up = ["%s %.2f" % (k.split(":", 1)[1], v) for k, v in c.items() if k.startswith("upstream:")]
    tot = sum(v for k, v in c.items() if k.startswith("peer:"))
    s = ("= %.2f: " % tot + " ".join(peer)) if peer else "(no proxy)"
    return s + " | " + " ".join(up)

order = {p: i for i, p in enumerate(PEERS)}
morder = {m: i for i, m in enumerate(MODES)}
ups = list(dict.fromkeys(x["upstream"] for x in rows))
rows.sort(key=lambda x: (ups.index(x["upstream"]), x["workload"] != "GET /_ping",
                         morder.get(x["mode"], 9), order.get(x["peer"], 9)))
print()
print("peers: median of %s round(s) of %ss per cell; ratios are req/s over HAProxy's "
      "(ka = keep-alive to Docker, stock = Tecnativa's http-server-close)" % (reps, duration))
print("CPU: seconds of utime+stime per 100k requests, peer total = its processes | upstream's processes")
hdr = "%-7s %-22s %-9s %-13s %9s %7s %7s %6s %6s %6s %-5s %s" % (
    "up", "workload", "mode", "peer", "req/s", "p50ms", "p99ms", "errors",
    "/hapka", "/hapst", "valid", "CPU s/100k req")
print(hdr)
last = None
for x in rows:
    key = (x["upstream"], x["workload"], x["mode"])
    if last and key != last:
        print()
    last = key
    if x.get("requests_per_sec") is None:
        print("%-7s %-22s %-9s %-13s  not measured: %s" % (x["upstream"], x["workload"][:22],
              MODES.get(x["mode"], x["mode"]), x["peer"], x.get("missing", "no result")))
        continue
    print("%-7s %-22s %-9s %-13s %9.1f %7s %7s %6d %6s %6s %-5s %s" % (
        x["upstream"], x["workload"][:22], MODES.get(x["mode"], x["mode"]), x["peer"],
        x["requests_per_sec"], f(x["p50_ms"], ".3f"), f(x["p99_ms"], ".2f"), x["errors"],
        f(x["ratio_vs_haproxy_ka"], ".2f"), f(x["ratio_vs_haproxy_stock"], ".2f"),
        "yes" if x["valid"] else "NO", cpustr(x)))
for x in rows:
    if x.get("requests_per_sec") is not None and not x["valid"]:
        e = x["socket_errors"]
        print("invalid: %s %s %s via %s: %d non-2xx/3xx of %d; socket errors connect %d, "
              "read %d, write %d, timeout %d%s" % (x["upstream"], x["workload"],
              MODES.get(x["mode"], x["mode"]), x["peer"], x["non_2xx_3xx"], x["requests"],
              e["connect"], e["read"], e["write"], e["timeout"],
              "; " + x["missing"] if x.get("missing") else ""))
    for n in x.get("cpu_notes", []):
        print("note: %s %s %s via %s: %s" % (x["upstream"], x["workload"],
              MODES.get(x["mode"], x["mode"]), x["peer"], n))

# Memory of portwing's processes: idle, peak under load, idle after.
mem = {}
for line in open(os.path.join(state, "mem.txt")):
    parts = line.split()
    if len(parts) != 6:
        continue
    up, phase, name, pid, rss, pss = parts
    if rss == "-":
        continue
    e = mem.setdefault(up, {}).setdefault(name, {})
    v = (int(rss), None if pss == "-" else int(pss))
    if phase == "load":
        old = e.get("load")
        e["load"] = v if old is None else (max(old[0], v[0]),
                                           max(old[1] or 0, v[1] or 0) or None)
    else:
        e[phase] = v
memory = []
print()
print("portwing memory, kB (load = peak of samples every 0.5 s during its c=%s runs)" % conns)
print("%-7s %-10s %9s %9s %9s %9s %9s %9s" % ("up", "process", "RSS idle", "PSS idle",
      "RSS load", "PSS load", "RSS after", "PSS after"))
for up, procs in mem.items():
    tot = {}
    for name, e in procs.items():
        m = {"upstream": up, "process": name}
        for ph in ("idle", "load", "after"):
            rss, pss = e.get(ph, (None, None))
            m["rss_kb_" + ph], m["pss_kb_" + ph] = rss, pss
            for k, v in (("rss", rss), ("pss", pss)):
                if v is not None:
                    tot[(k, ph)] = tot.get((k, ph), 0) + v
        memory.append(m)
        print("%-7s %-10s %9s %9s %9s %9s %9s %9s" % (up, name,
              f(m["rss_kb_idle"], "d"), f(m["pss_kb_idle"], "d"),
              f(m["rss_kb_load"], "d"), f(m["pss_kb_load"], "d"),
              f(m["rss_kb_after"], "d"), f(m["pss_kb_after"], "d")))
    print("%-7s %-10s %9s %9s %9s %9s %9s %9s" % (up, "total",
          *(f(tot.get((k, ph)), "d") for ph in ("idle", "load", "after") for k in ("rss", "pss"))))
print("# peers section: %s s; raw output in %s" % (secs, state))

peers = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "settings": {"duration_s": int(duration), "warmup_s": int(warmup), "rounds": int(reps),
                 "connections": int(conns), "threads": int(threads),
                 "portwing_workers": int(workers), "haproxy_threads": int(workers),
                 "nginx_workers": int(workers), "clock_ticks_per_s": tck,
                 "wrk_timeout_s": int(wto),
                 "modes": MODES, "section_seconds": int(secs)},
    "rows": rows,
    "memory_kb": memory,
}
doc = {}
if os.path.exists(out):
    try:
        doc = json.load(open(out))
    except ValueError:
        doc = {}
doc["peers"] = peers
with open(out, "w") as fh:
    json.dump(doc, fh, indent=2)
    fh.write("\n")
print("# peers results: %s (\"peers\")" % out)
PY
}
