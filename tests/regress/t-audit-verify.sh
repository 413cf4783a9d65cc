#!/bin/bash
# t-audit-verify.sh: `portwing audit-verify` against audit logs written by an
# independent generator (auditgen.py): intact chains pass with the right
# count and last hash, declared gaps and restarts are reported, and every
# kind of tampering (deleted, edited, swapped, repeated, truncated lines)
# is reported at the right line.  CLI only: no dockerd, no portwingd.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
GEN="$PY $here/auditgen.py"
# PW_AUDIT_CLI lets a stub stand in, to see that these checks can fail.
PWCLI=${PW_AUDIT_CLI:-$PW_BUILD/portwing}
D=$PW_TMP/audit
mkdir -p "$D"

# verify FILE: run the verifier; sets out, err, rc.
verify() {
	out=$("$PWCLI" audit-verify "$@" 2>"$D/stderr"); rc=$?
	err=$(cat "$D/stderr")
}
# has LINE: the verifier printed exactly this line.
has() { printf '%s\n' "$out" | grep -Fxq -- "$1"; }
# expect DESCRIPTION 'SHELL CONDITION': check for compound conditions.
expect() { if eval "$2"; then ok "$1"; else fail "$1"; fi; }
# breaks_at FILE LINE REASON: exit 1 and the one break line, exactly.
breaks_at() { [ "$rc" = 1 ] && [ "$out" = "$1:$2: chain broken: $3" ]; }
# meta KEY: a value auditgen.py printed for the last generated file.
meta() { sed -n "s/^$1=//p" "$D/meta"; }
# gen OUT ARGS...: generate a file, keeping what the verifier must find.
gen() { local o=$1; shift; $GEN "$@" "$o" >"$D/meta"; }
# seq_of LINE: the seq on a line of the untouched file $f.
seq_of() { sed -n "$1p" "$f" | sed 's/.*"seq":\([0-9]*\),.*/\1/'; }
# The same file with line K's "status":200 made 201 and nothing else.
edit_status() { sed "$2s/\"status\":200,/\"status\":201,/" "$1"; }

# ---- an intact chain with a declared gap and a restart ----
f=$D/audit.log
gen "$f" -n 60 --seed 7 --gap 17:4 --restart 41:1
H=$(meta last_hash)
expect "generator: 60 records, seq 1..20, a 64-hex last hash" \
    '[ "$(meta records)/$(meta first_seq)/$(meta last_seq)" = 60/1/20 ] &&
    [[ $H =~ ^[0-9a-f]{64}$ ]]'
check "generator: gap and restart where asked" \
    [ "$(meta gap)/$(meta restart)" = 17:4:21/41:1 ]
verify "$f"
check "untouched file: exit 0 ($rc)" [ "$rc" = 0 ]
check "untouched file: summary names count, seq range and the last hash" \
    [ "$(printf '%s\n' "$out" | head -1)" = \
    "$f: 60 records, seq 1..20 (1 restart), chain intact; last hash $H" ]
check "declared gap reported at its line" \
    has "$f:17: declared gap: 4 record(s) dropped before seq 21"
check "restart reported at its line" has "$f:41: chain restarts at seq 1"
expect "nothing else printed ($(printf '%s\n' "$out" | wc -l) lines)" \
    '[ "$(printf "%s\n" "$out" | wc -l)" = 3 ] && [ -z "$err" ]'
verify - <"$f"
expect "reads stdin with -" '[ "$rc" = 0 ] &&
    has "(stdin): 60 records, seq 1..20 (1 restart), chain intact; last hash $H"'

# A plain chain: exactly the documented summary, nothing more.
p=$D/plain.log
gen "$p" -n 25 --seed 3
verify "$p"
expect "plain chain: one summary line" '[ "$rc" = 0 ] && [ "$out" = \
    "$p: 25 records, seq 1..25, chain intact; last hash $(meta last_hash)" ]'

# ---- deletions show at the next line ----
sed 30d "$f" >"$D/del.log"
verify "$D/del.log"
check "middle line deleted: break at the next line ($out)" \
    breaks_at "$D/del.log" 30 \
    "seq $(seq_of 31) follows $(seq_of 29) without a declared gap (a record deleted?)"
