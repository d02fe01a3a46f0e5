#!/usr/bin/env bash
# test/run-tests.sh: every test of copernica_fdw.
#
# Installs missing Debian packages (as root, or with passwordless sudo),
# builds with warnings as errors, installs the extension into a scratch
# directory (never into the system), starts the Copernica emulator and a
# throwaway PostgreSQL 15 cluster, runs every suite below, stops all it
# started, and ends with one line "N passed, N failed" that counts every test.
# Exits non-zero when anything failed or could not run.
#
# Works as root and as an ordinary user.  Regression results and
# regression.diffs are left in test/results/.
#
#   test/run-tests.sh                  every suite
#   test/run-tests.sh 00_install NAME  only these pg_regress tests, in order
#
# Besides the pg_regress suite, the differential test and the emulator's
# tests, two heavier suites run: the pg_regress suite under AddressSanitizer
# and UndefinedBehaviorSanitizer (a few minutes), and a libFuzzer run of
# COPERNICA_FUZZ_SECONDS (default 60) on the JSON parsers; they need clang.
# COPERNICA_QUICK=1 skips those two, and only those.

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT" || exit 1
export PYTHONDONTWRITEBYTECODE=1

# ---------------------------------------------------------------------------
# Suites.  To add one: write a function suite_NAME that runs it and calls
# "record NAME PASSED FAILED [SKIPPED [NOTE]]" once (the run_*_suite helpers
# do that), then add NAME to one of the two lists.  A suite that records
# nothing is counted as one failure.
#
# CLUSTER_SUITES run inside the throwaway cluster (PGHOST, PGPORT, PGUSER,
# PGPASSWORD set; the extension installed; the emulator up and
# COPERNICA_EMULATOR_URL, COPERNICA_EMULATOR_CONTROL, COPERNICA_TOKEN and
# EMUCTL exported).  OWN_CLUSTER_SUITES need the build and the emulator and
# start a throwaway cluster of their own (they change how its postmaster
# runs).  PLAIN_SUITES need neither the build nor the cluster.
CLUSTER_SUITES=(regress differential)
OWN_CLUSTER_SUITES=(proxy_env slow_dns)
PLAIN_SUITES=(emulator asan fuzz)

# The heavy suites (asan, fuzz) need clang and its sanitizer runtimes.
# COPERNICA_QUICK=1 skips them (they are counted as skipped), and only them.
HEAVY_PACKAGES=(clang libclang-rt-dev)
FUZZ_SECONDS=${COPERNICA_FUZZ_SECONDS:-60}

# pg_regress over test/schedule (or the tests named on the command line):
# sql/NAME.sql against expected/NAME.out.
suite_regress()
{
	if [ -n "${REGRESS_ONLY:-}" ]; then
		run_regress_suite regress $REGRESS_ONLY
	else
		run_regress_suite regress --schedule=test/schedule
	fi
}

# The differential test: hundreds of queries generated from a fixed seed, on
# the foreign table and on a local copy of its data, must give the same rows.
# Counts from its last line, "differential: N passed, M failed".
suite_differential()
{
	local log=$RUN_DIR/differential.log rc re passed=0 failed=1 note=

	say "suite differential: python3 test/differential/differential.py"
	python3 test/differential/differential.py 2>&1 </dev/null | tee "$log"
	rc=${PIPESTATUS[0]}
	re='^differential: ([0-9]+) passed, ([0-9]+) failed$'
	if [[ $(tail -n 1 "$log") =~ $re ]]; then
		passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
		if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
			failed=1 note="exited with status $rc"
		fi
	else
		note="no counts (exit status $rc)"
	fi
	record differential "$passed" "$failed" 0 "$note"
}

# The postmaster's proxy environment is ignored, the server option "proxy"
# is not (test/proxy-env.sh, in a cluster whose environment names a loopback
# proxy that records its connections).  Counts from its line
# "proxy-env: N passed, M failed".
suite_proxy_env()
{
	local log=$RUN_DIR/proxy_env.log rc re line passed=0 failed=1 note=

	say "suite proxy_env: test/proxy-env.sh in a throwaway cluster of its own"
	in_cluster "$REPO_ROOT/test/proxy-env.sh" 2>&1 </dev/null | tee "$log"
	rc=${PIPESTATUS[0]}
	re='^proxy-env: ([0-9]+) passed, ([0-9]+) failed$'
	line=$(grep -E "$re" "$log" | tail -n 1)
	if [[ $line =~ $re ]]; then
		passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
		if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
			failed=1 note="exited with status $rc"
		fi
	else
		note="no counts (exit status $rc)"
	fi
	record proxy_env "$passed" "$failed" 0 "$note"
}

