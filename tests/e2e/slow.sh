# Sourced by tests/e2e/oe.sh after crash.sh, inside the guest (issue 11): a
# slow and lossy link (netem on both ends: 150 ms each way, so 300 ms RTT,
# 10% loss each way, a quarter of the packets reordered). Each tunnel still
# comes up, and every packet held while it was negotiated goes out through
# it: the client's outbound SA counts every ping that ping sent (the wire may
# lose some after that; that is the link, not us).
#   many 192.0.2.199 (client)   multi 192.0.2.205-207 (the server from scale.sh)
mkdir -p $OUT/slow
lossy() { # NS: everything leaving its LAN interface 150 ms late, 10% lost, some reordered
  ip netns exec $1 tc qdisc add dev $(lan_if $1) root netem delay 150ms 10ms loss 10% reorder 25% 50%
}
kill $PID_many; wait $PID_many 2>/dev/null
: > /tmp/many/agent.log
AGENT_EXTRA_many='[group private-or-clear]
auth = null'
agent many "private-or-clear=192.0.2.0/24"
lossy many && lossy multi
check "slow link: netem on both ends" bash -c "ip netns exec many tc qdisc show | grep -q 'netem.*loss 10%' && ip netns exec multi tc qdisc show | grep -q 'netem.*loss 10%'"
esp_out_packets() { # NS SRC DST: packets through every ESP SA from SRC to DST (older ones count too)
  ip -n $1 -s xfrm state | awk -v want="src $2 dst $3" '/^src / {f = ($0 == want)} f && /lifetime current/ {getline; sub(/\(packets\)/, "", $2); s += $2} END {print s + 0}'
}
for i in 205 206 207; do
  before=$(esp_out_packets many 192.0.2.199 192.0.2.$i)
  ip netns exec many ping -c 8 -i 0.25 -W 10 192.0.2.$i > $OUT/slow/ping-$i.txt 2>&1
  sent=$(awk '/packets transmitted/ {print $1}' $OUT/slow/ping-$i.txt)
  out=$(($(esp_out_packets many 192.0.2.199 192.0.2.$i) - before))
  echo "slow link: 192.0.2.$i: $(grep -o '[0-9]* received' $OUT/slow/ping-$i.txt), $sent sent, $out out through ESP; first reply $(grep -o 'icmp_seq=1 .*time=[0-9.]* ms' $OUT/slow/ping-$i.txt | grep -o 'time=.*' || echo lost)"
  check "slow link: 192.0.2.$i: the tunnel came up" logged many "192.0.2.$i: tunnel up"
  check "  every ping sent went out through ESP, the held ones too ($sent sent)" test "${out:-0}" -ge "${sent:-1}"
  check "  answered through the tunnel with the link's delay (positive control: RTT >= 280 ms)" \
    bash -c "grep -q 'time=\(2[89][0-9]\|[3-9][0-9][0-9]\|[0-9]\{4,\}\)' $OUT/slow/ping-$i.txt"
done
for n in many multi; do ip netns exec $n tc qdisc del dev $(lan_if $n) root; done
cp /tmp/many/agent.log $OUT/slow/agent-many.log