sed 17d "$f" >"$D/delgap.log"
verify "$D/delgap.log"
check "the gap-declaring line deleted: break at the next line ($out)" \
    breaks_at "$D/delgap.log" 17 \
    "seq 22 follows 16 without a declared gap (a record deleted?)"
sed 43d "$f" >"$D/del43.log"
verify "$D/del43.log"
check "line after a restart deleted: break at the next line ($out)" \
    breaks_at "$D/del43.log" 43 \
    "seq 4 follows 2 without a declared gap (a record deleted?)"

# ---- edits show at the edited line ----
K=$(grep -n '"status":200,' "$f" | cut -d: -f1 | awk '$1 > 20 && $1 < 40' |
    head -1)
edit_status "$f" "$K" >"$D/edit.log"
check "the edit changed exactly line $K" \
    [ "$(cmp "$f" "$D/edit.log" 2>&1 | sed 's/.*line //')" = "$K" ]
verify "$D/edit.log"
check "status 200->201 on line $K, hash kept: break at line $K ($out)" \
    breaks_at "$D/edit.log" "$K" \
    "hash does not match the line's content (edited?)"
# The same edit with that line's hash recomputed: its successor notices.
$PY - "$D/edit.log" "$K" >"$D/rehash.log" <<'PY'
import hashlib, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
k = int(sys.argv[2]) - 1
body = lines[k][:lines[k].rindex(b',"hash":"')]
lines[k] = body + b',"hash":"' + hashlib.sha256(body).hexdigest().encode() + b'"}'
sys.stdout.buffer.write(b"\n".join(lines))
PY
verify "$D/rehash.log"
check "edited and rehashed line $K: break at line $((K + 1)) ($out)" \
    breaks_at "$D/rehash.log" $((K + 1)) "prev does not match the hash of line $K"
edit_status "$p" 6 >"$D/edit6.log"
verify "$D/edit6.log"
check "an edit in the plain chain: break at line 6 ($out)" \
    breaks_at "$D/edit6.log" 6 "hash does not match the line's content (edited?)"

# ---- reordering, repeats ----
awk 'NR == 10 { l = $0; next } NR == 11 { print; print l; next } 1' "$f" \
    >"$D/swap.log"
verify "$D/swap.log"
check "lines 10 and 11 swapped: break at line 10 ($out)" \
    breaks_at "$D/swap.log" 10 \
    "seq 11 follows 9 without a declared gap (a record deleted?)"
awk 'NR == 20 { print } 1' "$f" >"$D/dup.log"
verify "$D/dup.log"
check "line 20 repeated: break at line 21 ($out)" \
    breaks_at "$D/dup.log" 21 "seq $(seq_of 20) follows $(seq_of 20) (records reordered or repeated?)"
{ sed -n 1,30p "$f"; sed -n 21,60p "$f"; } >"$D/replay.log"
verify "$D/replay.log"
check "lines 21..30 replayed: break at line 31 ($out)" \
    breaks_at "$D/replay.log" 31 "seq $(seq_of 21) follows $(seq_of 30) (records reordered or repeated?)"

# ---- truncation ----
head -c -1 "$f" >"$D/trunc.log"
verify "$D/trunc.log"
check "last newline cut: break at line 60 ($out)" \
    breaks_at "$D/trunc.log" 60 "truncated last line (no newline)"
head -c -100 "$f" >"$D/trunc2.log"
verify "$D/trunc2.log"
check "last line cut in the middle: break at line 60 ($out)" \
    breaks_at "$D/trunc2.log" 60 "truncated last line (no newline)"
sed 60d "$f" >"$D/short.log"
verify "$D/short.log"
expect "whole last line removed: passes, but the last hash differs ($rc)" \
    '[ "$rc" = 0 ] && has "$D/short.log: 59 records, seq 1..19 (1 restart), chain intact; last hash $(sed -n 59p "$f" | sed "s/.*\"hash\":\"//; s/\"}//")" &&
    ! printf "%s\n" "$out" | grep -q "$H"'

# ---- gaps ----
gen "$D/skip.log" -n 30 --skip 25:2
verify "$D/skip.log"
check "an undeclared gap in a well-linked chain: break at line 25 ($out)" \
    breaks_at "$D/skip.log" 25 \
    "seq 27 follows 24 without a declared gap (a record deleted?)"
