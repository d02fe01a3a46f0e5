#!/usr/bin/env bash
# test/soak.sh: memory and correctness of copernica_fdw at volume, against
# the emulator.
#
#   test/soak.sh    a full scan of every column of 100,000 and of 1,000,000
#                   profiles, then an INSERT ... SELECT of 2,000 and of
#                   20,000 rows
#
# The scans: each runs in a fresh connection, and the backend's peak memory
# (VmHWM in /proc/<pg_backend_pid()>/status, read in the same session right
# after the scan) is printed with the time taken.  The backend must not need
# more memory for 1,000,000 rows than for 100,000: the run fails when the
# larger figure exceeds the smaller by more than SOAK_MARGIN_KB (default
# 8192 kB) or SOAK_MARGIN_PCT (default 10%) of it, whichever is more.  The
# count must also match.  The scan is "SELECT count(s) FROM (SELECT * FROM t)
# s": the row value makes the foreign scan fetch and convert every column,
# and nothing but the count is kept.  EXPLAIN VERBOSE must show every column
# in the foreign scan's Output and in the aggregate's, and no dataonly=true
# in the request (secret and created need the full form).  (With count(*)
# instead, the scan's Output lists every column too, but only as the
# physical tlist: the wrapper fetches none of them, rightly.)
#
# The insert: into an empty emulator, "INSERT INTO t (email, firstname, age)
# SELECT ... FROM generate_series(1, 20000)" in a fresh connection; then the
# emulator's own list of profiles (GET /_control/profiles?database=1) must
# hold exactly 20,000 profiles, each email exactly once, each with its row's
# firstname and age.  The same INSERT of 2,000 rows runs first, in a fresh
# emulator and connection, and the two peak memory figures are compared as
# the scans' are.
#
# JIT is turned off for every connection: the 1,000,000-row scan's cost
# passes jit_above_cost, and LLVM alone adds some 50 MB of resident memory.
#
# Like run-tests.sh it installs missing Debian packages, builds (here in a
# scratch copy of the sources, with the default flags) and installs into a
# scratch directory, starts the emulator and a throwaway pg_virtualenv
# cluster, and stops all it started.  The emulator needs about 2 GB of
# memory and 20 s to generate 1,000,000 profiles.  Exit status 0 when every
# check passed.
#
# Environment: SOAK_SMALL (100000), SOAK_LARGE (1000000), SOAK_INSERTS
# (20000), SOAK_MARGIN_KB, SOAK_MARGIN_PCT.

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT" || exit 1
export PYTHONDONTWRITEBYTECODE=1

SMALL=${SOAK_SMALL:-100000}
LARGE=${SOAK_LARGE:-1000000}
INSERTS=${SOAK_INSERTS:-20000}
MARGIN_KB=${SOAK_MARGIN_KB:-8192}
MARGIN_PCT=${SOAK_MARGIN_PCT:-10}

PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres)

# No JIT: at 1,000,000 rows the plan's cost passes jit_above_cost, and
# loading LLVM alone adds some 50 MB of resident libLLVM to the backend,
# which says nothing about the wrapper.
export PGOPTIONS="${PGOPTIONS:-} -c jit=off"

# ---------------------------------------------------------------------------
# Inside the cluster.

# every column a Customers profile has: all fields and all properties
TABLE_COLUMNS="id bigint, email text, firstname text, lastname text,
    city text, age integer, score numeric, birthday date, signup date,
    lastvisit timestamp, segment text, notes text, referrer bigint,
    newsletter text, interests text[], secret text, created timestamp,
    modified timestamp, database integer"

setup_sql()
{
	cat <<EOF
CREATE EXTENSION copernica_fdw;
CREATE SERVER soak FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url '$COPERNICA_EMULATOR_URL');
CREATE USER MAPPING FOR CURRENT_USER SERVER soak
    OPTIONS (access_token '$COPERNICA_TOKEN');
CREATE FOREIGN TABLE t ($TABLE_COLUMNS)
    SERVER soak OPTIONS (database 'Customers');
EOF
}

# emu_reset ARGS...: emuctl reset, timed.
emu_reset()
{
	local t0=$SECONDS
	$EMUCTL reset "$@" || return 1
	echo "   (emulator reset took $((SECONDS - t0)) s)"
}

# measure_scan: in a fresh connection, the full scan; prints
# "ROWS SECONDS VMHWM_KB".
measure_scan()
{
	"${PSQL[@]}" -At -F ' ' <<'EOF'
SELECT pg_backend_pid() AS pid, clock_timestamp() AS t0 \gset
SELECT count(s) AS n FROM (SELECT * FROM t) s \gset
SELECT :n, round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2),
       substring(pg_read_file('/proc/' || :pid || '/status') FROM 'VmHWM:\s*(\d+) kB');
