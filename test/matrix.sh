#!/usr/bin/env bash
# test/matrix.sh: build and test copernica_fdw on each PostgreSQL that
# Debian ships: 15 (bookworm), 17 (trixie) and 18 (sid).
#
# For each version, a minimal Debian chroot (debootstrap) with that release's
# postgresql-NN, postgresql-server-dev-NN and libcurl is built once and kept
# in a cache outside the checkout; it is rebuilt when missing.  The working
# tree is copied into the chroot, where test/run-tests.sh builds the wrapper
# with -Werror and runs every suite (pg_regress, the differential test, the
# emulator's tests; not the sanitizer and fuzz suites, which run once in the
# main run: COPERNICA_QUICK=1) against a throwaway cluster of that version.  Prints one
# line per version and, last, "N passed, N failed" over all versions.  Exits
# non-zero when anything failed.
#
# Needs root (debootstrap, chroot, mount) and the Debian archive: the mirror
# is the one the system's apt sources already name (apt-cache policy), or
# $COPERNICA_MATRIX_MIRROR.  While a chroot is in use /proc is mounted in it;
# it is unmounted afterwards, and every process still running inside the
# chroot is stopped.  No service is started (policy-rc.d, and no default
# cluster is created).  Logs and regression diffs land in test/results/matrix/.
#
#   test/matrix.sh               every version
#   test/matrix.sh 17 18         only these
#   test/matrix.sh --rebuild 18  rebuild the chroot first (a newer point release)
#   test/matrix.sh --build-only  only "make COPT=-Werror" on each (a minute)
#
# Cache: $COPERNICA_MATRIX_CACHE, else /var/cache/copernica_fdw-matrix.
# A cold run (building all three chroots) takes about 12 minutes here; see
# the README.

set -uo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${COPERNICA_MATRIX_CACHE:-/var/cache/copernica_fdw-matrix}
OUT=$REPO_ROOT/test/results/matrix
DEFAULT_VERSIONS=(15 17 18)

# the Debian release that ships each PostgreSQL major version
release_of()
{
	case $1 in
	15) echo bookworm ;;
	17) echo trixie ;;
	18) echo sid ;;
	*) return 1 ;;
	esac
}

say()
{
	printf '%s\n' "== $*"
}

# debian_mirror: the URI of the system's Debian archive source (origin and
# label "Debian": not the security archive, not third-party repositories).
debian_mirror()
{
	if [ -n "${COPERNICA_MATRIX_MIRROR:-}" ]; then
		echo "$COPERNICA_MATRIX_MIRROR"
		return
	fi
	LC_ALL=C apt-cache policy 2>/dev/null | awk '
		/^ *[0-9-]+ [a-z]+:\/\// { uri = $2; next }
		/^ *release / && /o=Debian,/ && /l=Debian,/ && uri != "" { print uri; exit }
		{ uri = "" }'
}

# chroot_pids DIR: processes whose root directory is DIR
chroot_pids()
{
	local dir=$1 p root
	for p in /proc/[0-9]*; do
		root=$(readlink "$p/root" 2>/dev/null) || continue
		if [ "$root" = "$dir" ]; then
			echo "${p#/proc/}"
		fi
	done
}

# stop_chroot DIR: stop every process left inside DIR, unmount its /proc
stop_chroot()
{
	local dir=$1 pids
	pids=$(chroot_pids "$dir")
	if [ -n "$pids" ]; then
		echo "stopping processes left in $dir: $(echo $pids)"
		kill -TERM $pids 2>/dev/null
		for _ in $(seq 1 50); do
			[ -z "$(chroot_pids "$dir")" ] && break
			sleep 0.1
		done
		pids=$(chroot_pids "$dir")
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	fi
	if mountpoint -q "$dir/proc"; then
		umount "$dir/proc" || umount -l "$dir/proc"
	fi
}

# in_chroot DIR CMD...: run CMD in DIR with /proc mounted and a clean
# environment; /proc is unmounted and leftovers stopped afterwards
in_chroot()
{
	local dir=$1 rc
	shift
	mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc" || return 1
	CURRENT_CHROOT=$dir
	chroot "$dir" /usr/bin/env -i \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@" </dev/null
	rc=$?
	stop_chroot "$dir"
	CURRENT_CHROOT=
	return $rc
}

