#!/usr/bin/env bash
# The HTML reports as a browser shows them: a three-unit rig run (three
# emulated units behind TCP listeners, as ci/rig-speedup.sh runs them) writes
# a combined report.html and one per unit; headless Chromium (Debian's
# package, installed when missing) screenshots both, and a small PNG reader
# checks the pictures are not blank and the pages hold the matrix, the
# coverage picture and the latency plot.
# Usage: ci/report-screenshot.sh [path/to/mtg] [scenario filters…]
#        (default target/debug/mtg; filters default to a few chapters)
set -euo pipefail
cd "$(dirname "$0")/.."
MTG=${1:-target/debug/mtg}
shift || true
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=(ch3 ch8 at.)
if ! command -v chromium >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "chromium is missing and installing it needs root" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
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
# Findings do not fail this check: the report is what is under test.
"$MTG" run --rig "$dir/rig.yaml" --out "$dir/rig" "${filters[@]}" >"$dir/run.log" 2>&1 || true
for page in "$dir/rig/report.html" "$dir/rig/u1/report.html"; do
  png="${page%.html}.png"
  # Chromium's own chatter (dbus, GPU) goes to stderr; keep it for failures.
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$png" \
    --window-size=1280,4000 "file://$page" >"$dir/chromium.log" 2>&1 || { cat "$dir/chromium.log" >&2; exit 1; }
  python3 - "$page" "$png" <<'PY'
import struct, sys, zlib

page, png = sys.argv[1], sys.argv[2]
html = open(page, encoding="utf-8").read()
for needle, what in [('<section id="matrix">', "matrix section"), ('<table class="matrix">', "matrix table"),
                     ('<section id="coverage">', "coverage section"), ('<svg class="coverage-plot"', "coverage picture"),
                     ('<section id="latency">', "latency section"), ('<svg class="latency-plot"', "latency plot")]:
    if needle not in html:
        sys.exit(f"{page}: no {what} ({needle})")
    print(f"{page}: has the {what}")
columns = html.split('<table class="matrix">', 1)[1].split("</thead>", 1)[0].count("<th title=")
print(f"{page}: matrix has {columns} unit column(s)")

# A PNG reader for 8-bit RGB/RGBA, non-interlaced (what Chromium writes).
data = open(png, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG: depth {depth}, colour {colour}"
bpp = 3 if colour == 2 else 4
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
colours, ink = set(), 0
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    # Every fourth pixel is plenty to judge blankness, and keeps Python quick.
    for x in range(0, width, 4):
        px = tuple(line[x * bpp:x * bpp + 3])
        colours.add(px)
        if px != (255, 255, 255):
            ink += 1
sampled = height * ((width + 3) // 4)
share = ink / sampled
print(f"{png}: {width}x{height}, {len(colours)} distinct colours, {share:.1%} of sampled pixels not white")
if len(colours) < 8 or share < 0.01:
    sys.exit(f"{png}: looks blank ({len(colours)} colours, {share:.1%} not white)")
PY
done
echo "report screenshots: not blank, matrix, coverage and latency present"
