#!/usr/bin/env bash
# The captures open in tshark: the AT lines of the serial line and the IP
# side's protocols decode in the same file, secrets masked.
# Usage: ci/captures.sh MTG_BINARY
set -euo pipefail
MTG=${1:?usage: ci/captures.sh MTG_BINARY}
if ! command -v tshark >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        apt-get update -qq >/dev/null && apt-get install -y -qq tshark >/dev/null
    else
        echo "captures: tshark is not installed and this is not root: cannot check captures" >&2
        exit 1
    fi
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# One scenario per protocol the IP side must decode: ID=PROTOCOL(display filter)
CHECKS=(
    "services.otcp.http-get=http.request.method == \"GET\""
    "appa.sending-retrieving-email=smtp.req.command == \"MAIL\""
)
ids=()
for check in "${CHECKS[@]}"; do ids+=("${check%%=*}"); done
"$MTG" run --no-golden --exact --out "$OUT" "${ids[@]}" >/dev/null 2>&1 || true
fail=0
for check in "${CHECKS[@]}"; do
    id=${check%%=*}
    filter=${check#*=}
    file="$OUT/captures/$id.pcapng"
    if [ ! -f "$file" ]; then
        echo "captures: $id: no capture (scenario missing or not run)" >&2
        fail=1
        continue
    fi
    at=$(tshark -r "$file" -Y at 2>/dev/null | wc -l)
    ip=$(tshark -r "$file" -Y "$filter" 2>/dev/null | wc -l)
    secrets=$(tshark -r "$file" -x 2>/dev/null | grep -c -i -E "fixture-smtp-pw|gprs-ftp-pw" || true)
    echo "captures: $id: $at AT frames, $ip frames matching '$filter', $secrets clear-text secrets"
    if [ "$at" -eq 0 ] || [ "$ip" -eq 0 ] || [ "$secrets" -ne 0 ]; then fail=1; fi
done
exit $fail
