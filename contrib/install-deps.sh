#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need.
# Idempotent: does nothing when all are present.
set -euo pipefail
pkgs=(build-essential pkg-config clang clang-format libclang-rt-14-dev
      libldns-dev ldnsutils libunbound-dev libevent-dev unbound nsd knot knot-dnsutils
      libgmp-dev libnss3-dev libnss3-tools libnspr4-dev libcmocka-dev
      iproute2 iputils-ping nftables ncat procps man-db groff-base bc tcpdump
      dns-root-data python3 python3-unbound qemu-system-x86 busybox-static kmod cpio
      strongswan-charon strongswan-swanctl strongswan-pki libstrongswan-standard-plugins
      libcap-ng0 libcurl3-nss libevent-core-2.1-7 libevent-pthreads-2.1-7 libldap-2.5-0
      libaudit1 libpam0g libldns3 libunbound8)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
else
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "deps: run as root (apt-get install)" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libreswan and strongSwan's starter both ship /usr/sbin/ipsec and conflict as
# packages, so libreswan (the interop peer) is unpacked beside, not installed.
LS_ROOT=${OE_LIBRESWAN_ROOT:-/var/tmp/oe-libreswan}
if [ ! -x "$LS_ROOT/root/usr/libexec/ipsec/pluto" ]; then
  echo "deps: unpacking libreswan into $LS_ROOT"
  mkdir -p "$LS_ROOT"
  ( cd "$LS_ROOT" && rm -f ./*.deb && { apt-get download libreswan >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get download libreswan >/dev/null; }; } &&
    dpkg-deb -x libreswan_*.deb root )
fi
"$LS_ROOT/root/usr/libexec/ipsec/pluto" --version >/dev/null
mkdir -p /usr/libexec/ipsec   # where pluto looks for its helpers (see tests/lab/libreswan.sh)
