#!/usr/bin/env bash
# test/bench/scan.sh: how fast copernica_fdw reads, against the emulator.
#
# For 100,000 generated profiles (id + 13 fields), at 0 ms and at 20 ms of
# added latency per request, side by side:
#   - the limit: the wrapper's own GET requests replayed by curl, on one
#     keep-alive connection, and on 4 (4 curl processes, every 4th request);
#   - copernica_fdw: CREATE TABLE local AS SELECT * FROM profiles, with
#     max_concurrency 1 and with the default 4;
#   - what users do instead: test/bench/copy_profiles.py, which pages with
#     urllib (limit=1000, total=false) and COPYs each page with psycopg2.
# Then the wrapper's peak backend memory at 100,000 and 1,000,000 rows.
#
# Installs missing Debian packages like test/run-tests.sh (as root, or with
# passwordless sudo; otherwise it prints the apt-get command), here also
# python3-psycopg2 and curl (and linux-perf for --profile).  Builds the
# extension, installs it into a scratch directory (never into the system),
# starts the emulator and a throwaway cluster, and stops all it started.
# The output is also saved in test/bench/out/scan.txt.
#
#   test/bench/scan.sh [--runs N] [--quick] [--profile] [--rows N]
#     --runs N    each measurement N times, medians printed (default 3)
#     --quick     skip the 1,000,000-row memory run (about 35 s)
#     --profile   also perf record the backend during one 0 ms scan (root)
#     --rows N    profiles in the main runs (default 100000)
#     --latencies MS,...  added latencies (default 0,20,100)
#     --shapes S,...      ID shapes (default dense,sparse,clustered,skewed,removed)

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

args=()
extra_packages=()
while [ $# -gt 0 ]; do
	case "$1" in
	-h|--help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--runs|--rows|--latencies|--shapes)
		[ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
		args+=("$1" "$2")
		shift ;;
	--quick)
		args+=("$1") ;;
	--profile)
		args+=("$1")
		extra_packages+=(linux-perf) ;;
	*)
		echo "usage: test/bench/scan.sh [--runs N] [--quick] [--profile] [--rows N] [--latencies MS,...] [--shapes S,...]" >&2
		exit 2 ;;
	esac
	shift
done

bench_prepare ${extra_packages[@]+"${extra_packages[@]}"}
{
	machine_info
	bench_run scan ${args[@]+"${args[@]}"}
} 2>&1 | tee "$BENCH_OUT/scan.txt"
exit "${PIPESTATUS[0]}"
