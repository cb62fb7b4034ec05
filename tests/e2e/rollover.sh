#!/usr/bin/env bash
# Key rollover end to end, INSIDE the QEMU guest (real ESP), as oe-dns(5)
# tells it, with the records in knotd (signing its zone itself, RFC 2136
# with TSIG) and every step published by ipsec publish:
#   west 192.0.2.1 pings east the whole time over one tunnel;
#   north 192.0.2.11..15 pings east from a fresh address at each step, so
#     that every step has a new IKE SA authenticating east's key then;
#   east 192.0.2.2 rolls its key: new key made, both published, the switch
#     after the old TTL, the old record removed, the rollover finished.
# Every ping must be answered; north's IKE SA after the switch verifies
# east's new key. Then a gateway, gw 192.0.2.20 in front of 198.51.100.64/28
# (host "inner" 198.51.100.70), publishes the /28 by ipsec publish --subnet
# --gateway, and west's pings to inner go through ESP to gw.
# Standalone: flock /tmp/oe-lab.lock bash tests/lab/vm-run --timeout 900 --
#   bash tests/e2e/rollover.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/check.sh"
. "$top/tests/lab/warm-esp.sh" 2>/dev/null || true
BIN=$top/build/bin
OUT=$top/tests/out/e2e/rollover; rm -rf "$OUT"; mkdir -p "$OUT"; : > $OUT/counts.txt
W=/tmp/rollover; rm -rf $W; mkdir -p $W/lab $W/zones
TTL=5 # the records' TTL; the cache keeps them 60 s all the same (key-cache-min-ttl)

