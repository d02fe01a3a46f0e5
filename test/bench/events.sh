#!/usr/bin/env bash
# test/bench/events.sh: reading a large event table, against the emulator.
#
# The account-wide Publisher deliveries (resource publisher_deliveries) read
# with CREATE TABLE AS, at about 200,000 rows (the generated mailings and one
# more mass mailing to 100,000 profiles) and about 1,070,000 (ten more),
# beside the 100,000 profiles: the requests made against their bound (one
# per page of 1000, one for the listing's size) and the backend's peak
# memory, which must not grow with the rows.  Every row is checked: the
# count and the distinct IDs match the emulator's total.
#
# Installs, builds and cleans up like test/bench/scan.sh.  The emulator
# needs about 2.5 GB and a minute to generate the larger dataset.  The
# output is also saved in test/bench/out/events.txt.
#
#   test/bench/events.sh [--profiles N] [--mailings M]
#     --profiles N   generated profiles (default 100000)
#     --mailings M   extra mass mailings for the large run (default 10)

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

bench_main events "--profiles N --mailings M" "$@"
