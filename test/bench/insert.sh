#!/usr/bin/env bash
# test/bench/insert.sh: how fast copernica_fdw writes, against the emulator.
#
# INSERT INTO foreign_profiles (email, firstname, age) SELECT ... FROM a
# local table of 10,000 rows, with 20 ms of added latency per request:
# one row at a time (batch_size 1, max_concurrency 1) against batched and
# concurrent POSTs (the default batch_size 100 and max_concurrency 4, then
# max_concurrency 8 and 16).  The emulator is reset before each run, and
# "emuctl profiles 1" must show exactly the rows inserted after it.
# The one-at-a-time run alone takes about 3.5 minutes (10,000 x 20 ms).
#
# Packages, build, scratch install, emulator and throwaway cluster as in
# test/bench/scan.sh.  The output is also saved in test/bench/out/insert.txt.
#
#   test/bench/insert.sh [--runs N] [--rows N] [--latency MS]

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

bench_write_main insert "$@"
