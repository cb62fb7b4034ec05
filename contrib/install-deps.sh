#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: does nothing when all are present.
set -euo pipefail
pkgs=(build-essential pkg-config clang libclang-rt-14-dev
      libldns-dev ldnsutils libunbound-dev libevent-dev unbound nsd
      libgmp-dev libnss3-dev libnss3-tools libnspr4-dev libcmocka-dev
      iproute2 iputils-ping nftables ncat procps man-db groff-base
      libreswan dns-root-data python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then echo "deps: run as root (apt-get install)" >&2; exit 1; fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
