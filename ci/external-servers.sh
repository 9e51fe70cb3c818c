#!/usr/bin/env bash
# The emulator's IP services against aiosmtpd, pyftpdlib and plain Python
# servers (ci/external-servers.py), in a virtual environment of their own.
# Usage: ci/external-servers.sh MTG_BINARY [--bench]
set -euo pipefail
MTG=$(realpath "${1:?usage: ci/external-servers.sh MTG_BINARY}")
cd "$(dirname "$0")/.."
VENV=${CARGO_TARGET_DIR:-target}/external-servers-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q aiosmtpd==1.4.6 pyftpdlib==2.0.1
fi
"$VENV/bin/python" ci/external-servers.py "$MTG" "${@:2}"