gen "$D/gaps.log" -n 30 --gap 2:1 --gap 30:1000
verify "$D/gaps.log"
expect "two declared gaps pass and are reported ($rc)" '[ "$rc" = 0 ] &&
    has "$D/gaps.log: 30 records, seq 1..1031, chain intact; last hash $(meta last_hash)" &&
    has "$D/gaps.log:2: declared gap: 1 record(s) dropped before seq 3" &&
    has "$D/gaps.log:30: declared gap: 1000 record(s) dropped before seq 1031"'
gen "$D/under.log" -n 20 --gap 12:3 --skip 12:1
verify "$D/under.log"
check "a gap larger than declared: break at it ($out)" \
    breaks_at "$D/under.log" 12 \
    "seq 16 does not match the declared gap (seq 11 + 3 dropped + 1)"
gen "$D/over.log" -n 20 --gap 12:3 --skip 12:-1
verify "$D/over.log"
check "a gap smaller than declared: break at it ($out)" \
    breaks_at "$D/over.log" 12 \
    "seq 14 does not match the declared gap (seq 11 + 3 dropped + 1)"
sed '12s/"seq":\([0-9]*\),"prev"/"seq":\1,"dropped":1,"prev"/' "$D/skip.log" \
    >"$D/wronggap.log"
verify "$D/wronggap.log"
check "a dropped member added afterwards fails the hash ($out)" \
    breaks_at "$D/wronggap.log" 12 "hash does not match the line's content (edited?)"

# ---- chains that continue or restart ----
gen "$D/x.log" -n 20 --seed 21
gen "$D/y.log" -n 20 --seed 22
{ sed -n 1,10p "$D/x.log"; sed -n 11,20p "$D/y.log"; } >"$D/splice.log"
verify "$D/splice.log"
check "two chains spliced with matching seqs: break at line 11 ($out)" \
    breaks_at "$D/splice.log" 11 "prev does not match the hash of line 10"
gen "$D/a.log" -n 10 --seed 11
ha=$(meta last_hash)
gen "$D/b.log" -n 10 --seed 12 --start-seq 11 --start-prev "$ha"
hb=$(meta last_hash)
verify "$D/b.log"
expect "a rotated file passes and names the hash it continues from" \
    '[ "$rc" = 0 ] && has "$D/b.log: 10 records, seq 11..20, chain intact; last hash $hb" &&
    has "$D/b.log:1: chain continues from prev $ha (earlier records are not in this file)"'
cat "$D/a.log" "$D/b.log" >"$D/ab.log"
verify "$D/ab.log"
check "two rotated files joined are one intact chain" [ "$out" = \
    "$D/ab.log: 20 records, seq 1..20, chain intact; last hash $hb" ]
cat "$D/b.log" "$D/b.log" >"$D/bb.log"
verify "$D/bb.log"
check "a file appended to itself: break at line 11 ($out)" \
    breaks_at "$D/bb.log" 11 "seq 11 follows 20 (records reordered or repeated?)"
gen "$D/r.log" -n 12 --restart 5:1 --restart 9:77
verify "$D/r.log"
expect "restarts at any seq pass and are reported" '[ "$rc" = 0 ] &&
    has "$D/r.log: 12 records, seq 1..80 (2 restarts), chain intact; last hash $(meta last_hash)" &&
    has "$D/r.log:5: chain restarts at seq 1" && has "$D/r.log:9: chain restarts at seq 77"'

# ---- malformed lines ----
: >"$D/empty.log"
verify "$D/empty.log"
expect "empty file: exit 0, 0 records ($out)" '[ "$rc" = 0 ] &&
    [ "$out" = "$D/empty.log: 0 records, nothing to verify" ]'
verify "$D/missing.log"
expect "missing file: exit 2, message on stderr ($err)" '[ "$rc" = 2 ] &&
    [ -z "$out" ] &&
    [ "$err" = "portwing audit-verify: $D/missing.log: No such file or directory" ]'
verify
expect "no file: usage on stderr, exit 2" '[ "$rc" = 2 ] &&
    printf "%s\n" "$err" | grep -q "^usage: portwing audit-verify"'
