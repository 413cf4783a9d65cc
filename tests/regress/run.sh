#!/bin/bash
# run.sh: portwing's integration tests against a real Docker Engine.
# Starts one private dockerd for the whole run, then runs every
# tests/regress/t-*.sh (or those named as arguments) and sums up.
# Needs root (dockerd, and portwingd's chroot and privilege drop).
here=$(cd "$(dirname "$0")" && pwd)
export PW_BUILD=${PW_BUILD:-$(cd "$here/../../build" && pwd)}
if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests need root (dockerd, chroot); run: sudo make check" >&2
	exit 1
fi
for tool in dockerd docker curl python3 strace ss openssl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "missing $tool: run ./contrib/install-deps.sh --test" >&2
		exit 1
	fi
done
. "$here/lib.sh"
pw_ensure_user
pw_dockerd_start || exit 1
pw_image || exit 1

tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=("$here"/t-*.sh)
total_pass=0 total_fail=0 failed=()
san_re='ERROR: (Address|Leak)Sanitizer|runtime error: |SUMMARY: UndefinedBehaviorSanitizer'
for t in "${tests[@]}"; do
	[ -f "$t" ] || t=$here/$t
	name=$(basename "$t" .sh)
	echo "# --- $name"
	tmp=$(mktemp -d /tmp/pwtest.XXXXXX)
	out=$(PW_TMP=$tmp DOCKER_SOCK=$DOCKER_SOCK timeout 900 bash "$t" 2>&1)
	rc=$?
	echo "$out"
	if [ $rc -eq 124 ]; then
		# Timed out: what the daemon said last, for the CI log.
		for l in $(ls -t "$tmp"/portwingd.*.log 2>/dev/null | head -1); do
			echo "# $name timed out; the end of $l:"
			tail -15 "$l" | sed 's/^/#   /'
		done
	fi
	p=$(echo "$out" | grep -c '^ok ')
	f=$(echo "$out" | grep -c '^not ok ')
	# A sanitizer report (configure --enable-sanitizers) from any process,
	# in the test's output or a daemon log (children report on the
	# daemon's stderr), fails the test even when its checks passed.
	san=$( { echo "$out"; grep -rIhs '' "$tmp"; } | grep -E "$san_re" | head -3)
	if [ -n "$san" ]; then
		f=$((f + 1))
		echo "not ok - $name: sanitizer report"
		echo "$san" | sed 's/^/#   /'
	fi
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$f" -eq 0 ] || failed+=("$name")
done
echo "# integration: $total_pass passed, $total_fail failed"
[ ${#failed[@]} -eq 0 ] || echo "# failing: ${failed[*]}"
[ "$total_fail" -eq 0 ]
