#!/bin/sh
# build-deb.sh: build the Debian package from the current source tree.
#   packaging/build-deb.sh        (make deb)
# Copies the tree (git's tracked and untracked, not ignored, files; or the
# whole tree without build directories outside git) to build/pkg/src/,
# copies packaging/debian there as debian/, runs dpkg-buildpackage -us -uc -b
# and lintian.  The packages end up in build/pkg/:
#   build/pkg/portwing_VERSION_ARCH.deb (and the -dbgsym .deb, .changes,
#   .buildinfo).  A lintian error fails the build; LINTIAN=no skips it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/pkg
src=$out/src/portwing

for t in dpkg-buildpackage dh; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "build-deb.sh: $t not found: apt-get install dpkg-dev debhelper" \
		    "(or ./contrib/install-deps.sh --package)" >&2
		exit 1
	}
done

rm -rf "$out"
"$top/packaging/copy-tree.sh" "$top" "$src"
cp -a "$src/packaging/debian" "$src/debian"

(cd "$src" && dpkg-buildpackage -us -uc -b)
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/ 2>/dev/null || true
ls "$out"/*.deb >/dev/null

if [ "${LINTIAN:-yes}" != no ]; then
	if command -v lintian >/dev/null 2>&1; then
		# Errors fail; warnings are printed (each accepted one has an
		# override with its reason in packaging/debian/).
		lintian --fail-on error "$out"/*.changes
	else
		echo "build-deb.sh: lintian not installed, not checked" >&2
	fi
fi
echo "build-deb.sh: built:"
ls -1 "$out"/*.deb