EOF
}

# measure_idle: in a fresh connection, one ID lookup (the library and
# libcurl loaded, a connection made); prints "VMHWM_KB".
measure_idle()
{
	"${PSQL[@]}" -At <<'EOF'
SELECT pg_backend_pid() AS pid \gset
SELECT count(*) AS n FROM t WHERE id = 1 \gset
SELECT substring(pg_read_file('/proc/' || :pid || '/status') FROM 'VmHWM:\s*(\d+) kB');
EOF
}

# check_scan_columns: EXPLAIN VERBOSE must show every column in the foreign
# scan's Output and in the row the aggregate counts, and a request for the
# full form of each profile.
check_scan_columns()
{
	local plan scan agg want
	plan=$("${PSQL[@]}" -At -c 'EXPLAIN (VERBOSE, COSTS OFF) SELECT count(s) FROM (SELECT * FROM t) s') ||
		return 1
	printf '%s\n' "$plan" | sed 's/^/   /'
	scan=$(printf '%s\n' "$plan" | sed -n '/Foreign Scan/,$s/^ *Output: //p' | head -n 1)
	agg=$(printf '%s\n' "$plan" | sed -n 's/^ *Output: count(ROW(\(.*\)))$/\1/p' | head -n 1)
	want=$(printf '%s' "$TABLE_COLUMNS" | tr '\n' ' ' |
		sed -E 's/ +/ /g; s/([a-z_]+) [a-z]+(\[\])?/t.\1/g; s/ //g; s/,/, /g')
	if [ "$scan" != "$want" ] || [ "$agg" != "$want" ] ||
		printf '%s\n' "$plan" | grep -q 'dataonly=true'; then
		warn "the scan does not fetch and use every column:"
		warn "   wanted: $want"
		return 1
	fi
	echo "   ok: the scan fetches all $(printf '%s' "$want" | awk -F, '{ print NF }') columns, in full form"
}

# measure_insert N: in a fresh connection, the INSERT of N rows; prints
# "SECONDS VMHWM_KB".
measure_insert()
{
	"${PSQL[@]}" -At -F ' ' <<EOF
SELECT pg_backend_pid() AS pid, clock_timestamp() AS t0 \\gset
INSERT INTO t (email, firstname, age)
    SELECT 'soak' || g || '@example.com', 'Soak ' || g, g % 100
      FROM generate_series(1, $1) g;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 2),
       substring(pg_read_file('/proc/' || :pid || '/status') FROM 'VmHWM:\\s*(\\d+) kB');
EOF
}

# compare_memory N1 N2 HWM1 HWM2: fails when the backend needed more memory
# for N2 rows than for N1, beyond the margin.
compare_memory()
{
	local n1=$1 n2=$2 h1=$3 h2=$4 limit
	say "memory: $n1 rows vs $n2 rows"
	if [ -z "$h1" ] || [ -z "$h2" ]; then
		warn "   FAILED: no figures to compare"
		return 1
	fi
	limit=$((h1 * MARGIN_PCT / 100))
	[ "$limit" -lt "$MARGIN_KB" ] && limit=$MARGIN_KB
	printf '   VmHWM %d kB at %d rows, %d kB at %d rows: %+d kB (allowed: %d kB)\n' \
		"$h1" "$n1" "$h2" "$n2" $((h2 - h1)) "$limit"
	if [ $((h2 - h1)) -gt "$limit" ]; then
		warn "   FAILED: the backend's peak memory grows with the number of rows"
		return 1
	fi
	echo "   ok: peak memory does not grow with the number of rows"
}

# check_inserted N: the emulator holds exactly the N profiles inserted.
check_inserted()
{
	python3 - "$COPERNICA_EMULATOR_CONTROL" "$1" <<'EOF'
import collections, json, sys, urllib.request
base, n = sys.argv[1], int(sys.argv[2])
with urllib.request.urlopen(base + '/_control/profiles?database=1', timeout=600) as r:
    profiles = json.load(r)
emails = collections.Counter(p['fields']['email'] for p in profiles)
want = {'soak%d@example.com' % g: g for g in range(1, n + 1)}
dups = [e for e, c in emails.items() if c > 1]
missing = [e for e in want if e not in emails]
extra = [e for e in emails if e not in want]
wrong = [p['ID'] for p in profiles if p['fields']['email'] in want and
         (p['fields']['firstname'] != 'Soak %d' % want[p['fields']['email']] or
          str(p['fields']['age']) != str(want[p['fields']['email']] % 100))]
ids = [int(p['ID']) for p in profiles]
print('   emulator: %d profiles, %d distinct emails, %d distinct IDs'
      % (len(profiles), len(emails), len(set(ids))))
ok = len(profiles) == n and not dups and not missing and not extra and not wrong \
    and len(set(ids)) == len(ids)
for what, lst in (('duplicated emails', dups), ('missing emails', missing),
                  ('unexpected emails', extra), ('profiles with wrong values', wrong)):
    if lst:
        print('   %s: %d, e.g. %s' % (what, len(lst), ', '.join(map(str, lst[:5]))))
sys.exit(0 if ok else 1)
EOF
}

