#!/usr/bin/env bash
# test/bench/own_rows.sh: the memory of the registry of the rows a
# transaction created (src/own_rows.c), against the emulator.
#
# COPY of N profiles (default 100,000) in one transaction, once with
# consecutive IDs and once with another client's profile created after each
# (emuctl id-gaps 1 1 --into Customers, the worst case: no two own IDs
# consecutive).  Prints the size of the registry's memory context after the
# COPY, and the backend CPU of a scan that checks every row against it (a
# cursor declared before the COPY: it must read none of the copied rows)
# and of one that checks none (declared after).
#
# Installs, builds and cleans up like test/bench/scan.sh.  The output is
# also saved in test/bench/out/own_rows.txt.
#
#   test/bench/own_rows.sh [--rows N]

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

bench_main own_rows "--rows N" "$@"
