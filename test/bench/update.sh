#!/usr/bin/env bash
# test/bench/update.sh: how fast copernica_fdw updates, against the emulator.
#
# UPDATE foreign_profiles SET age = age + 1000 WHERE id <= ... of 1,000
# profiles (of 3,000, sparse IDs), with 20 ms of added latency per request:
# one PUT at a time (max_concurrency 1) against the default 4 in flight.
# The emulator is reset before each run; the statement's row count, the PUTs
# in the emulator's log and the rows changed must all be 1,000.
#
# Packages, build, scratch install, emulator and throwaway cluster as in
# test/bench/scan.sh.  The output is also saved in test/bench/out/update.txt.
#
#   test/bench/update.sh [--runs N] [--rows N] [--latency MS]

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h|--help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--runs|--rows|--latency)
		[ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
		args+=("$1" "$2")
		shift ;;
	*)
		echo "usage: test/bench/update.sh [--runs N] [--rows N] [--latency MS]" >&2
		exit 2 ;;
	esac
	shift
done

# shellcheck disable=SC2119  # no extra packages
bench_prepare
{
	machine_info
	bench_run update ${args[@]+"${args[@]}"}
} 2>&1 | tee "$BENCH_OUT/update.txt"
exit "${PIPESTATUS[0]}"
