#!/usr/bin/env bash
# test/bench/instructions.sh: the backend's instructions per row of a scan,
# counted by valgrind's callgrind (independent of how busy the machine is).
#
# CREATE TABLE fdw_local AS SELECT * FROM profiles (id + the 13 fields of
# the emulator's Customers database), at 0 ms latency, emulator cache warm,
# on a fresh connection (so planning's metadata requests are counted, as in
# scan.sh).  Collection is on only inside ExecCreateTableAs (planning and
# execution of the statement, storing into the local table included).
# Prints instructions per row, the top functions inclusive and self, and
# keeps the callgrind file in test/bench/out/ for callgrind_annotate.
#
#   test/bench/instructions.sh [--rows N] [--shape S] [--concurrency N]
#     --rows N         generated profiles (default 20000)
#     --shape S        ID shape (default dense; sparse, clustered, skewed, removed)
#     --concurrency N  the foreign table's max_concurrency (default 4)
#     --top N          functions listed (default 25)
#
# Installs missing Debian packages like test/bench/scan.sh (here valgrind
# too), builds the extension with plain make (-O2, as users build), installs
# it into a scratch directory and starts the emulator and a private cluster
# whose postmaster runs under callgrind (backends are forked, so they are
# followed; --trace-children is not needed).  Everything started is stopped
# at the end.  Takes about a minute for 20,000 rows.

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT" || exit 1

ROWS=20000
SHAPE=dense
CONCURRENCY=4
TOP=25
while [ $# -gt 0 ]; do
	case "$1" in
	-h|--help)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 0 ;;
	--rows|--shape|--concurrency|--top)
		[ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
		case "$1" in
		--rows) ROWS=$2 ;;
		--shape) SHAPE=$2 ;;
		--concurrency) CONCURRENCY=$2 ;;
		--top) TOP=$2 ;;
		esac
		shift ;;
	*)
		echo "usage: test/bench/instructions.sh [--rows N] [--shape S] [--concurrency N] [--top N]" >&2
		exit 2 ;;
	esac
	shift
done

SERVER_PID=
PGDATA_DIR=

# as_server_user cmd...: run cmd as the user the cluster belongs to.
as_server_user()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# stop_all: a fast shutdown of the postmaster (SIGINT to it, not to
# runuser, which does not pass it on), then the emulator and scratch files.
stop_all()
{
	local pm
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		pm=$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null)
		[ -n "$pm" ] && kill -INT "$pm" 2>/dev/null
		for _ in $(seq 1 300); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	cleanup_all
}

bench_prepare valgrind
trap stop_all EXIT

lib=$RUN_DIR/install/usr/lib/postgresql/$PG_MAJOR/lib
PGDATA_DIR=$RUN_DIR/pgdata
SOCK_DIR=$RUN_DIR/sock
CG_DIR=$RUN_DIR/callgrind
mkdir -p "$PGDATA_DIR" "$SOCK_DIR" "$CG_DIR" || exit 1
if [ "$(id -u)" = 0 ]; then
	chown postgres: "$PGDATA_DIR" "$SOCK_DIR" "$CG_DIR" || exit 1
fi
chmod 700 "$PGDATA_DIR"
if ! as_server_user "$PG_BINDIR/initdb" -D "$PGDATA_DIR" -U postgres \
	--auth=trust --no-sync >"$RUN_DIR/initdb.log" 2>&1; then
	warn "initdb failed:"
	sed 's/^/    /' "$RUN_DIR/initdb.log" >&2
	exit 1
fi

say "starting postgres under callgrind"
as_server_user valgrind --tool=callgrind --trace-children=no \
	--collect-atstart=no --toggle-collect=ExecCreateTableAs \
	--callgrind-out-file="$CG_DIR/callgrind.out.%p" \
	--log-file="$CG_DIR/valgrind.%p.log" \
	"$PG_BINDIR/postgres" -D "$PGDATA_DIR" \
	-c port=5432 -c listen_addresses= -c unix_socket_directories="$SOCK_DIR" \
	-c extension_destdir="$RUN_DIR/install" \
	-c dynamic_library_path="$lib:\$libdir" \
	-c jit=off -c autovacuum=off -c fsync=off -c synchronous_commit=off \
	-c full_page_writes=off -c shared_buffers=128MB -c max_connections=10 \
	>"$RUN_DIR/postgres.log" 2>&1 </dev/null &
SERVER_PID=$!

