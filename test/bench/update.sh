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

bench_write_main update "$@"
