#!/usr/bin/env bash
# test/demo.sh: copernica_fdw in action, against the Copernica emulator.
#
# Installs missing Debian packages (as root, or with passwordless sudo),
# builds the extension, installs it into a scratch directory (never into the
# system), starts the emulator with its demo dataset and a throwaway
# PostgreSQL 15 cluster, runs test/demo.sql with psql, and stops everything,
# also on failure or Ctrl-C.  Works as root and as an ordinary user.

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT" || exit 1
export PYTHONDONTWRITEBYTECODE=1

trap cleanup_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ensure_packages || exit 1
make_run_dir || exit 1

say "building copernica_fdw"
build_extension -s || exit 1
install_extension || exit 1

start_emulator demo || exit 1

say "starting a throwaway PostgreSQL $PG_MAJOR cluster; running test/demo.sql"
in_cluster "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 --echo-queries --pset=pager=off \
	-f "$REPO_ROOT/test/demo.sql"
