#!/bin/bash
# bulk.sh BUILD_DIR: bulk bodies through portwing against dockerd's own
# TCP listener (`make bench`, or alone: `make bench BENCH_ONLY=bulk`).
#
# What it measures, each best of BENCH_BULK_REPS (default 3), interleaved
# (the side that goes first alternates) so that drift of the machine hits
# both sides alike:
#   upload    curl PUT /containers/{id}/archive of a tar holding one
#             BENCH_BULK_MB (default 1024) MiB file of random bytes
#   download  curl GET /containers/{id}/archive of that file
#   cp-in     docker cp FILE CONTAINER:/tmp (the CLI)
#   cp-out    docker cp CONTAINER:/tmp/FILE - (the CLI)
#   load      docker load of a BENCH_LOAD_MB (default 512) MiB image
#             (removed again before each load)
# The peer is dockerd itself on TCP (no proxy), with the same client:
# curl against curl, the CLI against the CLI.  ratio = portwing time /
# dockerd time: 1.00 is parity, lower is better.  During the portwing
# upload the peak RSS of the worker and the proxy is sampled (bounded
# memory: the body is never held whole).
#
# Output: a table on stdout, and BUILD_DIR/bench-bulk.json.  Exits 0
# whatever the ratios are; non-zero only when something cannot be set up.
# Needs root (dockerd, portwingd's chroot).

set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ -d "$build" ] || { echo "bulk: build directory '$build' not found" >&2; exit 1; }
build=$(cd "$build" && pwd)
MB=${BENCH_BULK_MB:-1024}
LOAD_MB=${BENCH_LOAD_MB:-512}
REPS=${BENCH_BULK_REPS:-3}
for v in MB LOAD_MB REPS; do
	case ${!v} in '' | *[!0-9]* | 0)
		echo "bulk: $v must be a positive integer (got '${!v}')" >&2; exit 1 ;;
	esac
done
STATE=/tmp/pw-bench-bulk
mkdir -p "$STATE"
die() { echo "bulk: $*" >&2; exit 1; }
say() { echo "# $*"; }
[ "$(id -u)" -eq 0 ] || die "needs root"
for c in curl docker dockerd; do
	command -v $c >/dev/null 2>&1 || die "$c is needed (apt-get install curl docker.io)"
done

export PW_BUILD=$build PW_DOCKER_DIR=/tmp/pw-bench-bulk-dockerd PW_TMP=$STATE
PW_DOCKER_TCP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export PW_DOCKER_TCP
. "$here/../regress/lib.sh"
set +e

cleanup() {
	[ -n "${PW_PID:-}" ] && pw_stop
	if [ -S "${DOCKER_SOCK:-}" ]; then
		docker -H "unix://$DOCKER_SOCK" rm -f pwbench-bulk >/dev/null 2>&1
		docker -H "unix://$DOCKER_SOCK" rmi pwbench-load:1 >/dev/null 2>&1
	fi
	pw_dockerd_stop
	rm -rf "$STATE/data" "$STATE/rootfs"
}
trap cleanup EXIT

say "starting a private dockerd in $PW_DOCKER_DIR"
pw_dockerd_start || die "dockerd did not start"
pw_image || die "could not import the busybox image"
pw_ensure_user
PW_TOKEN=tok-bulk-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
pw_start WORKERS=2 MAX_CONNECTIONS_PER_ADDRESS=0 || die "portwingd did not start"
TCP=http://127.0.0.1:$PW_DOCKER_TCP
PW=http://127.0.0.1:$PW_PORT
AUTH="Authorization: Bearer $PW_TOKEN"
mkdir -p "$STATE/dockercfg"
printf '{"HttpHeaders":{"Authorization":"Bearer %s"}}\n' "$PW_TOKEN" \
    >"$STATE/dockercfg/config.json"
dpw() { DOCKER_CONFIG=$STATE/dockercfg docker -H "tcp://127.0.0.1:$PW_PORT" "$@"; }
dtcp() { docker -H "tcp://127.0.0.1:$PW_DOCKER_TCP" "$@"; }

say "preparing a $MB MiB file and a $LOAD_MB MiB image"
mkdir -p "$STATE/data"
head -c $((MB * 1024 * 1024)) /dev/urandom >"$STATE/data/big.bin"
tar -C "$STATE/data" -cf "$STATE/big.tar" big.bin
rm -rf "$STATE/rootfs"; mkdir -p "$STATE/rootfs/bin"
cp /bin/busybox "$STATE/rootfs/bin/"
head -c $((LOAD_MB * 1024 * 1024)) /dev/urandom >"$STATE/rootfs/payload"
tar -C "$STATE/rootfs" -c . | dtcp import - pwbench-load:1 >/dev/null ||
    die "docker import failed"