# the LAN: a bridge in "rlan", which also reaches knotd (192.0.2.56) for the hosts
ip netns add rlan; ip -n rlan link set lo up
ip -n rlan link add br0 type bridge; ip -n rlan link set br0 up
ip -n rlan addr add 192.0.2.254/24 dev br0
ip netns exec rlan sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
i=0
for h in west:1 east:2 north:11 gw:20; do
  n=${h%%:*}; ip netns add $n; ip -n $n link set lo up
  ip link add lan$i netns $n type veth peer name port$i netns rlan
  ip -n $n addr add 192.0.2.${h#*:}/24 dev lan$i; ip -n $n link set lan$i up
  ip -n rlan link set port$i master br0 up
  ip -n $n route add 192.0.2.56/32 via 192.0.2.254
  i=$((i + 1))
done
for a in 12 13 14 15; do ip -n north addr add 192.0.2.$a/24 dev lan2; done
# inner, behind gw: the /28 gw is the gateway of
ip netns add inner; ip -n inner link set lo up
ip link add gin netns gw type veth peer name ing netns inner
ip -n gw addr add 198.51.100.65/28 dev gin; ip -n gw link set gin up
ip -n inner addr add 198.51.100.70/28 dev ing; ip -n inner link set ing up
ip -n inner route add default via 198.51.100.65
ip netns exec gw sysctl -qw net.ipv4.ip_forward=1
ip -n west route add 198.51.100.64/28 via 192.0.2.20
for z in 2.0.192 100.51.198; do
  printf '$ORIGIN %s.in-addr.arpa.\n$TTL 300\n@ IN SOA ns1.example.com. h.example.com. 1 3600 600 86400 300\n@ IN NS ns1.example.com.\n' $z \
    > $W/zones/$z.in-addr.arpa.zone
done
check "knotd serves the reverse zones, signing them itself" \
  bash "$top/tests/lab/knotlab.sh" up $W/lab rlan $W/zones/2.0.192.in-addr.arpa.zone $W/zones/100.51.198.in-addr.arpa.zone
ip -n "$(cat $W/lab/ns)" route add 192.0.2.0/24 via 192.0.2.101 dev kns onlink

pub() { # NAME HOST...: publish NAME's keys for each HOST
  local n=$1; shift
  for h in "$@"; do
    ip netns exec $n "$BIN/ipsec" publish --server 192.0.2.56 --tsig-key $W/lab/tsig.key \
      --key-file /tmp/$n/hostkey.pem --ttl $TTL --host "$h" || return 1
  done
}
for n in west east north gw; do
  mkdir -p /tmp/$n; rm -f /tmp/$n/hostkey.pem*
  "$BIN/ipsec" newhostkey --bits 2048 --output /tmp/$n/hostkey.pem > /dev/null
done
pub_all() { pub west 192.0.2.1 && pub east 192.0.2.2 && pub north 192.0.2.11 192.0.2.12 192.0.2.13 192.0.2.14 192.0.2.15; }
check "each host's key published" pub_all
keyid() { "$BIN/ipsec" showhostkey --key-file "$1" --left | sed 's/.*rsasigkey=0s//' | cut -c1-9; }
OLD=$(keyid /tmp/east/hostkey.pem)

agent() { # NAME
  local n=$1
  mkdir -p /tmp/$n/policies
  # not gw's own subnet: what it forwards there would hit its trap
  { echo 192.0.2.0/24; [ $n = gw ] || echo 198.51.100.64/28; } > /tmp/$n/policies/private-or-clear
  printf '192.0.2.254/32\n' > /tmp/$n/policies/clear
  for g in clear-or-private private block; do : > /tmp/$n/policies/$g; done
  cat > /tmp/$n/oe.conf <<C
policies = /tmp/$n/policies
key-file = /tmp/$n/hostkey.pem
resolver = 192.0.2.56
trust-anchor = $W/lab/anchors
control = /tmp/$n/oe.ctl
log = /tmp/$n/agent.log
$([ $n = gw ] && echo 'subnets = 198.51.100.64/28')
[group private-or-clear]
auth = rsasig
shunt-lifetime = 60s
C
  : > /tmp/$n/agent.log; rm -f /tmp/$n/oe.ctl
  ip netns exec $n "$BIN/oe-agent" --config /tmp/$n/oe.conf --nofork &
  eval "PID_$n=\$!"
  wait_for 10 test -S /tmp/$n/oe.ctl
}
for n in west east north; do agent $n; done
check "three agents listening" bash -c 'for n in west east north; do grep -q "IKEv2 listening" /tmp/$n/agent.log || exit 1; done'

# west pings east through every step, at 5 a second
ip netns exec west ping -i 0.2 -W 2 192.0.2.2 > $OUT/west-ping.txt 2>&1 &
WPING=$!
check "west's tunnel to east is up" wait_for 30 grep -q 'tunnel up' /tmp/west/agent.log

step() { # N FROM WHAT: north pings east from a fresh address; its IKE SA authenticates east's key now
  local n=$1 from=$2
  ip netns exec north ping -c 5 -i 0.2 -W 5 -I 192.0.2.$from 192.0.2.2 > $OUT/north-$n.txt 2>&1
  local got; got=$(awk '/packets transmitted/ {print $4}' $OUT/north-$n.txt)
  echo "step $n ($3): north 192.0.2.$from -> east: ${got:-0} of 5 pings answered" | tee -a $OUT/counts.txt
  [ "${got:-0}" = 5 ]
}
check "0. before: a new peer authenticates east's key (keyid $OLD)" step 0 11 "one key"
check "1. newhostkey --rollover: the next key, not yet published" \
  bash -c "$BIN/ipsec newhostkey --rollover --bits 2048 --output /tmp/east/hostkey.pem > $OUT/roll-1.txt"
NEW=$(keyid /tmp/east/hostkey.pem.next)
check "  a new peer: still east's current key" step 1 12 "next key made"
check "2. publish: both keys at east's reverse name" \
  bash -c "ip netns exec east $BIN/ipsec publish --server 192.0.2.56 --tsig-key $W/lab/tsig.key --key-file /tmp/east/hostkey.pem --ttl $TTL --host 192.0.2.2 > $OUT/roll-2.txt && grep -q 'the next one (keyid $NEW)' $OUT/roll-2.txt"
check "  two IPSECKEY records served" bash -c "[ \$(ip netns exec rlan kdig @192.0.2.56 +tcp +short IPSECKEY 2.2.0.192.in-addr.arpa | wc -l) = 2 ]"
check "  a new peer: both published, the current one signs" step 2 13 "both published"
check "3. the switch is refused before the old TTL has passed" \
  bash -c "! $BIN/ipsec newhostkey --rollover --switch --output /tmp/east/hostkey.pem 2> $OUT/roll-3-early.txt && grep -q 'too early' $OUT/roll-3-early.txt"
# the wait the stamp names (60 s: the cache floor over a TTL of 5), waited for real
switch_when_allowed() {
  local end=$((SECONDS + 90))
  until "$BIN/ipsec" newhostkey --rollover --switch --output /tmp/east/hostkey.pem > $OUT/roll-3-switch.txt 2>&1; do
    [ $SECONDS -ge $end ] && return 1
    sleep 2
  done
}
t0=$SECONDS
check "  it is allowed once the wait has passed" switch_when_allowed
echo "switch allowed after $((SECONDS - t0)) s of waiting" | tee -a $OUT/counts.txt
check "  ipsec rereadkeys: east signs with the new key" \
  bash -c "$BIN/ipsec rereadkeys --ctlsocket /tmp/east/oe.ctl > $OUT/roll-3.txt && grep -q 'keyid $NEW signs' $OUT/roll-3.txt"
check "  and says so in its log" grep -q "keyid $NEW): IKE_AUTH signs with it from now" /tmp/east/agent.log
mark=$(wc -l < /tmp/north/agent.log)
check "  a new peer after the switch" step 3 14 "switched"
# north's IKE SA from .14: east's AUTH verified with the new key (the other of the two published)
check "  its IKE SA authenticated east with the new key" \
  bash -c "tail -n +$((mark + 1)) /tmp/north/agent.log | sed -n 's/.*negotiating IKEv2 .* as \\(#[0-9]*\\)\$/\\1/p' | tail -1 > $OUT/sa.txt; s=\$(cat $OUT/sa.txt); [ -n \"\$s\" ] && grep \"\$s: peer's AUTH verified with published key\" /tmp/north/agent.log | tee $OUT/auth-line.txt | grep -q ."
check "4. publish: the old key's record removed" \
  bash -c "ip netns exec east $BIN/ipsec publish --server 192.0.2.56 --tsig-key $W/lab/tsig.key --key-file /tmp/east/hostkey.pem --ttl $TTL --host 192.0.2.2 > $OUT/roll-4.txt && [ \$(ip netns exec rlan kdig @192.0.2.56 +tcp +short IPSECKEY 2.2.0.192.in-addr.arpa | wc -l) = 1 ]"
check "  --finish: the old key file goes" "$BIN/ipsec" newhostkey --rollover --finish --output /tmp/east/hostkey.pem
check "  a new peer: the new key alone" step 4 15 "old removed"
kill -INT $WPING; wait $WPING 2>/dev/null
sent=$(awk '/packets transmitted/ {print $1}' $OUT/west-ping.txt)
got=$(awk '/packets transmitted/ {print $4}' $OUT/west-ping.txt)
echo "west -> east through every step: $got of $sent pings answered" | tee -a $OUT/counts.txt
cat $OUT/counts.txt
check "every ping of west's answered through the rollover ($got of $sent)" test "${got:-0}" = "${sent:-x}" -a "${sent:-0}" -gt 100
check "  over one tunnel, never torn down" bash -c "[ \$(grep -c 'tunnel up' /tmp/west/agent.log) = 1 ] && ! grep -q 'tunnel down' /tmp/west/agent.log"
# --- a gateway's subnet, published in one update, and OE to a host behind it --------------
check "gw publishes its own address" pub gw 192.0.2.20
check "gw publishes its /28 (--subnet --gateway): one update, 16 names" \
  bash -c "ip netns exec gw $BIN/ipsec publish --server 192.0.2.56 --tsig-key $W/lab/tsig.key --key-file /tmp/gw/hostkey.pem --ttl $TTL --subnet 198.51.100.64/28 --gateway 192.0.2.20 > $OUT/gw-publish.txt && grep -q 'updated 16 names' $OUT/gw-publish.txt"
agent gw
ip netns exec west ping -c 5 -i 0.3 -W 5 198.51.100.70 > $OUT/ping-gw.txt 2>&1
check "west -> inner 198.51.100.70 behind gw: every ping answered" grep -q ' 5 received' $OUT/ping-gw.txt
check "  inner's record (secure, from knotd's signing) names gw with gw's key" \
  grep -q '70.100.51.198.in-addr.arpa. secure: IPSECKEY record, precedence 10, gateway 192.0.2.20' /tmp/west/agent.log
check "  west negotiated with gw for inner" grep -q '198.51.100.70: negotiating IKEv2 with 192.0.2.20' /tmp/west/agent.log
check "  through ESP to gw, the tunnel for inner" \
  bash -c "ip -n west xfrm state | grep -q 'src 192.0.2.1 dst 192.0.2.20' && ip -n west xfrm policy | grep -q 'src 192.0.2.1/32 dst 198.51.100.70/32'"
ipsec_status() { "$BIN/ipsec" status --ctlsocket /tmp/north/oe.ctl; }
check "north's status lists the key cache" bash -c "$(declare -f ipsec_status); BIN=$BIN; ipsec_status | tee $OUT/north-status.txt | grep -q '^key cache: '"
echo "north's IKE SA after the switch: $(cat $OUT/auth-line.txt 2>/dev/null)"
grep -h 'from the key cache\|keyid' /tmp/north/agent.log | tail -4
for n in west east north gw; do eval "kill \$PID_$n"; cp /tmp/$n/agent.log $OUT/$n-agent.log; done
bash "$top/tests/lab/knotlab.sh" down $W/lab
summary "rollover"