# A cancel and connect_timeout end a scan promptly while a DNS server that
# never answers keeps the API's host name unresolved (root only: skipped
# otherwise).  Counts from its last line, "slow-dns: N passed, M failed, K
# skipped".
suite_slow_dns()
{
	local log=$RUN_DIR/slow_dns.log rc re line passed=0 failed=1 skipped=0 note=

	say "suite slow_dns: test/slow-dns.sh in a throwaway cluster of its own"
	in_cluster "$REPO_ROOT/test/slow-dns.sh" 2>&1 </dev/null | tee "$log"
	rc=${PIPESTATUS[0]}
	re='^slow-dns: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$'
	line=$(grep -E "$re" "$log" | tail -n 1)
	if [[ $line =~ $re ]]; then
		passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]} skipped=${BASH_REMATCH[3]}
		if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
			failed=1 note="exited with status $rc"
		fi
		[ "$skipped" != 0 ] && note=$(grep '^skipped: ' "$log" | tail -n 1)
	else
		note="no counts (exit status $rc)"
	fi
	record slow_dns "$passed" "$failed" "$skipped" "$note"
}

# The emulator's conformance tests.
suite_emulator()
{
	run_unittest_suite emulator test/emulator 'test_*.py'
}

# The pg_regress suite again, with the extension built with AddressSanitizer
# and UndefinedBehaviorSanitizer, in a private cluster and emulator of its
# own (test/valgrind.sh --asan).  Each test counts; a sanitizer report fails
# the suite even when every test passed.
suite_asan()
{
	local log=$RUN_DIR/asan.log rc passed failed note=

	heavy_skipped asan && return
	say "suite asan: test/valgrind.sh --asan"
	test/valgrind.sh --asan 2>&1 </dev/null | tee "$log"
	rc=${PIPESTATUS[0]}
	passed=$(grep -cE '^(test | +)[^ ]+ +\.\.\. ok( |$)' "$log")
	failed=$(grep -cE '^(test | +)[^ ]+ +\.\.\. FAILED' "$log")
	if [ "$rc" != 0 ] || [ "$(tail -n 1 "$log")" != PASSED ]; then
		note="sanitizer report or failure (exit status $rc): see test/results/asan/"
		[ "$failed" = 0 ] && failed=1
	fi
	record asan "$passed" "$failed" 0 "$note"
}

# A short libFuzzer run on the JSON parsers (test/fuzz/run.sh): one test,
# failed by a crash, a sanitizer report, a leak or a timeout.
suite_fuzz()
{
	local log=$RUN_DIR/fuzz.log rc

	heavy_skipped fuzz && return
	say "suite fuzz: test/fuzz/run.sh $FUZZ_SECONDS (libFuzzer's output in $log, tail below)"
	test/fuzz/run.sh "$FUZZ_SECONDS" >"$log" 2>&1 </dev/null
	rc=$?
	tail -n 15 "$log"
	if [ "$rc" = 0 ]; then
		record fuzz 1 0
	else
		record fuzz 0 1 0 "libFuzzer exited with status $rc: see test/fuzz/build/crashes/"
	fi
}

# heavy_skipped NAME: with COPERNICA_QUICK=1, record NAME as skipped.
heavy_skipped()
{
	if [ "${COPERNICA_QUICK:-}" = 1 ]; then
		say "suite $1: skipped (COPERNICA_QUICK=1)"
		record "$1" 0 0 1 "skipped: COPERNICA_QUICK=1"
		return 0
	fi
	return 1
}

# ---------------------------------------------------------------------------
# Suite helpers.

# record NAME PASSED FAILED [SKIPPED [NOTE]]
record()
{
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-0}" "${5:-}" >>"$RESULTS"
}

# recorded NAME: true when NAME has recorded its counts.
recorded()
{
	[ -f "$RESULTS" ] && cut -f1 "$RESULTS" | grep -qxF "$1"
}

