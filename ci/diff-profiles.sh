#!/usr/bin/env bash
# `mtg diff` between the emulator's two profiles lists exactly the known
# errata: every divergence explained by scenarios/errata.yaml, and every
# erratum that a scenario reaches seen. A scenario with an unexplained
# divergence is run again once, in the open: if it then agrees it is
# reported as flaky (never passed silently).
# Usage: ci/diff-profiles.sh MTG_BINARY
set -euo pipefail
MTG=${1:?usage: ci/diff-profiles.sh MTG_BINARY}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if "$MTG" diff --a 'emu:?profile=field' --b 'emu:?profile=manual' --json "$OUT/diff.json" >"$OUT/diff.txt" 2>/dev/null; then
    tail -1 "$OUT/diff.txt"
    exit 0
fi
tail -1 "$OUT/diff.txt"
mapfile -t again < <(python3 - "$OUT/diff.json" <<'PY'
import json, sys
for d in json.load(open(sys.argv[1])):
    if any(v["kind"] != "text" or v.get("erratum") is None for v in d["divergences"]):
        print(d["id"])
PY
)
echo "diff: unexplained divergences in ${again[*]}; running them again once"
grep -A2 "UNEXPLAINED\|timing\|final state" "$OUT/diff.txt" | head -40
if "$MTG" diff --a 'emu:?profile=field' --b 'emu:?profile=manual' "${again[@]}" >"$OUT/again.txt" 2>/dev/null; then
    echo "diff: FLAKY (agreed on the second run): ${again[*]}"
    tail -1 "$OUT/again.txt"
    exit 0
fi
cat "$OUT/again.txt"
exit 1
