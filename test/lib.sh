# shellcheck shell=bash
# test/lib.sh: shell functions shared by test/demo.sh and test/run-tests.sh.
#
# Sourced, not run.  Callers set -u and -o pipefail; nothing here relies on -e.
# Everything a function starts is recorded so that cleanup_all can stop it.

PG_MAJOR=${COPERNICA_PG_MAJOR:-15}    # test/matrix.sh runs other versions
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BINDIR/pg_config
export PG_CONFIG

# Debian packages the build, the cluster and the emulator need.
REQUIRED_PACKAGES=(
	"postgresql-$PG_MAJOR"        # server, psql, pg_virtualenv (via postgresql-common)
	"postgresql-server-dev-$PG_MAJOR" # PGXS, pg_regress, clang for bitcode
	libcurl4-openssl-dev          # libcurl and curl-config
	python3                       # the emulator and its tests
	make
	gcc
)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

EMU_PID=
EMU_PORT=
RUN_DIR=

say()
{
	printf '%s\n' "== $*"
}

warn()
{
	printf '%s\n' "$*" >&2
}

# check NAME EXPECTED ACTUAL: one assertion of a shell suite (proxy-env.sh,
# slow-dns.sh), counted in the caller's $passed and $failed
check()
{
	if [ "$2" = "$3" ]; then
		printf 'ok: %s\n' "$1"
		passed=$((passed + 1))
	else
		printf 'FAILED: %s: expected "%s", got "%s"\n' "$1" "$2" "$3"
		failed=$((failed + 1))
	fi
}

# make_run_dir: a private scratch directory for this run ($RUN_DIR).  It is
# world-readable because, as root, the cluster's server runs as "postgres"
# and must read the extension installed under it.
make_run_dir()
{
	if [ "$(id -u)" = 0 ]; then
		# not under root's own TMPDIR, which "postgres" may not reach
		RUN_DIR=$(mktemp -d /tmp/copernica_fdw.XXXXXX) || return 1
	else
		RUN_DIR=$(mktemp -d -t copernica_fdw.XXXXXX) || return 1
	fi
	chmod 755 "$RUN_DIR"
}

# missing_packages: print the names of the REQUIRED_PACKAGES (plus any given
# as arguments) that are not installed.
missing_packages()
{
	local p
	for p in "${REQUIRED_PACKAGES[@]}" "$@"; do
		if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
			printf '%s\n' "$p"
		fi
	done
}

# ensure_packages [extra...]: install missing Debian packages.  As root with
# apt-get; as an ordinary user with "sudo -n" when that works without a
# password; otherwise print the command to run and fail.
ensure_packages()
{
	local missing
	missing=$(missing_packages "$@" | tr '\n' ' ')
	missing=${missing% }
	[ -z "$missing" ] && return 0

	local sudo=
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
			sudo="sudo -n"
		else
			warn "Missing Debian packages: $missing"
			warn "Install them as root, then run this again:"
			warn "    apt-get update && apt-get install -y --no-install-recommends $missing"
			return 1
		fi
	fi
	say "installing Debian packages: $missing"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing || return 1
	# report anything apt-get claimed to install but did not
	missing=$(missing_packages "$@" | tr '\n' ' ')
	if [ -n "$missing" ]; then
		warn "still missing after apt-get: $missing"
		return 1
	fi
}

# build_extension [make args...]: build in the repository.
build_extension()
{
	make --no-print-directory -C "$REPO_ROOT" PG_CONFIG="$PG_CONFIG" "$@"
}

# install_extension: install into $RUN_DIR/install (a DESTDIR), never into
# the system.  The cluster finds it through extension_destdir (cluster_options).
install_extension()
{
	make --no-print-directory -C "$REPO_ROOT" -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$RUN_DIR/install" \
		|| return 1
	chmod -R a+rX "$RUN_DIR/install"
}

