#!/usr/bin/env bash
# test/bench/collection.sh: the request bound on a large collection.
#
# For each ID shape (dense, sparse, clustered, skewed, removed): emuctl
# reset generate 150000, which gives the Orders collection about 150,000
# subprofiles, then a full scan of it (count(id), count(DISTINCT id),
# sum(id), checked against the emulator) at 0 and 20 ms of added latency.
# Prints its data requests against 1.1 * ceil(rows / page_size) +
# 2 * max_concurrency, and how many were in flight as the last ones began;
# fails when rows or requests are out of bounds.
#
# Packages, build, scratch install, emulator and throwaway cluster as in
# test/bench/scan.sh.  The output is also saved in
# test/bench/out/collection.txt.
#
#   test/bench/collection.sh [--rows N] [--shapes S,...] [--latencies MS,...]

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

bench_main collection "--rows N --shapes S,... --latencies MS,..." "$@"