# run_regress_suite NAME PG_REGRESS_ARGS...: pg_regress from PGXS against
# the running cluster (args: --schedule=FILE and/or test names); counts its
# per-test "... ok" and "... FAILED" lines.
run_regress_suite()
{
	local name=$1
	local pg_regress log=$RUN_DIR/$1.log rc passed failed ignored note=
	shift
	pg_regress=$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress

	say "suite $name: pg_regress $*"
	rm -rf test/results
	"$pg_regress" \
		--inputdir=. \
		--outputdir=test/results \
		--bindir="$PG_BINDIR" \
		--dbname=contrib_regression \
		"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}

	# up to 15: "test NAME ... ok 12 ms" or, in a parallel group,
	# "     NAME ... FAILED"; from 16 (TAP): "ok 1 - NAME 12 ms",
	# "not ok 2 + NAME 12 ms", "... # (ignored)"
	passed=$(grep -cE '^((test | +)[^ ]+ +\.\.\. ok( |$)|ok +[0-9]+ +[-+] )' "$log")
	failed=$(grep -cE '^((test | +)[^ ]+ +\.\.\. FAILED|not ok +[0-9]+ +[-+] .*[0-9] ms$)' "$log")
	ignored=$(grep -cE '^((test | +)[^ ]+ +\.\.\. failed \(ignored\)|not ok +[0-9]+ +[-+] .*# \(ignored\))' "$log")
	if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		failed=1
		note="pg_regress exited with status $rc"
	elif [ $((passed + failed + ignored)) = 0 ]; then
		failed=1
		note="no test ran"
	fi
	if [ "$rc" != 0 ] && [ -s test/results/regression.diffs ]; then
		say "test/results/regression.diffs"
		head -n 3000 test/results/regression.diffs
		[ "$(wc -l <test/results/regression.diffs)" -gt 3000 ] &&
			echo "(cut at 3000 lines; the whole file is test/results/regression.diffs)"
	fi
	record "$name" "$passed" "$failed" "$ignored" "$note"
}

# run_unittest_suite NAME DIR PATTERN: python3 -m unittest discover -v;
# counts from its closing "Ran N tests" and "OK" / "FAILED (...)" lines.
run_unittest_suite()
{
	local name=$1 dir=$2 pattern=$3
	local log=$RUN_DIR/$1.log rc ran status n re
	local failures=0 errors=0 skipped=0 unexpected=0 passed failed note=

	say "suite $name: python3 -m unittest discover -s $dir -p '$pattern' -v"
	python3 -m unittest discover -s "$dir" -p "$pattern" -v 2>&1 </dev/null | tee "$log"
	rc=${PIPESTATUS[0]}

	ran=$(sed -n 's/^Ran \([0-9][0-9]*\) tests\{0,1\} in .*/\1/p' "$log" | tail -n 1)
	status=$(grep -E '^(OK|FAILED)( \(.*\))?$' "$log" | tail -n 1)
	# e.g. "FAILED (failures=1, errors=2, skipped=3, unexpected successes=1)"
	for n in failures errors skipped; do
		re="(\\(|, )$n=([0-9]+)"
		[[ $status =~ $re ]] && printf -v "$n" '%s' "${BASH_REMATCH[2]}"
	done
	re="unexpected successes=([0-9]+)"
	[[ $status =~ $re ]] && unexpected=${BASH_REMATCH[1]}

	if [ -z "$ran" ] || [ -z "$status" ]; then
		passed=0 failed=1 skipped=0 note="unittest did not run (exit status $rc)"
	elif [ "$ran" = 0 ]; then
		passed=0 failed=1 note="no test ran"
	else
		failed=$((failures + errors + unexpected))
		# subtests can fail several times within one test
		[ "$failed" -gt $((ran - skipped)) ] && failed=$((ran - skipped))
		passed=$((ran - skipped - failed))
		if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
			failed=1 note="unittest exited with status $rc"
		fi
	fi
	record "$name" "$passed" "$failed" "$skipped" "$note"
}

# ---------------------------------------------------------------------------
# Inside the cluster: run the suites named on the command line.

if [ "${1:-}" = "--in-cluster" ]; then
	shift
	RUN_DIR=${COPERNICA_TEST_RUN_DIR:?}
	RESULTS=$RUN_DIR/results
	status=0
	for suite in "$@"; do
		"suite_$suite"
		awk -F'\t' -v s="$suite" '$1 == s && $3 > 0 { bad = 1 } END { exit bad }' "$RESULTS" ||
			status=1
	done
	# non-zero makes pg_virtualenv show the tail of the server log
	exit $status
