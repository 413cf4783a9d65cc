#!/bin/sh
# run.sh: build the libFuzzer harnesses with clang in build-fuzz/ and run
# each for FUZZ_SECONDS (default 60) from the seed corpus (`make fuzz`).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p build-fuzz
cd build-fuzz
[ -f Makefile ] || ../configure CC=clang --enable-fuzzing >/dev/null
make -s tests/fuzz/fuzz_http
mkdir -p corpus-http
cp -n "$top"/tests/fuzz/corpus-http/* corpus-http/ 2>/dev/null || true
./tests/fuzz/fuzz_http -max_total_time="$secs" -max_len=70000 \
    -dict="$top/tests/fuzz/http.dict" corpus-http
