# Sourced by tests/e2e/oe.sh inside the guest (issue 14): a server with 32
# addresses on one interface, a client pinging all 32 at once; then an
# address added while the agent runs, and removed again.
#   many 192.0.2.199 (client)   multi 192.0.2.200-231 (server)
# Both run NULL auth for the LAN (no keys in DNS), as a new user would try it.
mkdir -p $OUT/scale
for i in $(seq 201 231); do ip -n multi addr add 192.0.2.$i/24 dev $(lan_if multi); done
for n in many multi; do eval "AGENT_EXTRA_$n='[group private-or-clear]
auth = null'"; agent $n "private-or-clear=192.0.2.0/24"; done
check "scale: the server listens on all 32 addresses" \
  bash -c "grep 'IKEv2 listening on' /tmp/multi/agent.log | head -1 | grep -o '192\.0\.2\.2[0-3][0-9]' | sort -u | wc -l | grep -qx 32"
t0=$(date +%s.%N)
pings=()
for i in $(seq 200 231); do
  ip netns exec many ping -c 5 -i 0.2 -W 10 192.0.2.$i > $OUT/scale/ping-$i.txt 2>&1 &
  pings+=($!)
  sleep 0.25
done
wait "${pings[@]}" # the pings only: the agents run in the background too
t1=$(date +%s.%N)
answered=$(grep -l ' 5 received' $OUT/scale/ping-*.txt | wc -l)
first=$(grep -l 'icmp_seq=1 ' $OUT/scale/ping-*.txt | wc -l)
lost=$(cat $OUT/scale/ping-*.txt | awk '/packets transmitted/ {t += $1; r += $4} END {print t - r}')
echo "scale: 32 addresses pinged 0.25 s apart in $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s: $answered of 32 answered all 5, $first first pings answered, $lost of 160 pings lost"
check "scale: all 32 addresses answered all 5 pings" test "$answered" = 32
check "scale: 0 packets lost before the first reply (every icmp_seq=1 answered)" test "$first" = 32
ip -n many xfrm state > $OUT/scale/xfrm-state-many.txt
check "scale: ESP to every one of the 32 addresses" \
  bash -c "grep -o 'src 192.0.2.199 dst 192.0.2.2[0-3][0-9]' $OUT/scale/xfrm-state-many.txt | sort -u | wc -l | grep -qx 32"
check "scale: status --json counts the addresses, peers and the event loop's turns" \
  bash -c "$BIN/ipsec status --json --ctlsocket /tmp/multi/oe.ctl | tee $OUT/scale/status-multi.json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"addresses\"] == 32 and d[\"peers\"] >= 32 and d[\"ike_sas\"] >= 32 and d[\"loop\"][\"turns\"] > 0, d'"
check "scale: trafficstatus on the server shows a tunnel from each of its addresses" \
  bash -c "$BIN/ipsec trafficstatus --ctlsocket /tmp/multi/oe.ctl | grep -o 'local=192\.0\.2\.2[0-3][0-9]' | sort -u | wc -l | grep -qx 32"
check "scale: policy explain shows the client's 32 pairs, one per server address" \
  bash -c "[ \$($BIN/ipsec policy explain --ctlsocket /tmp/multi/oe.ctl 192.0.2.199 | grep -c 'live: .* from 192\.0\.2\.2[0-3][0-9]: tunnel') = 32 ]"
check "scale: every pair has its own tunnel on the server" \
  bash -c "[ \$(grep -c 'tunnel up (#[0-9]*, we responded' /tmp/multi/agent.log) -ge 32 ]"

# an address that comes while the agent runs is answered; when it goes, its tunnel goes
ip -n multi addr add 192.0.2.232/24 dev $(lan_if multi)
check "scale: an added address is listened on within a second" \
  wait_for 1 grep -q 'IKEv2 listening on 192.0.2.232 port 500: address added' /tmp/multi/agent.log
ip netns exec many ping -c 3 -i 0.2 -W 5 192.0.2.232 > $OUT/scale/ping-added.txt 2>&1
check "  and answered through ESP" \
  bash -c "grep -q ' 3 received' $OUT/scale/ping-added.txt && ip -n multi xfrm state | grep -q 'src 192.0.2.232 dst 192.0.2.199'"
ip -n multi addr del 192.0.2.232/24 dev $(lan_if multi)
check "scale: a removed address's IKE SA is deleted" \
  wait_for 2 grep -q 'IKEv2 no longer on 192.0.2.232: address removed; 1 IKE SA on it deleted' /tmp/multi/agent.log
check "  and its tunnel's SAs and policies leave the kernel" \
  bash -c "! ip -n multi xfrm state | grep -q 192.0.2.232 && ! ip -n multi xfrm policy | grep -q 'src 192.0.2.232/32'"
check "  the positive control: the other tunnels' policies are still there" \
  bash -c "ip -n multi xfrm policy | grep -q 'src 192.0.2.231/32 dst 192.0.2.199/32'"
for n in many multi; do cp /tmp/$n/agent.log $OUT/scale/agent-$n.log; done
