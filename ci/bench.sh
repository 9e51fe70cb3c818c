#!/usr/bin/env bash
# Round-trip benchmark: AT through the emulator over TCP and over a PTY, as a
# ratio to a raw echo over the same kind of channel. Prints ratios; it is not
# a pass/fail gate (shared machines are noisy). `--quick` for a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench roundtrip -- "$@"
