#!/usr/bin/env bash
# test/valgrind.sh: the pg_regress suite (test/schedule) with every backend
# under valgrind memcheck, or with the extension built with AddressSanitizer
# and UndefinedBehaviorSanitizer.
#
#   test/valgrind.sh                  valgrind memcheck; fails when valgrind
#                                     reports an error with a frame in
#                                     copernica_fdw.so in its stack
#   test/valgrind.sh --asan           clang -fsanitize=address,undefined;
#                                     fails on any sanitizer report
#   test/valgrind.sh [--asan] NAME..  only these pg_regress tests, in order
#
# Installs missing Debian packages (valgrind, or clang and its sanitizer
# runtime), builds the extension in a scratch copy of the sources (never in
# the work tree, so no -O0 or sanitizer objects are left behind), installs it
# into a scratch directory, starts the emulator (demo dataset) and a private
# cluster of its own: initdb, then postgres started directly under valgrind,
# or with the ASan runtime preloaded, since Debian's PostgreSQL is built
# neither with USE_VALGRIND nor with sanitizers.  As root the cluster runs as
# the "postgres" user (initdb refuses root).
#
# valgrind: the extension is built with -O0 -g; postgres runs under memcheck
# (forked backends are followed; exec'd programs such as COPY TO PROGRAM's
# shell are not).  test/valgrind.supp hides the server's own noise; of what
# is left only errors with a copernica_fdw.so frame count, and so do
# "definitely lost" leaks allocated from our code.  Note: without
# USE_VALGRIND, palloc'd chunks are invisible to memcheck (an AllocSet block
# is one malloc block), so this finds uninitialised values, libc/libcurl
# misuse and malloc-level errors, not overruns within a memory context.
#
# --asan: the extension is built with clang -O1 -g
# -fsanitize=address,undefined and the postmaster is started with
# LD_PRELOAD=<clang's libclang_rt.asan-x86_64.so> (postgres itself is not
# instrumented, so the runtime must come first) and detect_leaks=0, plus a
# tiny shim without which the preloaded runtime deadlocks postgres at start
# (see asan_shim).  ASan stops a backend at its first report; UBSan reports
# and goes on.  The same limit as above applies to palloc'd memory.
#
# A test whose only differences are the documented timing-dependent ones
# (TOLERATED_DIFFS below) counts as passed with a note; any other difference
# fails the run.  Results, regression.diffs, the server log and the raw
# valgrind/sanitizer logs are kept in test/results/valgrind/ (or asan/).
# Exit status: 0 when the suite passed and nothing was reported in our code,
# 1 otherwise.
#
# Environment: VALGRIND_TIMEOUT (seconds for pg_regress, default 1500).

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT" || exit 1
export PYTHONDONTWRITEBYTECODE=1

MODE=valgrind
case "${1:-}" in
-h|--help)
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0 ;;
--asan)
	MODE=asan
	shift ;;
--valgrind)
	shift ;;
esac
case "${1:-}" in
-*)
	echo "usage: test/valgrind.sh [--asan] [PG_REGRESS_TEST...]" >&2
	exit 2 ;;
esac
REGRESS_TESTS=("$@")

OUT_DIR=$REPO_ROOT/test/results/$MODE
SUPP_FILE=$REPO_ROOT/test/valgrind.supp
REGRESS_TIMEOUT=${VALGRIND_TIMEOUT:-1500}
SOCK_PORT=5432              # only names the socket, in a private directory
SERVER_USER=
PGDATA_DIR=
SOCK_DIR=
LOG_DIR=
SERVER_PID=
LAUNCHER_PID=

# Differences allowed because they depend on timing, not on memory safety:
# "TEST|text that must appear in the hunk|changed lines allowed (regex)".
# 01_read: statement_timeout must cancel a scan of a 10 s answer within 5 s;
# a backend under valgrind may need longer to get going again.
TOLERATED_DIFFS=(
	'01_read|interrupted_quickly|^[-+] [tf]$'
)

# ---------------------------------------------------------------------------

