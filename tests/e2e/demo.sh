#!/usr/bin/env bash
# `make demo`, inside the QEMU guest (real ESP): two hosts that have never
# met publish their keys in DNSSEC-signed reverse DNS, run oe-agent, and
# their traffic becomes IPsec by itself. Prints what happens, step by step.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
step() { printf '\n== %s\n' "$*"; }
show() { sed 's/^/   /'; }
cut_keys() { sed -E 's/(AwEA[A-Za-z0-9+\/]{12})[A-Za-z0-9+\/=]+/\1.../g'; }

step "A LAN in network namespaces: west 192.0.2.1, east 192.0.2.2, and the DNS lab:"
echo "   nsd (192.0.2.53) serving 2.0.192.in-addr.arpa signed now, unbound (192.0.2.54) validating"
echo "   Each host made a key (ipsec newhostkey) and published it (ipsec showhostkey --ipseckey):"
. "$top/tests/e2e/lab.sh"
grep -E '^(1|2)[[:space:]]' $L/2.0.192.in-addr.arpa.zone | cut_keys | show

step "west checks east's record: ipsec verify --host 192.0.2.2"
ip netns exec west "$BIN/ipsec" verify --resolver 192.0.2.54 --trust-anchor $L/anchors --host 192.0.2.2 | cut_keys | show

step "Both start oe-agent with one policy line: private-or-clear 192.0.2.0/24"
agent west "private-or-clear=192.0.2.0/24"
agent east "private-or-clear=192.0.2.0/24"
"$BIN/ipsec" eroute --ctlsocket /tmp/west/oe.ctl | grep -v exempt | show

step "west pings east: the first packet is held while the agents meet"
ip netns exec west ping -c 5 -i 0.3 -W 5 192.0.2.2 | show

step "What west's agent did"
grep -E 'ACQUIRE|looking up|secure:|negotiating|IKE_SA_INIT|IKE_AUTH|established|tunnel up' /tmp/west/agent.log \
  | sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} ([0-9:.]+): /\1 /' | cut -c1-160 | show
step "What east's agent did (it responded)"
grep -E 'responding|looking up|key from|established|tunnel up' /tmp/east/agent.log \
  | sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} ([0-9:.]+): /\1 /' | cut -c1-160 | show

step "A TCP connection: 1 MiB from west to east through the tunnel"
ip netns exec east sh -c 'ncat -l 192.0.2.2 5001 > /tmp/east/recv' &
sleep 0.3
head -c 1048576 /dev/urandom > /tmp/west/send
ip netns exec west ncat --send-only 192.0.2.2 5001 < /tmp/west/send
sleep 0.5
if cmp -s /tmp/west/send /tmp/east/recv; then echo "   1048576 bytes arrived intact"; else echo "   TRANSFER FAILED"; fi
echo "   ESP SAs on west (ip -s xfrm state):"
# (the kernel's larval placeholder from the ACQUIRE, spi 0, is left out)
ip -n west -s xfrm state | grep -E '^src|proto esp|bytes' | grep -v 'limit' \
  | awk '/^src/ {h = $0; next} /spi 0x00000000/ {skip = 1; next} /proto esp/ {skip = 0; print h} !skip' | show

step "ipsec trafficstatus on west"
"$BIN/ipsec" trafficstatus --ctlsocket /tmp/west/oe.ctl | show
step "ipsec trafficstatus on east"
"$BIN/ipsec" trafficstatus --ctlsocket /tmp/east/oe.ctl | show

ok=0
grep -q 'tunnel up' /tmp/west/agent.log && cmp -s /tmp/west/send /tmp/east/recv && ok=1
lab_down
echo
if [ $ok = 1 ]; then echo "demo: west and east met by opportunistic encryption"; exit 0; fi
echo "demo: something failed; see the logs above"; exit 1
