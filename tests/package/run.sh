#!/bin/bash
# run.sh: make package-test.  Builds the .deb once (make deb; or uses
# PKG_DEB), then runs the parts named as arguments, or all of them:
#   systemd   the .deb installed into a booted Debian 12 guest (systemd.sh)
#   image     make image, then the image run against the test dockerd
#             (image.sh)
# Each part prints TAP lines; the sum and the time each part took come
# last.  Needs root, debootstrap and the Debian mirror (the root file
# systems are cached in /var/cache/portwing-test), and a Docker Engine
# (tests/regress/lib.sh starts a private one in PW_DOCKER_DIR).
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "package tests need root (dockerd, debootstrap)" >&2
	exit 1
fi
for tool in debootstrap dockerd docker curl dpkg-deb python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "missing $tool: run ./contrib/install-deps.sh --test" >&2
		exit 1
	fi
done
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(systemd image)
start=$(date +%s)

if [ -z "${PKG_DEB:-}" ]; then
	t0=$(date +%s)
	mkdir -p "$top/build"
	if ! make -C "$top" --no-print-directory deb >"$top/build/package-test-deb.log" 2>&1; then
		echo "not ok - make deb"
		tail -30 "$top/build/package-test-deb.log" | sed 's/^/#   /'
		exit 1
	fi
	PKG_DEB=$(ls "$top"/build/pkg/portwing_*.deb | head -1)
	echo "# time: make deb $(($(date +%s) - t0)) s"
fi
export PKG_DEB

total_pass=0 total_fail=0 failed=() times=""
for part in "${parts[@]}"; do
	echo "# --- $part"
	t0=$(date +%s)
	tmp=$(mktemp -d /tmp/pwpkg.XXXXXX)
	out=$(PW_TMP=$tmp timeout 1200 bash "$here/$part.sh" 2>&1)
	rc=$?
	echo "$out"
	p=$(echo "$out" | grep -c '^ok ')
	f=$(echo "$out" | grep -c '^not ok ')
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $part exited with status $rc"
	fi
	[ -n "${PKG_KEEP:-}" ] || rm -rf "$tmp"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$f" -eq 0 ] || failed+=("$part")
	times="$times $part $(($(date +%s) - t0))s"
done
echo "# time per part:$times; total $(($(date +%s) - start)) s"
echo "# package tests: $total_pass passed, $total_fail failed"
[ ${#failed[@]} -eq 0 ] || echo "# failing: ${failed[*]}"
[ "$total_fail" -eq 0 ]