# as_server_user cmd...: run cmd as the user the cluster belongs to.
as_server_user()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# build_scratch MAKE_ARGS...: copy the sources (all but .git and test/) to
# $RUN_DIR/build, build there with the given make arguments, and install
# into $RUN_DIR/install.
build_scratch()
{
	local dir=$RUN_DIR/build
	mkdir -p "$dir" || return 1
	tar -C "$REPO_ROOT" --exclude=./.git --exclude=./test -cf - . |
		tar -C "$dir" -xf - || return 1
	make --no-print-directory -C "$dir" -s PG_CONFIG="$PG_CONFIG" clean >/dev/null || return 1
	make --no-print-directory -C "$dir" -s PG_CONFIG="$PG_CONFIG" "$@" || return 1
	make --no-print-directory -C "$dir" -s PG_CONFIG="$PG_CONFIG" "$@" \
		install DESTDIR="$RUN_DIR/install" || return 1
	chmod -R a+rX "$RUN_DIR/install"
}

# asan_runtime: the path of clang's shared ASan runtime, or nothing.
asan_runtime()
{
	local f
	f=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null) || return 1
	[ -f "$f" ] && printf '%s\n' "$f"
}

# asan_shim: $RUN_DIR/asan_shim.so, preloaded after the ASan runtime.
#
# Preloaded into an uninstrumented postgres, the runtime initialises lazily,
# at the first malloc.  That comes from libp11-kit's constructor (linked in
# through gnutls), inside newlocale(), which holds glibc's setlocale lock for
# writing.  Part of the initialisation looks up "swift_demangle" with dlsym
# and then calls dlerror(), whose message goes through gettext, which takes
# the same lock for reading and then releases it: the lock ends up broken and
# postgres (psql too) hangs in bindtextdomain() in main().  With a
# swift_demangle defined, the lookup succeeds and dlerror() has nothing to
# translate.  (Same with gcc's libasan.so.8; compare llvm-project#49223.)
asan_shim()
{
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'char *swift_demangle(const char *n, size_t l, char *o, size_t *ol, uint32_t f);' \
		'char *swift_demangle(const char *n, size_t l, char *o, size_t *ol, uint32_t f) { return NULL; }' \
		>"$RUN_DIR/asan_shim.c" &&
	cc -shared -fPIC -o "$RUN_DIR/asan_shim.so" "$RUN_DIR/asan_shim.c" &&
	chmod a+rx "$RUN_DIR/asan_shim.so"
}

