#!/usr/bin/env bash
# The suite as a bench rig runs it, without a unit: one long-lived emulated
# unit behind a TCP line (`mtg emulator --listen`, one persistent flash file,
# no emulator controls, no reset between scenarios), then the emulator
# behind a PTY opened with
# tokio-serial. The first catches scenarios that depend on what an earlier
# scenario left in the unit; both exercise the real transports end to end.
# Usage: ci/rig-emulated.sh [path/to/mtg]   (default target/release/mtg)
set -euo pipefail
cd "$(dirname "$0")/.."
MTG=${1:-target/release/mtg}
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MTG" emulator --listen "127.0.0.1:$port" --flash "$dir/unit.json" 2>"$dir/emulator.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
echo "--- one persistent unit over tcp:127.0.0.1:$port (no reset between scenarios)"
# --reset none: the runner's reset before each scenario (runner/reset.rs)
# would erase what this run is here to catch. Each connection to the
# listener is a unit powered on afresh from the shared flash file, so only
# what a scenario stored there carries over.
"$MTG" run --target "tcp:127.0.0.1:$port?caps=gprs,gsm-data" --fixtures none --reset none --out target/mtg-rig-tcp
echo "--- the emulator behind a PTY (tokio-serial)"
"$MTG" run --target pty: --fixtures embedded --out target/mtg-rig-pty
# A line that splits reads and delivers each <LF> late after its <CR>
# (transport::fault): transcripts must not change (zero golden differences).
# The delay runs on the emulator's virtual clock; it is kept small because
# a slow line also shifts the unit's timed events (RING, +WIND) in time.
# (chapters 2 and 8: no timed events there).
echo "--- the emulator behind a faulty line (MTG_FAULTS: split reads, late <LF>)"
MTG_FAULTS=cr-lf-delay=45,max-read=3 "$MTG" run --fixtures embedded ch2 ch8 --out target/mtg-rig-faults