export PGHOST=$SOCK_DIR PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
for _ in $(seq 1 600); do
	"$PG_BINDIR/pg_isready" -q && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
if ! "$PG_BINDIR/pg_isready" -q; then
	warn "postgres did not start; its log:"
	sed 's/^/    /' "$RUN_DIR/postgres.log" >&2
	exit 1
fi

psql_q()
{
	"$PG_BINDIR/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

say "emuctl reset generate $ROWS --shape $SHAPE"
$EMUCTL reset generate "$ROWS" --shape "$SHAPE" >/dev/null || exit 1
$EMUCTL latency 0 >/dev/null || exit 1
psql_q <<EOF || exit 1
CREATE EXTENSION copernica_fdw;
CREATE SERVER emulator FOREIGN DATA WRAPPER copernica_fdw
  OPTIONS (url '$COPERNICA_EMULATOR_URL', access_token '$COPERNICA_TOKEN');
CREATE FOREIGN TABLE profiles (
    id bigint, email text, firstname text, lastname text, city text,
    age integer, score numeric, birthday date, signup date,
    lastvisit timestamp, segment text, notes text, referrer bigint,
    newsletter text) SERVER emulator
  OPTIONS (database 'Customers', max_concurrency '$CONCURRENCY');
EOF

# warm-up (the emulator builds each profile's JSON on its first serve), in
# a backend of its own; then the measured statement on a fresh one
say "warm-up scan"
psql_q -c 'CREATE TABLE warm AS SELECT * FROM profiles' || exit 1
say "measured scan"
out=$(psql_q -c 'SELECT pg_backend_pid()' \
	-c 'CREATE TABLE fdw_local AS SELECT * FROM profiles' \
	-c 'SELECT count(*) FROM fdw_local') || exit 1
pid=$(sed -n 1p <<<"$out")
rows=$(sed -n 2p <<<"$out")
for _ in $(seq 1 300); do          # the backend writes its file at exit
	[ -s "$CG_DIR/callgrind.out.$pid" ] && break
	sleep 0.1
done
cg=$CG_DIR/callgrind.out.$pid
if [ ! -s "$cg" ] || [ "$rows" != "$ROWS" ]; then
	warn "no callgrind output for backend $pid, or $rows rows instead of $ROWS"
	exit 1
fi
cp "$cg" "$BENCH_OUT/callgrind.scan.out"

# top_functions [MAX_SHARE]: callgrind_annotate's function lines as
# instructions per row, share of the total, and function [object file];
# lines above MAX_SHARE percent (the callers of everything) are left out.
top_functions()
{
	awk -v t="$total" -v r="$rows" -v n="$TOP" -v max="${1:-101}" '
		/^-+$/ { sec++; next }
		sec >= 3 && /^ *[0-9,]+ +\( *[0-9.]+%\) / && n > 0 {
			v = $1; gsub(",", "", v)
			if (100 * v / t > max) next
			line = $0
			sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line)
			obj = ""
			if (match(line, / \[[^ ]*\]$/)) {
				obj = substr(line, RSTART + 2, RLENGTH - 3)
				sub(/^.*\//, "", obj)
				line = substr(line, 1, RSTART - 1)
			}
			if (line == "PROGRAM TOTALS") next
			sub(/^[^:]*:/, "", line)
			if (seen[line]++) next
			printf "  %8.0f  %5.1f%%  %s [%s]\n", v / r, 100 * v / t, line, obj
			n-- }'
}

total=$(callgrind_annotate "$cg" 2>/dev/null |
	awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
{
	machine_info
	echo "== instructions: CREATE TABLE AS SELECT * of $rows profiles ($SHAPE IDs)," \
		"0 ms, max_concurrency $CONCURRENCY, commit $(git rev-parse --short HEAD)"
	echo
	awk -v t="$total" -v r="$rows" 'BEGIN {
		printf "%d instructions in ExecCreateTableAs, %.0f per row\n", t, t / r }'
	echo
	echo "top functions, inclusive (instructions per row, share; below 98%):"
	callgrind_annotate --inclusive=yes "$cg" 2>/dev/null | top_functions 98
	echo
	echo "top functions, self:"
	callgrind_annotate "$cg" 2>/dev/null | top_functions
	echo
	echo "(callgrind file: test/bench/out/callgrind.scan.out)"
} 2>&1 | tee "$BENCH_OUT/instructions.txt"
