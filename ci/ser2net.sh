#!/usr/bin/env bash
# The suite through real ser2net, as a bench rig shares a unit's serial line:
# `mtg emulator --pty` is the unit, ser2net (4.x) serves its PTY on TCP, raw
# and as RFC 2217, and the runner goes through it with the goldens on:
#   1. raw TCP (`tcp:`),
#   2. raw TCP through a proxy that delivers every <LF> after its <CR> in a
#      separate write, 80 ms late (longer than the runner's <CR> grace),
#   3. RFC 2217 (`rfc2217:`), when this mtg knows the scheme.
# Scenarios that need emulator controls do not run (a rig has none), as in
# ci/rig-emulated.sh. Any golden difference or failure fails the script.
# Usage: ci/ser2net.sh [path/to/mtg]   (default target/release/mtg)
set -euo pipefail
cd "$(dirname "$0")/.."
MTG=${1:-target/release/mtg}

if ! command -v ser2net >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ser2net >/dev/null
  else
    echo "ser2net is not installed (and cannot be installed here): skipped" >&2
    exit 0
  fi
fi
SER2NET=$(command -v ser2net || echo /usr/sbin/ser2net)

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# A line that splits <CR> from <LF>: every <LF> after a <CR> comes late.
cat >"$dir/delay.py" <<'PY'
import asyncio, sys
listen, upstream, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
async def pipe(reader, writer, split):
    after_cr = False
    while data := await reader.read(4096):
        if not split:
            writer.write(data); await writer.drain(); continue
        i = 0
        while i < len(data):
            if after_cr and data[i:i+1] == b"\n":
                await asyncio.sleep(delay)
            j = data.find(b"\r", i)
            end = len(data) if j < 0 else j + 1
            writer.write(data[i:end]); await writer.drain()
            after_cr = data[end-1:end] == b"\r"
            i = end
    writer.close()
async def serve(r, w):
    ur, uw = await asyncio.open_connection("127.0.0.1", upstream)
    await asyncio.gather(pipe(r, uw, False), pipe(ur, w, True), return_exceptions=True)
    w.close(); uw.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", listen)
    async with server: await server.serve_forever()
asyncio.run(main())
PY

# A fresh unit behind a fresh ser2net for each run: the unit behind the PTY
# keeps its state across connections (echo, verbosity, CMEE), as a real one
# does, and the scenarios start from a unit as shipped.
start_rig() {
  local n=$1
  rm -f "$dir/pty-out"; mkfifo "$dir/pty-out"
  "$MTG" emulator --pty --flash "$dir/unit-$n.json" >"$dir/pty-out" 2>"$dir/emulator-$n.log" &
  pids+=($!)
  read -r pty <"$dir/pty-out"
  raw=$(free_port); telnet=$(free_port); delayed=$(free_port)
  cat >"$dir/ser2net-$n.yaml" <<YAML
%YAML 1.1
---
connection: &raw
  accepter: tcp,127.0.0.1,$raw
  connector: serialdev,$pty,115200n81,local
  options:
    kickolduser: true
connection: &rfc2217
  accepter: telnet(rfc2217),tcp,127.0.0.1,$telnet
  connector: serialdev,$pty,115200n81,local
  options:
    kickolduser: true
YAML
  "$SER2NET" -n -d -c "$dir/ser2net-$n.yaml" -P "$dir/ser2net-$n.pid" 2>"$dir/ser2net-$n.log" &
  pids+=($!)
  python3 "$dir/delay.py" "$delayed" "$raw" "${LF_DELAY:-0.08}" &
  pids+=($!)
  wait_port "$raw"; wait_port "$telnet"; wait_port "$delayed"
  echo "--- rig $n: the unit on $pty, ser2net raw :$raw, rfc2217 :$telnet, late <LF> :$delayed"
}
stop_rig() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
}

status=0
run() {
  local name=$1 target=$2
  echo "--- through ser2net: $name ($target)"
  if "$MTG" run --target "$target" --out "target/mtg-ser2net-$name" "${filters[@]}"; then :; else
    echo "ser2net $name: exit code $?" >&2
    status=1
  fi
  ls "target/mtg-ser2net-$name/diffs" 2>/dev/null | sed "s/^/  golden difference ($name): /" || true
}
# Chapters 2 and 8 by default (where the line-end splits were measured);
# SCENARIOS="" runs the whole suite.
read -r -a filters <<<"${SCENARIOS-ch2 ch8}"
start_rig 1; run raw "tcp:127.0.0.1:$raw?caps=gprs,gsm-data"; stop_rig
start_rig 2; run delayed "tcp:127.0.0.1:$delayed?caps=gprs,gsm-data"; stop_rig
if "$MTG" run --list --target "rfc2217:127.0.0.1:1" >/dev/null 2>&1; then
  start_rig 3; run rfc2217 "rfc2217:127.0.0.1:$telnet?caps=gprs,gsm-data"; stop_rig
else
  echo "--- rfc2217: not supported by this mtg: skipped"
fi
exit $status
