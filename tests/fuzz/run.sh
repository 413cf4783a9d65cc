#!/bin/sh
# run.sh: build the libFuzzer harnesses in build-fuzz/ (clang, every object
# instrumented for coverage with ASan and UBSan) and run each for
# FUZZ_SECONDS (default 60) from its seed corpus (`make fuzz`).
#
#   FUZZ_SECONDS=20 tests/fuzz/run.sh            all harnesses, 20 s each
#   tests/fuzz/run.sh keys config                 only these
#
# The corpus each run grows is kept in build-fuzz/corpus-NAME and reused
# by the next run; a crashing input is saved as build-fuzz/crash/NAME-*.
# Prints each harness's final coverage (libFuzzer's cov: edges, ft:
# features) and exits non-zero if any harness found a crash, a leak, a
# sanitizer report or a timeout.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
all="http chunked ipc keys config mcp dagent compose policy_path policy_yaml inspect build redact"
names=${*:-$all}
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p build-fuzz
cd build-fuzz
[ -f Makefile ] || ../configure CC=clang --enable-fuzzing >/dev/null
make -s -j"${FUZZ_JOBS:-2}" fuzz-harnesses
mkdir -p crash
summary=""
failed=""
for n in $names; do
	bin=./tests/fuzz/fuzz_$n
	[ -x "$bin" ] || { echo "run.sh: no harness $n (have: $all)" >&2; exit 2; }
	mkdir -p "corpus-$n"
	cp -n "$top/tests/fuzz/corpus-$n"/* "corpus-$n"/ 2>/dev/null || true
	dict=""
	[ -f "$top/tests/fuzz/$n.dict" ] && dict="-dict=$top/tests/fuzz/$n.dict"
	echo "=== fuzz_$n: $secs s"
	rc=0
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -max_len=70000 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix="crash/$n-" $dict \
	    "corpus-$n" >"fuzz-$n.log" 2>&1 || rc=$?
	stats=$(grep -E '^#[0-9]+.*(DONE|INITED|pulse|NEW|REDUCE).* cov: ' \
	    "fuzz-$n.log" | tail -1 |
	    sed -E 's/^#([0-9]+).* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/runs \1 cov \2 ft \3 corpus \4/')
	if [ "$rc" -ne 0 ]; then
		failed="$failed $n"
		grep -E 'ERROR|runtime error|SUMMARY|Test unit written' \
		    "fuzz-$n.log" | head -20 || true
		echo "=== fuzz_$n FAILED (exit $rc), log: build-fuzz/fuzz-$n.log"
	fi
	summary="$summary$(printf '%-16s %s%s' "fuzz_$n" "$stats" \
	    "$([ "$rc" -ne 0 ] && echo ' CRASH')")
"
done
echo "=== coverage after $secs s per harness"
printf '%s' "$summary"
if [ -n "$failed" ]; then
	echo "=== crashes in:$failed (inputs in build-fuzz/crash/)"
	exit 1
fi
