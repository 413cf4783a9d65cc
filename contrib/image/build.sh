#!/bin/bash
# build.sh: make image.  Builds the portwing container image offline:
#   1. the .deb (make deb), or PKG_DEB when set;
#   2. a Debian 12 minbase root made with debootstrap from the machine's
#      Debian mirror, holding the packages the .deb depends on (cached in
#      /var/cache/portwing-test, tests/package/lib.sh), imported with
#      `docker import` as the base;
#   3. contrib/image/Dockerfile on that base: dpkg -i, entrypoint
#      portwingd, a HEALTHCHECK on /health.
# No registry is reached.  The image is tagged portwing:VERSION and
# portwing:latest in the Docker Engine DOCKER_HOST names (or the one on
# /var/run/docker.sock; if neither answers, the tests' private dockerd in
# PW_DOCKER_DIR, default /tmp/pw-dockerd), and saved to
# build/image/portwing_VERSION.tar for `docker load` elsewhere
# (IMAGE_SAVE=no skips that).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/regress/lib.sh"
. "$top/tests/package/lib.sh"

die() { echo "make image: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap)"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"

# The engine.
if [ -n "${DOCKER_HOST:-}" ]; then
	dk() { docker "$@"; }
elif docker -H unix:///var/run/docker.sock version >/dev/null 2>&1; then
	dk() { docker -H unix:///var/run/docker.sock "$@"; }
else
	pw_dockerd_start >/dev/null || die "no Docker Engine answers"
	dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }
	echo "make image: building in the private dockerd: DOCKER_HOST=unix://$DOCKER_SOCK"
fi

# 1. the package
if [ -z "${PKG_DEB:-}" ]; then
	make -C "$top" --no-print-directory deb >"$top/build/image-deb.log" 2>&1 ||
	    { tail -20 "$top/build/image-deb.log" >&2; die "make deb failed (build/image-deb.log)"; }
	PKG_DEB=$(ls "$top"/build/pkg/portwing_*.deb | head -1)
fi
[ -f "$PKG_DEB" ] || die "no .deb: $PKG_DEB"
version=$(dpkg-deb -f "$PKG_DEB" Version)

# 2. the base: minbase plus the package's dependencies (first of each
# alternative, versions dropped), so dpkg -i needs no network.
deps=$(dpkg-deb -f "$PKG_DEB" Depends | tr ',' '\n' |
    sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep . | sort -u | paste -sd,)
base=portwing-image-base
t0=$(date +%s)
pkg_import "$base" "$deps" || die "the Debian 12 base root"
echo "make image: base $base ($deps) in $(($(date +%s) - t0)) s"

# 3. the image
ctx=$(mktemp -d)
trap 'rm -rf "$ctx" "$ctx.log"' EXIT
cp "$here/Dockerfile" "$ctx/Dockerfile"
cp "$PKG_DEB" "$ctx/portwing.deb"
# The classic builder: BuildKit is not installed with Debian's docker.io,
# and the RUN step needs no network.
DOCKER_BUILDKIT=0 dk build -q --network none --build-arg BASE="$base" \
    --label "org.opencontainers.image.version=$version" \
    -t "portwing:$version" -t portwing:latest "$ctx" >"$ctx.log" 2>&1 || { cat "$ctx.log" >&2; rm -f "$ctx.log"; false; } ||
    die "docker build failed"
echo "make image: built portwing:$version (portwing:latest)," \
    "$(dk image inspect -f '{{.Size}}' portwing:latest | awk '{printf "%.0f MB", $1 / 1e6}')"
if [ "${IMAGE_SAVE:-yes}" != no ]; then
	mkdir -p "$top/build/image"
	out=$top/build/image/portwing_$version.tar
	dk save -o "$out" "portwing:$version" portwing:latest || die "docker save failed"
	echo "make image: saved to $out (docker load -i that file)"
fi
