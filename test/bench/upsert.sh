#!/usr/bin/env bash
# test/bench/upsert.sh: how fast copernica_fdw upserts, against the emulator.
#
# INSERT INTO a table with upsert_key 'email' ... SELECT from a local table
# of 10,000 rows, with 20 ms of added latency per request: a sync where half
# of the keys exist already (seeded without latency before each run) and
# half are new, so each row is Copernica's PUT ...?fields[]=email==...&
# create=true, updating or creating.  max_concurrency 1 against the default
# (batch_size 100, max_concurrency 4) and max_concurrency 8.  Afterwards the
# emulator must hold exactly one profile per key, each with the upserted
# values.  The max_concurrency 1 run alone takes about 4 minutes.
#
# Packages, build, scratch install, emulator and throwaway cluster as in
# test/bench/scan.sh.  The output is also saved in test/bench/out/upsert.txt.
#
#   test/bench/upsert.sh [--runs N] [--rows N] [--latency MS]

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

bench_write_main upsert "$@"
