#!/usr/bin/env bash
# test/installcheck-emulator.sh PID: start the Copernica emulator for
# "make installcheck" and stop it when process PID (the make that runs the
# tests) exits.  The Makefile calls this before pg_regress and reads the port
# from test/results/emulator.port.  The emulator listens on 127.0.0.1, so the
# server under test must run on this machine.  Its output goes to
# test/results/emulator.log.
set -u
owner=${1:?usage: test/installcheck-emulator.sh PID}
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$dir/results
portfile=$out/emulator.port
mkdir -p "$out" || exit 1
rm -f "$portfile"

python3 "$dir/emulator/copernica_emulator.py" --port 0 --port-file "$portfile" \
	--dataset demo --quiet >"$out/emulator.log" 2>&1 </dev/null &
emu=$!

# the watchdog: the emulator lives exactly as long as the make that asked
(
	while kill -0 "$owner" 2>/dev/null && kill -0 "$emu" 2>/dev/null; do
		sleep 1
	done
	kill "$emu" 2>/dev/null
) >/dev/null 2>&1 </dev/null &

for _ in $(seq 1 300); do
	if [ -s "$portfile" ] && (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$portfile")") 2>/dev/null; then
		echo "emulator listening on 127.0.0.1:$(cat "$portfile") (pid $emu)"
		exit 0
	fi
	kill -0 "$emu" 2>/dev/null || break
	sleep 0.1
done
echo "the emulator did not start; its output:" >&2
cat "$out/emulator.log" >&2
kill "$emu" 2>/dev/null
exit 1
