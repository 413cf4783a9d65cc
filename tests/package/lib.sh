# shellcheck shell=bash
# tests/package/lib.sh: helpers for the package and image tests.
# Source after tests/regress/lib.sh.
#
#   pkg_mirror              the machine's configured Debian mirror
#   pkg_rootfs INCLUDE      path of a cached Debian 12 minbase tarball
#                           with the comma-separated packages INCLUDE
#   pkg_import TAG INCLUDE  that tarball as image TAG in the test dockerd
#   pkg_deb                 build the .deb (make deb); sets PKG_DEB

PKG_CACHE=${PKG_CACHE:-/var/cache/portwing-test}
PKG_SUITE=${PKG_SUITE:-bookworm}

# The first Debian mirror apt is configured with (deb822 or one-line
# sources), or PW_DEBIAN_MIRROR when set.
pkg_mirror() {
	local m=${PW_DEBIAN_MIRROR:-}
	if [ -z "$m" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
		m=$(awk '$1 == "URIs:" && $2 !~ /security/ {print $2; exit}' \
		    /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(awk '$1 == "deb" && $0 !~ /security/ {
		    for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}
		    }' /etc/apt/sources.list)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

# pkg_rootfs INCLUDE: make (once) a minbase root with debootstrap and
# keep it as a tarball keyed by suite and package list; print its path.
# Progress and timing go to stderr.
pkg_rootfs() {
	local inc=$1 key tar dir t0 rc
	key=$(printf '%s %s' "$PKG_SUITE" "$inc" | sha256sum | cut -c1-12)
	tar=$PKG_CACHE/$PKG_SUITE-minbase-$key.tar
	if [ -s "$tar" ]; then
		echo "# rootfs: cached $tar ($inc)" >&2
		echo "$tar"
		return 0
	fi
	mkdir -p "$PKG_CACHE"
	dir=$(mktemp -d "$PKG_CACHE/root.XXXXXX")
	t0=$(date +%s)
	echo "# rootfs: debootstrap $PKG_SUITE ($inc) from $(pkg_mirror)" >&2
	debootstrap --variant=minbase --include="$inc" "$PKG_SUITE" "$dir" \
	    "$(pkg_mirror)" >"$dir.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "# rootfs: debootstrap failed ($rc); the end of its log:" >&2
		tail -15 "$dir.log" | sed 's/^/#   /' >&2
		rm -rf "$dir"
		return 1
	fi
	# apt's lists and archives are stale in an image: drop them.
	rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
	tar -C "$dir" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
	rc=$?
	rm -rf "$dir" "$dir.log"
	echo "# rootfs: debootstrap took $(($(date +%s) - t0)) s" >&2
	[ $rc -eq 0 ] && echo "$tar"
}

# pkg_import TAG INCLUDE [CHANGE...]: the cached root as image TAG in
# the test dockerd (imported once; the tarball's key is in a label).
pkg_import() {
	local tag=$1 inc=$2 tar
	shift 2
	tar=$(pkg_rootfs "$inc") || return 1
	if [ "$(docker -H "unix://$DOCKER_SOCK" image inspect -f \
	    '{{index .Config.Labels "portwing.rootfs"}}' "$tag" 2>/dev/null)" = \
	    "$(basename "$tar")" ]; then
		return 0
	fi
	set -- -c "LABEL portwing.rootfs=$(basename "$tar")" "$@"
	docker -H "unix://$DOCKER_SOCK" import "$@" "$tar" "$tag" >/dev/null
}