in_cluster_main()
{
	local failed=0 idle rows secs hwm hwm_small= hwm_large= out n

	say "setup"
	setup_sql | "${PSQL[@]}" || return 1
	emu_reset generate 1000 || return 1
	check_scan_columns || failed=1

	idle=$(measure_idle) || return 1
	echo "   a fresh connection after one ID lookup: VmHWM $idle kB"

	for n in "$SMALL" "$LARGE"; do
		say "full scan of $n profiles"
		emu_reset generate "$n" || return 1
		out=$(measure_scan) || { failed=1; continue; }
		read -r rows secs hwm <<<"$out"
		printf '   %d rows in %s s (%.0f rows/s), backend VmHWM %d kB\n' \
			"$rows" "$secs" "$(echo "$rows / ($secs + 0.001)" | bc -l)" "$hwm"
		if [ "$rows" != "$n" ]; then
			warn "   FAILED: counted $rows rows, the emulator has $n"
			failed=1
		fi
		if [ "$n" = "$SMALL" ]; then hwm_small=$hwm; else hwm_large=$hwm; fi
	done

	compare_memory "$SMALL" "$LARGE" "${hwm_small:-}" "${hwm_large:-}" || failed=1
	hwm_small= hwm_large=

	# the insert: first a tenth as many rows, for the memory comparison
	for n in $((INSERTS / 10)) "$INSERTS"; do
		say "INSERT of $n rows"
		emu_reset empty || return 1
		out=$(measure_insert "$n") || { warn "   FAILED: the INSERT failed"; failed=1; continue; }
		read -r secs hwm <<<"$out"
		printf '   %d rows in %s s (%.0f rows/s), backend VmHWM %d kB\n' \
			"$n" "$secs" "$(echo "$n / ($secs + 0.001)" | bc -l)" "$hwm"
		if [ "$n" = "$INSERTS" ]; then hwm_large=$hwm; else hwm_small=$hwm; fi
	done
	compare_memory "$((INSERTS / 10))" "$INSERTS" "$hwm_small" "$hwm_large" || failed=1
	if check_inserted "$INSERTS"; then
		echo "   ok: exactly $INSERTS new profiles, each email once"
	else
		warn "   FAILED: the emulator does not hold exactly the rows inserted"
		failed=1
	fi
	return $failed
}

if [ "${1:-}" = "--in-cluster" ]; then
	in_cluster_main
	exit $?
fi

# ---------------------------------------------------------------------------
# The run.

case "${1:-}" in
-h|--help)
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0 ;;
?*)
	echo "usage: test/soak.sh" >&2
	exit 2 ;;
esac

STATUS=1
finish()
{
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP
	stop_emulator
	cleanup_all
	[ "$rc" = 0 ] && rc=$STATUS
	echo
	if [ "$rc" = 0 ]; then echo "soak: PASSED"; else echo "soak: FAILED"; fi
	exit "$rc"
}

START=$SECONDS
make_run_dir || { echo "cannot create a scratch directory"; exit 1; }
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

ensure_packages bc || exit 1

# build in a scratch copy (all but .git and test/): the work tree's objects
# stay as they are
say "building (in $RUN_DIR/build)"
mkdir -p "$RUN_DIR/build" &&
	{ tar -C "$REPO_ROOT" --exclude=./.git --exclude=./test -cf - . |
		tar -C "$RUN_DIR/build" -xf -; } &&
	make --no-print-directory -C "$RUN_DIR/build" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null &&
	make --no-print-directory -C "$RUN_DIR/build" -s PG_CONFIG="$PG_CONFIG" &&
	make --no-print-directory -C "$RUN_DIR/build" -s PG_CONFIG="$PG_CONFIG" \
		install DESTDIR="$RUN_DIR/install" &&
	chmod -R a+rX "$RUN_DIR/install" ||
	{ warn "the build failed"; exit 1; }

start_emulator empty || exit 1
say "starting a throwaway PostgreSQL $PG_MAJOR cluster"
in_cluster "$REPO_ROOT/test/soak.sh" --in-cluster
STATUS=$?
say "soak took $((SECONDS - START)) s"
exit 0
