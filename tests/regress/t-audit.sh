#!/bin/bash
# t-audit.sh: the audit trail end to end (reference section 11, DESIGN.md
# "Observability").  Every event type is made by a request that should
# make it and checked in the sink file (AUDIT_LOG) and in the ring
# (GET /_portwing/audit); export cursors page without gaps or repeats and
# the 400/409 answers; `portwing audit-verify` on the agent's own file,
# and on copies with a line deleted or edited; the chain continues over a
# restart and a rotation (SIGHUP); a full disk drops records from the sink
# (declared as "dropped": N) but never fails a request; the sink file is
# 0600, AUDIT_LOG=stdout works, and an AUDIT_LOG that cannot be opened
# stops the start.  Helpers: audit_check.py (TAP), pwsign.py, pwhttp.py.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export PYTHONPATH=$here PYTHONDONTWRITEBYTECODE=1
AC="$here/audit_check.py"
PWCLI=$PW_BUILD/portwing
D=$PW_TMP/audit
M=$D/full
CTR=pwa-exec-$$
mkdir -p "$D/a" "$D/h"

cleanup() {
	pw_stop
	if mountpoint -q "$M" 2>/dev/null; then
		umount "$M" 2>/dev/null || umount -l "$M"
	fi
	pw_docker_direct rm -f "$CTR" >/dev/null 2>&1
}
trap cleanup EXIT