sed '33s/.*/this is not json/' "$f" >"$D/garbage.log"
verify "$D/garbage.log"
expect "a non-JSON line: break at it ($out)" '[ "$rc" = 1 ] &&
    [[ $out == "$D/garbage.log:33: chain broken: not a JSON object: invalid JSON"* ]]'
sed '33s/.*/["a","b"]/' "$f" >"$D/array.log"
verify "$D/array.log"
check "a JSON array line: break at it ($out)" \
    breaks_at "$D/array.log" 33 "not a JSON object"
sed '33s/"actor":"/"actor":"\xff/' "$f" >"$D/utf8.log"
verify "$D/utf8.log"
expect "invalid UTF-8: break at the line ($out)" '[ "$rc" = 1 ] &&
    [[ $out == "$D/utf8.log:33: chain broken: not a JSON object: invalid JSON"* ]]'
sed '8s/"hash":"\(.*\)"}$/"hash":"\U\1"}/' "$f" >"$D/upper.log"
verify "$D/upper.log"
expect "an upper-case hash is malformed ($out)" '[ "$rc" = 1 ] &&
    [[ $out == "$D/upper.log:8: chain broken: missing or malformed \"hash\""* ]]'
sed '8s/,"hash":"[0-9a-f]*"}$/}/' "$f" >"$D/nohash.log"
verify "$D/nohash.log"
expect "no hash member ($out)" '[ "$rc" = 1 ] &&
    [[ $out == "$D/nohash.log:8: chain broken: missing or malformed \"hash\""* ]]'
sed '8s/$/ /' "$f" >"$D/space.log"
verify "$D/space.log"
expect "a trailing space after the hash ($out)" '[ "$rc" = 1 ] &&
    [[ $out == "$D/space.log:8: chain broken: missing or malformed \"hash\""* ]]'
sed 's/$/\r/' "$f" >"$D/crlf.log"
verify "$D/crlf.log"
check "CRLF line endings ($out)" breaks_at "$D/crlf.log" 1 \
    "line ends with a carriage return (CRLF line endings?)"
awk 'NR == 15 { print; print ""; next } 1' "$f" >"$D/blank.log"
verify "$D/blank.log"
check "a blank line in the middle ($out)" breaks_at "$D/blank.log" 16 "empty line"

# Well hashed, but members the format does not allow.
for bad in 'seq:seq="5"' 'seq:seq=0' 'seq:seq=5.0' 'seq:-seq' \
    'prev:prev="00"' 'prev:-prev' 'prev:prev=null' \
    'dropped:dropped=0' 'dropped:dropped="1"'; do
	key=${bad%%:*} spec=${bad#*:}
	case $spec in
	-*) gen "$D/member.log" -n 8 --del "5:${spec#-}" ;;
	*) gen "$D/member.log" -n 8 --set "5:$spec" ;;
	esac
	verify "$D/member.log"
	expect "well hashed, $spec: break at line 5 ($out)" '[ "$rc" = 1 ] &&
	    [[ $out == "$D/member.log:5: chain broken: "*"malformed \"$key\""* ]]'
done
gen "$D/dupkey.log" -n 8 --set '5:actor="a"' --set '5:x=1'
sed -i '5s/"x":1,/"seq":5,/' "$D/dupkey.log"
verify "$D/dupkey.log"
expect "a duplicated member: break at it ($out)" '[ "$rc" = 1 ] &&
    [[ $out == "$D/dupkey.log:5: chain broken: not a JSON object: invalid JSON"*duplicate* ]]'

# ---- line length: 1 MiB is the limit ----
gen "$D/big.log" -n 6 --big 3:1040000
verify "$D/big.log"
expect "a line just under 1 MiB passes ($(sed -n 3p "$D/big.log" | wc -c) bytes)" \
    '[ "$rc" = 0 ] && has "$D/big.log: 6 records, seq 1..6, chain intact; last hash $(meta last_hash)"'
gen "$D/huge.log" -n 6 --big 3:1100000
verify "$D/huge.log"
check "a line over 1 MiB: break at it ($out)" \
    breaks_at "$D/huge.log" 3 "line longer than 1048576 bytes"

pw_done
