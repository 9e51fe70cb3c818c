#!/usr/bin/env bash
# A shared lab unit through labgrid, on loopback: `mtg emulator --pty` is the
# unit, a labgrid exporter offers its PTY as a RawSerialPort (and serves it
# through ser2net in RFC 2217 mode), a coordinator knows a place matching it,
# and `mtg run --target labgrid:PLACE` acquires the place, runs chapters 2 and
# 8 over RFC 2217 with the goldens on, and releases the place. The script then
# checks that the place is no longer acquired, also after a run that fails to
# connect, and tears everything down.
# Needs python3 (venv), PyPI (labgrid==26.0.1) and ser2net; skipped when they
# cannot be had. Usage: ci/labgrid.sh [path/to/mtg]   (default target/release/mtg)
set -euo pipefail
cd "$(dirname "$0")/.."
MTG=${1:-target/release/mtg}
VENV=${LABGRID_VENV:-target/labgrid-venv}

if ! command -v ser2net >/dev/null && [ ! -x /usr/sbin/ser2net ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ser2net >/dev/null
  else
    echo "ser2net is not installed (and cannot be installed here): skipped" >&2
    exit 0
  fi
fi
export PATH="$PATH:/usr/sbin"
if ! "$VENV/bin/python" -c 'import importlib.metadata as m; assert m.version("labgrid") == "26.0.1"' 2>/dev/null; then
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'labgrid==26.0.1'; } >&2; then
    echo "labgrid 26.0.1 cannot be installed here: skipped" >&2
    exit 0
  fi
fi
export PATH="$(cd "$VENV" && pwd)/bin:$PATH"

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

PLACE=mtg-labgrid-ci
coord_port=$(free_port)
export LG_COORDINATOR="127.0.0.1:$coord_port"
lg() { labgrid-client -p "$PLACE" "$@"; }

# The unit.
mkfifo "$dir/pty-out"
"$MTG" emulator --pty --flash "$dir/unit.json" >"$dir/pty-out" 2>"$dir/emulator.log" &
pids+=($!)
read -r pty <"$dir/pty-out"

# The coordinator, the exporter, the place.
# (it keeps its places in places.yaml where it runs)
(cd "$dir" && exec labgrid-coordinator -l "$LG_COORDINATOR") >"$dir/coordinator.log" 2>&1 &
pids+=($!)
wait_port "$coord_port"
cat >"$dir/exporter.yaml" <<YAML
$PLACE:
  RawSerialPort:
    port: $pty
    speed: 115200
YAML
labgrid-exporter -c "$LG_COORDINATOR" --hostname 127.0.0.1 -n mtg-ci-exporter "$dir/exporter.yaml" \
  >"$dir/exporter.log" 2>&1 &
pids+=($!)
lg create
lg add-match "mtg-ci-exporter/$PLACE/*"
for _ in $(seq 100); do
  if labgrid-client resources 2>/dev/null | grep -q "mtg-ci-exporter/$PLACE/NetworkSerialPort"; then break; fi
  sleep 0.2
done
labgrid-client -v resources | sed 's/^/  /'
echo "--- labgrid: the unit on $pty, coordinator $LG_COORDINATOR, place $PLACE"

status=0
released() {
  lg show >"$dir/show.txt"
  if grep -q '^  acquired: None' "$dir/show.txt"; then
    echo "--- labgrid: place $PLACE released ($1)"
  else
    echo "labgrid: place $PLACE is still acquired ($1):" >&2
    cat "$dir/show.txt" >&2
    status=1
  fi
}

# Chapters 2 and 8 by default; SCENARIOS="" runs the whole suite.
read -r -a filters <<<"${SCENARIOS-ch2 ch8}"
target="labgrid:$PLACE?coordinator=$LG_COORDINATOR&caps=gprs,gsm-data"
echo "--- through labgrid: $target"
if "$MTG" run --target "$target" --out target/mtg-labgrid "${filters[@]}"; then :; else
  echo "labgrid: exit code $?" >&2
  status=1
fi
ls target/mtg-labgrid/diffs 2>/dev/null | sed "s/^/  golden difference (labgrid): /" || true
released "after the run"

# An acquired place is an error naming the place, and it stays someone else's.
lg acquire
if out=$("$MTG" run --target "labgrid:$PLACE" --out "$dir/taken" ch2 2>&1); then
  echo "labgrid: a run on a place acquired by someone else succeeded" >&2; status=1
elif ! grep -q "$PLACE" <<<"$out"; then
  echo "labgrid: the error does not name the place: $out" >&2; status=1
else
  echo "--- labgrid: a place acquired elsewhere is refused: $(grep -m1 "error:" <<<"$out")"
fi
lg release

# Ctrl-C in the middle of a run releases the place too.
"$MTG" run --target "$target" --out "$dir/interrupted" ch8 >"$dir/interrupted.log" 2>&1 &
run_pid=$!
for _ in $(seq 100); do
  if grep -q '^\[' "$dir/interrupted.log" 2>/dev/null; then break; fi
  sleep 0.1
done
kill -INT "$run_pid"
rc=0; wait "$run_pid" || rc=$?
if [ "$rc" != 130 ]; then
  echo "labgrid: an interrupted run exited with $rc, not 130" >&2; tail -5 "$dir/interrupted.log" >&2; status=1
fi
released "after Ctrl-C"

# A place whose port cannot be reached is released after the failed run.
lg show >/dev/null
kill "${pids[0]}" 2>/dev/null || true # the unit goes away: its PTY closes
"$MTG" run --target "$target" --out "$dir/gone" ch2 >/dev/null 2>&1 || true
released "after a unit that does not answer"
exit $status
