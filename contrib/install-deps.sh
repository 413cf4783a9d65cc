#!/bin/sh
# install-deps.sh: install what portwing needs on Debian 12 (run as root).
#   ./contrib/install-deps.sh          build and run dependencies
#   ./contrib/install-deps.sh --test   also everything the test suite uses
#   ./contrib/install-deps.sh --package  also what make deb and make rpm
#                                      use (--test includes it)
# Installs only what is missing; safe to run again.
set -eu

build_pkgs="build-essential autoconf automake pkg-config libevent-dev
libssl-dev libargon2-dev libsodium-dev libjansson-dev libyaml-dev libwebsockets-dev
libcurl4-openssl-dev libseccomp-dev zlib1g-dev
libsystemd-dev"
run_pkgs="docker.io busybox-static"
test_pkgs="check curl python3 python3-cryptography python3-argon2 python3-websockets strace
iproute2 procps openssl mandoc haproxy wrk docker-compose tmux clang
libclang-rt-14-dev prometheus systemd"

want="$build_pkgs $run_pkgs"
[ "${1:-}" = "--test" ] && want="$want $test_pkgs"
# make deb, make rpm (packaging/): debhelper, lintian, rpmbuild, rpmlint.
pkg_pkgs="debhelper dpkg-dev fakeroot lintian rpm rpmlint libsystemd-dev"
case "${1:-}" in --test|--package) want="$want $pkg_pkgs" ;; esac
# make package-test and make image: debootstrap for the Debian 12 roots.
[ "${1:-}" = "--test" ] && want="$want debootstrap"
# tests/regress/t-mcp.sh runs the official MCP clients (npm packages):
# Node.js and npm, Debian's unless the machine has its own already.
if [ "${1:-}" = "--test" ] && { ! command -v node >/dev/null 2>&1 ||
    ! command -v npm >/dev/null 2>&1; }; then
	want="$want nodejs npm"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (apt-get)" >&2
	exit 1
fi
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
id portwing >/dev/null 2>&1 || useradd --system --no-create-home \
    --shell /usr/sbin/nologin portwing
echo "dependencies OK"
