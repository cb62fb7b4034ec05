#!/usr/bin/env bash
# Starts the DNS lab, runs bench/dns_bench in a client namespace, stops the lab.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d /tmp/oe-dns-bench.XXXXXX)
C=oebench-$$
cleanup() { bash "$top/tests/lab/dnslab.sh" down "$W/lab" 2>/dev/null; ip netns del $C 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W/lab"
ip netns add $C; ip -n $C link set lo up
bash "$top/tests/lab/dnslab.sh" up "$W/lab" $C "$top"/zones/2.0.192.in-addr.arpa.zone "$top"/zones/8.b.d.0.1.0.0.2.ip6.arpa.zone
ip netns exec $C "$top/build/bench/dns_bench" 192.0.2.54 "$W/lab/anchors" "${1:-2000}"
