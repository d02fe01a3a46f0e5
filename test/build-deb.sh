#!/usr/bin/env bash
# test/build-deb.sh [OUTDIR]: build the Debian packages
# (postgresql-NN-copernica-fdw for each PostgreSQL version this Debian
# release supports) from the working tree, the way Debian does:
# "dpkg-buildpackage -us -uc -b" with pg_buildext, which also runs
# "make installcheck" against each package in a throwaway cluster.
#
# As root, installs the build dependencies first (apt-get build-dep).  Builds
# in a scratch copy, so nothing lands in or beside the checkout; the .deb
# files go to OUTDIR (default /tmp/copernica_fdw-deb).  Ends with
# "N passed, N failed" (one test: the build).
set -uo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUTDIR=${1:-/tmp/copernica_fdw-deb}

if [ "$(id -u)" = 0 ]; then
	echo "== installing build dependencies"
	DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q "$REPO_ROOT" ||
		{ echo "0 passed, 1 failed"; exit 1; }
fi

work=$(mktemp -d /tmp/copernica_fdw-deb.XXXXXX) || exit 1
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
(cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -C "$work/src" -xf - || exit 1
chmod -R a+rX "$work"

echo "== dpkg-buildpackage -us -uc -b"
if (cd "$work/src" && dpkg-buildpackage -us -uc -b); then
	mkdir -p "$OUTDIR"
	cp "$work"/*.deb "$OUTDIR"/
	echo "== packages in $OUTDIR:"
	ls -1 "$OUTDIR"/*.deb
	echo "1 passed, 0 failed"
else
	echo "0 passed, 1 failed"
	exit 1
fi
