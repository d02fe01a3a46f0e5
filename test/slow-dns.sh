#!/usr/bin/env bash
# test/slow-dns.sh: a cancel (statement_timeout) and connect_timeout end a
# scan promptly while the API's host name is being resolved by a DNS server
# that never answers.  libcurl resolves in a thread; taking a transfer off
# its multi handle used to wait for that thread, as long as the resolver's
# own time-outs (30 s here), whatever statement_timeout said.
#
# Run by test/run-tests.sh inside a throwaway cluster of its own
# (in_cluster).  It starts a DNS "server" on port 53 of a loopback address
# (127.x.y.z, drawn for each run, so that runs at the same time do not
# meet) that reads queries and never answers, and restarts the cluster in a
# mount namespace of its own
# where /etc/resolv.conf names only that server: nothing outside the cluster
# sees the change.  Needs root (port 53, unshare, mount); otherwise every
# check is skipped.  Ends with "slow-dns: N passed, N failed, N skipped".

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

passed=0
failed=0
skipped=0

skip()
{
	printf 'skipped: %s\n' "$1"
	skipped=2
	exit 0
}

sql()
{
	"$PG_BINDIR/psql" -X -q -At "$@"
}

finish()
{
	if [ -n "${dns_pid:-}" ]; then
		kill -TERM "$dns_pid" 2>/dev/null
		wait "$dns_pid" 2>/dev/null
	fi
	[ -n "${dir:-}" ] && rm -rf "$dir"
	printf 'slow-dns: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
}
trap finish EXIT

[ "$(id -u)" = 0 ] || skip "not root: cannot bind port 53 or make a mount namespace"
command -v unshare >/dev/null || skip "no unshare"

dir=$(mktemp -d "${COPERNICA_TEST_RUN_DIR:-${TMPDIR:-/tmp}}/slowdns.XXXXXX") || {
	failed=1
	exit 1
}
chmod 755 "$dir"
ns=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
printf 'nameserver %s\noptions timeout:10 attempts:3\n' "$ns" >"$dir/resolv.conf"
chmod 644 "$dir/resolv.conf"

# a DNS server that takes every query and answers none, on UDP and TCP
python3 - "$dir/ready" "$ns" </dev/null >"$dir/dns.log" 2>&1 <<'EOF' &
import socket, sys, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((sys.argv[2], 53))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[2], 53))
t.listen(64)
held = []
def accept():
    while True:
        held.append(t.accept()[0])
threading.Thread(target=accept, daemon=True).start()
open(sys.argv[1], "w").write("ready\n")
while True:
    u.recvfrom(4096)
EOF
dns_pid=$!
for _ in $(seq 1 100); do
	[ -s "$dir/ready" ] && break
	sleep 0.1
done
[ -s "$dir/ready" ] || skip "cannot listen on $ns:53: $(tail -n 1 "$dir/dns.log")"

# the postmaster, and so every backend, in a mount namespace whose
# /etc/resolv.conf is ours (stop and start, not restart: see proxy-env.sh)
if ! out=$(pg_ctlcluster "$PG_MAJOR" regress stop 2>&1); then
	check "the cluster stops" stopped "$out"
	exit 1
fi
if ! out=$(unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec pg_ctlcluster "$2" regress start' \
	sh "$dir/resolv.conf" "$PG_MAJOR" 2>&1); then
	pg_ctlcluster "$PG_MAJOR" regress start >/dev/null 2>&1
	skip "cannot start the cluster in a mount namespace: $out"
fi
check "the backends resolve through the silent DNS server" "$ns" "$(sql 2>&1 <<'EOF'
CREATE TEMP TABLE conf (line text);
COPY conf FROM PROGRAM 'cat /etc/resolv.conf';
SELECT split_part(line, ' ', 2) FROM conf WHERE line LIKE 'nameserver %';
EOF
)"

sql -v ON_ERROR_STOP=1 <<'EOF'
CREATE EXTENSION copernica_fdw;
CREATE SERVER slow FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url 'http://slow-dns.example.com/v2', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER slow OPTIONS (access_token 'x');
CREATE FOREIGN TABLE databases (id bigint, name text) SERVER slow
    OPTIONS (resource 'databases');
EOF

# elapsed SECONDS OUTPUT_FILE psql-args...: whole seconds psql took
elapsed()
{
	local out=$1 t0 t1
	shift
	t0=$(date +%s%N)
	sql "$@" >"$out" 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000000))
}

# 1. statement_timeout cancels the scan at once
secs=$(elapsed "$dir/out1" -c "SET statement_timeout = '1s'" -c 'SELECT * FROM databases')
check "statement_timeout ends the scan" "ERROR:  canceling statement due to statement timeout" \
	"$(grep '^ERROR' "$dir/out1")"
check "within 5 s of the start (took ${secs} s)" yes "$([ "$secs" -lt 5 ] && echo yes || echo no)"

# 2. connect_timeout ends the resolving
echo "ALTER SERVER slow OPTIONS (ADD connect_timeout '2');" | sql
secs=$(elapsed "$dir/out2" -c 'SELECT * FROM databases')
# libcurl reports the time it measured (2000 to a few ms more on a busy machine)
check "connect_timeout ends the scan" "ERROR:  could not reach Copernica: Resolving timed out after 2xxx milliseconds" \
	"$(grep '^ERROR' "$dir/out2" | sed -E 's/after 2[0-9]{3} milliseconds/after 2xxx milliseconds/')"
check "within 5 s of the start (took ${secs} s)" yes "$([ "$secs" -lt 5 ] && echo yes || echo no)"

# the cluster back in the ordinary namespace, for whatever runs after
pg_ctlcluster "$PG_MAJOR" regress stop >/dev/null 2>&1
pg_ctlcluster "$PG_MAJOR" regress start >/dev/null 2>&1

[ "$failed" = 0 ]
