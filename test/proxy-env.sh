#!/usr/bin/env bash
# test/proxy-env.sh: requests never go through a proxy that the postmaster's
# environment names (http_proxy, https_proxy, ALL_PROXY and their other
# spellings), only through the server option "proxy" a superuser sets.
#
# Run by test/run-tests.sh inside a throwaway cluster of its own (in_cluster),
# with the emulator up.  It starts a loopback proxy that records every
# connection (test/proxy_recorder.py), puts that proxy into the cluster's
# environment file, restarts the cluster, and checks that the postmaster has
# it, that a scan works and the proxy saw nothing; then, with the server
# option set, that the scan works and went through the proxy.  Ends with
# "proxy-env: N passed, N failed".

set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

passed=0
failed=0

sql()
{
	"$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 \
		-v emu_url="$COPERNICA_EMULATOR_URL" -v token="$COPERNICA_TOKEN" \
		-v proxy="${proxy:-}" "$@"
}

finish()
{
	if [ -n "${rec_pid:-}" ]; then
		kill -TERM "$rec_pid" 2>/dev/null
		wait "$rec_pid" 2>/dev/null
	fi
	[ -n "${dir:-}" ] && rm -rf "$dir"
	printf 'proxy-env: %d passed, %d failed\n' "$passed" "$failed"
}
trap finish EXIT

dir=$(mktemp -d "${COPERNICA_TEST_RUN_DIR:-${TMPDIR:-/tmp}}/proxy.XXXXXX") || {
	failed=1
	exit 1
}
python3 "$REPO_ROOT/test/proxy_recorder.py" --port-file "$dir/port" --log "$dir/log" \
	</dev/null &
rec_pid=$!
for _ in $(seq 1 100); do
	[ -s "$dir/port" ] && break
	sleep 0.1
done
port=$(tr -dc '0-9' <"$dir/port" 2>/dev/null)
if [ -z "$port" ]; then
	check "the recording proxy starts" started "not started"
	exit 1
fi
proxy=http://127.0.0.1:$port

# the postmaster's environment: pg_ctlcluster starts it with the cluster's
# environment file and nothing else
conf=${PG_CLUSTER_CONF_ROOT:-/etc/postgresql}/$PG_MAJOR/regress/environment
for var in http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY; do
	printf "%s = '%s'\n" "$var" "$proxy"
done >>"$conf"
# Stop, then start, not "pg_ctlcluster restart": restart stops the cluster
# only if it believes it runs, which it reads from the external PID file
# /var/run/postgresql/$PG_MAJOR-regress.pid, one path for every throwaway
# cluster of this version on the machine.  A concurrent run that drops its
# cluster removes that file, and restart then skips the stop, "starts" a
# cluster already running and leaves its postmaster with the old environment.
# stop and start go by this cluster's own postmaster.pid.
started=$(sql -c 'SELECT pg_postmaster_start_time()')
if ! out=$(pg_ctlcluster "$PG_MAJOR" regress stop 2>&1) ||
	! out=$(pg_ctlcluster "$PG_MAJOR" regress start 2>&1); then
	check "the cluster restarts" restarted "$out"
	exit 1
fi
check "the postmaster is a new one" t "$(sql -v started="$started" 2>&1 <<'EOF'
SELECT pg_postmaster_start_time() > :'started';
EOF
)"
# (a backend has the postmaster's environment and runs libcurl; what it
# starts with COPY FROM PROGRAM inherits that environment)
seen=$(sql <<'EOF'
CREATE TEMP TABLE env (line text);
COPY env FROM PROGRAM 'env | grep -i "_proxy=" || true';
SELECT count(*) FROM env
 WHERE line IN ('http_proxy=' || :'proxy', 'https_proxy=' || :'proxy', 'ALL_PROXY=' || :'proxy');
EOF
)
check "the backends' environment names the proxy" 3 "$seen"

$EMUCTL reset demo >/dev/null
expected=$($EMUCTL profiles Customers | sed -n 's/^count=\([0-9]*\) .*/\1/p')

sql <<'EOF'
CREATE EXTENSION copernica_fdw;
CREATE SERVER emu FOREIGN DATA WRAPPER copernica_fdw
    OPTIONS (url :'emu_url', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER emu OPTIONS (access_token :'token');
CREATE FOREIGN TABLE customers (id bigint, email text) SERVER emu
    OPTIONS (database 'Customers');
EOF

# 1. no server option: the environment's proxy is not used
$EMUCTL clear-log
got=$(sql -c 'SELECT count(*) FROM customers' 2>&1)
check "a scan without the option works" "$expected" "$got"
check "the environment's proxy saw no connection" 0 "$(wc -l <"$dir/log")"
# (the log is read whole first: grep -q would stop reading it early)
emu_log=$($EMUCTL log)
check "the emulator was asked directly" yes \
	"$(grep -q '^GET /v2/database/Customers/profiles' <<<"$emu_log" && echo yes || echo no)"

# 2. the server option, set by a superuser: the proxy is used
echo "ALTER SERVER emu OPTIONS (ADD proxy :'proxy');" | sql
got=$(sql -c 'SELECT count(*) FROM customers' 2>&1)
check "a scan with the option works" "$expected" "$got"
emu_hostport=${COPERNICA_EMULATOR_URL#http://}
emu_hostport=${emu_hostport%%/*}
check "the option's proxy carried the requests" yes \
	"$(grep -qxF "GET $emu_hostport/v2/database/Customers/profiles" "$dir/log" && echo yes || echo no)"

[ "$failed" = 0 ]