dtcp save -o "$STATE/load.tar" pwbench-load:1 || die "docker save failed"
dtcp rmi pwbench-load:1 >/dev/null
dtcp rm -f pwbench-bulk >/dev/null 2>&1
dtcp run -d --name pwbench-bulk --network none "$PW_IMAGE" sleep 36000 \
    >/dev/null || die "cannot start the target container"
# The file the downloads and cp-out read.
curl -s -f -X PUT -T "$STATE/big.tar" "$TCP/containers/pwbench-bulk/archive?path=/" ||
    die "seeding the container failed"

# ms CMD...: wall milliseconds of CMD, or "null" when it fails.
ms() {
	local t0 t1
	# The last run's gigabyte may still be on its way to the disk:
	# write it out first so that it does not slow this one.
	sync
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$STATE/last.err" || { echo null; return; }
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
peak_rss() {	# the largest VmHWM (KiB) of the portwing worker and proxy
	local p m best=0
	for p in $(pw_children worker) $(pw_children proxy); do
		m=$(awk '/^VmHWM/ {print $2}' /proc/$p/status 2>/dev/null)
		[ -n "$m" ] && [ "$m" -gt $best ] && best=$m
	done
	echo $best
}
up_pw() { curl -s -f -X PUT -H "$AUTH" -T "$STATE/big.tar" "$PW/containers/pwbench-bulk/archive?path=/tmp"; }
up_tcp() { curl -s -f -X PUT -T "$STATE/big.tar" "$TCP/containers/pwbench-bulk/archive?path=/tmp"; }
dn_pw() { curl -s -f -o /dev/null -H "$AUTH" "$PW/containers/pwbench-bulk/archive?path=/big.bin"; }
dn_tcp() { curl -s -f -o /dev/null "$TCP/containers/pwbench-bulk/archive?path=/big.bin"; }
cpin_pw() { dpw cp "$STATE/data/big.bin" pwbench-bulk:/tmp/; }
cpin_tcp() { dtcp cp "$STATE/data/big.bin" pwbench-bulk:/tmp/; }
cpout_pw() { dpw cp pwbench-bulk:/big.bin - >/dev/null; }
cpout_tcp() { dtcp cp pwbench-bulk:/big.bin - >/dev/null; }
load_pw() { dtcp rmi pwbench-load:1 >/dev/null 2>&1; dpw load -q -i "$STATE/load.tar"; }
load_tcp() { dtcp rmi pwbench-load:1 >/dev/null 2>&1; dtcp load -q -i "$STATE/load.tar"; }

min() { local best=null v; for v; do
	[ "$v" = null ] && continue
	{ [ "$best" = null ] || [ "$v" -lt "$best" ]; } && best=$v
	done; echo $best; }

: >"$STATE/bulk.tsv"
for w in upload download cp-in cp-out load; do
	case $w in
	upload) f=up ;; download) f=dn ;; cp-in) f=cpin ;;
	cp-out) f=cpout ;; load) f=load ;;
	esac
	a=() b=()
	for i in $(seq 1 "$REPS"); do
		# Alternate which side goes first: the first of a pair tends
		# to pay for what the engine still does after the last one.
		for side in $([ $((i % 2)) = 1 ] && echo pw tcp || echo tcp pw); do
			say "$w: $side, rep $i"
			t=$(ms ${f}_$side)
			[ "$t" = null ] && say "warning: $w via $side failed: $(head -c 200 "$STATE/last.err")"
			if [ $side = pw ]; then a+=("$t"); else b+=("$t"); fi
		done
	done
	printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$(min "${a[@]}")" "$(min "${b[@]}")" \
	    "${a[*]}" "${b[*]}" >>"$STATE/bulk.tsv"
done
rss=$(peak_rss)
kill -0 "$PW_PID" 2>/dev/null || say "warning: portwingd died during the run"

echo
echo "Bulk bodies: portwing against dockerd's own TCP listener (best of $REPS; ms)"
printf '%-10s %10s %10s %8s  %s\n' workload portwing dockerd ratio "all runs (portwing | dockerd)"
json="["
sep=
while IFS=$'\t' read -r w p d pa da; do
	if [ "$p" != null ] && [ "$d" != null ] && [ "$d" -gt 0 ]; then
		r=$(awk -v a="$p" -v b="$d" 'BEGIN { printf "%.2f", a / b }')
	else
		r=null
	fi
	size=$MB; [ $w = load ] && size=$LOAD_MB
	printf '%-10s %10s %10s %8s  %s | %s\n' "$w" "$p" "$d" "$r" "$pa" "$da"
	json="$json$sep{\"workload\":\"$w\",\"mib\":$size,\"portwing_ms\":$p,\"dockerd_tcp_ms\":$d,\"ratio\":$r}"
	sep=,
done <"$STATE/bulk.tsv"
echo "peak RSS of a worker or the proxy over the run: $((rss / 1024)) MiB"
echo "$json],\"peak_rss_kib\":$rss}" | sed 's/^\[/{"bulk":[/' >"$build/bench-bulk.json"
echo "# results: $build/bench-bulk.json"
