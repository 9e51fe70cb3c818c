#!/usr/bin/env bash
# The whole suite's wall time with the embedded fixtures and with the
# containers (Exim, Dovecot, vsftpd, dnsmasq, socat), and their ratio: the
# containers should add little more than their start-up, which is printed
# apart (the start of a run that selects no scenario). Not a pass/fail gate
# (shared machines are noisy); each figure is the best of --rounds runs.
# Usage: ci/fixtures-bench.sh [MTG] [--rounds N]   (MTG: the mtg binary;
# default: the release build under CARGO_TARGET_DIR or target/)
set -euo pipefail
cd "$(dirname "$0")/.."

mtg="${CARGO_TARGET_DIR:-target}/release/mtg"
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    -*) echo "fixtures-bench: unknown option $1" >&2; exit 2 ;;
    *) mtg="$1"; shift ;;
  esac
done
[ -x "$mtg" ] || { echo "fixtures-bench: no mtg binary at $mtg (cargo build --release)" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Best wall time in seconds of `mtg run --fixtures $1 [filters…]` over the rounds.
best() {
  local provider="$1"; shift
  local best="" t0 t1 t rc
  for _ in $(seq "$rounds"); do
    t0=$(date +%s.%N)
    # Timing, not judging: a run with findings (exit 1) counts; one that
    # could not run (2 and above) does not.
    rc=0
    "$mtg" run --fixtures "$provider" --out "$out/$provider" "$@" >"$out/log" 2>&1 || rc=$?
    if [ "$rc" -gt 1 ]; then
      echo "fixtures-bench: mtg run --fixtures $provider $* exited with $rc:" >&2
      tail -20 "$out/log" >&2
      exit 1
    fi
    t1=$(date +%s.%N)
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best="$t"; fi
  done
  echo "$best"
}

# A filter no scenario id contains: the servers start and stop, nothing runs.
none="no-scenario-has-this-id"
embedded=$(best embedded)
embedded_start=$(best embedded "$none")
containers=$(best containers)
containers_start=$(best containers "$none")
awk -v e="$embedded" -v es="$embedded_start" -v c="$containers" -v cs="$containers_start" -v r="$rounds" 'BEGIN {
  printf "fixtures-bench (best of %d): whole suite, embedded %.2f s, containers %.2f s, ratio %.2f\n", r, e, c, c / e
  printf "fixtures-bench: start and stop alone, embedded %.2f s, containers %.2f s\n", es, cs
  printf "fixtures-bench: the containers add %.2f s, of which start and stop %.2f s\n", c - e, cs - es
}'
