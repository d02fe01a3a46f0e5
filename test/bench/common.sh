# shellcheck shell=bash
# test/bench/common.sh: what test/bench/scan.sh and test/bench/insert.sh share.
#
# Sourced, not run.  Builds on test/lib.sh: the same Debian packages (plus
# python3-psycopg2 and curl), the same scratch install (never into the
# system), the same emulator start and the same throwaway cluster
# (pg_virtualenv -t).  Everything started is stopped on exit, also on Ctrl-C.

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR=$REPO_ROOT/test/bench
BENCH_OUT=$BENCH_DIR/out        # git-ignored: saved tables, perf.data
export PYTHONDONTWRITEBYTECODE=1

# python3-psycopg2 is a Debian package, so the driver runs on Debian's own
# python3: a pyenv or virtualenv python3 earlier on the PATH does not see it.
if [ -x /usr/bin/python3 ]; then
	BENCH_PYTHON=/usr/bin/python3
else
	BENCH_PYTHON=python3
fi

# machine_info: what the figures were measured on.
machine_info()
{
	local model
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "machine: $(nproc) CPUs ($(nproc --all) online), ${model:-unknown CPU}," \
		"$(awk '/^MemTotal/ { printf "%.1f GB RAM", $2 / 1048576 }' /proc/meminfo)," \
		"Linux $(uname -r)"
	echo "software: PostgreSQL $("$PG_CONFIG" --version | awk '{ print $2 }')," \
		"$(curl --version | head -n 1 | awk '{ print "curl/libcurl " $2 }')," \
		"Python $("$BENCH_PYTHON" -c 'import platform; print(platform.python_version())')" \
		"(emulator: $(python3 -c 'import platform; print(platform.python_version())'))"
}

# bench_prepare [extra Debian packages...]: packages, scratch directory,
# build (plain "make", as users build), install into the scratch directory,
# and the emulator with an empty dataset (the drivers reset it as they need).
bench_prepare()
{
	trap cleanup_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP

	ensure_packages python3-psycopg2 curl "$@" || exit 1
	if ! "$BENCH_PYTHON" -c 'import psycopg2' 2>/dev/null; then
		warn "$BENCH_PYTHON cannot import psycopg2 (Debian package python3-psycopg2)"
		exit 1
	fi
	make_run_dir || exit 1
	mkdir -p "$BENCH_OUT" || exit 1

	say "building copernica_fdw (make), installing into $RUN_DIR/install"
	build_extension -s || exit 1
	install_extension || exit 1

	start_emulator empty || exit 1
	export BENCH_EMU_PID=$EMU_PID
}


# bench_run DRIVER_ARGS...: the Python driver, test/bench/bench.py, inside a
# throwaway cluster that loads the scratch install.
bench_run()
{
	say "starting a throwaway PostgreSQL $PG_MAJOR cluster"
	in_cluster "$BENCH_PYTHON" "$BENCH_DIR/bench.py" "$@"
}

# bench_main NAME "OPTION METAVAR ..." ARGS...: the whole of a benchmark
# script that needs no extra packages (insert.sh, update.sh, upsert.sh,
# events.sh): parse ARGS, where each OPTION takes a value, prepare, run
# bench.py's NAME and keep its output in $BENCH_OUT/NAME.txt.
bench_main()
{
	local name=$1 usage="" args=() spec
	read -r -a spec <<<"$2"
	shift 2
	local i
	for ((i = 0; i < ${#spec[@]}; i += 2)); do
		usage+=" [${spec[i]} ${spec[i + 1]}]"
	done
	while [ $# -gt 0 ]; do
		case "$1" in
		-h|--help)
			sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
			exit 0 ;;
		--*)
			for ((i = 0; i < ${#spec[@]}; i += 2)); do
				[ "$1" = "${spec[i]}" ] && break
			done
			if [ "$i" -ge "${#spec[@]}" ]; then
				echo "usage: test/bench/$name.sh$usage" >&2
				exit 2
			fi
			[ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
			args+=("$1" "$2")
			shift ;;
		*)
			echo "usage: test/bench/$name.sh$usage" >&2
			exit 2 ;;
		esac
		shift
	done

	# shellcheck disable=SC2119  # no extra packages
	bench_prepare
	{
		machine_info
		bench_run "$name" ${args[@]+"${args[@]}"}
	} 2>&1 | tee "$BENCH_OUT/$name.txt"
	exit "${PIPESTATUS[0]}"
}

# bench_write_main NAME ARGS...: a write benchmark (insert.sh, update.sh,
# upsert.sh) takes --runs, --rows and --latency.
bench_write_main()
{
	local name=$1
	shift
	bench_main "$name" "--runs N --rows N --latency MS" "$@"
}
