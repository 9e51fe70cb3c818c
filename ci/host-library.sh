#!/usr/bin/env bash
# A real host library against the emulator, as an integrator would try it:
# python-gsmmodem-new (PyPI) drives `mtg emulator --pty` through pyserial.
# It initialises the modem (connect()), reads the identity, the signal and
# the network name, sends an SMS in text mode, and receives one that the
# emulator delivers by itself (--sms-after: the PTY has no control channel).
# Usage: ci/host-library.sh [path/to/mtg]   (default target/release/mtg)
# Needs python3 and pip reaching PyPI; installs the rest itself (a venv under
# target/). MTG_HOST_DEBUG=1 prints every line the library sends and reads.
set -euo pipefail
cd "$(dirname "$0")/.."
MTG=${1:-target/release/mtg}
VENV=${MTG_HOST_VENV:-target/host-library-venv}
# The library the CI holds the emulator to; bump deliberately.
GSMMODEM_VERSION=${GSMMODEM_VERSION:-0.13.0}

if [ ! -x "$VENV/bin/python" ]; then
  # Debian-like systems ship venv without ensurepip unless python3-venv is
  # installed: fall back to virtualenv from PyPI then.
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    python3 -m virtualenv --version >/dev/null 2>&1 || python3 -m pip install --user --quiet virtualenv
    python3 -m virtualenv --quiet "$VENV"
  fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "python-gsmmodem-new==$GSMMODEM_VERSION"

dir=$(mktemp -d)
# The incoming message arrives a few seconds after start, once the library
# has set +CNMI; the script waits for it.
"$MTG" emulator --pty --flash "$dir/unit.json" --sms-after "6s:+33612345678:hello from the network" \
  >"$dir/path" 2>"$dir/emulator.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  [ -s "$dir/path" ] && break
  sleep 0.1
done
pty=$(head -n1 "$dir/path")
[ -n "$pty" ] || { echo "the emulator printed no PTY path"; cat "$dir/emulator.log"; exit 1; }
echo "--- python-gsmmodem-new $GSMMODEM_VERSION against mtg emulator --pty ($pty)"
if ! "$VENV/bin/python" ci/host-library.py "$pty"; then
  echo "--- emulator log"
  cat "$dir/emulator.log"
  exit 1
fi