# server_start: initdb and start postgres, under valgrind or with ASan.
server_start()
{
	local lib=$RUN_DIR/install/usr/lib/postgresql/$PG_MAJOR/lib
	local prefix=() i

	PGDATA_DIR=$RUN_DIR/pgdata
	SOCK_DIR=$RUN_DIR/sock
	LOG_DIR=$RUN_DIR/logs
	mkdir -p "$PGDATA_DIR" "$SOCK_DIR" "$LOG_DIR" || return 1
	if [ "$(id -u)" = 0 ]; then
		SERVER_USER=postgres
		chown postgres: "$PGDATA_DIR" "$SOCK_DIR" "$LOG_DIR" || return 1
	else
		SERVER_USER=$(id -un)
	fi
	chmod 700 "$PGDATA_DIR"

	# the locale comes from the environment, as with run-tests.sh's cluster
	if ! as_server_user "$PG_BINDIR/initdb" -D "$PGDATA_DIR" -U postgres \
		--auth=trust --no-sync >"$RUN_DIR/initdb.log" 2>&1; then
		warn "initdb failed:"
		sed 's/^/    /' "$RUN_DIR/initdb.log" >&2
		return 1
	fi

	if [ "$MODE" = valgrind ]; then
		prefix=(valgrind --tool=memcheck --trace-children=no
			--track-origins=yes --num-callers=40 --error-limit=no
			--leak-check=full --show-leak-kinds=definite
			--errors-for-leak-kinds=definite
			--suppressions="$SUPP_FILE" --gen-suppressions=all
			--fullpath-after= --log-file="$LOG_DIR/vg.%p.log")
	else
		# the runtime first (postgres is not instrumented), no leak
		# check (postgres frees at exit by design), one log per process
		prefix=(env "LD_PRELOAD=$ASAN_RT $RUN_DIR/asan_shim.so"
			"ASAN_OPTIONS=detect_leaks=0:log_path=$LOG_DIR/san:abort_on_error=0:halt_on_error=1:detect_odr_violation=0:allow_addr2line=1:symbolize=1:print_summary=1"
			"UBSAN_OPTIONS=log_path=$LOG_DIR/san:print_stacktrace=1:halt_on_error=0:print_summary=1")
	fi

	say "starting postgres ($MODE) in $PGDATA_DIR"
	# shellcheck disable=SC2016
	as_server_user "${prefix[@]}" "$PG_BINDIR/postgres" -D "$PGDATA_DIR" \
		-c port=$SOCK_PORT -c listen_addresses= \
		-c unix_socket_directories="$SOCK_DIR" \
		-c extension_destdir="$RUN_DIR/install" \
		-c dynamic_library_path="$lib:\$libdir" \
		-c jit=off -c autovacuum=off -c fsync=off -c synchronous_commit=off \
		-c full_page_writes=off -c huge_pages=off -c shared_buffers=32MB \
		-c max_connections=20 \
		-c logging_collector=on -c log_filename=postgresql.log \
		-c log_line_prefix='%m [%p] %q%u@%d ' \
		>"$RUN_DIR/server.log" 2>&1 </dev/null &

	LAUNCHER_PID=$!

	# up to 3 minutes: everything is slow under valgrind
	for i in $(seq 1 360); do
		if "$PG_BINDIR/pg_isready" -q -h "$SOCK_DIR" -p $SOCK_PORT -t 1; then
			SERVER_PID=$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null)
			break
		fi
		if [ "$i" -gt 10 ] && ! [ -s "$PGDATA_DIR/postmaster.pid" ] &&
			! pgrep -u "$SERVER_USER" -f "postgres -D $PGDATA_DIR" >/dev/null; then
			break
		fi
		sleep 0.5
	done
	if [ -z "$SERVER_PID" ]; then
		warn "postgres did not start within 3 minutes; its log:"
		sed 's/^/    /' "$RUN_DIR/server.log" >&2
		kill_launched
		return 1
	fi

	# make sure the server really runs the way it should
	if [ "$MODE" = valgrind ]; then
		if ! readlink "/proc/$SERVER_PID/exe" | grep -q 'memcheck'; then
			warn "postgres (pid $SERVER_PID) is not running under valgrind"
			return 1
		fi
	elif ! grep -q 'libclang_rt\.asan' "/proc/$SERVER_PID/maps"; then
		warn "postgres (pid $SERVER_PID) has not loaded the ASan runtime"
		return 1
	fi
	say "postgres is up (pid $SERVER_PID)"
}

# descendants PID: the processes below PID, deepest first.
descendants()
{
	local child
	for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		descendants "$child"
		echo "$child"
	done
}

# kill_launched: end what server_start launched (the launching shell, runuser,
# postgres and its children) when postgres never came up or would not stop:
# SIGQUIT first (postgres' immediate shutdown), then SIGKILL.
kill_launched()
{
	local pids
	[ -n "$LAUNCHER_PID" ] || return 0
	pids=$(descendants "$LAUNCHER_PID")
	[ -n "$pids" ] && kill -QUIT $pids 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$LAUNCHER_PID" 2>/dev/null || break
		sleep 0.2
	done
	pids=$(descendants "$LAUNCHER_PID")
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	wait "$LAUNCHER_PID" 2>/dev/null
	LAUNCHER_PID=
}