# cluster_options: pg_virtualenv options for a throwaway cluster that loads the
# extension from $RUN_DIR/install.  Up to 17, extension_destdir (a Debian
# patch) is prepended to the paths of control, script and library files, so
# it alone finds '$libdir/copernica_fdw'; from 18, extension_control_path
# finds the control file (and the server then looks for the library along
# dynamic_library_path).  dynamic_library_path is set in both cases so that a
# plain LOAD 'copernica_fdw' finds the same library.  -t keeps the cluster in
# a temporary directory even as root (nothing under /etc/postgresql).
cluster_options()
{
	local lib=$RUN_DIR/install/usr/lib/postgresql/$PG_MAJOR/lib
	local share=$RUN_DIR/install/usr/share/postgresql/$PG_MAJOR
	CLUSTER_OPTS=(-t -v "$PG_MAJOR" -o "dynamic_library_path=$lib:\$libdir")
	if [ "$PG_MAJOR" -ge 18 ]; then
		CLUSTER_OPTS+=(-o "extension_control_path=$share:\$system")
	else
		CLUSTER_OPTS+=(-o "extension_destdir=$RUN_DIR/install")
	fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on just now.
free_port()
{
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# in_cluster cmd...: run cmd with a throwaway PostgreSQL cluster (PGHOST,
# PGPORT, PGUSER=postgres, PGPASSWORD, PGDATABASE=postgres set); the cluster is
# dropped when cmd ends, also on failure or interrupt (pg_virtualenv's trap).
in_cluster()
{
	local CLUSTER_OPTS
	cluster_options
	# pg_virtualenv's clusters all take port 5432 unless PGPORT names one:
	# runs at the same time (several checkouts) would collide
	PGPORT=$(free_port) pg_virtualenv "${CLUSTER_OPTS[@]}" \
		bash -c '. "$0" && as_postgres "$@"' "$REPO_ROOT/test/lib.sh" "$@"
}

# as_postgres cmd...: (inside pg_virtualenv) run cmd as the superuser
# "postgres", whoever runs this, so that expected output never depends on it.
# As an ordinary user pg_virtualenv names the superuser after that user (and
# pg_ctlcluster's start-up check needs that), so add a "postgres" superuser
# with the same password.
as_postgres()
{
	if [ "$PGUSER" != postgres ]; then
		printf '%s\n' "CREATE ROLE postgres SUPERUSER LOGIN PASSWORD :'pw';" |
			"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -v pw="$PGPASSWORD" \
				-d postgres || return 1
		export PGUSER=postgres
	fi
	"$@"
}

# port_answers PORT: true when something accepts TCP connections there.
port_answers()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_emulator DATASET: start the Copernica emulator on a free loopback port
# and export the variables the tests and the demo read.  Its output goes to
# $RUN_DIR/emulator.log.
start_emulator()
{
	local dataset=$1
	local emu=$REPO_ROOT/test/emulator/copernica_emulator.py
	local portfile=$RUN_DIR/emulator.port
	local log=$RUN_DIR/emulator.log

	if [ ! -f "$emu" ]; then
		warn "emulator not found: $emu"
		return 1
	fi
	rm -f "$portfile"
	python3 "$emu" --port 0 --port-file "$portfile" --dataset "$dataset" --quiet \
		>"$log" 2>&1 </dev/null &
	EMU_PID=$!

	# up to 30 s for the port file and an answer on that port
	for _ in $(seq 1 300); do
		if ! kill -0 "$EMU_PID" 2>/dev/null; then
			wait "$EMU_PID" 2>/dev/null
			EMU_PID=
			warn "the emulator exited before it was ready; its output:"
			sed 's/^/    /' "$log" >&2
			return 1
		fi
		if [ -s "$portfile" ]; then
			EMU_PORT=$(tr -dc '0-9' <"$portfile")
			if [ -n "$EMU_PORT" ] && port_answers "$EMU_PORT"; then
				break
			fi
		fi
		sleep 0.1
	done
	if [ -z "$EMU_PORT" ] || ! port_answers "$EMU_PORT"; then
		warn "the emulator did not answer within 30 s; its output:"
		sed 's/^/    /' "$log" >&2
		stop_emulator
		return 1
	fi

	export COPERNICA_EMULATOR_URL="http://127.0.0.1:$EMU_PORT/v2"
	export COPERNICA_EMULATOR_CONTROL="http://127.0.0.1:$EMU_PORT"
	export COPERNICA_TOKEN=test-token
	export EMUCTL="python3 $REPO_ROOT/test/emulator/emuctl.py"
	say "emulator (dataset $dataset) listening on $COPERNICA_EMULATOR_CONTROL, pid $EMU_PID"
}

# stop_emulator: TERM, then KILL after 5 s.
stop_emulator()
{
	[ -n "$EMU_PID" ] || return 0
	if kill -0 "$EMU_PID" 2>/dev/null; then
		kill -TERM "$EMU_PID" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$EMU_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$EMU_PID" 2>/dev/null
	fi
	wait "$EMU_PID" 2>/dev/null
	EMU_PID=
}

# cleanup_all: stop what this run started and remove its scratch directory.
# The cluster is not here: pg_virtualenv drops it when its command ends.
cleanup_all()
{
	stop_emulator
	if [ -n "$RUN_DIR" ] && [ -d "$RUN_DIR" ]; then
		rm -rf "$RUN_DIR"
	fi
	RUN_DIR=
}
