#!/usr/bin/env bash
# test/bench/parts.sh: the per-key parts of mailing scans, against the
# emulator at a latency.
#
# A table without an account-wide listing (publisher_statistics,
# publisher_destinations) reads one listing or object per emailing, and an
# emailing = ANY(array) condition one per key.  Each query runs with
# max_concurrency 1 (the parts one after another) and 4 (the default: up to
# four parts in flight); both must read the same rows with the same set of
# requests (the emulator's log, compared), and the wall times are printed.
# The account-wide publisher_clicks is there for comparison.
#
# Installs, builds and cleans up like test/bench/scan.sh.  The output is
# also saved in test/bench/out/parts.txt.
#
#   test/bench/parts.sh [--profiles N] [--mailings M] [--latency MS]
#     --profiles N   generated profiles (default 100)
#     --mailings M   extra mass mailings (default 1200)
#     --latency MS   the emulator's latency (default 20)

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

bench_main parts "--profiles N --mailings M --latency MS" "$@"
