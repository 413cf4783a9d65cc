#!/bin/sh
# install.sh: install the MCP clients t-mcp.sh drives (the official
# TypeScript SDK and the MCP Inspector, pinned by package-lock.json
# beside this script) with `npm ci`, into a cache outside the tree:
# PW_MCP_NPM_DIR, /var/tmp/portwing-mcp-npm by default.  The cache is
# reused while package-lock.json is unchanged (its sha256 is kept in
# the cache as lock.sha256).  Prints the cache directory on stdout;
# npm's output goes to npm-ci.log there.  Needs node and npm, and the
# npm registry.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${PW_MCP_NPM_DIR:-/var/tmp/portwing-mcp-npm}
for tool in node npm sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "install.sh: $tool not found (the MCP tests need Node.js and npm)" >&2
		exit 1
	}
done
mkdir -p "$dir"
sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
installed() {
	[ -f "$dir/lock.sha256" ] && [ "$(cat "$dir/lock.sha256")" = "$sum" ] &&
	    [ -f "$dir/node_modules/@modelcontextprotocol/sdk/package.json" ] &&
	    [ -f "$dir/node_modules/@modelcontextprotocol/inspector/package.json" ]
}
install() {
	installed && return 0
	rm -f "$dir/lock.sha256"
	cp "$here/package.json" "$here/package-lock.json" "$dir/"
	# No lifecycle scripts: the two packages need none to run (the
	# Inspector's postinstall does nothing outside its own checkout).
	if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund \
	    --loglevel=warn) >"$dir/npm-ci.log" 2>&1; then
		tail -20 "$dir/npm-ci.log" >&2
		echo "install.sh: npm ci failed in $dir (log: $dir/npm-ci.log)" >&2
		return 1
	fi
	echo "$sum" >"$dir/lock.sha256"
}
# One installer at a time: two test runs may share the cache.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$dir/.lock"
	flock 9
fi
install
echo "$dir"