fi

# ---------------------------------------------------------------------------
# The run.

case "${1:-}" in
-h|--help)
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0 ;;
-*)
	echo "usage: test/run-tests.sh [PG_REGRESS_TEST...]" >&2
	exit 2 ;;
esac

# test names on the command line: only those pg_regress tests
if [ $# -gt 0 ]; then
	export REGRESS_ONLY="$*"
	CLUSTER_SUITES=(regress)
	OWN_CLUSTER_SUITES=()
	PLAIN_SUITES=()
fi

finish()
{
	local rc=$? name p f s note passed=0 failed=0 skipped=0
	trap - EXIT
	trap '' INT TERM HUP    # a second Ctrl-C must not lose the summary
	stop_emulator
	# aborted (interrupted, or a bug here) without a recorded failure
	if [ "$rc" != 0 ] && ! awk -F'\t' '$3 > 0 { bad = 1 } END { exit !bad }' "$RESULTS"; then
		record run-tests 0 1 0 "aborted with status $rc"
	fi
	echo
	echo "== summary"
	if [ -f "$RESULTS" ]; then
		while IFS=$'\t' read -r name p f s note; do
			printf '   %-16s %4d passed, %4d failed, %4d skipped%s\n' \
				"$name" "$p" "$f" "$s" "${note:+  ($note)}"
			passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		done <"$RESULTS"
	else
		failed=1
	fi
	cleanup_all
	printf '%d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" = 0 ] && [ "$rc" = 0 ] && exit 0
	exit 1
}

if ! make_run_dir; then
	echo "cannot create a scratch directory"
	echo "0 passed, 1 failed"
	exit 1
fi
export COPERNICA_TEST_RUN_DIR=$RUN_DIR    # for the --in-cluster half
RESULTS=$RUN_DIR/results
: >"$RESULTS"
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# 1. packages (the heavy suites' too, unless they are skipped or not run)
extra_packages=()
if [ "${COPERNICA_QUICK:-}" != 1 ] && [ ${#PLAIN_SUITES[@]} -gt 0 ]; then
	extra_packages=("${HEAVY_PACKAGES[@]}")
fi
if ! ensure_packages ${extra_packages[@]+"${extra_packages[@]}"}; then
	record packages 0 1 0 "missing Debian packages"
	exit 1
fi

# 2. build with warnings as errors, install into $RUN_DIR/install
build_ok=
say "building (make clean && make COPT=-Werror)"
if build_extension -s clean && build_extension COPT=-Werror; then
	say "installing into $RUN_DIR/install"
	if install_extension; then
		build_ok=1
	else
		record install 0 1 0 "make install failed"
	fi
else
	record build 0 1 0 "make COPT=-Werror failed"
fi

# 3. the emulator
emu_ok=
if start_emulator demo; then
	emu_ok=1
else
	record emulator-start 0 1 0 "the emulator did not start"
fi

# 4. suites that need the cluster
if [ -n "$build_ok" ] && [ -n "$emu_ok" ]; then
	say "starting a throwaway PostgreSQL $PG_MAJOR cluster"
	in_cluster "$REPO_ROOT/test/run-tests.sh" --in-cluster "${CLUSTER_SUITES[@]}"
fi
for suite in "${CLUSTER_SUITES[@]}"; do
	if ! recorded "$suite"; then
		if [ -z "$build_ok" ]; then
			record "$suite" 0 1 0 "not run: the build failed"
		elif [ -z "$emu_ok" ]; then
			record "$suite" 0 1 0 "not run: no emulator"
		else
			record "$suite" 0 1 0 "did not run (cluster or suite failed to start)"
		fi
	fi
done

# 5. suites that start a cluster of their own
for suite in ${OWN_CLUSTER_SUITES[@]+"${OWN_CLUSTER_SUITES[@]}"}; do
	if [ -n "$build_ok" ] && [ -n "$emu_ok" ]; then
		"suite_$suite"
	fi
	recorded "$suite" || record "$suite" 0 1 0 "not run: no build or no emulator"
done

# 6. suites that need neither
for suite in ${PLAIN_SUITES[@]+"${PLAIN_SUITES[@]}"}; do
	"suite_$suite"
	recorded "$suite" || record "$suite" 0 1 0 "recorded no result"
done

exit 0