# server_stop: fast shutdown; valgrind writes its leak reports at each exit.
server_stop()
{
	if [ -n "$PGDATA_DIR" ] && [ -s "$PGDATA_DIR/postmaster.pid" ] &&
		! as_server_user "$PG_BINDIR/pg_ctl" stop -D "$PGDATA_DIR" -m fast \
			-t 300 -w >/dev/null 2>&1; then
		warn "postgres did not stop within 300 s"
	fi
	# valgrind writes its last reports after postgres is done: let it
	for _ in $(seq 1 300); do
		[ -n "$LAUNCHER_PID" ] && kill -0 "$LAUNCHER_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill_launched
	SERVER_PID=
}

# run_regress: pg_regress against the private cluster; sets REGRESS_STATUS to
# ok, tolerated or failed and prints the test lines.
run_regress()
{
	local pg_regress args=() rc
	pg_regress=$(dirname "$("$PG_CONFIG" --pgxs)")/../test/regress/pg_regress
	if [ ${#REGRESS_TESTS[@]} -gt 0 ]; then
		args=("${REGRESS_TESTS[@]}")
	else
		args=(--schedule=test/schedule)
	fi
	rm -rf "$OUT_DIR/regress"
	mkdir -p "$OUT_DIR/regress"
	say "pg_regress ${args[*]} (time limit ${REGRESS_TIMEOUT}s)"
	PGHOST=$SOCK_DIR PGPORT=$SOCK_PORT PGUSER=postgres \
		timeout --kill-after=30 "$REGRESS_TIMEOUT" "$pg_regress" \
		--inputdir=. \
		--outputdir="$OUT_DIR/regress" \
		--bindir="$PG_BINDIR" \
		--dbname=contrib_regression \
		"${args[@]}" 2>&1 | tee "$RUN_DIR/regress.log"
	rc=${PIPESTATUS[0]}

	if [ "$rc" = 0 ]; then
		REGRESS_STATUS=ok
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		REGRESS_STATUS=failed
		REGRESS_NOTE="pg_regress did not finish within ${REGRESS_TIMEOUT}s"
	elif [ -s "$OUT_DIR/regress/regression.diffs" ] &&
		python3 - "$OUT_DIR/regress/regression.diffs" "$RUN_DIR/regress.log" \
			"${TOLERATED_DIFFS[@]}" <<'EOF'
# Exit 0 when every failed test differs only in tolerated hunks.
import re, sys
diffs, log, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
specs = [s.split('|', 2) for s in specs]
failed = set(re.findall(r'^(?:test | +)(\S+) +\.\.\. FAILED', open(log).read(), re.M))
if not failed:
    sys.exit(1)
tested = None
hunk = []
bad = False
def check(test, hunk):
    if not hunk:
        return True
    changed = [l for l in hunk if l.startswith(('+', '-'))]
    for name, marker, allowed in specs:
        if test == name and any(marker in l for l in hunk) and \
           all(re.search(allowed, l) for l in changed):
            return True
    return False
ok_tests = set()
for line in open(diffs, errors='replace').read().split('\n'):
    m = re.match(r'^diff .*/(?:expected|results)/([^/]+)\.out', line)
    if m:
        if not check(tested, hunk): bad = True
        tested, hunk = m.group(1), []
        ok_tests.add(tested)
        continue
    if line.startswith(('---', '+++')):
        continue
    if line.startswith('@@'):
        if not check(tested, hunk): bad = True
        hunk = []
        continue
    hunk.append(line)
if not check(tested, hunk): bad = True
sys.exit(1 if bad or not failed <= ok_tests else 0)
EOF
	then
		REGRESS_STATUS=tolerated
		REGRESS_NOTE="with timing-dependent differences only (TOLERATED_DIFFS)"
	else
		REGRESS_STATUS=failed
		REGRESS_NOTE="pg_regress exited with status $rc"
	fi
	if [ "$rc" != 0 ] && [ -s "$OUT_DIR/regress/regression.diffs" ]; then
		say "regression.diffs ($REGRESS_STATUS)"
		head -n 400 "$OUT_DIR/regress/regression.diffs"
	fi
}

# summarize_valgrind: errors per kind with a frame of ours in one of their
# stacks (the error's own, or where the memory came from), with the first
# stack of each; the rest is counted as server noise and its suppressions
# are written to noise.supp.  Exit 1 when any error is ours.
summarize_valgrind()
{
	python3 - "$LOG_DIR" "$OUT_DIR" "$RUN_DIR/build/" <<'EOF'
import glob, os, re, sys

logdir, outdir, builddir = sys.argv[1], sys.argv[2], sys.argv[3]

def is_our_frame(line):
    return builddir in line or re.search(r'\(in [^)]*/copernica_fdw\.so\)', line)

ours = {}          # kind -> [count, first error text, pid, origin only]
noise = {}         # kind -> count
noise_supp = []
procs = complete = 0
frame_re = re.compile(r'^ +(at|by) 0x[0-9A-F]+: ')

for path in sorted(glob.glob(os.path.join(logdir, 'vg.*.log'))):
    pid = re.search(r'vg\.(\d+)\.log$', path).group(1)
    lines = open(path, errors='replace').read().split('\n')
    if not any(l.startswith('==') for l in lines):
        continue
    procs += 1
    if any('ERROR SUMMARY:' in l for l in lines):
        complete += 1
    block = []          # the "==pid== " lines of the current error
    last = []           # the block before the blank line that ended it
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r'^==\d+== ?(.*)$', line)
        if m:
            text = m.group(1)
            if text.strip() == '':
                if block:
                    last, block = block, []
            else:
                block.append(text)
            i += 1
            continue
        if line == '{':
            supp = []
            i += 1
            while i < len(lines) and lines[i] != '}':
                supp.append(lines[i])
                i += 1
            i += 1
            kind = supp[1].strip() if len(supp) > 1 else '?'
            kind = kind.replace('Memcheck:', '')
            if kind == 'Leak':
                kind = 'Leak_DefinitelyLost'
            err, block, last = block or last, [], []
            if not err:
                continue
            # the error's own stack: the frames right after its first line
            own = []
            for l in err[1:]:
                if not frame_re.match(l):
                    break
                own.append(l)
            if any(is_our_frame(l) for l in err):
                e = ours.setdefault(kind, [0, None, pid, True])
                e[0] += 1
                origin_only = not any(is_our_frame(l) for l in own)
                if e[1] is None or (e[3] and not origin_only):
                    e[1] = '\n'.join('      ' + l for l in err[:60])
                    e[2] = pid
                    e[3] = origin_only
            else:
                noise[kind] = noise.get(kind, 0) + 1
                noise_supp.append('{\n' + '\n'.join(supp) + '\n}')
            continue
        i += 1

print('== valgrind summary: %d processes ran under valgrind%s'
      % (procs, '' if complete == procs else
         ' (%d of them forked to exec a program, which runs without it)' % (procs - complete)))
if noise:
    print('   outside copernica_fdw (not counted): ' +
          ', '.join('%s %d' % kv for kv in sorted(noise.items())))
    with open(os.path.join(outdir, 'noise.supp'), 'w') as f:
        seen = set()
        for s in noise_supp:
            if s not in seen:
                seen.add(s)
                f.write(s + '\n')
    print('   their suppressions: %s' % os.path.join(outdir, 'noise.supp'))
total = sum(e[0] for e in ours.values())
if procs == 0:
    print('   no valgrind log found: nothing was checked')
    sys.exit(1)
if total == 0:
    print('   in copernica_fdw: no errors')
    sys.exit(0)
print('   in copernica_fdw: %d error%s' % (total, '' if total == 1 else 's'))
for kind, (count, text, pid, origin_only) in sorted(ours.items()):
    print('\n   %s: %d (first shown: process %s%s)' %
          (kind, count, pid, ', our frame only where the memory came from' if origin_only else ''))
    print(text)
sys.exit(1)
EOF
}

# summarize_asan: every sanitizer report; exit 1 when there is any.
summarize_asan()
{
	python3 - "$LOG_DIR" <<'EOF'
import glob, os, re, sys
logdir = sys.argv[1]
reports = []
for path in sorted(glob.glob(os.path.join(logdir, 'san.*'))):
    text = open(path, errors='replace').read()
    if text.strip():
        reports.append((path, text))
print('== sanitizer summary: %d report file%s' % (len(reports), '' if len(reports) == 1 else 's'))
kinds = {}
for path, text in reports:
    for m in re.finditer(r'(ERROR: AddressSanitizer: [^\n]*|runtime error: [^\n]*)', text):
        k = re.sub(r' on address .*| 0x[0-9a-f]+.*', '', m.group(1))
        kinds[k] = kinds.get(k, 0) + 1
for k, n in sorted(kinds.items()):
    print('   %s: %d' % (k, n))
for path, text in reports:
    print('\n   --- %s' % os.path.basename(path))
    lines = text.rstrip('\n').split('\n')
    for l in lines[:60]:
        print('   ' + l)
    if len(lines) > 60:
        print('   ... (%d lines in all)' % len(lines))
sys.exit(1 if reports else 0)
EOF
}

# ---------------------------------------------------------------------------

REGRESS_STATUS=
REGRESS_NOTE=
VERDICT=1

finish()
{
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP
	server_stop
	stop_emulator
	if [ -n "$LOG_DIR" ] && [ -d "$LOG_DIR" ]; then
		mkdir -p "$OUT_DIR/logs"
		cp -a "$LOG_DIR"/. "$OUT_DIR/logs/" 2>/dev/null
		# 06_security reads the server log: pg_current_logfile()
		cat "$RUN_DIR/server.log" "$PGDATA_DIR"/log/* >"$OUT_DIR/server.log" 2>/dev/null
	fi
	cleanup_all
	[ "$rc" = 0 ] && exit "$VERDICT"
	exit "$rc"
}

START=$SECONDS
if ! make_run_dir; then
	echo "cannot create a scratch directory"
	exit 1
fi
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"

# 1. packages
if [ "$MODE" = valgrind ]; then
	ensure_packages valgrind || exit 1
else
	ensure_packages clang || exit 1
	ASAN_RT=$(asan_runtime)
	if [ -z "$ASAN_RT" ]; then
		ensure_packages "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev" || exit 1
		ASAN_RT=$(asan_runtime)
	fi
	if [ -z "$ASAN_RT" ]; then
		warn "clang's ASan runtime (libclang_rt.asan-x86_64.so) not found"
		exit 1
	fi
	asan_shim || { warn "could not build $RUN_DIR/asan_shim.so"; exit 1; }
fi

# 2. build and install, in scratch directories
if [ "$MODE" = valgrind ]; then
	say "building with -O0 -g (in $RUN_DIR/build)"
	build_scratch COPT='-O0 -g' || { warn "the build failed"; exit 1; }
else
	say "building with clang -fsanitize=address,undefined (in $RUN_DIR/build)"
	# clang does not know some of gcc's flags that pg_config reports
	build_scratch CC=clang \
		COPT='-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -Wno-unknown-warning-option -Wno-ignored-attributes -Wno-ignored-optimization-argument -Wno-unused-command-line-argument -Wno-compound-token-split-by-macro' \
		|| { warn "the build failed"; exit 1; }
fi

# 3. the emulator and the cluster
start_emulator demo || exit 1
server_start || exit 1

# 4. the suite
run_regress
server_stop

# 5. the verdict
echo
if [ "$MODE" = valgrind ]; then
	summarize_valgrind
else
	summarize_asan
fi
san_rc=$?
echo
case $REGRESS_STATUS in
ok)        echo "== pg_regress: all tests passed" ;;
tolerated) echo "== pg_regress: passed, $REGRESS_NOTE" ;;
*)         echo "== pg_regress: FAILED: ${REGRESS_NOTE:-}" ;;
esac
echo "== $MODE run took $((SECONDS - START)) s; logs in $OUT_DIR"
if [ "$san_rc" = 0 ] && [ "$REGRESS_STATUS" != failed ]; then
	echo "PASSED"
	VERDICT=0
else
	echo "FAILED"
	VERDICT=1
fi
exit 0
