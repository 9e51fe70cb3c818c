#!/usr/bin/env bash
# What a lab of units buys: the suite on a rig of three units (three
# `mtg emulator --listen` processes, real time, each its own flash) run at
# once by `mtg run --rig`, against the same suite on one of them. Prints the
# wall times and the speed-up in scenarios run per second (three units run
# three suites). A figure, not a gate; the goal is at least 2.7x. The
# emulated units share this host's network: scenarios that listen on a fixed
# port (ch5.one-service: LTCPSTART on 47321) can collide between units.
# Usage: ci/rig-speedup.sh [path/to/mtg] [filter…]   (default target/release/mtg, the whole suite)
set -euo pipefail
cd "$(dirname "$0")/.."
MTG=${1:-target/release/mtg}
shift || true
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
echo "units:" >"$dir/rig.yaml"
for u in u1 u2 u3; do
  port=$(free_port)
  "$MTG" emulator --listen "127.0.0.1:$port" --flash "$dir/$u.json" 2>"$dir/$u.log" &
  pids+=($!)
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  printf '  - id: %s\n    port: tcp:127.0.0.1:%s\n    caps: [gprs, gsm-data]\n' "$u" "$port" >>"$dir/rig.yaml"
done
now() { python3 -c 'import time; print(time.monotonic())'; }
count() { python3 -c 'import json,sys; print(sum(len(json.load(open(f))["results"]) for f in sys.argv[1:]))' "$@"; }

t0=$(now)
"$MTG" run --rig "$dir/rig.yaml" --unit u1 --out "$dir/one" "$@" >/dev/null 2>&1 || true
t1=$(now)
"$MTG" run --rig "$dir/rig.yaml" --out "$dir/three" "$@" >/dev/null 2>&1 || true
t2=$(now)
n1=$(count "$dir/one/u1/run.json")
n3=$(count "$dir"/three/u*/run.json)
python3 - "$t0" "$t1" "$t2" "$n1" "$n3" <<'PY'
import sys
t0, t1, t2, n1, n3 = map(float, sys.argv[1:])
one, three = t1 - t0, t2 - t1
r1, r3 = n1 / one, n3 / three
print(f"one unit:    {int(n1):4d} scenarios in {one:7.1f} s  ({r1:5.2f}/s)")
print(f"three units: {int(n3):4d} scenarios in {three:7.1f} s  ({r3:5.2f}/s)")
print(f"speed-up:    {r3 / r1:.2f}x scenarios per second (goal: at least 2.7x)")
PY
for u in u1 u2 u3; do
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); bad=[x["id"] for x in r["results"] if x["verdict"]["verdict"] in ("fail","error")]; print(sys.argv[2], "failures:", ", ".join(bad) or "none")' "$dir/three/$u/run.json" "$u"
done