# build_chroot VERSION RELEASE DIR: debootstrap RELEASE into DIR with what the
# build and the tests need.  Built beside DIR and renamed when complete, so a
# failed or interrupted build is never taken for a ready chroot.
build_chroot()
{
	local pg=$1 rel=$2 dir=$3 new=$3.new mirror

	mirror=$(debian_mirror)
	if [ -z "$mirror" ]; then
		echo "no Debian mirror among the system's apt sources (set COPERNICA_MATRIX_MIRROR)"
		return 1
	fi
	if ! command -v debootstrap >/dev/null; then
		say "installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap || return 1
	fi
	if [ -d "$new" ]; then
		stop_chroot "$new"
		rm -rf --one-file-system "$new"
	fi
	say "debootstrap $rel from $mirror into $new"
	debootstrap --variant=minbase "$rel" "$new" "$mirror" || return 1

	# no service may start inside the chroot
	printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
	chmod 755 "$new/usr/sbin/policy-rc.d"
	# sid's Release file expires within days; a mirror that is a snapshot
	# (or a clock ahead of it) would refuse it.  Signatures are still checked.
	echo 'Acquire::Check-Valid-Until "false";' >"$new/etc/apt/apt.conf.d/99matrix"

	say "installing PostgreSQL $pg into the $rel chroot"
	in_chroot "$new" apt-get update -q || return 1
	in_chroot "$new" apt-get install -y -q --no-install-recommends postgresql-common ||
		return 1
	# the tests make their own clusters: no "main" cluster at install
	sed -i 's/^#* *create_main_cluster *=.*/create_main_cluster = false/' \
		"$new/etc/postgresql-common/createcluster.conf"
	in_chroot "$new" apt-get install -y -q --no-install-recommends \
		"postgresql-$pg" "postgresql-server-dev-$pg" libcurl4-openssl-dev \
		python3 make gcc || return 1
	in_chroot "$new" apt-get clean
	in_chroot "$new" dpkg-query -W -f='${Version}' "postgresql-$pg" >"$new/.matrix-ready" ||
		return 1
	mv "$new" "$dir"
}

# copy_tree DEST: the working tree (tracked and untracked files, not ignored
# ones) into DEST
copy_tree()
{
	local dest=$1
	rm -rf --one-file-system "$dest"
	mkdir -p "$dest" || return 1
	(cd "$REPO_ROOT" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done | tar --null -T - -cf -) | tar -C "$dest" -xf -
}

