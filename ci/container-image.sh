#!/usr/bin/env bash
# Builds the fixture image (Exim, Dovecot, vsftpd, dnsmasq, socat from
# Debian's packages; fixtures/container/build-image.sh), or reuses it when
# its tag (a hash of the script and the configurations) exists, and prints
# the tag, the image size and how long it took. Needs root and a Docker
# engine; nothing is pulled from a registry.
# Usage: ci/container-image.sh    (stdout: the tag, last line)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
  echo "container-image: no Docker engine answers here; the container fixtures cannot be built" >&2
  exit 1
fi

start=$(date +%s.%N)
tag=$(fixtures/container/build-image.sh)
end=$(date +%s.%N)
size=$(docker image inspect --format '{{.Size}}' "$tag")
awk -v tag="$tag" -v size="$size" -v s="$start" -v e="$end" \
  'BEGIN { printf "container-image: %s, %d MB, ready in %.1f s\n", tag, size / 1e6, e - s }' >&2
echo "$tag"
