#!/bin/sh
# copy-tree.sh TOP DEST: copy portwing's source tree TOP into DEST for a
# package build.  In a git work tree: the tracked and the untracked but
# not ignored files as they are now (uncommitted changes included,
# deleted files left out); elsewhere the whole tree without build
# directories.
set -eu
top=$1
dest=$2
mkdir -p "$dest"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	    xargs -0 sh -c 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then
	        printf "%s\0" "$f"; fi; done' sh |
	    tar --null -T - -cf -) | tar -C "$dest" -xf -
else
	(cd "$top" && tar --exclude=./build --exclude='./build-*' \
	    --exclude=./autom4te.cache --exclude=./.git -cf - .) |
	    tar -C "$dest" -xf -
fi