# run_version VERSION: build the chroot if needed, run the suite in it, and
# set VERSION_LINE to "PostgreSQL NN (RELEASE, VERSION): N passed, N failed".
# Not in a subshell, so that an interrupt finds CURRENT_CHROOT.
run_version()
{
	local pg=$1 rel dir log line re passed=0 failed=1 note= pkgver=
	rel=$(release_of "$pg") || {
		VERSION_LINE="PostgreSQL $pg: 0 passed, 1 failed (not in the matrix: no Debian release ships it)"
		return
	}
	dir=$CACHE/$rel
	log=$OUT/$pg.log
	mkdir -p "$OUT/$pg"
	: >"$log"

	# one run at a time per chroot
	exec {lock}>"$CACHE/$rel.lock"
	flock "$lock"

	if [ -n "$REBUILD" ] && [ -d "$dir" ]; then
		stop_chroot "$dir"
		rm -rf --one-file-system "$dir"
	fi
	if [ ! -f "$dir/.matrix-ready" ]; then
		[ -d "$dir" ] && { stop_chroot "$dir"; rm -rf --one-file-system "$dir"; }
		if ! build_chroot "$pg" "$rel" "$dir" >>"$log" 2>&1; then
			tail -n 20 "$log" | sed 's/^/    /' >&2
			VERSION_LINE="PostgreSQL $pg ($rel): 0 passed, 1 failed (the chroot could not be built; see $log)"
			exec {lock}>&-
			return
		fi
	fi
	pkgver=$(cat "$dir/.matrix-ready")

	if [ -n "$BUILD_ONLY" ] && copy_tree "$dir/build/copernica_fdw" >>"$log" 2>&1; then
		if in_chroot "$dir" make -C /build/copernica_fdw -k -s \
			PG_CONFIG="/usr/lib/postgresql/$pg/bin/pg_config" COPT=-Werror >>"$log" 2>&1; then
			passed=1 failed=0
		else
			grep -E 'error|warning' "$log" | sed 's/^/    /'
			note=" (the build failed; see $log)"
		fi
	elif [ -z "$BUILD_ONLY" ] && copy_tree "$dir/build/copernica_fdw" >>"$log" 2>&1; then
		# the sanitizer and fuzz suites run once, in .ci/run's own run
		in_chroot "$dir" env COPERNICA_PG_MAJOR="$pg" COPERNICA_QUICK=1 \
			/build/copernica_fdw/test/run-tests.sh >>"$log" 2>&1
		cp -r "$dir/build/copernica_fdw/test/results/." "$OUT/$pg/" 2>/dev/null
		line=$(tail -n 1 "$log")
		re='^([0-9]+) passed, ([0-9]+) failed$'
		if [[ $line =~ $re ]]; then
			passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
		else
			note=" (no summary from test/run-tests.sh; see $log)"
		fi
	else
		note=" (could not copy the working tree into the chroot)"
	fi
	rm -rf --one-file-system "$dir/build"
	exec {lock}>&-
	if [ "$failed" != 0 ]; then
		# enough to see what broke without opening the files
		sed -n '/^== summary/,$p' "$log" | sed 's/^/    /'
		if [ -s "$OUT/$pg/regression.diffs" ]; then
			head -n 200 "$OUT/$pg/regression.diffs" | sed 's/^/    /'
		fi
		[ -z "$note" ] && note=" (see $log and $OUT/$pg/regression.diffs)"
	fi
	VERSION_LINE="PostgreSQL $pg ($rel, $pkgver): $passed passed, $failed failed$note"
}

# ---------------------------------------------------------------------------

REBUILD=
BUILD_ONLY=
VERSIONS=()
for arg in "$@"; do
	case $arg in
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	--rebuild) REBUILD=1 ;;
	--build-only) BUILD_ONLY=1 ;;
	[0-9]*) VERSIONS+=("$arg") ;;
	*) echo "usage: test/matrix.sh [--rebuild] [--build-only] [VERSION...]" >&2; exit 2 ;;
	esac
done
[ ${#VERSIONS[@]} = 0 ] && VERSIONS=("${DEFAULT_VERSIONS[@]}")

if [ "$(id -u)" != 0 ]; then
	echo "test/matrix.sh needs root (debootstrap, chroot, mount /proc)"
	echo "0 passed, ${#VERSIONS[@]} failed"
	exit 1
fi

CURRENT_CHROOT=
interrupted()
{
	trap '' INT TERM HUP
	[ -n "$CURRENT_CHROOT" ] && stop_chroot "$CURRENT_CHROOT"
	echo "interrupted"
	echo "0 passed, ${#VERSIONS[@]} failed"
	exit 130
}
trap interrupted INT TERM HUP

mkdir -p "$CACHE" "$OUT" || exit 1
rm -rf "${OUT:?}"/*
total_passed=0 total_failed=0
summary=()
for pg in "${VERSIONS[@]}"; do
	say "PostgreSQL $pg"
	start=$SECONDS
	VERSION_LINE=
	run_version "$pg"
	line="$VERSION_LINE [$((SECONDS - start)) s]"
	echo "$line"
	summary+=("$line")
	re=': ([0-9]+) passed, ([0-9]+) failed'
	if [[ $line =~ $re ]]; then
		total_passed=$((total_passed + BASH_REMATCH[1]))
		total_failed=$((total_failed + BASH_REMATCH[2]))
	else
		total_failed=$((total_failed + 1))
	fi
done

echo
echo "== matrix"
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" = 0 ]
