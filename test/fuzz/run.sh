#!/bin/sh
# Fuzz src/json.c (the page parser and JSON writing) with libFuzzer.
#
#   test/fuzz/run.sh [SECONDS]   build, then fuzz for SECONDS (default 60);
#                                exits non-zero when a crash is found
#   test/fuzz/run.sh --merge     fold new finds from build/corpus into
#                                corpus/, keeping only inputs that add coverage
#   test/fuzz/run.sh --bench     time copernica_parse_page on pages of 1000
#                                profiles, against de-escaping every string
#                                (no sanitizers)
#
# json.c is compiled unmodified against the PostgreSQL 15 server headers and
# linked with PostgreSQL's frontend JSON parser (libpgcommon.a) and a shim
# for the few backend services it uses (shim.c).
#
# Debian 12 packages: clang-14 and libclang-rt-14-dev (libFuzzer and the
# sanitizer runtimes), postgresql-server-dev-15 (headers, libpgcommon.a,
# libpgport.a).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$here/build
CC=${CC:-clang}
PG_CONFIG=${PG_CONFIG:-pg_config}
pginc=$($PG_CONFIG --includedir-server)
pglib=$($PG_CONFIG --pkglibdir)

mkdir -p "$build"
cflags="-g -O1 -I$pginc -I$top/src -I$here -Wall -Wno-unused-parameter -Wno-ignored-attributes"
libs="$pglib/libpgcommon.a $pglib/libpgport.a"

if [ "${1:-}" = "--bench" ]; then
    $CC -O2 -DSHIM_BUMP $cflags -o "$build/bench_json" \
        "$here/bench_json.c" "$here/shim.c" "$top/src/json.c" "$top/src/json_values.c" $libs
    exec "$build/bench_json" "${2:-500}"
fi

san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
$CC $san $cflags -o "$build/fuzz_json" \
    "$here/fuzz_json.c" "$here/shim.c" "$top/src/json.c" "$top/src/json_values.c" $libs

if [ "${1:-}" = "--merge" ]; then
    # Edges only, not hit counts: that keeps the committed corpus to about a
    # hundred small files.
    mkdir -p "$build/corpus"
    exec "$build/fuzz_json" -merge=1 -use_counters=0 -max_len=65536 \
        "$here/corpus" "$build/corpus"
fi

seconds=${1:-60}
mkdir -p "$build/corpus" "$build/crashes"
# New inputs go to build/corpus; corpus/ (committed) is only read.  libFuzzer
# exits non-zero on a crash, a leak, a timeout or running out of memory.
cd "$build"
"$build/fuzz_json" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/" \
    "$build/corpus" "$here/corpus"
