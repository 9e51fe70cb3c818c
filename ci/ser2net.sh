#!/usr/bin/env bash
# The whole suite through real ser2net, as a bench rig shares a unit's
# serial line: `mtg emulator --pty` is the unit, ser2net (4.x) serves its
# PTY on TCP, raw and as RFC 2217, and the runner goes through it with the
# goldens on. Four rigs, each one persistent unit behind its own ser2net,
# run at once:
#   raw      raw TCP (`tcp:`),
#   rfc2217  RFC 2217 (`rfc2217:`),
#   late-lf  raw TCP through a proxy that delivers every <LF> after its <CR>
#            in a separate write, 40 ms late (longer than the runner's 30 ms
#            <CR> grace): the split happens on the network,
#   faults   RFC 2217 with MTG_FAULTS (reads of at most 3 bytes, every <LF>
#            40 ms after its <CR>): the split happens in the runner's line.
# A late <LF> costs its delay on every line (a #VALL listing is 80 lines),
# so each of the two late modes runs the suite as two shards (--partition),
# each on a unit of its own: every mode still runs every scenario.
# The unit keeps its state from one scenario to the next, as a physical one
# does: the runner's reset (runner/reset.rs, the default sequence) brings it
# back to factory state before each scenario. Scenarios that need emulator
# controls do not run (a rig has none) and are reported ignored with that
# reason. Any golden difference, failure or rig error fails the script;
# the counts of each mode are printed.
# Usage: ci/ser2net.sh [path/to/mtg]   (default $CARGO_TARGET_DIR/release/mtg)
#   SCENARIOS="ch2 ch8" ci/ser2net.sh   runs a selection instead of the suite
#   LF_DELAY=80 sets the late <LF> delay in milliseconds (default 40)
set -euo pipefail
cd "$(dirname "$0")/.."
MTG=${1:-${CARGO_TARGET_DIR:-target}/release/mtg}

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

# A unit behind ser2net (raw and RFC 2217 accepters on the same PTY) and
# the late-<LF> proxy in front of the raw one; sets raw, telnet, delayed.
start_rig() {
  local n=$1
  mkfifo "$dir/pty-out-$n"
  "$MTG" emulator --pty --flash "$dir/unit-$n.json" >"$dir/pty-out-$n" 2>"$dir/emulator-$n.log" &
  pids+=($!)
  read -r pty <"$dir/pty-out-$n"
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
  python3 "$dir/delay.py" "$delayed" "$raw" "$(awk "BEGIN { print $lf_delay / 1000 }")" &
  pids+=($!)
  wait_port "$raw"; wait_port "$telnet"; wait_port "$delayed"
  echo "--- rig $n: the unit on $pty, ser2net raw :$raw, rfc2217 :$telnet, late <LF> :$delayed"
}

# SCENARIOS="ch2 ch8" runs a selection; by default the whole suite.
read -r -a filters <<<"${SCENARIOS-}"
lf_delay=${LF_DELAY:-40}
caps="caps=gprs,gsm-data"
# run name → target, MTG_FAULTS, shard
declare -A targets faults shard
n=0
add_run() { # name kind(raw|rfc2217|late-lf) faults shard
  n=$((n + 1)); start_rig "$n"
  case $2 in
    raw) targets[$1]="tcp:127.0.0.1:$raw?$caps" ;;
    rfc2217) targets[$1]="rfc2217:127.0.0.1:$telnet?$caps" ;;
    late-lf) targets[$1]="tcp:127.0.0.1:$delayed?$caps" ;;
  esac
  faults[$1]=$3; shard[$1]=$4
  runs+=("$1")
}
runs=()
add_run raw raw "" ""
add_run rfc2217 rfc2217 "" ""
add_run late-lf.1 late-lf "" 1/2
add_run late-lf.2 late-lf "" 2/2
add_run faults.1 rfc2217 "cr-lf-delay=$lf_delay,max-read=3" 1/2
add_run faults.2 rfc2217 "cr-lf-delay=$lf_delay,max-read=3" 2/2

started=$(date +%s)
declare -A run_pids
for r in "${runs[@]}"; do
  out="${CARGO_TARGET_DIR:-target}/mtg-ser2net-$r"
  args=(run --target "${targets[$r]}" --out "$out")
  [ -n "${shard[$r]}" ] && args+=(--partition "${shard[$r]}")
  echo "--- through ser2net: $r (${targets[$r]}${faults[$r]:+, MTG_FAULTS=${faults[$r]}}${shard[$r]:+, shard ${shard[$r]}})"
  MTG_FAULTS="${faults[$r]}" "$MTG" "${args[@]}" "${filters[@]}" >"$dir/run-$r.out" 2>"$dir/run-$r.err" &
  run_pids[$r]=$!; pids+=($!)
done
status=0
for r in "${runs[@]}"; do
  out="${CARGO_TARGET_DIR:-target}/mtg-ser2net-$r"
  if wait "${run_pids[$r]}"; then code=0; else code=$?; fi
  counts=$(grep -E '^[0-9]+ passed' "$dir/run-$r.out" || echo "no summary")
  printf -- '--- %-10s exit %s: %s\n' "$r" "$code" "$counts"
  if [ "$code" != 0 ]; then
    status=1
    grep -E ' (FAIL|ERROR) ' "$dir/run-$r.out" | sed "s/^/  ($r) /" || true
    tail -3 "$dir/run-$r.err" | sed "s/^/  ($r stderr) /"
  fi
  ls "$out/diffs" 2>/dev/null | sed "s/^/  golden difference ($r): /" || true
done
echo "--- ser2net: ${#runs[@]} runs on ${#runs[@]} units at once, ${lf_delay} ms late <LF>s, in $(( $(date +%s) - started ))s"
exit $status