ac() { $PY "$AC" "$@"; }
# field FILE LINE|last KEY: a member of a sink line.
field() { ac field "$@"; }
nlines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# wait_lines FILE N: until FILE holds at least N lines.
wait_lines() {
	for _ in $(seq 1 100); do
		[ "$(nlines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# verify FILE: run the verifier; sets out, outl (one line), rc.
verify() {
	out=$("$PWCLI" audit-verify "$1" 2>&1); rc=$?
	outl=${out//$'\n'/ | }	# for descriptions: one line
}
has() { printf '%s\n' "$out" | grep -Fxq -- "$1"; }
expect() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }

$PY - "$D" <<'PY'
import sys, pwsign
d = sys.argv[1]
k1 = pwsign.new_key(d + "/k1.pem")
pwsign.new_key(d + "/k2.pem")
pwsign.new_key(d + "/ek.pem")
open(d + "/ak", "w").write(pwsign.line(k1, "audit test key") + "\n")
PY
chmod 600 "$D/ak"
pw_docker_direct rm -f "$CTR" >/dev/null 2>&1
pw_docker_direct run -d --name "$CTR" "$PW_IMAGE" sleep 3600 >/dev/null ||
    { fail "test container starts"; exit 1; }

# ---- 1. every event, in the sink and in the ring; 3. export -------------
log=$D/a/audit.log
pw_start AUDIT_LOG="$log" AUTHORIZED_KEYS="$D/ak" \
    ENROLLMENT_TOKEN=pwa-enroll STATE_DIR="$D/state" ||
    { fail "portwingd starts with AUDIT_LOG=$log"; exit 1; }
ac ping "$PW_PORT" "$PW_TOKEN"
wait_lines "$log" 1
check "sink file created with mode 0600 ($(stat -c %a "$log" 2>&1))" \
    [ "$(stat -c %a "$log" 2>/dev/null)" = 600 ]
tap_run $PY "$AC" events "$PW_PORT" "$PW_TOKEN" "$log" "$D" "$CTR"
tap_run $PY "$AC" export "$PW_PORT" "$PW_TOKEN" "$log"
expect "metrics: sink enabled, nothing dropped" \
    '[ "$(ac metric "$PW_PORT" "$PW_TOKEN" portwing_audit_sink_enabled)" = 1 ] &&
    [ "$(ac metric "$PW_PORT" "$PW_TOKEN" portwing_audit_dropped_total)" = 0 ]'
pw_stop

# ---- 2. audit-verify on the agent's file and on tampered copies ---------
n=$(nlines "$log")
verify "$log"
expect "audit-verify passes on the agent's untouched file ($rc: $outl)" \
    '[ "$rc" = 0 ] && [ "$out" = \
    "$log: $n records, seq 1..$n, chain intact; last hash $(field "$log" last hash)" ]'
m=$((n / 2))
sed "${m}d" "$log" >"$D/del.log"
verify "$D/del.log"
expect "a middle line (line $m of $n) deleted: exit 1 at line $m ($rc: $outl)" \
    '[ "$rc" = 1 ] && [ "$out" = "$D/del.log:$m: chain broken: seq $((m + 1)) follows $((m - 1)) without a declared gap (a record deleted?)" ]'
K=$(grep -n '"status":200,' "$log" | cut -d: -f1 |
    awk -v n="$n" '$1 > 3 && $1 < n - 3' | head -1)
sed "${K}s/\"status\":200,/\"status\":201,/" "$log" >"$D/edit.log"
check "the edit changed line $K and nothing else" \
    [ "$(cmp "$log" "$D/edit.log" 2>&1 | sed 's/.*line //')" = "$K" ]
verify "$D/edit.log"
expect "status 200 -> 201 on line $K: exit 1 at line $K ($rc: $outl)" \
    '[ "$rc" = 1 ] && [ "$out" = "$D/edit.log:$K: chain broken: hash does not match the line'"'"'s content (edited?)" ]'

# ---- 4. the chain over a restart and a rotation --------------------------
s0=$(field "$log" last seq)
h0=$(field "$log" last hash)
pw_start AUDIT_LOG="$log" AUTHORIZED_KEYS="$D/ak" \
    ENROLLMENT_TOKEN=pwa-enroll STATE_DIR="$D/state" ||
    { fail "portwingd restarts on the same AUDIT_LOG"; exit 1; }
ac ping "$PW_PORT" "$PW_TOKEN"
wait_lines "$log" $((n + 1))
check "after a restart the next line continues the seq ($(field "$log" $((n + 1)) seq) = $s0 + 1)" \
    [ "$(field "$log" $((n + 1)) seq)" = $((s0 + 1)) ]
check "...and the chain (prev = the last hash before the restart)" \
    [ "$(field "$log" $((n + 1)) prev)" = "$h0" ]
check "the agent said it continues the chain" \
    grep -q "audit: continuing the chain of $log after seq $s0" "$PW_LOG"
oc=$(pw_curl -D - -o /dev/null "$(pw_url /_portwing/audit/export)" |
    tr -d '\r' | sed -n 's/^X-Portwing-Oldest-Cursor: //Ip')
check "the ring's cursors continue too: oldest cursor $oc = seq $((s0 + 1))" \
    [ "$oc" = $((s0 + 1)) ]
ac ping "$PW_PORT" "$PW_TOKEN" 2
wait_lines "$log" $((n + 3))
n1=$(nlines "$log")
verify "$log"
expect "audit-verify passes on the whole file across the restart ($outl)" \
    '[ "$rc" = 0 ] && [ "$out" = \
    "$log: $n1 records, seq 1..$n1, chain intact; last hash $(field "$log" last hash)" ]'

# Rotation: mv, then SIGHUP; until then the agent writes the renamed file.
mv "$log" "$log.1"
ac ping "$PW_PORT" "$PW_TOKEN" 2
wait_lines "$log.1" $((n1 + 2))
expect "after mv the agent keeps writing the renamed file ($(nlines "$log.1") lines)" \
    '[ ! -e "$log" ] && [ "$(nlines "$log.1")" -ge $((n1 + 2)) ]'
kill -HUP "$PW_PID"
for _ in $(seq 1 100); do
	grep -q "audit log $log reopened" "$PW_LOG" && [ -e "$log" ] && break
	sleep 0.1
done
check "SIGHUP: the agent reopened $log" grep -q "audit log $log reopened" "$PW_LOG"
for _ in $(seq 1 50); do
	ac ping "$PW_PORT" "$PW_TOKEN"
	[ "$(nlines "$log")" -ge 3 ] && break
	sleep 0.1
done
expect "new records go to the new file ($(nlines "$log") lines), mode 0600" \
    '[ "$(nlines "$log")" -ge 3 ] && [ "$(stat -c %a "$log")" = 600 ]'
os=$(field "$log.1" last seq)
oh=$(field "$log.1" last hash)
expect "the new file's first line continues the old file's last (prev $oh)" \
    '[ "$(field "$log" 1 prev)" = "$oh" ] && [ "$(field "$log" 1 seq)" = $((os + 1)) ]'
check "the proxy logged the old file's last hash as a chain anchor" \
    grep -qF "audit: chain anchor: $log ends at seq $os, hash $oh" "$PW_LOG"
pw_stop
verify "$log.1"
expect "audit-verify passes on the rotated file ($outl)" '[ "$rc" = 0 ] &&
    [ "$out" = "$log.1: $os records, seq 1..$os, chain intact; last hash $oh" ]'
verify "$log"
n2=$(nlines "$log")
expect "audit-verify passes on the new file and names the hash it continues from ($outl)" \
    '[ "$rc" = 0 ] &&
    has "$log: $n2 records, seq $((os + 1))..$((os + n2)), chain intact; last hash $(field "$log" last hash)" &&
    has "$log:1: chain continues from prev $oh (earlier records are not in this file)"'
cat "$log.1" "$log" >"$D/joined.log"
verify "$D/joined.log"
expect "the two files joined are one intact chain ($outl)" '[ "$rc" = 0 ] &&
    [ "$out" = "$D/joined.log: $((os + n2)) records, seq 1..$((os + n2)), chain intact; last hash $(field "$log" last hash)" ]'
TAP_PREFIX="restart and rotation: " tap_run $PY "$AC" sinkfile "$D/joined.log"

# ---- 5. a full audit disk fails no request -------------------------------
mkdir -p "$M"
if ! mount -t tmpfs -o size=64k tmpfs "$M" 2>"$D/mount.err"; then
	skip "full disk: cannot mount a tmpfs ($(cat "$D/mount.err"))"
else
	fl=$M/audit.log
	pw_start AUDIT_LOG="$fl" ||
	    { fail "portwingd starts with AUDIT_LOG on the small tmpfs"; exit 1; }
	tap_run $PY "$AC" flood "$PW_PORT" "$PW_TOKEN" 2000
	dr=$(ac metric "$PW_PORT" "$PW_TOKEN" portwing_audit_dropped_total)
	check "portwing_audit_dropped_total > 0 while the disk is full ($dr)" \
	    [ "${dr:-0}" -gt 0 ]
	nw=$(grep -c 'audit: cannot write' "$PW_LOG")
	check "the write failure logged exactly once ($nw)" [ "$nw" = 1 ]
	TAP_PREFIX="full disk: " tap_run $PY "$AC" sinkfile "$fl"
	verify "$fl"
	l0=$(nlines "$fl")
	# A line shorter than the space a cut-off line left may still fit
	# later (line lengths vary): such a line declares its own gap.
	expect "audit-verify passes on the full disk's file ($l0 lines: $outl)" \
	    '[ "$rc" = 0 ] && [ "$(printf "%s\n" "$out" | head -1)" = \
	    "$fl: $l0 records, seq 1..$(field "$fl" last seq), chain intact; last hash $(field "$fl" last hash)" ]'
	s0=$(field "$fl" last seq)
	mount -o remount,size=1m "$M"
	ac ping "$PW_PORT" "$PW_TOKEN" 3
	wait_lines "$fl" $((l0 + 3))
	g=$(field "$fl" $((l0 + 1)) dropped)
	gs=$(field "$fl" $((l0 + 1)) seq)
	expect "with space again the next line declares the gap (\"dropped\": $g, seq $gs after $s0)" \
	    '[ "${g:-0}" -gt 0 ] && [ "$gs" = $((s0 + g + 1)) ]'
	dr=$(ac metric "$PW_PORT" "$PW_TOKEN" portwing_audit_dropped_total)
	sg=$(ac dropped "$fl")
	check "the declared gaps add up to every record dropped ($sg = portwing_audit_dropped_total $dr)" \
	    [ "$sg" = "$dr" ]
	verify "$fl"
	n3=$(nlines "$fl")
	expect "audit-verify passes and reports the declared gap at line $((l0 + 1)) ($outl)" \
	    '[ "$rc" = 0 ] &&
	    has "$fl: $n3 records, seq 1..$(field "$fl" last seq), chain intact; last hash $(field "$fl" last hash)" &&
	    has "$fl:$((l0 + 1)): declared gap: $g record(s) dropped before seq $gs"'
	TAP_PREFIX="after the gap: " tap_run $PY "$AC" sinkfile "$fl"
	nw=$(grep -c 'audit: cannot write' "$PW_LOG")
	check "still one write-failure line in the log ($nw)" [ "$nw" = 1 ]
	pw_stop
	umount "$M" || umount -l "$M"
fi

# ---- small and disabled rings; AUDIT_LOG=stdout --------------------------
pw_start AUDIT_BUFFER_SIZE=5 || { fail "portwingd starts with AUDIT_BUFFER_SIZE=5"; exit 1; }
tap_run $PY "$AC" smallbuf "$PW_PORT" "$PW_TOKEN"
pw_stop
pw_start AUDIT_BUFFER_SIZE=0 AUDIT_LOG=stdout ||
    { fail "portwingd starts with AUDIT_BUFFER_SIZE=0 AUDIT_LOG=stdout"; exit 1; }
tap_run $PY "$AC" nobuf "$PW_PORT" "$PW_TOKEN"
ac ping "$PW_PORT" "$PW_TOKEN"
for _ in $(seq 1 50); do
	grep -q '"event":"api_request".*"path":"/_ping"' "$PW_LOG" && break
	sleep 0.1
done
tap_run $PY "$AC" stream "$PW_LOG"
pw_stop

# ---- 6. an AUDIT_LOG that cannot be opened --------------------------------
bad=$D/no-such-dir/audit.log
out=$(timeout 30 env -i PATH="$PATH" HOME=/root PORT="$(pw_free_port)" \
    BIND_ADDRESS=127.0.0.1 DOCKER_SOCKET="$DOCKER_SOCK" TOKEN=pwa-x \
    AUDIT_LOG="$bad" "$PW_BUILD/portwingd" 2>&1); rc=$?
outl=${out//$'\n'/ | }
expect "AUDIT_LOG in a missing directory: exit 1 naming AUDIT_LOG ($rc: $outl)" \
    '[ "$rc" = 1 ] && printf "%s\n" "$out" | grep -qF "AUDIT_LOG: cannot open $bad"'

# ---- proxy_denied (the hooks build forges an approval) -------------------
if [ -x "$PW_BUILD/portwingd-hooks" ]; then
	PW_DAEMON=$PW_BUILD/portwingd-hooks pw_start WORKERS=1 \
	    AUDIT_LOG="$D/h/audit.log" ||
	    { fail "portwingd-hooks starts"; exit 1; }
	tap_run $PY "$AC" denied "$PW_PORT" "$PW_TOKEN" "$D/h/audit.log"
	pw_stop
else
	skip "proxy_denied: portwingd-hooks is not built (make check builds it)"
fi
pw_done
