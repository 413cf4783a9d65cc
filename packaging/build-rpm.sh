#!/bin/sh
# build-rpm.sh: build the RPM package from the current source tree
# (make rpm).  Makes build/rpm/SOURCES/portwing-VERSION.tar.gz from a copy
# of the tree, runs rpmbuild -bb with its topdir in build/rpm, and rpmlint.
# The package ends up in build/rpm/RPMS/ARCH/.  On Debian the build
# dependencies are Debian packages rpm cannot see, so they are not checked
# (--nodeps); install-deps.sh installs them.  An rpmlint error fails the
# build; RPMLINT=no skips it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
spec=$top/packaging/rpm/portwing.spec
out=$top/build/rpm

command -v rpmbuild >/dev/null 2>&1 || {
	echo "build-rpm.sh: rpmbuild not found: apt-get install rpm" \
	    "(or ./contrib/install-deps.sh --package)" >&2
	exit 1
}
version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")

rm -rf "$out"
mkdir -p "$out/SOURCES" "$out/tmp"
"$top/packaging/copy-tree.sh" "$top" "$out/tmp/portwing-$version"
tar -C "$out/tmp" -czf "$out/SOURCES/portwing-$version.tar.gz" \
    "portwing-$version"
rm -rf "$out/tmp"

# Debian's rpm runs its bash-only brp-compress under /bin/sh and strips
# only debug sections; on a distribution with redhat-rpm-config the
# defaults do both properly and these definitions change nothing there
# that matters.
rpmbuild -bb --nodeps --define "_topdir $out" \
    --define "packager portwing authors <security@portwing.invalid>" \
    --define "__brp_compress bash /usr/lib/rpm/brp-compress %{_prefix}" \
    --define "__brp_strip find %{buildroot}%{_bindir} %{buildroot}%{_sbindir} -type f -exec strip --strip-unneeded {} +" \
    "$spec"

if [ "${RPMLINT:-yes}" != no ]; then
	if command -v rpmlint >/dev/null 2>&1; then
		# rpmlint exits non-zero on errors (and on badness over its
		# threshold); warnings are printed.
		rpmlint -c "$top/packaging/rpm/rpmlint.toml" \
		    -r "$top/packaging/rpm/portwing.rpmlintrc" \
		    "$out"/RPMS/*/*.rpm
	else
		echo "build-rpm.sh: rpmlint not installed, not checked" >&2
	fi
fi
echo "build-rpm.sh: built:"
ls -1 "$out"/RPMS/*/*.rpm
